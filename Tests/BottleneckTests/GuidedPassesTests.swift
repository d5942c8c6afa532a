import TestSupport
import Foundation
import Models
@testable import Bottleneck
import Sampling
import Tensor
import Testing

/// Classifier-free guidance's two transformer passes run side by side, each on half the kernel
/// threads; the velocities must be exactly those of the passes run one after the other. The
/// fixture's products are below `BLAS.parallelThreshold`, so none is split and the equality holds
/// on every CPU; a split product is `LocalWorkerCountTests`' (bit for bit on AVX-512 kernels only).
@Suite struct GuidedPassesTests {
    static let config = TestPaths.fixture("transformer-noguidance/config.json")

    @Test func sideBySidePassesEqualSequentialOnes() throws {
        #expect(Threads.count >= 2, "the side-by-side path needs two kernel threads")
        let c = try TransformerConfiguration(contentsOf: Self.config)
        let model = try HunyuanVideoTransformer(configuration: c, parameters: RandomParameters(seed: 5))
        func random(_ shape: [Int], seed: UInt64) -> Tensor {
            var noise = GaussianNoise(seed: seed)
            return Tensor(shape: shape, data: noise.gaussian(count: shape.reduce(1, *)))
        }
        func text(valid: Int, seeds: (UInt64, UInt64)) -> TextEmbeddings {
            TextEmbeddings(states: random([1, 6, c.textEmbedDim], seed: seeds.0), mask: [(0..<6).map { $0 < valid }],
                           pooled: random([1, c.pooledProjectionDim], seed: seeds.1))
        }
        let embeddings = PromptEmbeddings(conditional: text(valid: 5, seeds: (1, 2)),
                                          unconditional: text(valid: 2, seeds: (3, 4)))
        let size = LatentSize(frames: 3, height: 8, width: 8)
        let latents = random([1, 3, 8, 8, c.inChannels], seed: 6)
        let geometry = StageGeometry(stage: 0, latentSize: size, tokens: 3 * 16)
        var denoiser = TransformerDenoiser(transformer: model, embeddings: embeddings)
        let (vc, vu) = try denoiser.guidedVelocities(latents, timestep: 700, geometry: geometry)
        let sc = try denoiser.velocity(latents, timestep: 700, geometry: geometry, conditional: true)
        let su = try denoiser.velocity(latents, timestep: 700, geometry: geometry, conditional: false)
        #expect(vc.data == sc.data)
        #expect(vu.data == su.data)
        #expect(vc.data != vu.data, "the two passes see different text")
    }
}
