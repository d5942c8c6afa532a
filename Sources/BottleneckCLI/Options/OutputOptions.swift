import ArgumentParser
import Bottleneck
import Media

/// Container, quality and side outputs (latents, previews). Numbers are checked against
/// `GenerationRequest.Bounds` while parsing.
struct OutputOptions: ParsableArguments {
    typealias Bounds = GenerationRequest.Bounds

    @Option(help: ArgumentHelp("Container (default: from the output extension; required with -o -).",
                               discussion: "png writes frames_0001.png, frames_0002.png, … into the folder -o names (-o frames/ implies it).",
                               valueName: "format"))
    var format: MediaFormat?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Frames per second, \(Bounds.fps.summary) (default: 24).", valueName: "n"),
            transform: Bounds.fps.argument)
    var fps: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Constant rate factor, \(Bounds.crf.summary), 0 lossless (default: 18).", valueName: "n"),
            transform: Bounds.crf.argument)
    var crf: Int?

    @Option(name: .customLong("save-latents"),
            help: ArgumentHelp("Also save the final latents (safetensors) for `bottleneck decode`.", valueName: "file"))
    var saveLatents: String?

    @Option(help: ArgumentHelp("Write a PNG of the current estimate's first frame while sampling (replaced atomically).", valueName: "file"))
    var preview: String?

    @Option(name: .customLong("preview-every"), parsing: .unconditional,
            help: ArgumentHelp("Steps between previews, \(Bounds.previewEvery.summary) (default: 5).", valueName: "n"),
            transform: Bounds.previewEvery.argument)
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

extension MediaFormat: ExpressibleByArgument {}
