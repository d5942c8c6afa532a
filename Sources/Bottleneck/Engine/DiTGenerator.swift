import Foundation
import Models
import Sampling

/// Seeded noise → latents `[1, T, H/8, W/8, 16]` through the Bottleneck Sampling controller.
struct DiTGenerator: LatentGenerator {
    let transformer: HunyuanVideoTransformer
    /// The pipeline's scheduler shift (standard sampling and each plan's base shift).
    let baseShift: Double
    let pipelineName: String

    func plan(for request: GenerationRequest, base: LatentSize) throws -> BottleneckPlan {
        try PlanFit.plan(for: request, base: base, transformer: transformer.configuration, baseShift: baseShift)
    }

    /// Classifier-free guidance (two passes per step) above a scale of 1, else one pass.
    static func guidance(for request: GenerationRequest) -> GuidanceMode {
        request.cfgScale > 1 ? .classifierFree(scale: request.cfgScale) : .embedded
    }

    func generate(embeddings: PromptEmbeddings, request: GenerationRequest,
                  observer: StepObserver) async throws -> Latents {
        let c = transformer.configuration
        let base = request.latentSize
        let guidance = Self.guidance(for: request)
        var sampler = try BottleneckSampler(
            plan: plan(for: request, base: base), base: base,
            patch: c.patch,
            denoiser: TransformerDenoiser(transformer: transformer, embeddings: embeddings),
            seed: request.seed ?? 0,
            configuration: .init(guidance: guidance, includeCleanEstimate: request.preview != nil,
                                 channels: c.inChannels))
        while var event = try sampler.nextStep() {
            try Task.checkCancellation()
            // Previews show x̂₀ = x − σ·v: the sampler's current guess of the final video, not
            // the noisy x_t.
            if !observer.wantsCleanEstimate(event.index) { event.cleanEstimate = nil }
            observer.report(event)
        }
        guard let final = sampler.finalLatents else {
            throw PipelineError(.badPipeline(reason: "the sampler produced no latents"), subject: pipelineName)
        }
        return Latents(final)
    }
}
