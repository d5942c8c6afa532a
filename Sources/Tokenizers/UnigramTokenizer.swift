import Foundation

/// A SentencePiece Unigram tokenizer read from a `tokenizer.json` (T5 v1.1, FLUX.1's
/// `tokenizer_2`): special ("added") tokens are split out of the raw text, the rest is
/// normalized and pre-tokenized as the file says, segmented by `UnigramModel`, and wrapped by the
/// file's `TemplateProcessing` post-processor (T5: `$A </s>`).
///
/// Port of `tokenizers` 0.22 as transformers 5.x `T5TokenizerFast` runs it
/// (`models/t5/tokenization_t5.py`). Supported `tokenizer.json` parts, anything else is an
/// `unsupported` error:
/// - normalizer: `Precompiled` (the SentencePiece charsmap), `Strip`, `Replace` with a literal
///   pattern or a regex `c{n,}` (a run of one character), or a `Sequence` of these; none.
/// - pre_tokenizer: `WhitespaceSplit`, `Metaspace` (`prepend_scheme` `always` or `never`, or the
///   legacy `add_prefix_space`; `split`), or a `Sequence` of these.
/// - model: `Unigram` with `unk_id`, optional `byte_fallback`.
/// - added tokens: matched in the raw text (`normalized`, `lstrip`, `rstrip`, `single_word`
///   false, as in every T5 file).
/// Truncation keeps the first `maxLength - specials` tokens of the text, then the template adds
/// its tokens (transformers `truncation=True`).
public struct UnigramTokenizer: TextTokenizer {
    public let model: UnigramModel
    public let maxLength: Int
    public let padId: Int
    /// Ids the post-processor puts before and after the text (T5: none, `</s>`).
    public let prefixIds: [Int], suffixIds: [Int]
    /// Added tokens (content → id), matched in the raw text.
    public let addedTokens: [String: Int]
    let normalizers: [Normalizer]
    let preTokenizers: [PreTokenizer]
    private let added: AddedTokenSplitter

    /// - Parameters:
    ///   - directory: folder with `tokenizer.json` (and optionally `tokenizer_config.json`).
    ///   - maxLength: tokens per text including template tokens (FLUX.1: 512 for -dev, 256 for
    ///     -schnell).
    ///   - padToken: the padding token; default `pad_token` of `tokenizer_config.json`, else the
    ///     `padding.pad_id` of `tokenizer.json`, else `<pad>` (transformers' T5 default).
    public init(directory: String, maxLength: Int, padToken: String? = nil) throws {
        let path = TokenizerFiles.path(directory, "tokenizer.json")
        let json = try TokenizerFiles.json(path)
        func fail(_ key: String, _ reason: String) -> TokenizerError {
            TokenizerError(.malformedJSON(path: path, key: key, reason: reason))
        }
        // 1. Model.
        guard let m = json["model"] as? [String: Any] else { throw fail("model", "missing object") }
        guard m["type"] as? String == "Unigram" else {
            throw TokenizerError(.unsupported(path: path, feature: "model type \(m["type"] ?? "none") (expected Unigram)"))
        }
        guard let rawVocab = m["vocab"] as? [Any], !rawVocab.isEmpty else {
            throw fail("model.vocab", "missing or empty [piece, score] list")
        }
        let pieces = try rawVocab.enumerated().map { i, item -> (String, Double) in
            guard let pair = item as? [Any], pair.count == 2, let piece = pair[0] as? String,
                  let score = (pair[1] as? NSNumber)?.doubleValue else {
                throw fail("model.vocab[\(i)]", "expected [piece, score]")
            }
            return (piece, score)
        }
        guard let unkId = m["unk_id"] as? Int else { throw fail("model.unk_id", "missing (an unknown character needs it)") }
        guard pieces.indices.contains(unkId) else {
            throw fail("model.unk_id", "\(unkId) is outside the \(pieces.count)-piece vocabulary")
        }
        model = UnigramModel(pieces: pieces, unkId: unkId, byteFallback: m["byte_fallback"] as? Bool ?? false)
        // 2. Normalizer and pre-tokenizer.
        normalizers = try Self.normalizers(json["normalizer"], path: path, key: "normalizer")
        preTokenizers = try Self.preTokenizers(json["pre_tokenizer"], path: path, key: "pre_tokenizer")
        // 3-5. Added tokens, post-processor template, padding token.
        let shared = try TokenizerFiles.SharedParts(json, path: path, directory: directory, maxLength: maxLength,
                                                    padToken: padToken,
                                                    refusedFlags: ["normalized", "lstrip", "rstrip", "single_word"])
        addedTokens = shared.addedTokens
        added = AddedTokenSplitter(shared.addedTokens)
        (prefixIds, suffixIds) = (shared.prefixIds, shared.suffixIds)
        self.maxLength = maxLength
        if shared.padToken == nil, let padding = json["padding"] as? [String: Any], let id = padding["pad_id"] as? Int {
            padId = id
        } else {
            let token = shared.padToken ?? "<pad>"
            guard let id = shared.addedTokens[token] ?? model.ids[token] else {
                throw TokenizerError(.missingSpecialToken(path: path, token: token))
            }
            padId = id
        }
    }

    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        let budget = maxLength - prefixIds.count - suffixIds.count
        for piece in added.split(Array(text.unicodeScalars)) {
            if ids.count >= budget { break }
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let scalars):
                let normalized = normalizers.reduce(String(String.UnicodeScalarView(scalars))) { $1.apply($0) }
                var words = [normalized]
                for p in preTokenizers { words = words.flatMap(p.apply) }
                for word in words where !word.isEmpty {
                    model.tokenize(Array(word.utf8), into: &ids)
                    if ids.count >= budget { break }
                }
            }
        }
        if ids.count > budget { ids.removeLast(ids.count - budget) }
        return prefixIds + ids + suffixIds
    }

    /// The id of an added token or vocabulary piece.
    public func id(of token: String) -> Int? { addedTokens[token] ?? model.ids[token] }
}

// MARK: - Normalizers and pre-tokenizers

extension UnigramTokenizer {
    /// One step of the file's `normalizer` (tokenizers `normalizers/`).
    enum Normalizer: Sendable {
        case precompiled(PrecompiledCharsmap)
        /// `Strip`: Unicode whitespace off either end.
        case strip(left: Bool, right: Bool)
        /// `Replace`: every run of at least `minimumRun` copies of `pattern` (a literal pattern is
        /// one copy) becomes `content`.
        case replace(pattern: String, minimumRun: Int, content: String)

        func apply(_ s: String) -> String {
            switch self {
            case .precompiled(let charsmap):
                return charsmap.normalize(s)
            case .strip(let left, let right):
                var scalars = Substring(s).unicodeScalars[...]
                while left, let c = scalars.first, UnicodeClass.isWhitespace(c) { scalars.removeFirst() }
                while right, let c = scalars.last, UnicodeClass.isWhitespace(c) { scalars.removeLast() }
                return String(String.UnicodeScalarView(scalars))
            case .replace(let pattern, 1, let content):
                return s.replacingOccurrences(of: pattern, with: content)
            case .replace(let pattern, let minimumRun, let content):
                // A regex `c{n,}`: runs of the single character `pattern`.
                var out = "", run = 0
                func flush() { out += run >= minimumRun ? content : String(repeating: pattern, count: run); run = 0 }
                for c in s {
                    if String(c) == pattern { run += 1 } else { flush(); out.append(c) }
                }
                flush()
                return out
            }
        }
    }

    /// One step of the file's `pre_tokenizer` (tokenizers `pre_tokenizers/`).
    enum PreTokenizer: Sendable {
        /// `WhitespaceSplit`: words between runs of Unicode whitespace.
        case whitespaceSplit
        /// `Metaspace`: spaces become `replacement`, which is prepended to a word not starting
        /// with it when `prepend`; with `split`, each `replacement` starts a new word.
        case metaspace(replacement: Character, prepend: Bool, split: Bool)

        func apply(_ word: String) -> [String] {
            switch self {
            case .whitespaceSplit:
                return word.unicodeScalars.split(whereSeparator: UnicodeClass.isWhitespace)
                    .map { String(String.UnicodeScalarView($0)) }
            case .metaspace(let replacement, let prepend, let split):
                var s = word.replacingOccurrences(of: " ", with: String(replacement))
                if prepend, s.first != replacement { s.insert(replacement, at: s.startIndex) }
                guard split else { return [s] }
                var words: [String] = []
                for c in s {
                    if c == replacement || words.isEmpty { words.append("") }
                    words[words.count - 1].append(c)
                }
                return words
            }
        }
    }

    static func normalizers(_ value: Any?, path: String, key: String) throws -> [Normalizer] {
        guard let spec = value as? [String: Any] else { return [] }  // null: no normalizer
        let unsupported = { (what: String) in TokenizerError(.unsupported(path: path, feature: "\(key) \(what)")) }
        switch spec["type"] as? String {
        case "Sequence":
            let parts = spec["normalizers"] as? [Any] ?? []
            return try parts.enumerated().flatMap { try normalizers($1, path: path, key: "\(key).normalizers[\($0)]") }
        case "Precompiled":
            guard let text = spec["precompiled_charsmap"] as? String, let data = Data(base64Encoded: text) else {
                throw TokenizerError(.malformedJSON(path: path, key: key + ".precompiled_charsmap", reason: "missing or not base64"))
            }
            return [.precompiled(try PrecompiledCharsmap(Array(data), path: path, key: key + ".precompiled_charsmap"))]
        case "Strip":
            return [.strip(left: spec["strip_left"] as? Bool ?? false, right: spec["strip_right"] as? Bool ?? false)]
        case "Replace":
            let pattern = spec["pattern"] as? [String: Any]
            guard let content = spec["content"] as? String else {
                throw TokenizerError(.malformedJSON(path: path, key: key + ".content", reason: "missing"))
            }
            if let literal = pattern?["String"] as? String, !literal.isEmpty {
                return [.replace(pattern: literal, minimumRun: 1, content: content)]
            }
            // The regex SentencePiece converters write, " {2,}": a repeated single character.
            if let regex = pattern?["Regex"] as? String, let run = Self.characterRun(regex) {
                return [.replace(pattern: String(run.character), minimumRun: run.minimum, content: content)]
            }
            throw unsupported("Replace pattern \(pattern.map { "\($0)" } ?? "none")")
        default:
            throw unsupported("type \(spec["type"] ?? "none")")
        }
    }

    static func preTokenizers(_ value: Any?, path: String, key: String) throws -> [PreTokenizer] {
        let unsupported = { (what: String) in TokenizerError(.unsupported(path: path, feature: "\(key) \(what)")) }
        guard let spec = value as? [String: Any] else { throw unsupported("missing") }
        switch spec["type"] as? String {
        case "Sequence":
            let parts = spec["pretokenizers"] as? [Any] ?? []
            return try parts.enumerated().flatMap { try preTokenizers($1, path: path, key: "\(key).pretokenizers[\($0)]") }
        case "WhitespaceSplit":
            return [.whitespaceSplit]
        case "Metaspace":
            guard let r = spec["replacement"] as? String, r.count == 1, let replacement = r.first else {
                throw TokenizerError(.malformedJSON(path: path, key: key + ".replacement", reason: "expected one character"))
            }
            let prepend: Bool
            switch spec["prepend_scheme"] as? String {
            case "always": prepend = true
            case "never": prepend = false
            case nil: prepend = spec["add_prefix_space"] as? Bool ?? true  // tokenizers < 0.14 files
            case let other?: throw unsupported("Metaspace prepend_scheme \(other)")
            }
            return [.metaspace(replacement: replacement, prepend: prepend, split: spec["split"] as? Bool ?? true)]
        default:
            throw unsupported("type \(spec["type"] ?? "none")")
        }
    }

    /// `c{n,}` with a literal, non-special character `c`.
    static func characterRun(_ regex: String) -> (character: Character, minimum: Int)? {
        guard let c = regex.first, !"\\^$.|?*+()[]{}".contains(c), regex.dropFirst().hasPrefix("{"),
              regex.hasSuffix(",}"), let n = Int(regex.dropFirst(2).dropLast(2)), n >= 1 else { return nil }
        return (c, n)
    }
}
