import Foundation
import TestSupport
import Testing
@testable import Tokenizers

/// The SentencePiece Unigram tokenizer against transformers 5.x `T5TokenizerFast` on the
/// `tokenizer.json` that `Scripts/fixtures/make_t5_fixtures.py` converts from a SentencePiece
/// model trained with T5's settings (nmt_nfkc precompiled charsmap, `<unk>` 2, `</s>` 1).
@Suite struct UnigramTokenizerTests {
    static let directory = TestPaths.path("Tests/Fixtures/text-t5/tokenizer")

    static func expected() throws -> [String: Any] { try TestPaths.expectedJSON("text-t5") }

    // MARK: Parity

    /// Raw ids (text + `</s>`) equal transformers on ASCII, punctuation, digits, accents
    /// (precomposed and combining), CJK, emoji (unknown, fused), whitespace runs with tabs and
    /// newlines, NFKC cases (ligature, circled digit, fullwidth, ½, ™, ideographic and no-break
    /// spaces, Hangul jamo), special tokens inside the text, a literal `▁`, a zero-width space, a
    /// control character, and the empty string.
    @Test func idsMatchTransformers() throws {
        let tokenizer = try UnigramTokenizer(directory: Self.directory, maxLength: 10_000)
        let json = try Self.expected()
        let prompts = json["prompts"] as! [String]
        for (p, e) in zip(prompts, json["ids"] as! [[Int]]) {
            #expect(tokenizer.encode(p) == e, "prompt: \(p.debugDescription)")
        }
        #expect(tokenizer.encode("") == [tokenizer.id(of: "</s>")!])
    }

    /// Truncation keeps `maxLength - 1` text tokens and then appends `</s>`; batches pad with
    /// `<pad>` (id 0) to the max length with a mask, as FLUX.1 calls the tokenizer.
    @Test func truncationAndPaddingMatchTransformers() throws {
        let json = try Self.expected()
        let prompts = json["prompts"] as! [String]
        let short = try UnigramTokenizer(directory: Self.directory, maxLength: json["truncate_length"] as! Int)
        for (p, e) in zip(prompts, json["truncated_ids"] as! [[Int]]) {
            #expect(short.encode(p) == e, "prompt: \(p.debugDescription)")
        }
        let padded = try UnigramTokenizer(directory: Self.directory, maxLength: json["pad_length"] as! Int)
        #expect(padded.padId == 0)
        let batch = padded.encodeBatch(prompts, padToMaxLength: true)
        #expect(batch.ids == json["padded_ids"] as! [[Int]])
        #expect(batch.mask == (json["padded_mask"] as! [[Int]]).map { $0.map { $0 == 1 } })
    }

    /// The layout tokenizers' SentencePiece converter writes (T5 v1.1's vendored file):
    /// `Sequence[Precompiled, Strip, Replace(" {2,}", "▁")]` and `Metaspace` alone. The script
    /// checks that `tokenizers` gives transformers' ids with it; so must we.
    @Test func converterLayoutGivesTheSameIds() throws {
        let json = try Self.expected()
        let layout = json["spm_layout"] as! [String: Any]
        let dir = try rewrittenTokenizer { spec in
            spec["normalizer"] = ["type": "Sequence",
                                  "normalizers": [spec["normalizer"]!] + (layout["normalizers_after_precompiled"] as! [Any])]
            spec["pre_tokenizer"] = layout["pre_tokenizer"]
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try UnigramTokenizer(directory: dir, maxLength: 10_000)
        for (p, e) in zip(json["prompts"] as! [String], json["ids"] as! [[Int]]) {
            #expect(tokenizer.encode(p) == e, "prompt: \(p.debugDescription)")
        }
    }

    // MARK: Model

    /// Viterbi picks the highest total score, not the longest first piece; unknown characters
    /// fuse into one `<unk>`; with byte fallback they are spelled as `<0xXX>` pieces.
    @Test func viterbiUnknownFusionAndByteFallback() {
        let pieces: [(String, Double)] = [("<unk>", 0), ("▁ab", -5), ("▁a", -1), ("bc", -1), ("c", -3), ("b", -4),
                                          ("<0xE2>", -1), ("<0x82>", -1), ("<0xAC>", -1)]
        let model = UnigramModel(pieces: pieces, unkId: 0, byteFallback: false)
        #expect(model.segment(Array("▁abc".utf8)) == ["▁a", "bc"])  // -2 beats ▁ab + c = -8
        #expect(model.segment(Array("€€c".utf8)) == ["€€", "c"])
        var ids: [Int] = []
        model.tokenize(Array("€€c".utf8), into: &ids)
        #expect(ids == [0, 4])
        let fallback = UnigramModel(pieces: pieces, unkId: 0, byteFallback: true)
        ids = []
        fallback.tokenize(Array("€c".utf8), into: &ids)
        #expect(ids == [6, 7, 8, 4])
    }

    // MARK: Errors

    /// A broken file names the file and the key: a BPE model, a vocab entry without a score,
    /// a corrupt charsmap, an unsupported Metaspace scheme and a missing file.
    @Test func malformedFilesAreReported() throws {
        let cases: [(edit: (inout [String: Any]) -> Void, expected: (String) -> TokenizerError.Kind)] = [
            ({ $0["model"] = ["type": "BPE", "vocab": [String: Int]()] },
             { .unsupported(path: $0, feature: "model type BPE (expected Unigram)") }),
            ({ var m = $0["model"] as! [String: Any]; m["vocab"] = [["<pad>", 0.0], ["x"]]; $0["model"] = m },
             { .malformedJSON(path: $0, key: "model.vocab[1]", reason: "expected [piece, score]") }),
            ({ $0["normalizer"] = ["type": "Precompiled", "precompiled_charsmap": "AAABAA=="] },
             { .malformedJSON(path: $0, key: "normalizer.precompiled_charsmap",
                              reason: "trie size 65536 does not fit the 4-byte charsmap") }),
            ({ $0["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"] },
             { .unsupported(path: $0, feature: "pre_tokenizer Metaspace prepend_scheme first") }),
        ]
        for c in cases {
            let dir = try rewrittenTokenizer(c.edit)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/tokenizer.json"
            #expect(throws: TokenizerError(c.expected(path))) { try UnigramTokenizer(directory: dir, maxLength: 8) }
        }
        #expect(throws: TokenizerError(.missingFile(path: "/nonexistent/tokenizer.json"))) {
            try UnigramTokenizer(directory: "/nonexistent", maxLength: 8)
        }
    }

    /// The fixture's `tokenizer.json` after `edit`, alone in a temporary folder.
    func rewrittenTokenizer(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/tokenizer.json"))
        var spec = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&spec)
        let dir = try makeTemporaryDirectory(prefix: "unigram-tokenizer")
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        return dir
    }
}
