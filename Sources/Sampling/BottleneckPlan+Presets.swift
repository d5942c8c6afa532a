/// Named plans. `hunyuan` and `flux` are the paper's Tables 5 and 4; `x2`, `x2.5`, `x3` are derived
/// for any base size and step count from the cost model; `5stage` is this project's 5-stage plan;
/// `off` is standard sampling.
public enum PlanPreset: String, CaseIterable, Sendable, Codable {
    case off
    case x2
    case x2_5 = "x2.5"
    case x3
    case hunyuan
    case flux
    case fiveStage = "5stage"

    /// The FLOPs speed-up a derived preset targets.
    public var targetSpeedup: Double? {
        switch self {
        case .x2: return 2
        case .x2_5: return 2.5
        case .x3: return 3
        default: return nil
        }
    }

    /// Whether the preset is a fixed table (the paper's `hunyuan` and `flux`) whose stages set
    /// their own steps, rather than a plan derived for the request's size and steps.
    public var isFixed: Bool { self == .hunyuan || self == .flux }

    /// Looks a preset up by name; the error lists the known names.
    public init(named name: String) throws {
        guard let p = PlanPreset(rawValue: name) else {
            throw SamplingError(.unknownPreset(name: name, known: PlanPreset.allCases.map(\.rawValue)))
        }
        self = p
    }
}

/// What a preset is derived for.
public struct PlanContext: Sendable, Equatable {
    /// Full-resolution latent. Default 33×16×16 = 129 frames of 128×128 px.
    public var base = LatentSize(frames: 33, height: 16, width: 16)
    public var transformer = TransformerCost.defaultModel
    /// Standard sampling steps the preset replaces.
    public var baseSteps = 50
    /// Standard sampling shift; 7.0 is HunyuanVideo's `scheduler_config.json` "shift".
    public var baseShift = 7.0
    public var reading = StrengthReading.img2img
    public init(base: LatentSize = LatentSize(frames: 33, height: 16, width: 16),
                transformer: TransformerCost = .defaultModel, baseSteps: Int = 50,
                baseShift: Double = 7, reading: StrengthReading = .img2img) {
        self.base = base
        self.transformer = transformer
        self.baseSteps = baseSteps
        self.baseShift = baseShift
        self.reading = reading
    }
}

extension BottleneckPlan {
    /// The plan named by `preset` for `context`.
    public static func preset(_ preset: PlanPreset, context: PlanContext = PlanContext()) throws -> BottleneckPlan {
        var plan: BottleneckPlan
        switch preset {
        case .off:
            plan = .standard(steps: context.baseSteps, shift: context.baseShift)
        case .hunyuan:
            // Paper Table 5: 720×1280 → 544×960 → 720×1280, 129 frames, baseline shift 7.
            plan = BottleneckPlan(name: "hunyuan", stages: [
                BottleneckStage(resolution: .full, steps: 4, shift: 7, strength: 1),
                BottleneckStage(resolution: .fraction(frames: 1, height: 544.0 / 720.0, width: 960.0 / 1280.0),
                                steps: 24, shift: 9, strength: 0.8),
                BottleneckStage(resolution: .full, steps: 16, shift: 9, strength: 0.7),
            ], baseSteps: 50, baseShift: 7)
        case .flux:
            // Paper Table 4: 1024 → 512 → 1024, baseline shift 3.
            plan = BottleneckPlan(name: "flux", stages: [
                BottleneckStage(resolution: .full, steps: 6, shift: 9, strength: 1),
                BottleneckStage(resolution: .spatial(0.5), steps: 20, shift: 6, strength: 0.8),
                BottleneckStage(resolution: .full, steps: 8, shift: 9, strength: 0.6),
            ], baseSteps: 50, baseShift: 3)
        case .fiveStage:
            // Project choice (the paper's Table 7 gives no numbers): full → ¾ → ½ → ¾ → full,
            // strengths falling like Table 5, bottleneck shifts = base·9/7 like Table 5.
            let s = context.baseShift, sb = context.baseShift * 9 / 7
            let n = context.baseSteps
            func steps(_ fraction: Double) -> Int { max(1, Int((Double(n) * fraction).rounded())) }
            plan = BottleneckPlan(name: "5stage", stages: [
                BottleneckStage(resolution: .full, steps: steps(0.08), shift: s, strength: 1),
                BottleneckStage(resolution: .latent(halfSize(context, 0.75)), steps: steps(0.16), shift: sb, strength: 0.85),
                BottleneckStage(resolution: .latent(halfSize(context, 0.5)), steps: steps(0.4), shift: sb, strength: 0.8),
                BottleneckStage(resolution: .latent(halfSize(context, 0.75)), steps: steps(0.16), shift: sb, strength: 0.75),
                BottleneckStage(resolution: .full, steps: steps(0.24), shift: sb, strength: 0.7),
            ], baseSteps: n, baseShift: s)
        case .x2, .x2_5, .x3:
            plan = try derived(speedup: preset.targetSpeedup!, context: context)
            plan.name = preset.rawValue
        }
        plan.reading = context.reading
        return plan
    }

    /// A stage size of `fraction` of the base side, rounded down to a multiple of the patch
    /// (at least one patch); frames unchanged.
    static func halfSize(_ context: PlanContext, _ fraction: Double) -> LatentSize {
        let p = context.transformer.patch.spatial
        func side(_ n: Int) -> Int { max(p, Int(Double(n) * fraction) / p * p) }
        return LatentSize(frames: context.base.frames, height: side(context.base.height), width: side(context.base.width))
    }

    /// Derives a 3-stage plan (full → half side → full) whose FLOPs speed-up over
    /// `context.baseSteps` standard steps is as close as possible to `speedup`.
    ///
    /// Rule (documented project choice, shaped after the paper's Table 5):
    /// - stage 0: full size, `max(2, round(0.08·N))` steps, base shift, strength 1;
    /// - stage 1: half side (rounded down to the patch), shift base·9/7, strength 0.8;
    /// - stage 2: full size, shift base·9/7, strength 0.7;
    /// - steps N1 searched in 1…3N with N2 = max(1, round(2/3·N1)) (Table 5's 24:16), closest
    ///   speed-up wins; if that misses by more than 5 %, every (N1, N2) pair in 1…3N is searched.
    /// - Throws: `unreachableSpeedup` when no pair is within 5 %.
    public static func derived(speedup target: Double, context: PlanContext) throws -> BottleneckPlan {
        let n = context.baseSteps
        let s = context.baseShift, sb = context.baseShift * 9 / 7
        let low = halfSize(context, 0.5)
        func plan(_ n1: Int, _ n2: Int) -> BottleneckPlan {
            var p = BottleneckPlan(name: "x\(target)", stages: [
                BottleneckStage(resolution: .full, steps: max(2, Int((0.08 * Double(n)).rounded())), shift: s, strength: 1),
                BottleneckStage(resolution: .latent(low), steps: n1, shift: sb, strength: 0.8),
                BottleneckStage(resolution: .full, steps: n2, shift: sb, strength: 0.7),
            ], baseSteps: n, baseShift: s)
            p.reading = context.reading
            return p
        }
        func error(_ p: BottleneckPlan) -> Double? {
            guard let c = try? p.cost(base: context.base, transformer: context.transformer) else { return nil }
            return abs(c.speedup - target) / target
        }
        var best: (BottleneckPlan, Double)?
        func consider(_ p: BottleneckPlan) {
            if let e = error(p), e < (best?.1 ?? .infinity) { best = (p, e) }
        }
        for n1 in 1...(3 * max(n, 1)) { consider(plan(n1, max(1, Int((Double(n1) * 2 / 3).rounded())))) }
        if (best?.1 ?? .infinity) > 0.05 {
            for n1 in 1...(3 * max(n, 1)) { for n2 in 1...(3 * max(n, 1)) { consider(plan(n1, n2)) } }
        }
        guard let (p, e) = best, e <= 0.05 else {
            let ratio = (try? best?.0.cost(base: context.base, transformer: context.transformer).speedup) ?? 0
            throw SamplingError(.unreachableSpeedup(target: target, best: ratio))
        }
        return p
    }
}
