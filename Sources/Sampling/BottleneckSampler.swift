import Foundation
import Tensor

/// The Bottleneck Sampling controller (arXiv 2503.18940 Algorithm 1, as specified in
/// bottleneck-sampling.md): Euler steps inside each stage; at each transition the previous stage's
/// clean latent is resampled to the next stage's size and re-noised to its first σ with fresh noise.
///
/// A value type that yields one `StepEvent` per step, so progress, previews and early stop are a
/// `for` loop. To keep the final latent, iterate the sampler itself:
/// ```
/// var sampler = try BottleneckSampler(plan: plan, base: size, patch: patch, denoiser: model, seed: 42)
/// while let event = try sampler.nextStep() { log(event) }
/// let latents = sampler.finalLatents!
/// ```
/// `for event in sampler` works too (it iterates a copy; a denoiser error ends it early and is
/// kept in that copy's `failure`).
public struct BottleneckSampler<D: Denoiser>: Sequence, IteratorProtocol {
    /// Per-run settings.
    public struct Configuration: Sendable {
        /// One or two passes per step. Default `.embedded` (one pass).
        public var guidance: GuidanceMode = .embedded
        /// Attach the latent after each step to its event (a copy-on-write share; costs a copy
        /// only if the caller keeps it while the sampler steps on).
        public var includeLatents = false
        /// Attach `x̂₀` of each call to its event.
        public var includeCleanEstimate = false
        /// Latent batch and channel extents (HunyuanVideo: 16 channels).
        public var batch = 1
        public var channels = 16
        public init(guidance: GuidanceMode = .embedded, includeLatents: Bool = false,
                    includeCleanEstimate: Bool = false, batch: Int = 1, channels: Int = 16) {
            self.guidance = guidance
            self.includeLatents = includeLatents
            self.includeCleanEstimate = includeCleanEstimate
            self.batch = batch
            self.channels = channels
        }
    }

    public let plan: BottleneckPlan
    public let stages: [ResolvedStage]
    public let configuration: Configuration
    public let noise: StageNoise
    /// Model calls over all stages.
    public let totalSteps: Int
    /// The current latent. Layout: `[batch, frames, height, width, channels]` of the current stage.
    public private(set) var latents: Tensor
    /// x̂₀ of the most recent call (same layout as `latents`), nil before the first call.
    public private(set) var cleanEstimate: Tensor?
    /// The error that ended a `next()` iteration, if any.
    public private(set) var failure: (any Error)?
    public private(set) var denoiser: D

    private var stage = 0
    private var stageStep = 0
    private var index = 0
    private var preparedStage = 0
    private let solver = FlowMatchEulerScheduler()

    /// - Parameters:
    ///   - plan: the stages; validated against `base` and `patch`.
    ///   - base: the full-resolution latent size.
    ///   - seed: seeds `StageNoise`: stage 0's stream is the initial latent, stage i's the noise
    ///     reintroduced at transition i.
    ///   - initialLatents: overrides stage 0's noise (`[batch, T0, H0, W0, channels]`).
    public init(plan: BottleneckPlan, base: LatentSize, patch: PatchSize = PatchSize(), denoiser: D,
                seed: UInt64, configuration: Configuration = Configuration(),
                initialLatents: Tensor? = nil) throws {
        if case let .classifierFree(scale) = configuration.guidance, !scale.isFinite {
            throw SamplingError(.badGuidance(scale: scale))
        }
        self.plan = plan
        self.stages = try plan.resolved(base: base, patch: patch)
        self.configuration = configuration
        self.noise = StageNoise(seed: seed)
        self.denoiser = denoiser
        self.totalSteps = stages.reduce(0) { $0 + $1.modelCalls }
        let shape = Self.shape(stages[0].size, configuration)
        if let x = initialLatents {
            guard x.shape == shape else { throw SamplingError(.latentShape(expected: shape, found: x.shape)) }
            latents = x
        } else {
            var stream = noise.stream(stage: 0)
            latents = Tensor(shape: shape, data: stream.gaussian(count: shape.reduce(1, *)))
        }
    }

    static func shape(_ size: LatentSize, _ c: Configuration) -> [Int] {
        [c.batch, size.frames, size.height, size.width, c.channels]
    }

    /// The final latent once every step has run, else nil.
    /// Layout: `[batch, frames, height, width, channels]` of the last stage.
    public var finalLatents: Tensor? { stage >= stages.count ? latents : nil }

    public var underestimatedCount: Int { totalSteps - index }

    public mutating func next() -> StepEvent? {
        guard failure == nil else { return nil }
        do { return try nextStep() } catch {
            failure = error
            return nil
        }
    }

    /// Runs one step (and the transition before it, at a stage's first step).
    /// - Returns: the step's event, or nil when the plan is done.
    /// - Throws: the denoiser's error, `SamplingError.velocityShape`, or
    ///   `SamplingError.nonFiniteLatents` when the step leaves a NaN or an infinity in the latents.
    public mutating func nextStep() throws -> StepEvent? {
        guard stage < stages.count else { return nil }
        let st = stages[stage]
        if preparedStage < stage { try enterStage(stage) }
        let sigma = st.sigmas[stageStep], sigmaNext = st.sigmas[stageStep + 1]
        let timestep = FlowMatchEulerScheduler.timestep(sigma)
        let geometry = StageGeometry(stage: stage, latentSize: st.size, tokens: st.tokens)

        // 1. Velocity (one or two passes).
        let clock = ContinuousClock()
        let started = clock.now
        var v: Tensor
        switch configuration.guidance {
        case .embedded:
            v = try denoiser.velocity(latents, timestep: timestep, geometry: geometry, conditional: true)
            try checkVelocity(v)
        case let .classifierFree(scale):
            let (vc, vu) = try denoiser.guidedVelocities(latents, timestep: timestep, geometry: geometry)
            try checkVelocity(vc)
            try checkVelocity(vu)
            // v = v_u + s·(v_c − v_u)
            v = vc
            v.combine(vu) { c, u in u + scale * (c - u) }
        }
        let seconds = Double((clock.now - started).components.attoseconds) * 1e-18
            + Double((clock.now - started).components.seconds)

        // 2. Clean estimate x̂₀ = x − σ·v, then the Euler step x ← x + (σ' − σ)·v.
        var x0 = latents
        x0.add(v, scaledBy: -sigma)
        cleanEstimate = x0
        solver.step(&latents, velocity: v, sigma: sigma, sigmaNext: sigmaNext)
        // 3. One pass over the new latents: a NaN or infinity never recovers, so stop at the
        //    step that made it rather than denoise on and decode a black video.
        if let values = latents.nonFiniteValues {
            throw SamplingError(.nonFiniteLatents(stage: stage, step: stageStep, stageSteps: st.modelCalls,
                                                  index: index, values: values))
        }

        let event = StepEvent(
            stage: stage, stageStep: stageStep, stageSteps: st.modelCalls, index: index, count: totalSteps,
            sigma: sigma, sigmaNext: sigmaNext, timestep: timestep, tokens: st.tokens, latentSize: st.size,
            seconds: seconds,
            latents: configuration.includeLatents ? latents : nil,
            cleanEstimate: configuration.includeCleanEstimate ? x0 : nil)
        index += 1
        stageStep += 1
        if stageStep == st.modelCalls {
            stage += 1
            stageStep = 0
        }
        return event
    }

    /// - Throws: `SamplingError.velocityShape` when the denoiser's velocity is not shaped like
    ///   the latents of the current stage.
    private func checkVelocity(_ v: Tensor) throws {
        guard v.shape == latents.shape else {
            throw SamplingError(.velocityShape(stage: stage, expected: latents.shape, found: v.shape))
        }
    }

    /// Transition into stage `i > 0`: resample the previous stage's clean latent (or, without
    /// re-noising, its last latent) and mix in stage i's noise at σ_i[0].
    private mutating func enterStage(_ i: Int) throws {
        let target = stages[i]
        let shape = Self.shape(target.size, configuration)
        if !plan.ablations.renoise {
            latents = Self.resample(latents, to: target.size, filters: plan.filters)
        } else {
            // Restart: the stage ended at σ = 0, so x is its clean latent (bit-identical to
            // x − σ·v of the last call). Hand-off: x̂₀ of the last call.
            let source = plan.transition == .restart ? latents : (cleanEstimate ?? latents)
            let x0 = Self.resample(source, to: target.size, filters: plan.filters)
            var stream = noise.stream(stage: i)
            let eps = stream.gaussian(count: shape.reduce(1, *))
            let s0 = target.sigmas[0], a = 1 - s0
            latents = Tensor(shape: shape) { out in
                x0.data.withUnsafeBufferPointer { x in
                    for k in 0..<out.count { out[k] = a * x[k] + s0 * eps[k] }
                }
            }
        }
        preparedStage = i
    }

    /// Resizes `[B, T, H, W, C]` per axis (frames, height, width): the upsampling filter where
    /// an axis grows, the antialiased downsampling filter where it shrinks.
    public static func resample(_ x: Tensor, to size: LatentSize, filters: TransitionFilters) -> Tensor {
        var t = x
        for (axis, n) in [(1, size.frames), (2, size.height), (3, size.width)] where t.shape[axis] != n {
            let filter = n > t.shape[axis] ? filters.upsampling : filters.downsampling
            t = t.resampled(axis: axis, to: n, filter: filter, antialias: true)
        }
        return t
    }
}

extension BottleneckSampler: Sendable where D: Sendable {}
