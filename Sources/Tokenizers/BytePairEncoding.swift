import Synchronization

/// GPT-2's reversible byte → printable-character map (`bytes_to_unicode` in GPT-2's
/// `encoder.py`, `tokenizers` `pre_tokenizers/byte_level.rs`): bytes 33–126, 161–172 and
/// 174–255 map to themselves, the other 68 bytes to U+0100 onwards in byte order.
public enum ByteLevel {
    public static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte-level string of `scalars` (UTF-8 bytes, each mapped through `byteToScalar`).
    static func encode(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var out = String.UnicodeScalarView()
        for s in scalars {
            for b in String(s).utf8 { out.append(byteToScalar[Int(b)]) }
        }
        return String(out)
    }
}

/// The BPE merge step shared by the CLIP and byte-level tokenizers: symbols start as the
/// word's characters (the last one with `endOfWordSuffix`), unknown symbols become `unkId`
/// (one each, `fuse_unk = false`), then the lowest-ranked adjacent pair is merged until none
/// applies (leftmost pair on equal rank).
/// Port of `tokenizers` 0.22 `models/bpe/model.rs::merge_word` and `word.rs::merge_all`.
public final class BytePairModel: Sendable {
    public let vocabulary: [String: Int]
    /// `(left id, right id)` → `(rank, merged id)`.
    let merges: [Pair: (rank: Int, id: Int)]
    let endOfWordSuffix: String
    let unkId: Int?
    /// `tokenizers`' `ignore_merges`: a word that is itself a vocabulary entry is one token.
    let ignoreMerges: Bool
    /// Word → ids cache (prompts repeat words); bounded, cleared when full.
    private let cache = Mutex<[String: [Int]]>([:])
    private static let cacheLimit = 50_000

    struct Pair: Hashable, Sendable { var a: Int32, b: Int32 }

    /// - Parameters:
    ///   - merges: pairs in rank order (rank = index); a pair whose parts or merge result are
    ///     not in the vocabulary is an error naming `source` and the 1-based rank.
    init(vocabulary: [String: Int], merges: [(String, String)], endOfWordSuffix: String = "",
         unkToken: String?, ignoreMerges: Bool = false, source: String) throws {
        self.vocabulary = vocabulary
        var table: [Pair: (rank: Int, id: Int)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (l, r)) in merges.enumerated() {
            guard let a = vocabulary[l], let b = vocabulary[r] else {
                throw TokenizerError(.malformedLine(path: source, line: rank + 1,
                                                   reason: "merge '\(l) \(r)' uses a token missing from the vocabulary"))
            }
            let merged = l + r
            guard let m = vocabulary[merged] else {
                throw TokenizerError(.malformedLine(path: source, line: rank + 1,
                                                   reason: "merge result '\(merged)' is missing from the vocabulary"))
            }
            let key = Pair(a: Int32(a), b: Int32(b))
            if table[key] == nil { table[key] = (rank, m) }
        }
        self.merges = table
        self.endOfWordSuffix = endOfWordSuffix
        if let unkToken {
            guard let u = vocabulary[unkToken] else {
                throw TokenizerError(.missingSpecialToken(path: source, token: unkToken))
            }
            unkId = u
        } else {
            unkId = nil
        }
        self.ignoreMerges = ignoreMerges
    }

    /// Token ids for one pre-tokenized word (already byte-level mapped where applicable).
    func tokenize(_ word: String, into out: inout [Int]) {
        if ignoreMerges, let id = vocabulary[word] { out.append(id); return }
        if let hit = cache.withLock({ $0[word] }) { out.append(contentsOf: hit); return }
        let ids = mergeWord(word)
        cache.withLock { c in
            if c.count >= Self.cacheLimit { c.removeAll(keepingCapacity: true) }
            c[word] = ids
        }
        out.append(contentsOf: ids)
    }

    func mergeWord(_ word: String) -> [Int] {
        // 1. Initial symbols: characters (Unicode scalars), suffix on the last one.
        var symbols: [Int] = []
        let scalars = Array(word.unicodeScalars)
        var pendingUnk = false
        for (i, c) in scalars.enumerated() {
            var s = String(c)
            if i == scalars.count - 1 { s += endOfWordSuffix }
            if let id = vocabulary[s] {
                if pendingUnk, let u = unkId { symbols.append(u) }
                pendingUnk = false
                symbols.append(id)
            } else if unkId != nil {
                if pendingUnk, let u = unkId { symbols.append(u) }
                pendingUnk = true
            }
        }
        if pendingUnk, let u = unkId { symbols.append(u) }
        // 2. Merge the lowest-ranked pair (leftmost on ties) until none applies.
        while symbols.count > 1 {
            var bestRank = Int.max, bestIndex = -1, bestId = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merges[Pair(a: Int32(symbols[i]), b: Int32(symbols[i + 1]))], m.rank < bestRank {
                    bestRank = m.rank; bestIndex = i; bestId = m.id
                }
            }
            if bestIndex < 0 { break }
            symbols[bestIndex] = bestId
            symbols.remove(at: bestIndex + 1)
        }
        return symbols
    }
}
