import Foundation
import Tensor
import Testing
@testable import Bottleneck

/// How `ResourceFit` puts the shipped pipeline's weights and working sets together (the
/// working sets themselves: `ModelsTests.MemoryEstimateTests`).
@Suite struct ResourceFitTests {
    static let pipeline = PipelineFolder(path: PipelineFolderTests.shapes)
    /// The shipped weights as they are held, from the headers (all float16): every file's data
    /// bytes (mapped), plus Float32 copies of what is converted. Text encoder 45,426,432 + only
    /// its vectors, 124,416; transformer 5,475,200 + only its vectors, 71,424 (their matrices
    /// and embedding tables stay 16-bit: counted at 4 bytes a weight they would add 90,728,448
    /// and 10,878,976); VAE 4,079,862 + only its 37,867 vectors, 151,468 (its 2,002,064 conv
    /// kernel weights, encoder's included, are repacked at 16 bits in place of the mapping:
    /// counted at 4 bytes a weight they added 8,008,256, issue #18).
    static let allWeights = 45_426_432 + 124_416 + 5_475_200 + 71_424 + 4_079_862 + 151_468
    /// Each thread's scratch for the largest 16-bit matrix multiplied (the word embeddings are
    /// only looked up), MiniLM's intermediate `[1536, 384]` in one panel: 1536 · 384 floats.
    static let scratch = 1536 * 384 * 4
    /// The widest 16-bit conv kernel widened for one call: the mid block's 3×3×3 from 64 to 64
    /// channels, 27 · 64 · 64 floats.
    static let convolutionScratch = 27 * 64 * 64 * 4

    static func request(frames: Int = 129, side: Int = 128, cfg: Float = 6) -> GenerationRequest {
        var r = GenerationRequest(prompt: "a red ball")
        (r.frames, r.width, r.height, r.cfgScale, r.output) = (frames, side, side, cfg, .file("out.y4m"))
        return r
    }

    /// The weights count at the width they are held in (issue #18: kept 16-bit matrices were
    /// counted as Float32, twice their size), each thread that multiplies 16-bit weights its
    /// panel scratch (the workers and, with guidance, two passes' threads), and the VAE one 16-bit
    /// conv kernel widened while it runs (one more for each lane that previews beside a batch's
    /// decode).
    @Test func residentShareIsTheRuntimeTheWeightsAndTheScratch() throws {
        let fit = try ResourceFit(pipeline: Self.pipeline, environment: [:])
        let stages = try PlanFit(pipeline: Self.pipeline).check(Self.request())
        let estimate = fit.estimate(Self.request(), stages: stages)
        let threads = Threads.count + 2
        #expect(estimate.resident == [.init("weights and runtime", bytes: (64 << 20) + Self.allWeights),
                                      .init("16-bit product scratch (\(threads) threads)", bytes: threads * Self.scratch),
                                      .init("16-bit conv scratch (1 layer)", bytes: Self.convolutionScratch)])
        let lanes = fit.estimate(Self.request(cfg: 1), stages: stages, lanes: 2).resident
        #expect(lanes.map(\.bytes).dropFirst() == [(Threads.count + 2) * Self.scratch, Self.convolutionScratch])
        var previewing = Self.request()
        previewing.preview = PreviewSettings(path: "preview.png", every: 5)
        #expect(fit.estimate(previewing, stages: stages, lanes: 2).resident.last
                == .init("16-bit conv scratch (3 layers)", bytes: 3 * Self.convolutionScratch))
        // `decode` loads the VAE alone and does not denoise.
        let decoding = try ResourceFit(pipeline: Self.pipeline, components: [.vae], environment: [:])
        let decodeOnly = decoding.estimate(Self.request(), stages: nil)
        #expect(decodeOnly.resident.map(\.bytes) == [(64 << 20) + 4_079_862 + 151_468, Self.convolutionScratch])
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
