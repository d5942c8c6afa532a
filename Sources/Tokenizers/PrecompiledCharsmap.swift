import Foundation

/// SentencePiece's compiled normalization rules (`normalizer_spec.precompiled_charsmap`, the
/// `Precompiled` normalizer of a `tokenizer.json`): a darts-clone double-array trie over UTF-8
/// keys whose values index NUL-terminated replacement strings. T5's file carries the `nmt_nfkc`
/// rules: NFKC, whitespace and control characters to a space, zero-width characters removed.
///
/// Port of `spm_precompiled` 0.1 (`DoubleArray`, `Precompiled::transform`) and of `tokenizers`
/// 0.22 `normalizers/precompiled.rs`, including its grapheme rule: a grapheme cluster shorter
/// than 6 bytes is looked up whole, otherwise (or when it has no entry) scalar by scalar.
struct PrecompiledCharsmap: Sendable {
    /// Double-array units: label, leaf flag and child offset packed as darts-clone does.
    private let units: [UInt32]
    /// Replacement strings, each ended by a 0 byte.
    private let replacements: [UInt8]

    /// - Parameters:
    ///   - data: the decoded blob: trie size in bytes (u32, little endian), the trie, then the
    ///     replacement strings.
    ///   - path, key: where the blob was read, for errors.
    init(_ data: [UInt8], path: String, key: String) throws {
        func fail(_ reason: String) -> TokenizerError { TokenizerError(.malformedJSON(path: path, key: key, reason: reason)) }
        guard data.count >= 4 else { throw fail("charsmap shorter than its 4-byte header") }
        let trieBytes = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
        guard trieBytes % 4 == 0, trieBytes > 0, 4 + trieBytes <= data.count else {
            throw fail("trie size \(trieBytes) does not fit the \(data.count)-byte charsmap")
        }
        units = (0..<(trieBytes / 4)).map { i in
            let o = 4 + 4 * i
            return UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
        }
        replacements = Array(data[(4 + trieBytes)...])
        guard String(validating: replacements, as: UTF8.self) != nil else { throw fail("replacement strings are not UTF-8") }
    }

    /// `text` with every grapheme cluster (or scalar) that has an entry replaced.
    func normalize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let bytes = Array(String(grapheme).utf8)
            if bytes.count < 6, let r = replacement(bytes[...]) {
                out += r
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let s = Array(String(scalar).utf8)
                out += replacement(s[...]) ?? s[...]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The replacement of the shortest key that is a prefix of `key` (spm_precompiled takes the
    /// first common-prefix match), or nil when no key is.
    private func replacement(_ key: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let index = firstPrefixValue(key), index < replacements.count else { return nil }
        let end = replacements[index...].firstIndex(of: 0) ?? replacements.count
        return replacements[index..<end]
    }

    /// darts-clone `commonPrefixSearch`, stopped at the first match; out-of-range offsets (a
    /// corrupt trie) end the search instead of trapping.
    private func firstPrefixValue(_ key: ArraySlice<UInt8>) -> Int? {
        func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        var node = offset(units[0])
        for c in key {
            if c == 0 { return nil }
            node ^= Int(c)
            guard node < units.count else { return nil }
            let unit = units[node]
            guard unit & ((1 << 31) | 0xFF) == UInt32(c) else { return nil }  // label
            node ^= offset(unit)
            guard node < units.count else { return nil }
            if (unit >> 8) & 1 == 1 { return Int(units[node] & ((1 << 31) - 1)) }  // leaf value
        }
        return nil
    }
}
