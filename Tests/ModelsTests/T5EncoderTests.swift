import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// T5 encoders from `Scripts/fixtures/make_t5_fixtures.py` against transformers 5.x
/// `T5EncoderModel`: v1.1 ("gated-gelu", Float32 weights) and original T5 ("relu", stored in
/// bfloat16, compared with PyTorch's float32 forward on the same rounded weights).
@Suite struct T5EncoderTests {
    static let v11 = TestPaths.fixture("text-t5")
    static let reluBF16 = TestPaths.fixture("text-t5-relu-bf16")

    /// Runs the fixture's batch (right padded) with and without the attention mask and compares
    /// both with transformers within `textParityTolerance` (float32 arithmetic on both sides;
    /// the position bias has unit scale in the fixtures, so a wrong bucket or a missing mask
    /// moves the output by far more).
    static func expectParity(_ fixture: String, _ name: String) throws -> T5EncoderModel {
        let model = try T5EncoderModel(directory: TestPaths.fixture(fixture + "/text_encoder"))
        let ids = try TestPaths.expectedJSON(fixture)["batch_ids"] as! [[Int]]
        let expected = try TestPaths.expectedTensors(fixture)
        let m = try expected.tensor("attention_mask")
        let n = ids[0].count
        let mask = ids.indices.map { b in (0..<n).map { m.data[b * n + $0] == 1 } }
        #expect(mask.contains { $0.contains(false) }, "the fixture batch must have padding")
        for (key, out) in [("last_hidden_state", try model(ids, mask: mask)),
                           ("last_hidden_state_unmasked", try model(ids))] {
            let e = try expected.tensor(key)
            let err = out.maxAbsDifference(e)
            print("T5 \(name) \(key): max abs error \(err)")
            #expect(out.shape == e.shape && err <= textParityTolerance, "\(name) \(key): max error \(err)")
        }
        return model
    }

    // MARK: Parity

    @Test func gatedGeluMatchesTransformers() throws {
        let model = try Self.expectParity("text-t5", "v1.1 gated-gelu f32")
        #expect(model.configuration.feedForward! == (.geluNew, true))
    }

    /// The bfloat16 checkpoint keeps its matrices and embedding table 16-bit (widened per panel
    /// and per looked-up row) and matches the float32 forward on the rounded weights.
    @Test func reluBFloat16MatchesTransformers() throws {
        let model = try Self.expectParity("text-t5-relu-bf16", "relu bf16")
        #expect(model.configuration.feedForward! == (.relu, false))
        #expect(model.shared.precision == .bfloat16 && model.blocks[0].wo.weight.precision == .bfloat16)
    }

    /// FLUX.1's call: tokenize padded to the max length, run without a mask
    /// (diffusers `_get_t5_prompt_embeds`).
    @Test func fluxTextEncoderMatchesTransformers() throws {
        let json = try TestPaths.expectedJSON("text-t5")
        let encoder = try T5TextEncoder(directory: Self.v11 + "/text_encoder", tokenizerDirectory: Self.v11 + "/tokenizer",
                                        maxSequenceLength: json["pad_length"] as! Int)
        let states = try encoder.encode(json["batch_prompts"] as! [String]).states
        let err = states.maxAbsDifference(try TestPaths.expectedTensors("text-t5").tensor("last_hidden_state_unmasked"))
        #expect(err <= textParityTolerance, "max error \(err)")
    }

    /// Buckets equal transformers' `_relative_position_bucket` over relative positions
    /// -600…600 for T5's 32 buckets / 128 and the fixture's 8 / 20, exact-to-log boundaries
    /// (computed in float32, as torch) included.
    @Test func relativePositionBucketsMatchTransformers() throws {
        let json = try TestPaths.expectedJSON("text-t5")
        let span = json["buckets_span"] as! Int
        for (key, buckets, distance) in [("buckets_t5_32_128", 32, 128), ("buckets_fixture", 8, 20)] {
            let ours = (-span...span).map {
                T5EncoderModel.relativePositionBucket($0, numBuckets: buckets, maxDistance: distance)
            }
            #expect(ours == json[key] as! [Int], "\(key)")
        }
    }

    // MARK: Errors

    /// A missing tensor is reported by its full key, a misshapen one by its key and both shapes;
    /// a file holding only the tied `encoder.embed_tokens.weight` loads from it.
    @Test func missingMisshapenAndTiedTensors() throws {
        let dir = try makeTemporaryDirectory(prefix: "t5-weights")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = Self.v11 + "/text_encoder"
        try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dir + "/config.json")
        let archive = try WeightArchive(directory: src, baseName: "model")
        #expect(!archive.keys.contains("encoder.embed_tokens.weight"))
        func write(_ rename: (String) -> String?, _ replace: (String) -> Tensor? = { _ in nil }) throws {
            try SafeTensorsWriter.write(try archive.keys.compactMap { k in
                try rename(k).map { (name: $0, tensor: try replace(k) ?? archive.tensor(k)) }
            }, to: dir + "/model.safetensors")
        }
        let missing = "encoder.block.1.layer.1.DenseReluDense.wi_1.weight"
        try write { $0 == missing ? nil : $0 }
        #expect(throws: SafeTensorsError(.missingTensor(key: missing), file: dir)) { _ = try T5EncoderModel(directory: dir) }

        let bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        try write({ $0 }, { $0 == bias ? Tensor(shape: [4, 8]) : nil })
        #expect(throws: SafeTensorsError(.shapeMismatch(key: bias, expected: [8, 4], found: [4, 8]), file: dir)) {
            _ = try T5EncoderModel(directory: dir)
        }

        try write { $0 == "shared.weight" ? "encoder.embed_tokens.weight" : $0 }
        let ids = [[5, 9, 1]]
        #expect(try T5EncoderModel(directory: dir)(ids).maxAbsDifference(try T5EncoderModel(directory: src)(ids)) == 0)
    }

    /// An unknown feed-forward form names the key.
    @Test func unsupportedFeedForwardIsAConfigurationError() throws {
        var c = T5Configuration()
        c.feedForwardProj = "gated-swish-x"
        #expect(throws: TextEncoderError(.badConfiguration(key: "feed_forward_proj", reason:
            "expected relu, gelu, gelu_new or silu, optionally as gated-<act>; found gated-swish-x"),
                                         subject: "/m/config.json")) { try c.validate(directory: "/m") }
    }
}
