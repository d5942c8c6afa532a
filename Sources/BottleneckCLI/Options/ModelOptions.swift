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

    /// The kind of `--pipeline` (or the folder the command would use), for the defaults while
    /// parsing: HunyuanVideo when no folder is found yet (`run` then reports the folder), nil
    /// when its `model_index.json` cannot be read.
    var pipelineKind: PipelineKind? {
        guard let folder = try? PipelineFolder.locate(explicit: pipeline) else { return .hunyuanVideo }
        return try? folder.kind()
    }

    /// The guidance scale of `--pipeline` (or the folder the command would use) where its
    /// `model_index.json` sets one (`PipelineFolder.defaultGuidance()`); nil when no folder is
    /// found yet or it sets none.
    /// - Throws: `PipelineError` naming `model_index.json` for a bad `_guidance_scale`.
    func pipelineGuidance() throws -> Float? {
        guard let folder = try? PipelineFolder.locate(explicit: pipeline) else { return nil }
        return try folder.defaultGuidance()
    }
}
