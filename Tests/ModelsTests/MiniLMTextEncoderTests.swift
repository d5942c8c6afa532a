import Foundation
import Tensor
import TestSupport
import Testing
@testable import Models

@Suite struct MiniLMTextEncoderTests {
    /// Loaded once for the suite (mapping and checking 45 MB of float16 weights).
    static let shared = Result {
        try MiniLMTextEncoder(directory: TestPaths.path("pipelines/shapes/text_encoder"),
                              tokenizerDirectory: TestPaths.path("pipelines/shapes/tokenizer"))
    }

    static func encoder() throws -> MiniLMTextEncoder { try shared.get() }

    // MARK: Parity

    /// Batched encode of the fixture prompts (right padded) matches per-prompt PyTorch
    /// `last_hidden_state` on the real tokens and `SentenceTransformer.encode` embeddings,
    /// using the committed float16 weights (the fixture loaded the same weights in float32).
    @Test func matchesSentenceTransformers() throws {
        let encoder = try Self.encoder()
        let json = try TestPaths.expectedJSON("text-minilm")
        let expected = try TestPaths.expectedTensors("text-minilm")
        let prompts = json["prompts"] as! [String]
        let ids = json["ids"] as! [[Int]]
        let out = try encoder.encode(prompts)
        let n = out.states.shape[1], d = 384
        #expect(out.states.shape == [prompts.count, ids.map(\.count).max()!, d])
        for (i, tokens) in ids.enumerated() {
            #expect(out.mask[i] == (0..<n).map { $0 < tokens.count })
            let hidden = try expected.tensor("hidden.\(i)")
            let actual = out.states.data[(i * n * d)..<(i * n * d + tokens.count * d)]
            let err = maxDifference(actual, hidden.data[...])
            #expect(err <= textParityTolerance, "prompt \(i): max error \(err)")
        }
        let pooled = try expected.tensor("pooled")
        let err = maxDifference(out.pooled.data[...], pooled.data[...])
        #expect(out.pooled.shape == [prompts.count, d])
        #expect(err <= textParityTolerance, "pooled max error \(err)")
    }

    /// Padding does not change an item: encoding alone equals encoding in a batch.
    @Test func singlePromptEqualsBatchedRows() throws {
        let encoder = try Self.encoder()
        let single = try encoder.encode(["a cat"])
        let batch = try encoder.encode(["a cat", "a very much longer prompt about several dogs running"])
        let n = batch.states.shape[1], l = single.states.shape[1]
        let err = maxDifference(single.states.data[...], batch.states.data[0..<(l * 384)])
        #expect(err < 1e-5 && n > l)
        #expect(maxDifference(single.pooled.data[...], batch.pooled.data[0..<384]) < 1e-5)
    }

    // MARK: Bad input

    /// The message names the path as it did before the error took the module's `ContextError`
    /// shape (issue #17).
    @Test func missingModelFolderNamesConfigPath() {
        let error = #expect(throws: TextEncoderError(.missingFile, subject: "/nonexistent/config.json")) {
            try MiniLMTextEncoder(directory: "/nonexistent", tokenizerDirectory: TestPaths.path("pipelines/shapes/tokenizer"))
        }
        #expect(error?.description == "text encoder file not found: expected /nonexistent/config.json")
    }

    @Test func emptyBatchIsAnError() throws {
        #expect(throws: TextEncoderError(.emptyBatch)) { try Self.encoder().encode([]) }
    }
}
