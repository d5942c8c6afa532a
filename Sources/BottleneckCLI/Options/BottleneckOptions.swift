import ArgumentParser
import Bottleneck
import Foundation
import Sampling

/// Bottleneck Sampling plan.
struct BottleneckOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Bottleneck plan: off, x2, x2.5, x3 or a plan file (default: from --preset, x2).",
                               valueName: "plan"),
            transform: { text in
                do { return try BottleneckChoice(parsing: text) } catch { throw ValidationError("\(error)") }
            })
    var bottleneck: BottleneckChoice?

    /// Sets the plan; a plan file is read now, so a missing, malformed or out-of-bounds one is
    /// reported while parsing, before the models load (its stages are checked against the video
    /// size when sampling starts), and its stages set the steps.
    /// - Parameter explicitSteps: `--steps`, which must agree with a plan file's stages.
    func apply(to request: inout GenerationRequest, explicitSteps: Int?) throws {
        if let bottleneck { request.bottleneck = bottleneck }
        do { try request.takeStepsFromFixedPlan(explicit: explicitSteps) } catch let error as SamplingError {
            throw ValidationError("--bottleneck: \(error)")
        } catch let error as RequestError {
            throw ValidationError(error.optionMessage)
        }
    }
}
