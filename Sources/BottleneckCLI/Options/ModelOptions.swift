import ArgumentParser

/// Where the models come from and how many cores they use.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("pipeline"),
            help: ArgumentHelp("Pipeline folder in diffusers layout (transformer/, vae/, text_encoder/, …).",
                               discussion: "Default: $BOTTLENECK_PIPELINE, else pipelines/shapes next to the executable or in the current directory.",
                               valueName: "dir"))
    var pipeline: String?

    @Option(help: ArgumentHelp("Compute threads for BLAS and kernels (default: all cores).", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256; got \(threads)")
        }
    }
}
