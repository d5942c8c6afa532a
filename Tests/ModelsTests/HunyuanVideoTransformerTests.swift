import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// Parity tolerances against diffusers 0.42.1 float32 on the fixture models.
enum Tolerance {
    /// Small timesteps (t ≤ 7.5, guidance ≤ 4.5): both sides compute the same float32 math in a
    /// different order; outputs of magnitude ~10 agree to ~1.6e-5 (measured: 2.9e-6 test config,
    /// 1.1e-5 patch-2, 1.5e-5 no-guidance), so 1e-4 leaves a 6× margin.
    static let smallTimestep: Float = 1e-4
    /// t = 1000 / 997.09 and guidance 6000. With frequencies computed in Swift, a 1-ulp
    /// difference in one of the 128 f32 frequencies moves the sinusoid argument t·f by up to
    /// ~5e-4 and the output by ~1e-4…1e-3 (hunyuan-video.md §6.2). `TimestepSinusoid` uses torch's
    /// exact f32 frequency table and f32 arguments, leaving only sin/cos rounding (≤ 1 ulp of
    /// an O(1) value); measured 1.9e-6 / 9.1e-6 / 1.3e-5, so the same 1e-4 bound holds. Without
    /// the table this test needs ~2e-3.
    static let largeTimestep: Float = 1e-4
}

struct TransformerFixture {
    let model: HunyuanVideoTransformer
    let io: SafeTensorsFile
    let valid: [Int]

    init(_ name: String, matrices: MatrixPrecision = .stored) throws {
        let dir = TestPaths.fixture(name)
        model = try HunyuanVideoTransformer(directory: dir, matrices: matrices)
        io = try SafeTensorsFile(path: dir + "/io.safetensors")
        let mask = try io.tensor("text_mask")
        let l = mask.shape[1]
        valid = (0..<mask.shape[0]).map { b in (0..<l).filter { mask.data[b * l + $0] > 0.5 }.count }
    }

    /// Runs the model on the stored inputs; returns (ours, diffusers') in our channels-last layout.
    func run(_ which: String) throws -> (Tensor, Tensor) {
        // Fixtures store latents and outputs in diffusers layout [B, C, T, H, W]; permute to ours.
        let latents = try io.tensor("latents").permuted([0, 2, 3, 4, 1])
        let expected = try io.tensor("output_\(which)").permuted([0, 2, 3, 4, 1])
        let text = try io.tensor("text")
        let l = text.shape[1]
        let out = try model(latents: latents, timestep: try io.tensor("timestep_\(which)").data, text: text,
                            textMask: valid.map { v in (0..<l).map { $0 < v } }, pooled: try io.tensor("pooled"),
                            guidance: model.configuration.guidanceEmbeds ? try io.tensor("guidance_\(which)").data : nil)
        return (out, expected)
    }
}

@Suite(.serialized) struct HunyuanVideoTransformerTests {
    // MARK: - Parity with diffusers

    /// Whole-model parity on (a) diffusers' test config, (b) patch 2 / 16 channels / batch 2 with a
    /// right-padded mask (F16 weights), (c) no guidance embedder, 384-wide text (BF16 weights).
    @Test(arguments: ["transformer-test", "transformer-patch2", "transformer-noguidance"])
    func matchesDiffusersAtSmallTimesteps(fixture: String) throws {
        let f = try TransformerFixture(fixture)
        let (out, expected) = try f.run("small")
        #expect(out.shape == expected.shape)
        let (err, index) = maxAbsError(out, expected)
        print("\(fixture) small-t max abs error \(err) at \(index)")
        #expect(err <= Tolerance.smallTimestep, "\(fixture): max abs error \(err) at \(index)")
        // The output must not be trivially small (random weights keep it O(1..10)).
        #expect(expected.data.map(abs).max()! > 1)
    }

    /// First sampling step: t = 1000 (batch item 2: 997.0934), guidance 6000.
    @Test(arguments: ["transformer-test", "transformer-patch2", "transformer-noguidance"])
    func matchesDiffusersAtLargeTimesteps(fixture: String) throws {
        let f = try TransformerFixture(fixture)
        let (out, expected) = try f.run("large")
        let (err, index) = maxAbsError(out, expected)
        print("\(fixture) large-t max abs error \(err) at \(index)")
        #expect(err <= Tolerance.largeTimestep, "\(fixture): max abs error \(err) at \(index)")
    }

    /// Padded text tokens must not influence the image: changing them leaves the output unchanged.
    @Test func paddedTextTokensAreIgnored() throws {
        let f = try TransformerFixture("transformer-patch2")
        let latents = try f.io.tensor("latents").permuted([0, 2, 3, 4, 1])
        var text = try f.io.tensor("text")
        let (l, e) = (text.shape[1], text.shape[2])
        let mask = f.valid.map { v in (0..<l).map { $0 < v } }
        let args = (try f.io.tensor("timestep_small").data, try f.io.tensor("pooled"), try f.io.tensor("guidance_small").data)
        let a = try f.model(latents: latents, timestep: args.0, text: text, textMask: mask, pooled: args.1, guidance: args.2)
        for t in f.valid[1]..<l { for j in 0..<e { text.data[(l + t) * e + j] = 100 } }
        let b = try f.model(latents: latents, timestep: args.0, text: text, textMask: mask, pooled: args.1, guidance: args.2)
        // Leakage of the value 100 would change the output by O(1); the bound only allows the
        // last-bit differences of another gemm split when another test changes `Threads.count`.
        #expect(a.maxAbsDifference(b) <= 1e-5)
    }

    // MARK: - Input validation

    @Test func rejectsBadInputs() throws {
        let f = try TransformerFixture("transformer-patch2")
        let text = try f.io.tensor("text"), pooled = try f.io.tensor("pooled")
        let mask = f.valid.map { v in (0..<12).map { $0 < v } }
        let ok = Tensor(shape: [2, 3, 8, 8, 16])
        func call(_ latents: Tensor = ok, text: Tensor? = nil, mask m: [[Bool]]? = nil, guidance: [Float]? = [1, 1]) throws {
            _ = try f.model(latents: latents, timestep: [1, 1], text: text ?? f.io.tensor("text"), textMask: m ?? mask,
                            pooled: pooled, guidance: guidance)
        }
        #expect(throws: ModelError(.inputShape(name: "latents", expected: "[B >= 1, T, H, W, 16]", found: [2, 3, 8, 8, 4]),
                                   file: "transformer input")) { try call(Tensor(shape: [2, 3, 8, 8, 4])) }
        #expect(throws: ModelError(.notDivisible(name: "height", extent: 7, patch: 2), file: "transformer input")) {
            try call(Tensor(shape: [2, 3, 7, 8, 16]))
        }
        #expect(throws: ModelError.self) { try call(text: text.slice(rows: 0..<1)) }
        #expect(throws: ModelError.self) { try call(guidance: nil) }
        var holes = mask
        holes[0][3] = false
        #expect(throws: ModelError(.badTextMask(batchItem: 0, reason: "not right-padded (valid token after padding at 3)"),
                                   file: "transformer input")) { try call(mask: holes) }
        #expect(throws: ModelError.self) { try call(mask: [mask[0], [Bool](repeating: false, count: 12)]) }
    }

    // MARK: - Loading

    @Test func configurationDefaultsAndValidation() throws {
        let c = try JSONDecoder().decode(TransformerConfiguration.self, from: Data("{}".utf8))
        #expect(c.innerDim == 3072 && c.numLayers == 20 && c.numSingleLayers == 40 && c.ropeAxesDim == [16, 56, 56])
        var bad = c
        bad.ropeAxesDim = [16, 56, 54]
        #expect(throws: ModelError.self) { try bad.validate() }
    }

    /// A missing tensor is reported by its full key.
    @Test func missingTensorIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hv-missing-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = TestPaths.fixture("transformer-test")
        try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dir + "/config.json")
        let archive = try WeightArchive(directory: src, baseName: "diffusion_pytorch_model")
        let kept = try archive.keys.filter { $0 != "proj_out.bias" }.map { (name: $0, tensor: try archive.tensor($0)) }
        try SafeTensorsWriter.write(kept, to: dir + "/diffusion_pytorch_model.safetensors")
        #expect(throws: SafeTensorsError(.missingTensor(key: "proj_out.bias"), file: dir)) {
            _ = try HunyuanVideoTransformer(directory: dir)
        }
        // An extra tensor is reported as unexpected.
        try SafeTensorsWriter.write(kept + [(name: "proj_out.bias", tensor: Tensor(shape: [4])),
                                            (name: "extra.weight", tensor: Tensor(shape: [1]))],
                                    to: dir + "/diffusion_pytorch_model.safetensors")
        #expect(throws: SafeTensorsError(.unexpectedTensors(keys: ["extra.weight"]), file: dir)) {
            _ = try HunyuanVideoTransformer(directory: dir)
        }
    }

    /// Sharded weights (`.index.json` + two shards) load to the same model; a misshapen tensor is named.
    @Test func shardedWeightsAndShapeMismatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hv-shards-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = TestPaths.fixture("transformer-test")
        try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dir + "/config.json")
        let archive = try WeightArchive(directory: src, baseName: "diffusion_pytorch_model")
        let keys = archive.keys
        let half = keys.count / 2
        var map: [String: String] = [:]
        for (i, part) in [Array(keys[..<half]), Array(keys[half...])].enumerated() {
            let name = "diffusion_pytorch_model-0000\(i + 1)-of-00002.safetensors"
            try SafeTensorsWriter.write(try part.map { (name: $0, tensor: try archive.tensor($0)) }, to: dir + "/" + name)
            for k in part { map[k] = name }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: String], "weight_map": map])
        try index.write(to: URL(fileURLWithPath: dir + "/diffusion_pytorch_model.safetensors.index.json"))
        let sharded = try HunyuanVideoTransformer(directory: dir)
        let f = try TransformerFixture("transformer-test")
        let latents = try f.io.tensor("latents").permuted([0, 2, 3, 4, 1])
        let text = try f.io.tensor("text")
        let mask = [[Bool](repeating: true, count: text.shape[1])]
        let a = try sharded(latents: latents, timestep: [3], text: text, textMask: mask, pooled: try f.io.tensor("pooled"), guidance: [2])
        let b = try f.model(latents: latents, timestep: [3], text: text, textMask: mask, pooled: try f.io.tensor("pooled"), guidance: [2])
        #expect(a.maxAbsDifference(b) == 0)

        // Replace one tensor by a wrong shape: the error names the key and both shapes.
        let bad = try keys.map { k in (name: k, tensor: k == "proj_out.weight" ? Tensor(shape: [4, 21]) : try archive.tensor(k)) }
        try FileManager.default.removeItem(atPath: dir + "/diffusion_pytorch_model.safetensors.index.json")
        try SafeTensorsWriter.write(bad, to: dir + "/diffusion_pytorch_model.safetensors")
        #expect(throws: SafeTensorsError(.shapeMismatch(key: "proj_out.weight", expected: [4, 20], found: [4, 21]), file: dir)) {
            _ = try HunyuanVideoTransformer(directory: dir)
        }
    }

    // MARK: - Cost model and memory

    /// hunyuan-video.md §7: the real model at 256×256×33 (9×16×16 latent tokens after 2×2
    /// patching… i.e. latent 9×32×32) with 256 text tokens costs 0.040 PFLOP per step.
    @Test func flopsMatchReferenceTable() {
        let f = TransformerConfiguration().flops(latentFrames: 9, latentHeight: 32, latentWidth: 32, textTokens: 256)
        #expect(abs((f.blockLinear + f.attention) / 1e15 - 0.040) < 0.001)
    }

    /// A forward at latent 33×32×32 (8,448 image tokens + 64 text) with 4 heads (the mid bench
    /// config) keeps attention scratch, tiles and the K/V copy, under 64 MiB.
    @Test func attentionScratchStaysSmall() {
        let keys = 33 * 16 * 16 + 64
        for d in [64, 128] {
            #expect(Attention.scratchBytes(keys: keys, heads: 4, headDim: d, workers: 2) < 64 << 20)
        }
        #expect(Attention.keyTile(keys: keys) <= Attention.maxKeyTile)
    }
}
