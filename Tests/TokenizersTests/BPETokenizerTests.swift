import Foundation
import TestSupport
import Testing
@testable import Tokenizers

@Suite struct BPETokenizerTests {
    // MARK: CLIP

    /// Ids equal transformers 5.x `CLIPTokenizer` (padded/truncated to 77) on a tokenizer
    /// trained by the fixture script: accents (NFC), emoji and CJK bytes, whitespace runs,
    /// contractions, numbers split digit by digit, truncation of the long prompt.
    @Test func clipIdsMatchTransformers() throws {
        let tokenizer = try CLIPTokenizer(directory: TestPaths.path("Tests/Fixtures/text-clip/tokenizer"))
        let expected = try TestPaths.expectedJSON("text-clip")
        let prompts = expected["prompts"] as! [String]
        let batch = tokenizer.encodeBatch(prompts, padToMaxLength: true)
        for (i, e) in (expected["ids"] as! [[Int]]).enumerated() {
            #expect(batch.ids[i] == e, "prompt: \(prompts[i])")
        }
    }

    // MARK: Llama 3 style byte-level BPE

    /// Raw ids (`<|begin_of_text|>` + text) and templated, padded ids equal transformers'
    /// `PreTrainedTokenizerFast` on the fixture's Llama-3-style `tokenizer.json`
    /// (special tokens inside the template, `\n\n`, Llama 3 split pattern, ignore_merges).
    @Test func llamaIdsMatchTransformers() throws {
        let dir = TestPaths.path("Tests/Fixtures/text-llama/tokenizer")
        let expected = try TestPaths.expectedJSON("text-llama")
        let raw = try ByteLevelBPETokenizer(directory: dir, maxLength: 10_000)
        let all = expected["all_prompts"] as! [String]
        for (p, e) in zip(all, expected["raw_ids"] as! [[Int]]) {
            #expect(raw.encode(p) == e, "prompt: \(p)")
        }
        let crop = expected["crop_start"] as! Int
        let maxLength = (expected["max_sequence_length"] as! Int) + crop
        let tokenizer = try ByteLevelBPETokenizer(directory: dir, maxLength: maxLength)
        let template = (expected["template"] as? String) ?? Self.videoTemplate
        let prompts = expected["prompts"] as! [String]
        let batch = tokenizer.encodeBatch(prompts.map { template.replacingOccurrences(of: "{}", with: $0) },
                                          padToMaxLength: true)
        #expect(batch.ids == expected["template_ids"] as! [[Int]])
        #expect(tokenizer.padId == raw.id(of: "<pad>"))
    }

    static let videoTemplate = "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
        + "1. The main content and theme of the video."
        + "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
        + "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
        + "4. background environment, light, style and atmosphere."
        + "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"

    // MARK: Split patterns

    /// The hand-written Llama 3 pattern on cases that distinguish its alternatives; expected
    /// pieces are `tokenizers` 0.23 `Split(Regex(pattern), "isolated")` output.
    @Test func llama3SplitPattern() {
        func pieces(_ s: String) -> [String] {
            let scalars = Array(s.unicodeScalars)
            return SplitPattern.llama3.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
        #expect(pieces("Hello world's 12345!!\n\n  end  ") == ["Hello", " world", "'s", " ", "123", "45", "!!\n\n", " ", " end", "  "])
        #expect(pieces("I'LL go\t(now)") == ["I", "'LL", " go", "\t", "(now", ")"])
        #expect(pieces("a\n \nb") == ["a", "\n \n", "b"])
    }

    @Test func gpt2SplitPattern() {
        let scalars = Array("Hi  there, it's 2024".unicodeScalars)
        let p = SplitPattern.gpt2.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        #expect(p == ["Hi", " ", " there", ",", " it", "'s", " 2024"])
    }

    // MARK: Bad input

    @Test func missingFilesNameTheExpectedPath() {
        #expect(throws: TokenizerError(.missingFile(path: "/nonexistent/vocab.json"))) {
            try CLIPTokenizer(directory: "/nonexistent")
        }
        #expect(throws: TokenizerError(.missingFile(path: "/nonexistent/tokenizer.json"))) {
            try ByteLevelBPETokenizer(directory: "/nonexistent", maxLength: 10)
        }
    }

    @Test func malformedMergesLineIsReported() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        let src = TestPaths.path("Tests/Fixtures/text-clip/tokenizer")
        try FileManager.default.copyItem(atPath: src + "/vocab.json", toPath: temp.path + "/vocab.json")
        try "#version: 0.2\na b c\n".write(toFile: temp.path + "/merges.txt", atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError(.malformedLine(path: temp.path + "/merges.txt", line: 2,
                                                      reason: "expected two tokens separated by one space"))) {
            try CLIPTokenizer(directory: temp.path)
        }
    }
}
