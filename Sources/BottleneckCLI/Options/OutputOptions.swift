import ArgumentParser
import Pipeline

/// Container, quality and side outputs (latents, previews).
struct OutputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Container (default: from the output extension; required with -o -).", valueName: "format"))
    var format: OutputFormat?

    @Option(help: ArgumentHelp("Frames per second (default: 24).", valueName: "n"))
    var fps: Int?

    @Option(help: ArgumentHelp("Constant rate factor, 0 lossless … 51 (default: 18).", valueName: "n"))
    var crf: Int?

    @Option(name: .customLong("save-latents"),
            help: ArgumentHelp("Also save the final latents (safetensors) for `bottleneck decode`.", valueName: "file"))
    var saveLatents: String?

    @Option(help: ArgumentHelp("Write a PNG of the current estimate's first frame while sampling (replaced atomically).", valueName: "file"))
    var preview: String?

    @Option(name: .customLong("preview-every"),
            help: ArgumentHelp("Steps between previews (default: 5).", valueName: "n"))
    var previewEvery: Int?

    func validate() throws {
        if previewEvery != nil, preview == nil {
            throw ValidationError("--preview-every needs --preview FILE")
        }
    }

    func apply(to request: inout GenerationRequest) {
        if let format { request.format = format }
        if let fps { request.fps = fps }
        if let crf { request.crf = crf }
        request.saveLatentsPath = saveLatents
        if let preview { request.preview = PreviewSettings(path: preview, every: previewEvery ?? 5) }
    }
}

extension OutputFormat: ExpressibleByArgument {}
