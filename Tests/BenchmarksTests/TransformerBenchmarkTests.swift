import Foundation
import Models
import SafeTensors
import TestSupport
import Testing
@testable import Benchmarks

/// `bench transformer`'s measurement on diffusers' own test config (random weights).
@Suite struct TransformerBenchmarkTests {
    static let config = TestPaths.fixture("transformer-test/config.json")

    /// A batch of two counts twice the work of one sample and says so; every timed run is kept.
    @Test func batchCountsItsSamples() throws {
        let c = try TransformerConfiguration(contentsOf: Self.config)
        let bench = TransformerBenchmark(weights: .random(c), latent: [3, 8, 8], textTokens: 5, batch: 2,
                                         warmup: 0, iterations: 2)
        let r = try bench.run(threads: 2)
        let one = c.flops(latentFrames: 3, latentHeight: 8, latentWidth: 8, textTokens: 5).total
        #expect(r.batch == 2 && r.seconds.count == 2)
        #expect(r.flops == 2 * one)
        #expect(r.imageTokens == 3 * 8 * 8 / (c.patchSize * c.patchSize * c.patchSizeT))
        #expect(abs(r.gflops - r.flops / r.bestSeconds / 1e9) < 1e-9 * r.gflops)
    }
}

/// `bench transformer --dtype … --precision …`: random 16-bit weights written to a folder and
/// loaded both ways.
@Suite struct PrecisionBenchmarkTests {
    /// The written folder holds every tensor in BF16; loading it kept and expanded reports each
    /// way, with the same counted work.
    @Test func writtenBF16WeightsLoadBothWays() throws {
        let dir = try makeTemporaryDirectory(prefix: "bench-weights")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TransformerBenchmark.writeRandomWeights(configFile: TransformerBenchmarkTests.config, storage: .bf16, to: dir)
        let archive = try WeightArchive(directory: dir, baseName: HunyuanVideoTransformer.weightsName)
        #expect(archive.files.allSatisfy { $0.entries.values.allSatisfy { $0.dtype == .bf16 } })
        let results = try [MatrixPrecision.stored, .float32].map { precision in
            try TransformerBenchmark(weights: .folder(dir, precision), latent: [3, 8, 8], textTokens: 5, warmup: 0,
                                     iterations: 1).run(threads: 2)
        }
        #expect(results.map(\.precision) == [.stored, .float32])
        #expect(results[0].flops == results[1].flops && results.allSatisfy { $0.residentAfterLoadBytes != nil })
        #expect(results[0].text.contains("weights 16-bit kept as stored"))
    }

    /// The real-width config the side-by-side command in Docs/benchmarks.md runs is valid:
    /// FLUX-dev's width (24 heads × 128), 2 double + 2 single blocks and one refiner layer.
    @Test func realWidthConfigIsValid() throws {
        let c = try TransformerConfiguration(contentsOf: TestPaths.path("samples/bench/transformer-3072.json"))
        #expect(c.innerDim == 3072 && c.numLayers == 2 && c.numSingleLayers == 2)
    }
}
