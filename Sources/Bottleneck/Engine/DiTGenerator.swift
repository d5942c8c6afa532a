import Foundation
import Models
import Sampling

/// A loaded transformer that `DiTGenerator` drives under the Bottleneck Sampling controller:
/// its profile (cost model, latent channels) and, per request, its `Denoiser`.
protocol DenoisingModel: Sendable {
    associatedtype ModelDenoiser: Denoiser
    var profile: TransformerProfile { get }
    /// The velocity model for one request's embeddings.
    func denoiser(embeddings: PromptEmbeddings, request: GenerationRequest) -> ModelDenoiser
}

extension HunyuanVideoTransformer: DenoisingModel {
    var profile: TransformerProfile { TransformerProfile(configuration) }

    func denoiser(embeddings: PromptEmbeddings, request: GenerationRequest) -> TransformerDenoiser {
        TransformerDenoiser(transformer: self, embeddings: embeddings)
    }
}

extension FluxTransformer: DenoisingModel {
    var profile: TransformerProfile { TransformerProfile(configuration) }

    func denoiser(embeddings: PromptEmbeddings, request: GenerationRequest) -> FluxDenoiser {
        FluxDenoiser(transformer: self, text: embeddings.conditional,
                     guidance: configuration.guidanceEmbeds ? request.cfgScale : nil)
    }
}

/// Seeded noise → latents `[1, T, H/8, W/8, C]` through the Bottleneck Sampling controller, for
/// either kind's transformer (FLUX.1: T = 1).
///
/// Noise layout: stage 0's stream (`StageNoise`) fills `[1, T, h, w, C]` row-major, channels
/// fastest, for both kinds. diffusers draws FLUX.1's noise as `[B, 16, h, w]` (channels
/// slowest) from torch's generator, so a seed here does not give diffusers' image for that
/// seed; passing our initial latents to FluxPipeline (`latents=`, permuted to `[B, C, h, w]`
/// and packed) does (`FluxPipelineTests`).
struct DiTGenerator<Model: DenoisingModel>: LatentGenerator {
    let model: Model
    let kind: PipelineKind
    /// The pipeline's scheduler: standard sampling's shift and each derived plan's base shift.
    let schedule: SchedulerSettings
    let pipelineName: String

    func generate(embeddings: PromptEmbeddings, request: GenerationRequest,
                  observer: StepObserver) async throws -> Latents {
        let profile = model.profile
        let base = request.latentSize
        var sampler = try BottleneckSampler(
            plan: PlanFit.plan(for: request, base: base, transformer: profile, schedule: schedule), base: base,
            patch: profile.cost.patch,
            denoiser: model.denoiser(embeddings: embeddings, request: request),
            seed: request.seed ?? 0,
            configuration: .init(guidance: kind.guidance(for: request), includeCleanEstimate: request.preview != nil,
                                 channels: profile.latentChannels))
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
