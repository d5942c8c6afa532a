import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// The transformer with its 16-bit weight matrices kept as stored (views of the mapped file,
/// widened a panel at a time), and the VAEs with their 16-bit conv kernels kept, against the
/// same weights expanded to Float32 at load.
@Suite(.serialized) struct StoredPrecisionTests {
    /// Kept and expanded weights are the same numbers; only how each product is split differs
    /// (panels of weight rows against `BLAS.sgemm`'s blocks), which changes at most the last bits
    /// of a product (none at all on the fixtures and the config below with the AVX-512
    /// Cooperlake kernels, measured). The parity tolerance against diffusers (1e-4 on outputs of
    /// magnitude ~10, which sum in another order altogether) bounds it on both CPU generations.
    static let tolerance = Tolerance.smallTimestep

    /// A small config whose products are large enough to be split over two workers into several
    /// panels: 2 heads × 64, one block of each kind, latent 3×16×16 in patches of 2 (192 image
    /// tokens + 8 text tokens).
    static let splitConfig = """
        {"in_channels": 4, "out_channels": 4, "num_attention_heads": 2, "attention_head_dim": 64,
         "num_layers": 1, "num_single_layers": 1, "num_refiner_layers": 1, "mlp_ratio": 4.0,
         "patch_size": 2, "patch_size_t": 1, "qk_norm": "rms_norm", "guidance_embeds": true,
         "text_embed_dim": 32, "pooled_projection_dim": 24, "rope_theta": 256.0, "rope_axes_dim": [16, 24, 24]}
        """

    /// The F16 (patch 2, batch 2, padded text) and BF16 (no guidance) parity fixtures: the kept
    /// model's output is the expanded model's, at both timestep ranges.
    @Test(arguments: ["transformer-patch2", "transformer-noguidance"])
    func keptFixtureWeightsGiveTheExpandedOutput(fixture: String) throws {
        let kept = try TransformerFixture(fixture), expanded = try TransformerFixture(fixture, matrices: .float32)
        for which in ["small", "large"] {
            let (a, _) = try kept.run(which), (b, _) = try expanded.run(which)
            let (err, index) = maxAbsError(a, b)
            print("\(fixture) \(which): kept vs expanded max abs difference \(err) (kernels \(BLAS.coreName))")
            #expect(err <= Self.tolerance, "\(fixture) \(which): max abs difference \(err) at \(index)")
        }
    }

    /// Random BF16 weights written to a file by `RecordingParameters` load back to the model they
    /// were made as (bit for bit: the same stored values and products); kept and expanded loads of
    /// that file agree, with products split into several panels over two workers.
    @Test func keptRandomWeightsGiveTheExpandedOutput() throws {
        let c = try JSONDecoder().decode(TransformerConfiguration.self, from: Data(Self.splitConfig.utf8))
        let dir = try makeTemporaryDirectory(prefix: "stored-precision")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(Self.splitConfig.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let recorder = RecordingParameters(RandomParameters(seed: 5, precision: .bfloat16))
        let made = try HunyuanVideoTransformer(configuration: c, parameters: recorder)
        try recorder.write(to: dir + "/\(HunyuanVideoTransformer.weightsName).safetensors", storage: .bf16)
        let kept = try HunyuanVideoTransformer(directory: dir)
        let expanded = try HunyuanVideoTransformer(directory: dir, matrices: .float32)

        let latents = Tensor(shape: [1, 3, 16, 16, 4], data: testInput(3 * 16 * 16 * 4, seed: 1))
        let text = Tensor(shape: [1, 8, 32], data: testInput(8 * 32, seed: 2))
        let pooled = Tensor(shape: [1, 24], data: testInput(24, seed: 3))
        let mask = [[true, true, true, true, true, true, false, false]]
        func run(_ m: HunyuanVideoTransformer) throws -> Tensor {
            try m(latents: latents, timestep: [3], text: text, textMask: mask, pooled: pooled, guidance: [2])
        }
        // The fused q|k|v product, 200 rows × 384 × 128 = 9.8 M multiply-adds, is over
        // `BLAS.parallelThreshold` (2 M), so its panels go to two workers.
        #expect(Threads.count > 1)
        let a = try run(kept), b = try run(expanded)
        #expect(try run(made) == a)
        let (err, index) = maxAbsError(a, b)
        print("random bf16: kept vs expanded max abs difference \(err) (kernels \(BLAS.coreName))")
        #expect(err <= Self.tolerance, "max abs difference \(err) at \(index)")
        #expect(a.data.map(abs).max()! > 0.1, "the output must not be trivially small")
    }

    /// Every weight matrix the F16 fixture's model holds is 16-bit, two bytes per weight (the
    /// file's own bytes); expanded, four. Vectors (biases, norm weights) are Float32 either way.
    @Test func keptMatricesHoldTheirStoredBytes() throws {
        let dir = TestPaths.fixture("transformer-patch2")
        let c = try TransformerConfiguration(contentsOf: dir + "/config.json")
        let archive = try WeightArchive(directory: dir, baseName: HunyuanVideoTransformer.weightsName)
        let matrixElements = archive.keys.compactMap(archive.shape(of:)).filter { $0.count >= 2 }.map { $0.reduce(1, *) }
            .reduce(0, +)
        for (precision, bytes) in [(MatrixPrecision.stored, 2), (.float32, 4)] {
            let recorder = RecordingParameters(WeightReader(archive, matrices: precision))
            _ = try HunyuanVideoTransformer(configuration: c, parameters: recorder)
            let matrices = recorder.records.compactMap { r -> WeightMatrix? in
                if case .matrix(let m) = r.value { m } else { nil }
            }
            #expect(Set(matrices.map(\.precision)) == [precision == .stored ? .float16 : .float32])
            #expect(matrices.reduce(0) { $0 + $1.storedBytes } == bytes * matrixElements)
            #expect(recorder.records.count == archive.keys.count)
        }
    }

    /// What the resource check counts before loading (`WeightArchive.residentBytes` with the
    /// model's `readsAsMatrix`) is what the F16 fixture's load holds: the file's bytes, plus four
    /// bytes a value for each tensor it converts and nothing for the matrices it keeps (issue
    /// #18: kept matrices were still counted as Float32, twice their size).
    @Test func residentBytesCountWhatTheLoadKeeps() throws {
        let dir = TestPaths.fixture("transformer-patch2")
        let c = try TransformerConfiguration(contentsOf: dir + "/config.json")
        let archive = try WeightArchive(directory: dir, baseName: HunyuanVideoTransformer.weightsName)
        let recorder = RecordingParameters(WeightReader(archive))
        _ = try HunyuanVideoTransformer(configuration: c, parameters: recorder)
        let (kept, converted) = keptAndConvertedBytes(recorder.records, rule: HunyuanVideoTransformer.readsAsMatrix)
        #expect(kept > 0 && kept + converted / 2 == archive.storedBytes)
        #expect(archive.residentBytes(HunyuanVideoTransformer.readsAsMatrix) == archive.storedBytes + converted)
    }

    // MARK: VAE conv kernels

    /// The VAEs keep 16-bit conv kernels in their stored precision and decode bit for bit as with
    /// the kernels expanded to Float32 at load (issue #18: widening is exact and the packed
    /// layout the same): the BF16 2-D fixture (with post_quant_conv) and the shipped F16 causal
    /// VAE. The tensors kept 16-bit are the ones the resource check counts at their stored width
    /// (`CausalVideoDecoder.readsAsMatrix`); expanded, none is.
    @Test(arguments: ["vae2d-pq-bf16", "pipelines/shapes"])
    func vaeKeepsSixteenBitKernelsAndDecodesAsExpanded(folder: String) throws {
        let dir = (folder.hasPrefix("pipelines/") ? TestPaths.path(folder) : TestPaths.fixture(folder)) + "/vae"
        let archive = try WeightArchive(directory: dir, baseName: CausalVideoDecoder.weightsName)
        func decode(_ matrices: MatrixPrecision) throws -> (Tensor, [RecordingParameters.Record]) {
            let recorder = RecordingParameters(WeightReader(archive, matrices: matrices))
            let config = dir + "/config.json"
            if folder.hasPrefix("pipelines/") {
                let c = try VAEConfiguration.load(contentsOf: config)
                let latents = Tensor(shape: [1, 2, 4, 4, c.latentChannels], data: testInput(32 * c.latentChannels, seed: 4))
                return (try CausalVideoDecoder(configuration: c, source: recorder).decode(latents: latents), recorder.records)
            }
            let c = try AutoencoderKLConfiguration.load(contentsOf: config)
            let latents = Tensor(shape: [1, 4, 3, c.latentChannels], data: testInput(12 * c.latentChannels, seed: 4))
            return (try AutoencoderKLDecoder(configuration: c, source: recorder).decode(latents: latents), recorder.records)
        }
        let (kept, keptRecords) = try decode(.stored), (expanded, expandedRecords) = try decode(.float32)
        #expect(kept.data.map(\.bitPattern) == expanded.data.map(\.bitPattern))
        #expect(kept.data.map(abs).max()! > 0.1, "the output must not be trivially small")
        #expect(keptAndConvertedBytes(keptRecords, rule: CausalVideoDecoder.readsAsMatrix).kept > 0)
        #expect(keptAndConvertedBytes(expandedRecords, rule: { _ in false }).kept == 0)
    }
}

/// The stored bytes of the 16-bit matrices a load kept and the Float32 bytes of what it
/// converted, checking for each record that `rule` tells which is which.
func keptAndConvertedBytes(_ records: [RecordingParameters.Record], rule: ([Int]) -> Bool,
                           sourceLocation: SourceLocation = #_sourceLocation) -> (kept: Int, converted: Int) {
    var (kept, converted) = (0, 0)
    for record in records {
        if case .matrix(let m) = record.value, m.precision != .float32 {
            kept += m.storedBytes
            #expect(rule(record.shape), "\(record.key) \(record.shape) is kept 16-bit", sourceLocation: sourceLocation)
        } else {
            converted += record.shape.reduce(1, *) * MemoryLayout<Float>.size
            #expect(!rule(record.shape), "\(record.key) \(record.shape) is converted", sourceLocation: sourceLocation)
        }
    }
    return (kept, converted)
}

/// Seeded values in [-1, 1) for model inputs.
private func testInput(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float.random(in: -1..<1, using: &rng) }
}
