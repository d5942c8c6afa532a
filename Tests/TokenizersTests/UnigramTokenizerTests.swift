import Foundation
import TestSupport
import Testing
@testable import Tokenizers

/// The SentencePiece Unigram tokenizer against transformers 5.x `T5TokenizerFast`, on two
/// fixtures of `Scripts/fixtures/make_t5_fixtures.py`: `text-t5`, a `tokenizer.json` converted
/// from a small SentencePiece model trained with T5's settings (nmt_nfkc precompiled charsmap,
/// `<unk>` 2, `</s>` 1), and `text-t5-real`, T5 v1.1's own 32k-piece file (FLUX.1's
/// `tokenizer_2`) with FLUX-length prompts truncated and padded to 512.
@Suite struct UnigramTokenizerTests {
    static let parityFixtures = ["text-t5", "text-t5-real"]
    static let directory = tokenizerDirectory("text-t5")

    static func tokenizerDirectory(_ fixture: String) -> String { TestPaths.fixture(fixture + "/tokenizer") }

    // MARK: Parity

    /// Raw ids (text + `</s>`) equal transformers on ASCII, punctuation, digits, accents
    /// (precomposed and combining), CJK, emoji (unknown, fused), whitespace runs with tabs and
    /// newlines, NFKC cases (ligature, circled digit, fullwidth, ½, ™, ideographic and no-break
    /// spaces, Hangul jamo), special tokens inside the text, a literal `▁`, a zero-width space, a
    /// control character, and the empty string; on the real file also prompts of 512 to 590 ids.
    @Test(arguments: parityFixtures) func idsMatchTransformers(fixture: String) throws {
        let tokenizer = try UnigramTokenizer(directory: Self.tokenizerDirectory(fixture), maxLength: 10_000)
        let json = try TestPaths.expectedJSON(fixture)
        let prompts = json["prompts"] as! [String]
        for (p, e) in zip(prompts, json["ids"] as! [[Int]]) {
            #expect(tokenizer.encode(p) == e, "prompt: \(p.debugDescription)")
        }
        #expect(tokenizer.encode("") == [tokenizer.id(of: "</s>")!])
    }

    /// Truncation keeps `maxLength - 1` text tokens and then appends `</s>`; batches pad with
    /// `<pad>` (id 0) to the max length with a mask, as FLUX.1 calls the tokenizer (the real
    /// file: 512, with prompts that just fit, just overflow and overflow by far).
    @Test(arguments: parityFixtures) func truncationAndPaddingMatchTransformers(fixture: String) throws {
        let json = try TestPaths.expectedJSON(fixture)
        let prompts = json["prompts"] as! [String]
        let directory = Self.tokenizerDirectory(fixture)
        let short = try UnigramTokenizer(directory: directory, maxLength: json["truncate_length"] as! Int)
        for (p, e) in zip(prompts, json["truncated_ids"] as! [[Int]]) {
            #expect(short.encode(p) == e, "prompt: \(p.debugDescription)")
        }
        let padded = try UnigramTokenizer(directory: directory, maxLength: json["pad_length"] as! Int)
        #expect(padded.padId == 0)
        let batch = padded.encodeBatch(prompts, padToMaxLength: true)
        #expect(batch.ids == json["padded_ids"] as! [[Int]])
        #expect(batch.mask == (json["padded_mask"] as! [[Int]]).map { $0.map { $0 == 1 } })
    }

    /// The layout tokenizers' SentencePiece converter writes (the real T5 v1.1 file has it):
    /// `Sequence[Precompiled, Strip, Replace(" {2,}", "▁")]` and `Metaspace` alone. The script
    /// checks that `tokenizers` gives transformers' ids with it; so must we.
    @Test func converterLayoutGivesTheSameIds() throws {
        let json = try TestPaths.expectedJSON("text-t5")
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

    /// The real file read whole: 32,000 pieces + 100 extra ids in one vocabulary, the special
    /// ids every T5 checkpoint's embedding rows assume, and the extra ids counting down from the
    /// end (`<extra_id_0>` is the last row).
    @Test func realVocabularyLayout() throws {
        let tokenizer = try UnigramTokenizer(directory: Self.tokenizerDirectory("text-t5-real"), maxLength: 512)
        #expect(tokenizer.model.pieces.count == 32_100)
        #expect(tokenizer.model.unkId == 2)
        #expect(tokenizer.padId == 0)
        let ids = ["<pad>", "</s>", "<unk>", "<extra_id_99>", "<extra_id_0>"].map { tokenizer.id(of: $0) }
        #expect(ids == [0, 1, 2, 32_000, 32_099])
        #expect(tokenizer.suffixIds == [1] && tokenizer.prefixIds.isEmpty)
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
