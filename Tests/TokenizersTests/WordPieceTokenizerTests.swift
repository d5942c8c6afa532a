import Foundation
import TestSupport
import Testing
@testable import Tokenizers

@Suite struct WordPieceTokenizerTests {
    static let directory = TestPaths.path("pipelines/shapes/tokenizer")

    // MARK: Parity

    /// Token ids equal transformers' `BertTokenizerFast` (all-MiniLM-L6-v2, max 32) for empty
    /// text, accents, numbers, punctuation, truncation, emoji, Chinese, whitespace and
    /// special tokens inside the text.
    @Test func idsMatchTransformers() throws {
        let tokenizer = try WordPieceTokenizer(directory: Self.directory)
        let expected = try TestPaths.expectedJSON("text-minilm")
        let prompts = expected["prompts"] as! [String]
        let ids = expected["ids"] as! [[Int]]
        for pass in 0..<2 {  // the second pass is served from the chunk cache
            for (p, e) in zip(prompts, ids) {
                #expect(tokenizer.encode(p) == e, "pass \(pass), prompt: \(p)")
            }
        }
    }

    /// `tokenizer.json` (when `vocab.txt` is absent) gives the same ids.
    @Test func tokenizerJSONMatchesVocabTxt() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("wp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        try FileManager.default.copyItem(atPath: Self.directory + "/tokenizer.json", toPath: temp.path + "/tokenizer.json")
        let a = try WordPieceTokenizer(directory: temp.path)
        let b = try WordPieceTokenizer(directory: Self.directory)
        #expect(a.encode("Crème brûlée, 3.14 café!") == b.encode("Crème brûlée, 3.14 café!"))
    }

    /// Max length is a parameter: `[CLS] … [SEP]` never exceeds it.
    @Test(arguments: [2, 5, 16, 64])
    func truncationRespectsMaxLength(_ maxLength: Int) throws {
        let tokenizer = try WordPieceTokenizer(directory: Self.directory, maxLength: maxLength)
        let ids = tokenizer.encode(String(repeating: "the quick brown fox ", count: 40))
        #expect(ids.count == maxLength)
        #expect(ids.first == tokenizer.clsId && ids.last == tokenizer.sepId)
    }

    // MARK: Bad input

    @Test func missingFilesNameTheExpectedPath() {
        let dir = "/nonexistent/tokenizer"
        #expect(throws: TokenizerError(.missingFile(path: dir + "/vocab.txt"))) {
            try WordPieceTokenizer(directory: dir)
        }
    }

    @Test func invalidUTF8ReportsOffset() throws {
        let tokenizer = try WordPieceTokenizer(directory: Self.directory)
        #expect(throws: TokenizerError(.invalidUTF8(byteOffset: 3))) {
            try tokenizer.encode(utf8: Data([0x61, 0x62, 0x63, 0xff, 0x64]))
        }
        #expect(try tokenizer.encode(utf8: Data("café".utf8)) == tokenizer.encode("café"))
    }

    @Test func maxLengthBelowSpecialTokensIsRejected() {
        #expect(throws: TokenizerError(.maxLengthTooSmall(maxLength: 1, specialTokens: 2))) {
            try WordPieceTokenizer(directory: Self.directory, maxLength: 1)
        }
    }

    @Test func batchIsRightPaddedWithMask() throws {
        let tokenizer = try WordPieceTokenizer(directory: Self.directory)
        let batch = tokenizer.encodeBatch(["a cat", ""])
        #expect(batch.ids[1] == [tokenizer.clsId, tokenizer.sepId, tokenizer.padId, tokenizer.padId])
        #expect(batch.mask[1] == [true, true, false, false])
        #expect(batch.lengths == [4, 2])
    }
}
