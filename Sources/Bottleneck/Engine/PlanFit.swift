import Foundation
import Models
import Sampling

/// The pipeline's configs that decide whether a request's plan can run (the transformer's
/// patch and cost model, the scheduler's shift), read once: `generate` checks its request,
/// `batch` every item, before any weights load.
public struct PlanFit: Sendable {
    let transformer: TransformerConfiguration
    let baseShift: Double

    /// - Throws: `PipelineError.badPipeline` naming a config file that is missing or wrong.
    public init(pipeline: PipelineFolder) throws {
        transformer = try pipeline.transformerConfiguration()
        baseShift = try pipeline.schedulerShift()
    }

    /// Derives and resolves `request`'s plan as `DiTGenerator` will.
    /// - Returns: the resolved stages.
    /// - Throws: `RequestError` (`planDoesNotFit`, field `bottleneck`) with what to change.
    @discardableResult
    public func check(_ request: GenerationRequest) throws -> [ResolvedStage] {
        let base = request.latentSize
        do {
            let plan = try Self.plan(for: request, base: base, transformer: transformer, baseShift: baseShift)
            return try plan.resolved(base: base, patch: transformer.patch)
        } catch let error as SamplingError {
            let r = request
            throw RequestError(.planDoesNotFit(plan: r.bottleneck, frames: r.frames, width: r.width, height: r.height,
                                               steps: r.steps, reason: error.description), field: "bottleneck")
        }
    }

    /// The plan `request.bottleneck` names at `base`: a preset derived for this transformer's
    /// cost model, or the plan file. The one place a choice becomes a plan (generation and
    /// the checks before it).
    static func plan(for request: GenerationRequest, base: LatentSize, transformer: TransformerConfiguration,
                     baseShift: Double) throws -> BottleneckPlan {
        let cost = transformer.cost(textTokens: MiniLMStage.maxTokens)
        let context = PlanContext(base: base, transformer: cost, baseSteps: request.steps, baseShift: baseShift)
        switch request.bottleneck {
        case .preset(.off): return .standard(steps: request.steps, shift: baseShift)
        case .preset(let preset): return try .preset(preset, context: context)
        case .file(let path): return try BottleneckPlan(contentsOf: URL(fileURLWithPath: path))
        }
    }
}

extension GenerationRequest {
    /// With a plan file, the file's stages set the steps: `steps` becomes their total, so the
    /// MP4 metadata, the manifest and a latents file record the steps that ran. `explicit` (a
    /// `--steps` flag or a batch `steps` column) must equal that total; it is not silently
    /// ignored. Other plans keep `steps`.
    /// - Throws: `SamplingError` for a plan file that cannot be read or is out of bounds,
    ///   `RequestError` (`stepsOfPlanFile`) when `explicit` disagrees with it.
    public mutating func takeStepsFromPlanFile(explicit: Int?) throws {
        guard case .file(let path) = bottleneck else { return }
        let stageSteps = try BottleneckPlan(contentsOf: URL(fileURLWithPath: path)).stages.map(\.steps)
        let total = stageSteps.reduce(0, +)
        if let explicit, explicit != total {
            throw RequestError(.stepsOfPlanFile(steps: explicit, plan: path, stageSteps: stageSteps), field: "steps")
        }
        steps = total
    }
}
