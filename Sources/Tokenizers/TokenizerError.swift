import Foundation

/// Every failure of the `Tokenizers` module: a missing or malformed tokenizer file, or text
/// that cannot be tokenized. Each case carries the file (and line or key) it concerns.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A required file does not exist at `path`.
        case missingFile(path: String)
        /// The file exists but could not be read or decoded.
        case unreadableFile(path: String, reason: String)
        /// A vocabulary/merges line is malformed (1-based `line`).
        case malformedLine(path: String, line: Int, reason: String)
        /// A JSON file lacks a key or has the wrong type at `key` (dotted path).
        case malformedJSON(path: String, key: String, reason: String)
        /// The file asks for a tokenizer feature this module does not implement.
        case unsupported(path: String, feature: String)
        /// A special token the tokenizer needs is not in its vocabulary.
        case missingSpecialToken(path: String, token: String)
        /// Input bytes are not valid UTF-8 (`byteOffset` of the first bad byte).
        case invalidUTF8(byteOffset: Int)
        /// `maxLength` cannot hold the special tokens the template adds.
        case maxLengthTooSmall(maxLength: Int, specialTokens: Int)
    }

    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .missingFile(let path):
            return "tokenizer file not found: expected \(path)"
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read tokenizer file: \(reason)"
        case .malformedLine(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .malformedJSON(let path, let key, let reason):
            return "\(path): \(key): \(reason)"
        case .unsupported(let path, let feature):
            return "\(path): unsupported tokenizer feature: \(feature)"
        case .missingSpecialToken(let path, let token):
            return "\(path): special token \(token) is not in the vocabulary"
        case .invalidUTF8(let offset):
            return "input text is not valid UTF-8 (first bad byte at offset \(offset))"
        case .maxLengthTooSmall(let maxLength, let special):
            return "max length \(maxLength) cannot hold the \(special) special tokens the tokenizer adds"
        }
    }
}

/// File reading shared by the tokenizers: a missing file names the expected path.
enum TokenizerFiles {
    static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func data(_ path: String) throws -> Data {
        guard exists(path) else { throw TokenizerError(.missingFile(path: path)) }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TokenizerError(.unreadableFile(path: path, reason: (error as NSError).localizedDescription))
        }
    }

    static func text(_ path: String) throws -> String {
        let d = try data(path)
        guard let s = String(data: d, encoding: .utf8) else {
            throw TokenizerError(.unreadableFile(path: path, reason: "not UTF-8 text"))
        }
        return s
    }

    static func json(_ path: String) throws -> [String: Any] {
        let d = try data(path)
        guard let object = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else {
            throw TokenizerError(.malformedJSON(path: path, key: "", reason: "not a JSON object"))
        }
        return object
    }

    /// The parts of a `tokenizer.json` that every model type reads the same way: its added tokens,
    /// the post-processor's special tokens (checked against `maxLength`) and the padding token
    /// named by the caller or `tokenizer_config.json`.
    struct SharedParts {
        /// `added_tokens`: content → id.
        var addedTokens: [String: Int] = [:]
        /// Ids the post-processor template puts before and after the text.
        var prefixIds: [Int], suffixIds: [Int]
        /// `padToken`, else `pad_token` of `tokenizer_config.json` beside the file; nil when neither
        /// names one (the caller decides the fallback).
        var padToken: String?

        /// - Parameter refusedFlags: added-token flags this tokenizer cannot honour (an added token
        ///   with one of them set is an `unsupported` error).
        init(_ json: [String: Any], path: String, directory: String, maxLength: Int, padToken: String?,
             refusedFlags: [String] = []) throws {
            for (i, t) in (json["added_tokens"] as? [[String: Any]] ?? []).enumerated() {
                guard let content = t["content"] as? String, let id = t["id"] as? Int else {
                    throw TokenizerError(.malformedJSON(path: path, key: "added_tokens[\(i)]", reason: "needs content and id"))
                }
                for flag in refusedFlags where t[flag] as? Bool == true {
                    throw TokenizerError(.unsupported(path: path, feature: "added token \(content) with \(flag)"))
                }
                addedTokens[content] = id
            }
            (prefixIds, suffixIds) = try ByteLevelBPETokenizer.template(json["post_processor"] as? [String: Any], path: path)
            let specials = prefixIds.count + suffixIds.count
            guard maxLength > specials else {
                throw TokenizerError(.maxLengthTooSmall(maxLength: maxLength, specialTokens: specials))
            }
            self.padToken = padToken
            let configPath = TokenizerFiles.path(directory, "tokenizer_config.json")
            if padToken == nil, TokenizerFiles.exists(configPath) {
                let config = try TokenizerFiles.json(configPath)
                self.padToken = config["pad_token"] as? String ?? (config["pad_token"] as? [String: Any])?["content"] as? String
            }
        }
    }

    /// Decodes UTF-8 strictly, reporting the offset of the first invalid byte.
    static func decodeUTF8(_ data: Data) throws -> String {
        var offset = 0
        var scalars = String.UnicodeScalarView()
        var iterator = data.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                scalars.append(s)
                offset += UTF8.width(s)
            case .emptyInput:
                return String(scalars)
            case .error:
                throw TokenizerError(.invalidUTF8(byteOffset: offset))
            }
        }
    }
}

/// Token ids of a batch, right-padded to one length, with the attention mask.
public struct TokenBatch: Sendable, Equatable {
    /// `[batch][length]` token ids; positions past an item's tokens hold the pad id.
    public var ids: [[Int]]
    /// `[batch][length]`: true for real tokens, false for padding.
    public var mask: [[Bool]]
    /// Number of real tokens per item.
    public var lengths: [Int] { mask.map { $0.reduce(0) { $0 + ($1 ? 1 : 0) } } }

    public init(ids: [[Int]], mask: [[Bool]]) {
        self.ids = ids
        self.mask = mask
    }

    /// Right-pads `sequences` with `padId` to `length` (default: the longest sequence).
    public init(padding sequences: [[Int]], padId: Int, to length: Int? = nil) {
        let n = length ?? (sequences.map(\.count).max() ?? 0)
        ids = sequences.map { Array($0.prefix(n)) + [Int](repeating: padId, count: max(0, n - $0.count)) }
        mask = sequences.map { s in (0..<n).map { $0 < s.count } }
    }
}

/// What every tokenizer here offers: text to ids (special tokens added, truncated to the
/// tokenizer's max length) and batches padded with its pad token.
public protocol TextTokenizer: Sendable {
    /// Token ids of `text`, with the model's special tokens, truncated to `maxLength`.
    func encode(_ text: String) -> [Int]
    /// The id used for right padding.
    var padId: Int { get }
    /// The longest sequence `encode` returns (special tokens included).
    var maxLength: Int { get }
}

extension TextTokenizer {
    /// Encodes raw UTF-8 bytes, throwing `invalidUTF8` with the offset of the first bad byte.
    public func encode(utf8 data: Data) throws -> [Int] {
        encode(try TokenizerFiles.decodeUTF8(data))
    }

    /// Encodes and right-pads a batch; `padToMaxLength` pads to `maxLength` (CLIP, Llama),
    /// otherwise to the longest item (BERT, as sentence-transformers does).
    public func encodeBatch(_ texts: [String], padToMaxLength: Bool = false) -> TokenBatch {
        TokenBatch(padding: texts.map { encode($0) }, padId: padId, to: padToMaxLength ? maxLength : nil)
    }
}
