import Tensor

/// Where a model call happens: the stage and its latent grid. The denoiser builds its positional
/// (RoPE) grid from `latentSize` on every call, since it changes between stages.
public struct StageGeometry: Sendable, Equatable {
    public var stage: Int
    /// `[frames, height, width]` of the latents passed with this geometry, in latent cells.
    public var latentSize: LatentSize
    /// Image tokens after patching, `(T/pt)(H/p)(W/p)`.
    public var tokens: Int
    public init(stage: Int, latentSize: LatentSize, tokens: Int) {
        self.stage = stage
        self.latentSize = latentSize
        self.tokens = tokens
    }
}

/// A velocity model: the transformer plus its text conditioning, owned by the implementation.
/// The sampler knows nothing of prompts or weights.
public protocol Denoiser {
    /// Predicts the flow-matching velocity `v ≈ ε − x₀` at noise level `timestep / 1000`.
    /// - Parameters:
    ///   - latents: `x_σ`. Layout: `[batch, frames, height, width, channels]`, Float32, with
    ///     `[frames, height, width] == geometry.latentSize`.
    ///   - timestep: `1000·σ` in float32, exactly the σ the latents were mixed or stepped to.
    ///   - geometry: the current stage's grid.
    ///   - conditional: `true` for the prompt pass, `false` for the unconditional (negative) pass
    ///     of classifier-free guidance; under `.embedded` guidance only `true` is asked for.
    /// - Returns: the velocity, same shape and layout as `latents`.
    mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry,
                           conditional: Bool) throws -> Tensor

    /// Both passes of one classifier-free guidance step (same arguments as `velocity`). The
    /// default runs them one after the other; an implementation may run them side by side.
    /// - Returns: the conditional and the unconditional velocity, each shaped like `latents`.
    mutating func guidedVelocities(_ latents: Tensor, timestep: Float,
                                   geometry: StageGeometry) throws -> (conditional: Tensor, unconditional: Tensor)
}

extension Denoiser {
    public mutating func guidedVelocities(_ latents: Tensor, timestep: Float,
                                          geometry: StageGeometry) throws -> (conditional: Tensor, unconditional: Tensor) {
        let c = try velocity(latents, timestep: timestep, geometry: geometry, conditional: true)
        let u = try velocity(latents, timestep: timestep, geometry: geometry, conditional: false)
        return (c, u)
    }
}

/// How the sampler combines denoiser calls into one velocity per step.
public enum GuidanceMode: Sendable, Equatable {
    /// One conditional pass per step. Covers unguided models and guidance-distilled ones
    /// (HunyuanVideo's embedded `guidance · 1000` input, which the denoiser feeds itself).
    case embedded
    /// Two passes per step, `v = v_u + scale·(v_c − v_u)` (diffusers HunyuanVideoPipeline
    /// `true_cfg_scale`: `neg_noise_pred + true_cfg_scale·(noise_pred − neg_noise_pred)`).
    case classifierFree(scale: Float)

    /// Transformer passes per step (the cost model's multiplier).
    public var passesPerStep: Int {
        switch self {
        case .embedded: return 1
        case .classifierFree: return 2
        }
    }
}

/// One finished denoising step, yielded by `BottleneckSampler` and re-published by the
/// `Bottleneck` library as `GenerationEvent.step`.
public struct StepEvent: Sendable, Equatable {
    /// Stage index (0 full, 1 bottleneck, 2 full for 3-stage plans).
    public var stage: Int
    /// Step within the stage, 0-based, and the stage's model calls.
    public var stageStep: Int
    public var stageSteps: Int
    /// Step over all stages, 0-based, and the plan's total model calls.
    public var index: Int
    public var count: Int
    /// σ of this call, σ the step landed on, and the timestep fed to the model (`1000·σ`).
    public var sigma: Float
    public var sigmaNext: Float
    public var timestep: Float
    /// Image tokens of this stage.
    public var tokens: Int
    /// `[frames, height, width]` of this stage, in latent cells.
    public var latentSize: LatentSize
    /// Wall time of the denoiser call(s), seconds.
    public var seconds: Double
    /// The latent after this step, if requested. Layout `[batch, frames, height, width, channels]`.
    public var latents: Tensor?
    /// `x̂₀ = x_σ − σ·v` of this call, if requested. Same layout as `latents`.
    public var cleanEstimate: Tensor?

    public init(stage: Int, stageStep: Int, stageSteps: Int, index: Int, count: Int,
                sigma: Float, sigmaNext: Float, timestep: Float, tokens: Int, latentSize: LatentSize,
                seconds: Double, latents: Tensor? = nil, cleanEstimate: Tensor? = nil) {
        self.stage = stage
        self.stageStep = stageStep
        self.stageSteps = stageSteps
        self.index = index
        self.count = count
        self.sigma = sigma
        self.sigmaNext = sigmaNext
        self.timestep = timestep
        self.tokens = tokens
        self.latentSize = latentSize
        self.seconds = seconds
        self.latents = latents
        self.cleanEstimate = cleanEstimate
    }
}
