import Foundation

/// CLIP's byte-level BPE tokenizer with `</w>` end-of-word markers, read from `vocab.json` and
/// `merges.txt`: NFC → whitespace runs to one space → lowercase → CLIP split pattern →
/// byte-level BPE → `<|startoftext|> … <|endoftext|>`, truncated to `maxLength` (77) and, in
/// batches, padded with `<|endoftext|>` (`pad_token` of `openai/clip-vit-large-patch14`).
///
/// Port of transformers 5.x `CLIPTokenizer` (`models/clip/tokenization_clip.py`, which builds
/// a `tokenizers` pipeline: `NFC`, `Replace(\s+, " ")`, `Lowercase`, `Split(… removed,
/// invert)`, `ByteLevel`, `BPE(end_of_word_suffix="</w>", unk="<|endoftext|>")`,
/// `RobertaProcessing`).
public struct CLIPTokenizer: TextTokenizer {
    public let model: BytePairModel
    public let maxLength: Int
    public let bosId: Int, eosId: Int, padId: Int
    private let added: AddedTokenSplitter

    /// - Parameters:
    ///   - directory: folder holding `vocab.json` (token → id) and `merges.txt`.
    ///   - maxLength: tokens per prompt including start and end tokens (77 for CLIP-L).
    public init(directory: String, maxLength: Int = 77, bosToken: String = "<|startoftext|>",
                eosToken: String = "<|endoftext|>", padToken: String = "<|endoftext|>") throws {
        let vocabPath = TokenizerFiles.path(directory, "vocab.json")
        let mergesPath = TokenizerFiles.path(directory, "merges.txt")
        let vocabData = try TokenizerFiles.data(vocabPath)
        guard let vocab = try? JSONSerialization.jsonObject(with: vocabData) as? [String: Int] else {
            throw TokenizerError(.malformedJSON(path: vocabPath, key: "", reason: "not a token → id object"))
        }
        let mergesText = try TokenizerFiles.text(mergesPath)
        var merges: [(String, String)] = []
        for (i, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (i == 0 && l.hasPrefix("#version")) { continue }
            let parts = l.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(.malformedLine(path: mergesPath, line: i + 1, reason: "expected two tokens separated by one space"))
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        guard maxLength >= 2 else { throw TokenizerError(.maxLengthTooSmall(maxLength: maxLength, specialTokens: 2)) }
        func id(_ t: String) throws -> Int {
            guard let i = vocab[t] else { throw TokenizerError(.missingSpecialToken(path: vocabPath, token: t)) }
            return i
        }
        bosId = try id(bosToken); eosId = try id(eosToken); padId = try id(padToken)
        self.maxLength = maxLength
        model = try BytePairModel(vocabulary: vocab, merges: merges, endOfWordSuffix: "</w>",
                                  unkToken: eosToken, source: mergesPath)
        var special = [bosToken: bosId, eosToken: eosId]
        special[padToken] = padId
        added = AddedTokenSplitter(special)
    }

    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        let budget = maxLength - 2
        for piece in added.split(Array(text.unicodeScalars)) {
            if ids.count >= budget { break }
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let raw):
                let normalized = normalize(raw)
                for r in SplitPattern.clip.split(normalized) {
                    model.tokenize(ByteLevel.encode(normalized[r]), into: &ids)
                    if ids.count >= budget { break }
                }
            }
        }
        if ids.count > budget { ids.removeLast(ids.count - budget) }
        return [bosId] + ids + [eosId]
    }

    /// NFC, every `\s+` run to one space, then lowercase.
    func normalize(_ raw: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s = raw
        if s.contains(where: { $0.value >= 0x80 }) {
            s = Array(String(String.UnicodeScalarView(s)).precomposedStringWithCanonicalMapping.unicodeScalars)
        }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var inSpace = false
        for c in s {
            if UnicodeClass.isWhitespace(c) {
                if !inSpace { out.append(" ") }
                inSpace = true
            } else {
                inSpace = false
                UnicodeClass.appendLowercase(c, to: &out)
            }
        }
        return out
    }
}
