import Foundation
import Testing
@testable import Bottleneck

/// How `ResourceFit` puts the shipped pipeline's weights and working sets together (the
/// working sets themselves: `ModelsTests.MemoryEstimateTests`).
@Suite struct ResourceFitTests {
    static let pipeline = PipelineFolder(path: PipelineFolderTests.shapes)
    /// Float32 bytes of the shipped weights and their files' data bytes, from the headers:
    /// text encoder 90,852,864 + 45,426,432, transformer 80,218,368 + 40,109,184, VAE 8,159,724 + 4,079,862.
    static let allWeights = 90_852_864 + 45_426_432 + 80_218_368 + 40_109_184 + 8_159_724 + 4_079_862

    static func request(frames: Int = 129, side: Int = 128, cfg: Float = 6) -> GenerationRequest {
        var r = GenerationRequest(prompt: "a red ball")
        (r.frames, r.width, r.height, r.cfgScale, r.output) = (frames, side, side, cfg, .file("out.y4m"))
        return r
    }

    @Test func residentShareIsTheRuntimeAndTheWeights() throws {
        let fit = try ResourceFit(pipeline: Self.pipeline, environment: [:])
        let stages = try PlanFit(pipeline: Self.pipeline).check(Self.request())
        let estimate = fit.estimate(Self.request(), stages: stages)
        #expect(estimate.resident == [.init("weights and runtime", bytes: (64 << 20) + Self.allWeights)])
        // `decode` loads the VAE alone and does not denoise.
        let decoding = try ResourceFit(pipeline: Self.pipeline, components: [.vae], environment: [:])
        let decodeOnly = decoding.estimate(Self.request(), stages: nil)
        #expect(decodeOnly.resident.map(\.bytes) == [(64 << 20) + 8_159_724 + 4_079_862])
        #expect(decodeOnly.denoise == nil)
        #expect(decodeOnly.decode == estimate.decode)
    }

    /// The default plan (x2) peaks at a full-size stage; guidance runs two passes side by side,
    /// so `--cfg 1` (one pass) needs about half the transformer's share.
    @Test func denoisingShareIsTheLargestStageAndCountsPasses() throws {
        let fit = try ResourceFit(pipeline: Self.pipeline, environment: [:])
        let stages = try PlanFit(pipeline: Self.pipeline).check(Self.request())
        #expect(stages.count == 3)
        let guided = try #require(fit.estimate(Self.request(), stages: stages).denoise)
        let single = try #require(fit.estimate(Self.request(cfg: 1), stages: stages).denoise)
        #expect(guided.name == "transformer at stage 0 (2 passes of 2144 tokens)")
        #expect(single.name == "transformer at stage 0 (1 pass of 2144 tokens)")
        #expect(Double(guided.bytes) / Double(single.bytes) > 1.8)  // the sampler's latents are counted once
    }

    /// The decode follows `VAEStage`'s choice: untiled up to 129 frames of 256², streamed beyond.
    @Test func decodeShareFollowsTheDecodePath() throws {
        let fit = try ResourceFit(pipeline: Self.pipeline, environment: [:])
        let untiled = fit.estimate(Self.request(frames: 129, side: 256), stages: nil).decode
        let streamed = fit.estimate(Self.request(frames: 133, side: 256), stages: nil).decode
        #expect(untiled.name == "VAE decode (untiled)")
        #expect(streamed.name == "VAE decode (streamed 4 latent frames at a time)")
        #expect(streamed.bytes < untiled.bytes / 4)
    }
}
