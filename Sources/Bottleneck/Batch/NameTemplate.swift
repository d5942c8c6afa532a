import Diagnostics
import Foundation

/// Output file names for batch items, e.g. the default `{index:04}_{seed}_{slug}.mp4`
/// → `0007_1234_a-red-fox-in-snow.mp4`.
///
/// Tokens: `{index}` (0-based batch index; `{index:04}` pads with zeros to 4 digits),
/// `{seed}`, `{slug}` (see `slug(_:maxLength:)`; `{slug:20}` caps it at 20 characters),
/// `{hash}` (FNV-1a 64 of the prompt's UTF-8, lower-case hex; `{hash:8}` keeps 8 digits, the
/// default). Anything else between braces is an error, and so is a `/`: every item is a file
/// directly in the output folder (`BatchFolder`).
public struct NameTemplate: Sendable, Equatable {
    /// The default for a video pipeline.
    public static let `default` = Self.default(for: .hunyuanVideo)

    /// The default for a pipeline of `kind`: `{index:04}_{seed}_{slug}.` and the kind's
    /// extension (`.png` for FLUX.1's images).
    public static func `default`(for kind: PipelineKind) -> String {
        "{index:04}_{seed}_{slug}." + kind.defaultExtension
    }

    enum Part: Sendable, Equatable {
        case literal(String)
        case index(width: Int)
        case seed
        case slug(maxLength: Int)
        case hash(digits: Int)
    }

    public let text: String
    let parts: [Part]

    /// Parses `text`. - Throws: `NameTemplateError` naming the bad token.
    public init(_ text: String) throws(NameTemplateError) {
        self.text = text
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let c = rest.first {
            if c == "}" { throw NameTemplateError(.unmatchedClose, subject: text) }
            guard c == "{" else {
                literal.append(c)
                rest = rest.dropFirst()
                continue
            }
            guard let close = rest.firstIndex(of: "}") else {
                throw NameTemplateError(.unclosedOpen, subject: text)
            }
            let token = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
            if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
            let pieces = token.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pieces[0])
            let arg = pieces.count > 1 ? String(pieces[1]) : nil
            func number(_ fallback: Int, range: ClosedRange<Int>) throws(NameTemplateError) -> Int {
                guard let arg else { return fallback }
                guard let n = Int(arg), range.contains(n) else {
                    throw NameTemplateError(.badFormat(token: String(token), range: range), subject: text)
                }
                return n
            }
            switch name {
            case "index": parts.append(.index(width: try number(0, range: 0...12)))
            case "seed":
                if arg != nil { throw NameTemplateError(.seedTakesNoFormat, subject: text) }
                parts.append(.seed)
            case "slug": parts.append(.slug(maxLength: try number(48, range: 1...200)))
            case "hash": parts.append(.hash(digits: try number(8, range: 1...16)))
            default:
                throw NameTemplateError(.unknownToken(String(token)), subject: text)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        if text.contains("/") {
            throw NameTemplateError(.subfolder, subject: text)
        }
        if !parts.contains(where: { if case .literal = $0 { return false } else { return true } }) {
            throw NameTemplateError(.sameNameForAll, subject: text)
        }
    }

    /// The file name for one item.
    public func render(index: Int, seed: UInt64, prompt: String) -> String {
        parts.map { part -> String in
            switch part {
            case .literal(let s): return s
            case .index(let width):
                let s = String(index)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            case .seed: return String(seed)
            case .slug(let n): return NameTemplate.slug(prompt, maxLength: n)
            case .hash(let digits): return String(NameTemplate.promptHash(prompt).prefix(digits))
            }
        }.joined()
    }

    /// Lower-case ASCII words of `text` joined by `-`, at most `maxLength` characters, cut at a
    /// word boundary when possible. Accents are folded (`é` → `e`); other characters separate
    /// words. Empty results become `untitled`.
    public static func slug(_ text: String, maxLength: Int = 48) -> String {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive],
                                  locale: Locale(identifier: "en_US_POSIX")).lowercased()
        var words: [String] = []
        var word = ""
        for scalar in folded.unicodeScalars {
            if scalar.isASCII, let c = Optional(Character(scalar)), c.isLetter || c.isNumber {
                word.append(c)
            } else if !word.isEmpty {
                words.append(word)
                word = ""
            }
        }
        if !word.isEmpty { words.append(word) }
        var out = ""
        for w in words {
            let candidate = out.isEmpty ? w : out + "-" + w
            if candidate.count <= maxLength {
                out = candidate
            } else {
                if out.isEmpty { out = String(w.prefix(maxLength)) }
                break
            }
        }
        return out.isEmpty ? "untitled" : out
    }

    /// FNV-1a 64 of the prompt's UTF-8 bytes, 16 lower-case hex digits. Stable across runs and
    /// platforms; recorded in the manifest to notice an edited prompt on resume.
    public static func promptHash(_ prompt: String) -> String { ContentHash.fnv1a64(prompt.utf8) }
}

/// A `--name` template that cannot name the items; the subject is the template.
public typealias NameTemplateError = ContextError<NameTemplateErrorKind>

/// The cases of `NameTemplateError`.
public enum NameTemplateErrorKind: ErrorKind {
    case unmatchedClose
    case unclosedOpen
    /// A token's format (`{index:04}`) that is not a number in `range`.
    case badFormat(token: String, range: ClosedRange<Int>)
    case seedTakesNoFormat
    case unknownToken(String)
    /// A `/` in the template (`BatchFolder.nameRule`).
    case subfolder
    /// A template of literals only, which gives every item the same name.
    case sameNameForAll

    public func description(subject template: String) -> String {
        let message = switch self {
        case .unmatchedClose: "unmatched '}'"
        case .unclosedOpen: "unclosed '{'"
        case .badFormat(let token, let range):
            "'{\(token)}' needs a number in \(range.lowerBound)...\(range.upperBound) after ':'"
        case .seedTakesNoFormat: "'{seed}' takes no format"
        case .unknownToken(let token): "unknown token '{\(token)}'; use {index}, {index:04}, {seed}, {slug}, {hash}"
        case .subfolder: BatchFolder.nameRule
        case .sameNameForAll: "every item would get the same name; include {index}, {seed}, {slug} or {hash}"
        }
        return "name template '\(template)': \(message)"
    }
}

/// `--shard I/N`: this machine runs the items whose index `i` satisfies `i % N == I - 1`.
/// `I` is 1-based (`1/4` … `4/4`), so the shards of one list are disjoint and cover it.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// Most shards a batch may be split into (far more machines than anyone runs one batch on).
    public static let maxCount = 10_000

    /// 1-based shard number.
    public var number: Int
    public var count: Int

    /// - Throws: `ShardError` unless `1 <= number <= count <= maxCount`.
    public init(number: Int, count: Int) throws(ShardError) {
        let text = "\(number)/\(count)"
        if let violation = IntegerBound(1...Self.maxCount).violation(count) {
            throw ShardError(.badCount(violation), subject: text)
        }
        if let violation = IntegerBound(1...count, reason: "shards are 1-based").violation(number) {
            throw ShardError(.badNumber(violation), subject: text)
        }
        self.number = number
        self.count = count
    }

    /// Parses `I/N`.
    public init(parsing text: String) throws(ShardError) {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2, let i = Int(pieces[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(pieces[1].trimmingCharacters(in: .whitespaces)) else {
            throw ShardError(.notINOverN, subject: text)
        }
        try self.init(number: i, count: n)
    }

    public func contains(index: Int) -> Bool { index % count == number - 1 }
    public var description: String { "\(number)/\(count)" }
}

/// A `--shard` value that names no shard; the subject is the value as given.
public typealias ShardError = ContextError<ShardErrorKind>

/// The cases of `ShardError`.
public enum ShardErrorKind: ErrorKind {
    /// Not `I/N` with two integers.
    case notINOverN
    /// `auto/` followed by something that is not an integer.
    case autoWithoutCount
    /// The shard count `N` outside `1...Shard.maxCount`.
    case badCount(BoundViolation)
    /// The shard number `I` outside `1...N`.
    case badNumber(BoundViolation)

    public func description(subject text: String) -> String {
        let message = switch self {
        case .notINOverN: "use I/N with 1 <= I <= N <= \(Shard.maxCount), e.g. 1/4"
        case .autoWithoutCount: "use auto/N with N the number of shards, e.g. auto/4"
        case .badCount(let violation): "N \(violation)"
        case .badNumber(let violation): "I \(violation)"
        }
        return "shard '\(text)': \(message)"
    }
}

/// Seeds for batch items that give none: SplitMix64 of `base + index × golden ratio`, so the
/// seed depends only on the base seed and the item's index — never on the shard, the order of
/// execution, or which items a resume skips.
public enum SeedDerivation {
    public static func seed(base: UInt64, index: Int) -> UInt64 {
        var z = base &+ UInt64(truncatingIfNeeded: index + 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
