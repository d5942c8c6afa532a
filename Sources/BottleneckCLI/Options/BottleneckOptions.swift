import ArgumentParser
import Pipeline

/// Bottleneck Sampling plan.
struct BottleneckOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Bottleneck plan: off, x2, x2.5, x3 or a plan file (default: from --preset, x2).",
                               valueName: "plan"),
            transform: { text in
                do { return try BottleneckChoice(parsing: text) } catch { throw ValidationError("\(error)") }
            })
    var bottleneck: BottleneckChoice?

    func apply(to request: inout GenerationRequest) {
        if let bottleneck { request.bottleneck = bottleneck }
    }
}
