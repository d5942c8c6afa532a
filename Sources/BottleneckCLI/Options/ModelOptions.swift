import ArgumentParser
import Bottleneck

/// Where the models come from and how many cores they use.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("pipeline"),
            help: ArgumentHelp("Pipeline folder in diffusers layout (transformer/, vae/, text_encoder/, …).",
                               discussion: "Default: $BOTTLENECK_PIPELINE, else pipelines/shapes next to the executable or in the current directory.",
                               valueName: "dir"))
    var pipeline: String?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Compute threads for BLAS and kernels, \(GenerationRequest.Bounds.threads.summary) "
                               + "(default: all cores).", valueName: "n"),
            transform: GenerationRequest.Bounds.threads.argument)
    var threads: Int?
}
