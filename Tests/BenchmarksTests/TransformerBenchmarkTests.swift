import Foundation
import Models
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
