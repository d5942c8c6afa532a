import Foundation
import Models
import Sampling

/// The pipeline's configs that decide whether a request's plan can run (the transformer's
/// patch and cost model, the scheduler's shift), read once: `generate` checks its request,
/// `batch` every item, before any weights load.
public struct PlanFit: Sendable {
    /// The folder's pipeline kind (`model_index.json`).
    public let kind: PipelineKind
    let transformer: TransformerProfile
    let schedule: SchedulerSettings

    /// - Throws: `PipelineError` naming `model_index.json` or a config file that is missing or
    ///   wrong (`ModelError` for a bad transformer config).
    public init(pipeline: PipelineFolder) throws {
        kind = try pipeline.kind()
        transformer = try pipeline.transformerProfile(kind)
        schedule = try pipeline.schedulerSettings()
    }

    /// The transformer's cost model (`bottleneck plan --pipeline`).
    public var cost: TransformerCost { transformer.cost }

    /// The shift of standard sampling at `base` (the scheduler's static or dynamic shift).
    public func baseShift(at base: LatentSize) -> Double { schedule.baseShift(imageTokens: cost.patch.tokens(base)) }

    /// Whether the transformer takes a guidance value (false for FLUX.1-schnell, so a
    /// `--guidance` given for it is refused rather than ignored).
    public var takesGuidance: Bool { transformer.takesGuidance }

    /// Checks `request` against the pipeline kind (`GenerationRequest.validate(for:)`), then
    /// derives and resolves its plan as `DiTGenerator` will.
    /// - Returns: the resolved stages.
    /// - Throws: `RequestError`: the kind's (`framesForImage`, field `frames`), or
    ///   `planDoesNotFit` (field `bottleneck`) with what to change.
    @discardableResult
    public func check(_ request: GenerationRequest) throws -> [ResolvedStage] {
        try request.validateNumbers(for: kind)
        let base = request.latentSize
        do {
            let plan = try Self.plan(for: request, base: base, transformer: transformer, schedule: schedule)
            return try plan.resolved(base: base, patch: transformer.cost.patch)
        } catch let error as SamplingError {
            let r = request
            throw RequestError(.planDoesNotFit(plan: r.bottleneck, frames: r.frames, width: r.width, height: r.height,
                                               steps: r.steps, reason: error.description), field: "bottleneck")
        }
    }

    /// The plan `request.bottleneck` names at `base`: a preset derived for this transformer's
    /// cost model, a fixed preset, or the plan file; standard sampling and derived presets use
    /// the scheduler's shift at `base` (`SchedulerSettings.baseShift`). The one place a choice
    /// becomes a plan (generation and the checks before it).
    static func plan(for request: GenerationRequest, base: LatentSize, transformer: TransformerProfile,
                     schedule: SchedulerSettings) throws -> BottleneckPlan {
        let cost = transformer.cost
        let baseShift = schedule.baseShift(imageTokens: cost.patch.tokens(base))
        let context = PlanContext(base: base, transformer: cost, baseSteps: request.steps, baseShift: baseShift)
        switch request.bottleneck {
        case .preset(.off): return .standard(steps: request.steps, shift: baseShift)
        case .preset(let preset): return try .preset(preset, context: context)
        case .file(let path): return try BottleneckPlan(contentsOf: URL(fileURLWithPath: path))
        }
    }
}

extension GenerationRequest {
    /// With a plan file or a fixed preset (`flux`: paper Table 4), the plan's stages set the
    /// steps: `steps` becomes their total, so the MP4 metadata, the manifest and a latents file
    /// record the steps that ran. `explicit` (a `--steps` flag or a batch `steps` column) must
    /// equal that total; it is not silently ignored. Other plans keep `steps`.
    /// - Throws: `SamplingError` for a plan file that cannot be read or is out of bounds,
    ///   `RequestError` (`stepsOfPlanFile`) when `explicit` disagrees with it.
    public mutating func takeStepsFromFixedPlan(explicit: Int?) throws {
        let stageSteps: [Int]
        switch bottleneck {
        case .file(let path): stageSteps = try BottleneckPlan(contentsOf: URL(fileURLWithPath: path)).stages.map(\.steps)
        case .preset(let preset) where preset.isFixed: stageSteps = try BottleneckPlan.preset(preset).stages.map(\.steps)
        case .preset: return
        }
        let path = bottleneck.description
        let total = stageSteps.reduce(0, +)
        if let explicit, explicit != total {
            throw RequestError(.stepsOfPlanFile(steps: explicit, plan: path, stageSteps: stageSteps), field: "steps")
        }
        steps = total
    }
}
