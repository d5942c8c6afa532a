import Foundation

/// A GPT-2 / Llama 3 style byte-level BPE tokenizer read from a `tokenizer.json`: special
/// ("added") tokens such as `<|begin_of_text|>` are split out of the raw text first, the rest
/// is pre-tokenized with the Llama 3 (or GPT-2) pattern, mapped byte → printable character,
/// merged by rank, and wrapped by the file's `TemplateProcessing` post-processor.
///
/// Port of `tokenizers` 0.22 (`pre_tokenizers/split.rs`, `pre_tokenizers/byte_level.rs`,
/// `models/bpe`, `processors/template.rs`) as used by transformers' `PreTrainedTokenizerFast`
/// for Llama 3. Truncation keeps the first `maxLength - specials` tokens of the text, then the
/// template adds its special tokens (transformers `truncation=True`).
public struct ByteLevelBPETokenizer: TextTokenizer {
    public let model: BytePairModel
    public let pattern: SplitPattern
    public let maxLength: Int
    public let padId: Int
    /// Ids the post-processor puts before and after the text (`<|begin_of_text|>`, none).
    public let prefixIds: [Int], suffixIds: [Int]
    /// Added tokens (content → id), matched in the raw text.
    public let addedTokens: [String: Int]
    private let added: AddedTokenSplitter

    /// - Parameters:
    ///   - directory: folder with `tokenizer.json` (and optionally `tokenizer_config.json`).
    ///   - maxLength: tokens per text including template tokens.
    ///   - padToken: the padding token; default `pad_token` of `tokenizer_config.json`, else
    ///     the `padding.pad_id` of `tokenizer.json`.
    public init(directory: String, maxLength: Int, padToken: String? = nil) throws {
        let path = TokenizerFiles.path(directory, "tokenizer.json")
        let json = try TokenizerFiles.json(path)
        func fail(_ key: String, _ reason: String) -> TokenizerError {
            TokenizerError(.malformedJSON(path: path, key: key, reason: reason))
        }
        // 1. Model.
        guard let m = json["model"] as? [String: Any] else { throw fail("model", "missing object") }
        guard (m["type"] as? String ?? "BPE") == "BPE" else {
            throw TokenizerError(.unsupported(path: path, feature: "model type \(m["type"] ?? "?")"))
        }
        guard let vocab = m["vocab"] as? [String: Int] else { throw fail("model.vocab", "missing token → id object") }
        if m["byte_fallback"] as? Bool == true { throw TokenizerError(.unsupported(path: path, feature: "byte_fallback")) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = m[key] as? String, !v.isEmpty {
                throw TokenizerError(.unsupported(path: path, feature: "\(key) \(v)"))
            }
        }
        var merges: [(String, String)] = []
        for (i, item) in (m["merges"] as? [Any] ?? []).enumerated() {
            if let s = item as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw fail("model.merges[\(i)]", "expected 'left right'") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = item as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw fail("model.merges[\(i)]", "expected a string or a pair of strings")
            }
        }
        model = try BytePairModel(vocabulary: vocab, merges: merges, unkToken: m["unk_token"] as? String,
                                  ignoreMerges: m["ignore_merges"] as? Bool ?? false, source: path)
        // 2. Normalizer (none) and pre-tokenizer.
        if let n = json["normalizer"], !(n is NSNull) {
            throw TokenizerError(.unsupported(path: path, feature: "normalizer \((n as? [String: Any])?["type"] ?? "?")"))
        }
        pattern = try Self.pattern(json["pre_tokenizer"] as? [String: Any], path: path)
        // 3-5. Added tokens, post-processor template, padding token.
        let shared = try TokenizerFiles.SharedParts(json, path: path, directory: directory, maxLength: maxLength,
                                                    padToken: padToken)
        addedTokens = shared.addedTokens
        added = AddedTokenSplitter(shared.addedTokens)
        (prefixIds, suffixIds) = (shared.prefixIds, shared.suffixIds)
        self.maxLength = maxLength
        if let pad = shared.padToken {
            guard let id = shared.addedTokens[pad] ?? vocab[pad] else {
                throw TokenizerError(.missingSpecialToken(path: path, token: pad))
            }
            padId = id
        } else if let padding = json["padding"] as? [String: Any], let id = padding["pad_id"] as? Int {
            padId = id
        } else {
            throw TokenizerError(.missingSpecialToken(path: TokenizerFiles.path(directory, "tokenizer_config.json"),
                                                      token: "pad_token"))
        }
    }

    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        let budget = maxLength - prefixIds.count - suffixIds.count
        for piece in added.split(Array(text.unicodeScalars)) {
            if ids.count >= budget { break }
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let s):
                for r in pattern.split(s) {
                    model.tokenize(ByteLevel.encode(s[r]), into: &ids)
                    if ids.count >= budget { break }
                }
            }
        }
        if ids.count > budget { ids.removeLast(ids.count - budget) }
        return prefixIds + ids + suffixIds
    }

    /// The id of an added token or vocabulary entry.
    public func id(of token: String) -> Int? { addedTokens[token] ?? model.vocabulary[token] }

    // MARK: - tokenizer.json parsing

    static func pattern(_ p: [String: Any]?, path: String) throws -> SplitPattern {
        let unsupported = { (what: String) in TokenizerError(.unsupported(path: path, feature: "pre_tokenizer \(what)")) }
        guard let p, let type = p["type"] as? String else { throw unsupported("missing") }
        func byteLevel(_ b: [String: Any]) throws -> Bool {  // returns use_regex
            if b["add_prefix_space"] as? Bool == true { throw unsupported("ByteLevel add_prefix_space") }
            return b["use_regex"] as? Bool ?? true
        }
        switch type {
        case "ByteLevel":
            guard try byteLevel(p) else { throw unsupported("ByteLevel without regex and no Split") }
            return .gpt2
        case "Sequence":
            let parts = p["pretokenizers"] as? [[String: Any]] ?? []
            guard parts.count == 2, parts[0]["type"] as? String == "Split", parts[1]["type"] as? String == "ByteLevel"
            else { throw unsupported("Sequence other than [Split, ByteLevel]") }
            guard try !byteLevel(parts[1]) else { throw unsupported("Split followed by ByteLevel(use_regex: true)") }
            let split = parts[0]
            let regex = (split["pattern"] as? [String: Any])?["Regex"] as? String
            guard (split["behavior"] as? String) == "Isolated", (split["invert"] as? Bool ?? false) == false
            else { throw unsupported("Split behavior other than Isolated") }
            switch regex {
            case SplitPattern.llama3Source: return .llama3
            case SplitPattern.gpt2Source: return .gpt2
            default: throw unsupported("Split pattern \(regex ?? "?")")
            }
        default:
            throw unsupported(type)
        }
    }

    static func template(_ p: [String: Any]?, path: String) throws -> ([Int], [Int]) {
        guard let p else { return ([], []) }
        switch p["type"] as? String {
        case "ByteLevel": return ([], [])
        case "Sequence":
            let parts = p["processors"] as? [[String: Any]] ?? []
            var result: ([Int], [Int]) = ([], [])
            for part in parts where part["type"] as? String != "ByteLevel" {
                result = try template(part, path: path)
            }
            return result
        case "TemplateProcessing":
            let specials = p["special_tokens"] as? [String: Any] ?? [:]
            var prefix: [Int] = [], suffix: [Int] = []
            var seenSequence = false
            for item in p["single"] as? [[String: Any]] ?? [] {
                if item["Sequence"] != nil { seenSequence = true; continue }
                guard let s = item["SpecialToken"] as? [String: Any], let name = s["id"] as? String,
                      let ids = (specials[name] as? [String: Any])?["ids"] as? [Int] else {
                    throw TokenizerError(.malformedJSON(path: path, key: "post_processor.single", reason: "unknown item"))
                }
                if seenSequence { suffix += ids } else { prefix += ids }
            }
            return (prefix, suffix)
        default:
            throw TokenizerError(.unsupported(path: path, feature: "post_processor \(p["type"] ?? "?")"))
        }
    }
}
