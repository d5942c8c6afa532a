import Tensor

/// A latent extent in latent cells: `frames = (pixelFrames − 1)/4 + 1`, `height = pixelHeight/8`,
/// `width = pixelWidth/8` for the HunyuanVideo VAE.
public struct LatentSize: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var frames: Int
    public var height: Int
    public var width: Int
    public init(frames: Int, height: Int, width: Int) {
        self.frames = frames
        self.height = height
        self.width = width
    }
    public var description: String { "\(frames)×\(height)×\(width)" }
    /// `[frames, height, width]`.
    public var extents: [Int] { [frames, height, width] }
}

/// The transformer's patch size in latent cells (HunyuanVideo: `patch_size_t = 1`, `patch_size = 2`).
public struct PatchSize: Codable, Sendable, Equatable, Hashable {
    public var temporal: Int
    public var spatial: Int
    public init(temporal: Int = 1, spatial: Int = 2) {
        self.temporal = temporal
        self.spatial = spatial
    }
    /// Image tokens of a latent of `size`: `(T/pt)·(H/p)·(W/p)`.
    public func tokens(_ size: LatentSize) -> Int {
        (size.frames / temporal) * (size.height / spatial) * (size.width / spatial)
    }
}

/// A stage's latent extent: a fraction of the base latent (rounded to the nearest cell) or an
/// absolute size in latent cells.
public enum StageResolution: Sendable, Equatable {
    case fraction(frames: Double, height: Double, width: Double)
    case latent(LatentSize)

    /// The full (base) resolution.
    public static let full = StageResolution.fraction(frames: 1, height: 1, width: 1)
    /// A spatial fraction `scale` of the base, frames unchanged.
    public static func spatial(_ scale: Double) -> StageResolution {
        .fraction(frames: 1, height: scale, width: scale)
    }
}

/// Whether a stage restarts from the clean estimate (the paper) or hands off mid-trajectory.
public enum TransitionMode: String, Codable, Sendable, CaseIterable {
    /// The paper: every stage runs down to σ = 0; the next stage resamples that clean latent and
    /// re-noises it to its own first σ with fresh noise.
    case restart
    /// Not the paper's (Jenga, LightX2V): stage i stops at σ_end = the first σ of stage i + 1;
    /// its clean estimate x̂0 = x − σ_end·v (= that of its last call) is resampled and re-noised
    /// to σ_end with fresh noise, and the next stage continues on its own shifted schedule.
    case handOff = "hand-off"
}

/// Resampling choices at stage transitions.
public struct TransitionFilters: Codable, Sendable, Equatable {
    /// Kernel when a stage is larger than the previous one.
    public var upsampling: ResampleFilter = .lanczos3
    /// Kernel when a stage is smaller; widened by the size ratio (antialiased) except `.nearest`.
    public var downsampling: ResampleFilter = .lanczos3
    public init(upsampling: ResampleFilter = .lanczos3, downsampling: ResampleFilter = .lanczos3) {
        self.upsampling = upsampling
        self.downsampling = downsampling
    }
}

/// Ablation switches of the paper's Table 3; all `true` is the method.
public struct Ablations: Codable, Sendable, Equatable {
    /// Each stage uses its own shift; `false`: the plan's base shift everywhere.
    public var reshift = true
    /// Fresh noise at each transition; `false`: resample the stage's last latent and continue.
    public var renoise = true
    /// Stages at their own size; `false`: every stage at full size.
    public var bottleneck = true
    public init(reshift: Bool = true, renoise: Bool = true, bottleneck: Bool = true) {
        self.reshift = reshift
        self.renoise = renoise
        self.bottleneck = bottleneck
    }
}

/// One stage of a plan.
public struct BottleneckStage: Sendable, Equatable {
    public var resolution: StageResolution
    /// Nominal step count N_i (reading B runs the last part of an N_i-step schedule).
    public var steps: Int
    /// Timestep shift s_i of this stage.
    public var shift: Double
    /// Noise-reintroduction strength w_i in (0, 1]; 1 for stage 0.
    public var strength: Double
    public init(resolution: StageResolution, steps: Int, shift: Double, strength: Double) {
        self.resolution = resolution
        self.steps = steps
        self.shift = shift
        self.strength = strength
    }
}

/// A Bottleneck Sampling plan (arXiv 2503.18940 §3): K stages of resolution, steps, shift and
/// strength, plus the standard-sampling baseline it is compared with.
public struct BottleneckPlan: Sendable, Equatable {
    public var name: String
    public var stages: [BottleneckStage]
    public var reading: StrengthReading = .img2img
    public var transition: TransitionMode = .restart
    public var filters = TransitionFilters()
    public var ablations = Ablations()
    /// Steps of the standard sampling this plan replaces (cost baseline).
    public var baseSteps: Int = 50
    /// Shift of the standard sampling (and of every stage under the no-re-shift ablation).
    public var baseShift: Double

    public init(name: String, stages: [BottleneckStage], baseSteps: Int = 50, baseShift: Double,
                reading: StrengthReading = .img2img) {
        self.name = name
        self.stages = stages
        self.baseSteps = baseSteps
        self.baseShift = baseShift
        self.reading = reading
    }

    /// Standard sampling as a one-stage plan: `steps` steps at full size with `shift`.
    public static func standard(steps: Int, shift: Double) -> BottleneckPlan {
        BottleneckPlan(
            name: "off",
            stages: [BottleneckStage(resolution: .full, steps: steps, shift: shift, strength: 1)],
            baseSteps: steps, baseShift: shift)
    }
}

/// A stage resolved against a base latent size: concrete extents and its sigma list.
public struct ResolvedStage: Sendable, Equatable {
    public var index: Int
    public var size: LatentSize
    /// Image tokens `(T/pt)(H/p)(W/p)`.
    public var tokens: Int
    public var shift: Float
    public var strength: Double
    /// σ_0 > … > σ_last; `sigmas.count − 1` model calls; `σ_last = 0` except for hand-off stages.
    public var sigmas: [Float]
    public var modelCalls: Int { sigmas.count - 1 }
}

extension BottleneckPlan {
    /// Checks the plan and turns it into concrete stages.
    /// - Parameters:
    ///   - base: the full-resolution latent size.
    ///   - patch: the transformer's patch size; every stage extent must be a multiple of it.
    /// - Throws: `SamplingError` naming the stage and dimension at fault, or
    ///   `lastStageNotFull` when the plan does not end at `base` (the video is decoded from the
    ///   last stage's latent).
    public func resolved(base: LatentSize, patch: PatchSize,
                         scheduler: any Scheduler = FlowMatchEulerScheduler()) throws -> [ResolvedStage] {
        guard !stages.isEmpty else { throw SamplingError(.emptyPlan) }
        guard baseShift > 0 else { throw SamplingError(.badShift(stage: 0, shift: baseShift)) }
        var out: [ResolvedStage] = []
        for (i, stage) in stages.enumerated() {
            guard stage.steps > 0 else { throw SamplingError(.nonPositiveSteps(stage: i, steps: stage.steps)) }
            guard stage.shift > 0 else { throw SamplingError(.badShift(stage: i, shift: stage.shift)) }
            guard stage.strength > 0, stage.strength <= 1, i > 0 || stage.strength == 1 else {
                throw SamplingError(.badStrength(stage: i, strength: stage.strength))
            }
            let size = ablations.bottleneck ? try Self.size(of: stage.resolution, stage: i, base: base) : base
            for (name, extent, p) in [("frames", size.frames, patch.temporal),
                                      ("height", size.height, patch.spatial),
                                      ("width", size.width, patch.spatial)] {
                guard extent > 0 else { throw SamplingError(.nonPositiveSize(stage: i, dimension: name, size: extent)) }
                guard extent % p == 0 else {
                    throw SamplingError(.notDivisibleByPatch(stage: i, dimension: name, size: extent, patch: p))
                }
            }
            let shift = Float(ablations.reshift ? stage.shift : baseShift)
            let sigmas = scheduler.sigmas(steps: stage.steps, shift: shift, strength: stage.strength,
                                          reading: reading)
            guard sigmas.count > 1 else { throw SamplingError(.emptyStage(stage: i)) }
            out.append(ResolvedStage(index: i, size: size, tokens: patch.tokens(size), shift: shift,
                                     strength: stage.strength, sigmas: sigmas))
        }
        if let last = out.last, last.size != base {
            throw SamplingError(.lastStageNotFull(stage: last.index, size: last.size, base: base))
        }
        if transition == .handOff {
            for i in 0..<(out.count - 1) {
                let end = out[i + 1].sigmas[0]
                var kept = out[i].sigmas.filter { $0 > end }
                guard !kept.isEmpty else { throw SamplingError(.emptyStage(stage: i)) }
                kept.append(end)
                out[i].sigmas = kept
            }
        }
        return out
    }

    static func size(of resolution: StageResolution, stage: Int, base: LatentSize) throws -> LatentSize {
        switch resolution {
        case let .latent(size):
            return size
        case let .fraction(f, h, w):
            for (name, s) in [("frames", f), ("height", h), ("width", w)] where !(s > 0 && s.isFinite) {
                throw SamplingError(.badScale(stage: stage, dimension: name, scale: s))
            }
            return LatentSize(frames: Int((Double(base.frames) * f).rounded()),
                              height: Int((Double(base.height) * h).rounded()),
                              width: Int((Double(base.width) * w).rounded()))
        }
    }
}
