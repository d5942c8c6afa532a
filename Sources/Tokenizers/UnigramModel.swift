/// A SentencePiece Unigram model: pieces with log-probability scores, segmented by the
/// highest-scoring path (Viterbi) over a byte trie of the pieces.
///
/// Port of `tokenizers` 0.22 `models/unigram/model.rs` (`encode_optimized`, after
/// sentencepiece `unigram_model.cc`): a character no piece starts with becomes `<unk>` scored
/// `min score - 10`, consecutive unknown characters fuse into one `<unk>`, and with
/// `byte_fallback` an unknown run is spelled as `<0xXX>` byte pieces when they all exist.
public struct UnigramModel: Sendable {
    /// Piece strings by id.
    public let pieces: [String]
    /// Log-probability of each piece (Float64, as stored in `tokenizer.json`).
    public let scores: [Double]
    public let unkId: Int
    public let byteFallback: Bool
    /// Piece → id (a repeated piece keeps its last id, as tokenizers' `token_to_ids`).
    let ids: [String: Int]
    /// Trie edges keyed `node << 8 | byte` → child node; node 0 is the root.
    private let edges: [Int: Int32]
    /// Piece id ending at each trie node, or -1.
    private let terminal: [Int32]
    private let unkScore: Double

    /// `kUnkPenalty` of sentencepiece and tokenizers.
    static let unknownPenalty = 10.0

    public init(pieces: [(String, Double)], unkId: Int, byteFallback: Bool) {
        self.pieces = pieces.map(\.0)
        scores = pieces.map(\.1)
        self.unkId = unkId
        self.byteFallback = byteFallback
        var ids: [String: Int] = [:], edges: [Int: Int32] = [:], terminal: [Int32] = [-1]
        for (id, piece) in self.pieces.enumerated() {
            ids[piece] = id
            var node = 0
            for byte in piece.utf8 {
                let key = node << 8 | Int(byte)
                if let child = edges[key] {
                    node = Int(child)
                } else {
                    edges[key] = Int32(terminal.count)
                    node = terminal.count
                    terminal.append(-1)
                }
            }
            if node != 0 { terminal[node] = Int32(id) }
        }
        self.ids = ids
        self.edges = edges
        self.terminal = terminal
        unkScore = (scores.min() ?? 0) - Self.unknownPenalty
    }

    /// Appends the ids of one pre-tokenized word (UTF-8 bytes).
    public func tokenize(_ word: [UInt8], into out: inout [Int]) {
        for piece in segment(word) {
            if let id = ids[piece] {
                out.append(id)
            } else if byteFallback, let bytes = byteIds(piece) {
                out += bytes
            } else {
                out.append(unkId)
            }
        }
    }

    /// The best segmentation of `word` as piece strings, unknown runs fused.
    func segment(_ word: [UInt8]) -> [String] {
        let n = word.count
        // best[e]: score of the best path ending at byte e, the start of its last piece and its id.
        var score = [Double](repeating: 0, count: n + 1)
        var start = [Int](repeating: -1, count: n + 1)
        var piece = [Int](repeating: -1, count: n + 1)
        func relax(_ end: Int, _ from: Int, _ id: Int, _ s: Double) {
            if start[end] < 0 || s > score[end] { score[end] = s; start[end] = from; piece[end] = id }
        }
        var i = 0
        while i < n {
            let charLength = Self.utf8Length(word[i])
            var node = 0, j = i, hasSingleCharacter = false
            while j < n, let child = edges[node << 8 | Int(word[j])] {
                node = Int(child)
                j += 1
                let id = Int(terminal[node])
                if id >= 0 {
                    relax(j, i, id, score[i] + scores[id])
                    if j - i == charLength { hasSingleCharacter = true }
                }
            }
            if !hasSingleCharacter { relax(min(n, i + charLength), i, unkId, score[i] + unkScore) }
            i += charLength
        }
        // Walk back, fusing consecutive unknown pieces.
        var result: [String] = [], end = n, unknownEnd = -1
        while end > 0 {
            let s = start[end]
            if piece[end] == unkId {
                if unknownEnd < 0 { unknownEnd = end }
            } else {
                if unknownEnd >= 0 { result.append(Self.string(word[end..<unknownEnd])); unknownEnd = -1 }
                result.append(Self.string(word[s..<end]))
            }
            end = s
        }
        if unknownEnd >= 0 { result.append(Self.string(word[0..<unknownEnd])) }
        return result.reversed()
    }

    /// `<0xXX>` piece ids for every byte of `piece`, or nil if one is missing.
    private func byteIds(_ piece: String) -> [Int]? {
        var out: [Int] = []
        for byte in piece.utf8 {
            let name = "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
            guard let id = ids[name] else { return nil }
            out.append(id)
        }
        return out
    }

    private static func string(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Bytes of the UTF-8 sequence led by `lead` (1 for a stray continuation byte).
    private static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
