import Foundation
import Synchronization

/// BERT's uncased WordPiece tokenizer: `BertNormalizer` (clean text, pad CJK ideographs with
/// spaces, strip accents, lowercase) → `BertPreTokenizer` (split on whitespace, isolate each
/// punctuation character) → greedy longest-match-first WordPiece with `##` continuations →
/// `[CLS] … [SEP]`, truncated to `maxLength` tokens.
///
/// Port of HF `tokenizers` 0.22 (`normalizers/bert.rs`, `pre_tokenizers/bert.rs`,
/// `models/wordpiece/mod.rs`), the backend of transformers' `BertTokenizer`(Fast).
public struct WordPieceTokenizer: TextTokenizer {
    public let vocabulary: [String: Int]
    public let maxLength: Int
    public let lowercase: Bool
    public let stripAccents: Bool
    public let handleChineseCharacters: Bool
    /// Words longer than this many characters become `[UNK]` (tokenizers default 100).
    public let maxInputCharactersPerWord: Int
    public let clsId: Int, sepId: Int, unkId: Int, padId: Int
    private let added: AddedTokenSplitter
    /// Longest vocabulary entry in scalars: no longer candidate can match.
    private let maxTokenScalars: Int
    /// Raw whitespace-free chunk → ids. Normalisation and pre-tokenisation never look across
    /// the characters that normalise to a space, so chunks are independent (bounded cache).
    private let cache = ChunkCache()

    /// Reads `vocab.txt` (one token per line, id = line index) or, if that is absent,
    /// `tokenizer.json` (`model.vocab`), plus the options in `tokenizer_config.json` if present.
    /// - Parameter maxLength: tokens per prompt including `[CLS]` and `[SEP]` (default 32).
    public init(directory: String, maxLength: Int = 32) throws {
        let vocabPath = TokenizerFiles.path(directory, "vocab.txt")
        let jsonPath = TokenizerFiles.path(directory, "tokenizer.json")
        var vocab: [String: Int] = [:]
        let source: String
        if TokenizerFiles.exists(vocabPath) {
            source = vocabPath
            let text = try TokenizerFiles.text(vocabPath)
            var lines = text.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            for (i, raw) in lines.enumerated() {
                let token = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
                guard !token.isEmpty else {
                    throw TokenizerError(.malformedLine(path: vocabPath, line: i + 1, reason: "empty token"))
                }
                if vocab[token] == nil { vocab[token] = i }
            }
        } else if TokenizerFiles.exists(jsonPath) {
            source = jsonPath
            let json = try TokenizerFiles.json(jsonPath)
            guard let model = json["model"] as? [String: Any], let v = model["vocab"] as? [String: Int] else {
                throw TokenizerError(.malformedJSON(path: jsonPath, key: "model.vocab", reason: "missing token→id object"))
            }
            if let type = model["type"] as? String, type != "WordPiece" {
                throw TokenizerError(.unsupported(path: jsonPath, feature: "model type \(type) (expected WordPiece)"))
            }
            vocab = v
        } else {
            throw TokenizerError(.missingFile(path: vocabPath))
        }
        var lower = true, chinese = true
        var strip: Bool? = nil
        let configPath = TokenizerFiles.path(directory, "tokenizer_config.json")
        if TokenizerFiles.exists(configPath) {
            let config = try TokenizerFiles.json(configPath)
            lower = config["do_lower_case"] as? Bool ?? true
            chinese = config["tokenize_chinese_chars"] as? Bool ?? true
            strip = config["strip_accents"] as? Bool
        }
        try self.init(vocabulary: vocab, maxLength: maxLength, lowercase: lower,
                      stripAccents: strip ?? lower, handleChineseCharacters: chinese, source: source)
    }

    /// Builds a tokenizer from an in-memory vocabulary (`source` names it in errors).
    public init(vocabulary: [String: Int], maxLength: Int = 32, lowercase: Bool = true,
                stripAccents: Bool = true, handleChineseCharacters: Bool = true,
                source: String = "vocabulary") throws {
        func id(_ t: String) throws -> Int {
            guard let i = vocabulary[t] else { throw TokenizerError(.missingSpecialToken(path: source, token: t)) }
            return i
        }
        guard maxLength >= 2 else { throw TokenizerError(.maxLengthTooSmall(maxLength: maxLength, specialTokens: 2)) }
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.handleChineseCharacters = handleChineseCharacters
        self.maxInputCharactersPerWord = 100
        clsId = try id("[CLS]"); sepId = try id("[SEP]"); unkId = try id("[UNK]"); padId = try id("[PAD]")
        var special: [String: Int] = [:]
        for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] { if let i = vocabulary[t] { special[t] = i } }
        added = AddedTokenSplitter(special)
        maxTokenScalars = vocabulary.keys.map { $0.unicodeScalars.count }.max() ?? 0
    }

    /// `[CLS] wordpieces… [SEP]`, the word pieces truncated to `maxLength - 2`.
    public func encode(_ text: String) -> [Int] {
        var ids = [clsId]
        let budget = maxLength - 2
        for piece in added.split(Array(text.unicodeScalars)) {
            if ids.count - 1 >= budget { break }
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let scalars):
                var start = 0
                while start < scalars.count, ids.count - 1 < budget {
                    while start < scalars.count && Self.becomesSpace(scalars[start]) { start += 1 }
                    var end = start
                    while end < scalars.count && !Self.becomesSpace(scalars[end]) { end += 1 }
                    if start < end { chunk(scalars[start..<end], into: &ids) }
                    start = end
                }
            }
        }
        if ids.count - 1 > budget { ids.removeLast(ids.count - 1 - budget) }
        ids.append(sepId)
        return ids
    }

    /// Token strings for `encode(text)` (for tests and debugging).
    public func tokens(_ text: String) -> [String] {
        let inverse = Dictionary(vocabulary.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        return encode(text).map { inverse[$0] ?? "?" }
    }

    /// Whether clean_text turns `c` into a space (whitespace that is not a control character).
    @inline(__always)
    static func becomesSpace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c == " " || c == "\t" || c == "\n" || c == "\r" }
        return UnicodeClass.isWhitespace(c) && !UnicodeClass.isOther(c)
    }

    /// Ids of one whitespace-free raw chunk, through the cache.
    private func chunk(_ raw: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        var key = ""
        key.unicodeScalars.append(contentsOf: raw)
        if let hit = cache.get(key) { ids.append(contentsOf: hit); return }
        var out: [Int] = []
        for word in preTokenize(normalize(Array(raw))) { wordPieces(word, into: &out) }
        cache.set(key, out)
        ids.append(contentsOf: out)
    }

    // MARK: - BertNormalizer

    func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // 1. clean_text: drop NUL, U+FFFD and control/format/unassigned; whitespace → space.
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(input.count)
        var ascii = true
        for c in input {
            if c == "\t" || c == "\n" || c == "\r" { out.append(" "); continue }
            if c.value == 0 || c.value == 0xFFFD { continue }
            if c.value < 0x80 {
                if c.value < 0x20 || c.value == 0x7f { continue }
                out.append(c)
                continue
            }
            ascii = false
            if UnicodeClass.isOther(c) { continue }
            if UnicodeClass.isWhitespace(c) { out.append(" "); continue }
            // 2. handle_chinese_chars: surround CJK ideographs with spaces.
            if handleChineseCharacters && UnicodeClass.isChineseCharacter(c) {
                out.append(" "); out.append(c); out.append(" ")
            } else {
                out.append(c)
            }
        }
        // 3. strip_accents: NFD, then drop nonspacing marks (Mn).
        if stripAccents && !ascii {
            let nfd = String(String.UnicodeScalarView(out)).decomposedStringWithCanonicalMapping
            out = nfd.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        // 4. lowercase.
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for c in out { UnicodeClass.appendLowercase(c, to: &lowered) }
            out = lowered
        }
        return out
    }

    // MARK: - BertPreTokenizer

    func preTokenize(_ text: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = 0
        for i in 0..<text.count {
            let c = text[i]
            if UnicodeClass.isWhitespace(c) {
                if start < i { words.append(text[start..<i]) }
                start = i + 1
            } else if UnicodeClass.isBertPunctuation(c) {
                if start < i { words.append(text[start..<i]) }
                words.append(text[i..<(i + 1)])
                start = i + 1
            }
        }
        if start < text.count { words.append(text[start..<text.count]) }
        return words
    }

    // MARK: - WordPiece

    /// Greedy longest-match-first; a word with an unmatched remainder becomes one `[UNK]`.
    func wordPieces(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        if word.count > maxInputCharactersPerWord { ids.append(unkId); return }
        var pieces: [Int] = []
        var start = word.startIndex
        while start < word.endIndex {
            var end = min(word.endIndex, start + maxTokenScalars)
            var found: Int? = nil
            while start < end {
                var s = start == word.startIndex ? "" : "##"
                s.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[s] { found = id; break }
                end -= 1
            }
            guard let id = found else { ids.append(unkId); return }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}

/// A bounded string → ids cache shared by copies of a tokenizer (cleared when full).
final class ChunkCache: Sendable {
    private let storage = Mutex<[String: [Int]]>([:])
    static let limit = 50_000
    func get(_ key: String) -> [Int]? { storage.withLock { $0[key] } }
    func set(_ key: String, _ value: [Int]) {
        storage.withLock { c in
            if c.count >= Self.limit { c.removeAll(keepingCapacity: true) }
            c[key] = value
        }
    }
}
