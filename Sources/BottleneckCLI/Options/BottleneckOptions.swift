import ArgumentParser
import Foundation
import Pipeline
import Sampling

/// Bottleneck Sampling plan.
struct BottleneckOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Bottleneck plan: off, x2, x2.5, x3 or a plan file (default: from --preset, x2).",
                               valueName: "plan"),
            transform: { text in
                do { return try BottleneckChoice(parsing: text) } catch { throw ValidationError("\(error)") }
            })
    var bottleneck: BottleneckChoice?

    /// A plan file is read now, so a missing or malformed one is reported before the models
    /// load (its stages are checked against the video size when sampling starts).
    func validate() throws {
        guard case .file(let path) = bottleneck else { return }
        do { _ = try BottleneckPlan(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("--bottleneck: \(error)")
        }
    }

    func apply(to request: inout GenerationRequest) {
        if let bottleneck { request.bottleneck = bottleneck }
    }
}
