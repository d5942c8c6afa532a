import ArgumentParser
import Bottleneck

/// Video size, length, steps, seed and guidance. Optional values override the preset.
/// Numbers are checked against `GenerationRequest.Bounds` while parsing.
struct SamplingOptions: ParsableArguments {
    typealias Bounds = GenerationRequest.Bounds
    /// The defaults help names, from the one place each kind's are set: a video pipeline's and
    /// FLUX.1's (`GenerationRequest(prompt:kind:)`).
    static let (video, image) = (GenerationRequest(prompt: "", kind: .hunyuanVideo),
                                 GenerationRequest(prompt: "", kind: .flux))

    @Option(name: [.customLong("frames"), .customLong("video-length"), .customLong("frame-num")],
            parsing: .unconditional,
            help: ArgumentHelp("Frames, \(Bounds.frames.summary) (default: \(video.frames); FLUX.1: \(image.frames)).",
                               valueName: "n"),
            transform: Bounds.frames.argument)
    var frames: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Width in pixels, \(Bounds.pixelSide.summary) (default: \(video.width); "
                               + "FLUX.1: \(image.width)).", valueName: "px"),
            transform: Bounds.pixelSide.argument)
    var width: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Height in pixels, \(Bounds.pixelSide.summary) (default: \(video.height); "
                               + "FLUX.1: \(image.height)).", valueName: "px"),
            transform: Bounds.pixelSide.argument)
    var height: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Width and height together, e.g. 128x96, each as --width (default: "
                               + "\(video.width)x\(video.height); FLUX.1: \(image.width)x\(image.height)).",
                               valueName: "WxH"),
            transform: { try Resolution(parsing: $0) })
    var size: Resolution?

    @Option(name: [.customLong("steps"), .customLong("infer-steps"), .customLong("sample-steps")],
            parsing: .unconditional,
            help: ArgumentHelp("Denoising steps, \(Bounds.steps.summary) (default: from --preset, 50; "
                               + "a plan file sets its own).", valueName: "n"),
            transform: Bounds.steps.argument)
    var steps: Int?

    @Option(help: "Named steps/bottleneck defaults (default: balanced).")
    var preset: Preset?

    @Option(name: [.customLong("seed"), .customLong("base-seed")], parsing: .unconditional,
            help: ArgumentHelp("Noise seed, \(Bounds.seed.summary) (default: random, always reported). "
                               + "In batch: the base seed.", valueName: "n"),
            transform: Bounds.seed.argument)
    var seed: UInt64?

    @Option(name: [.customLong("cfg"), .customLong("guidance"), .customLong("guidance-scale"),
                   .customLong("sample-guide-scale")],
            parsing: .unconditional,
            help: ArgumentHelp("Guidance scale, \(Bounds.cfg.summary) (default: the pipeline's, else 6; FLUX.1-dev: 3.5).",
                               discussion: "Classifier-free guidance above 1 for HunyuanVideo; FLUX.1-dev's distilled guidance (one pass per step); FLUX.1-schnell takes none. A pipeline folder sets its own default in model_index.json (\"_guidance_scale\").",
                               valueName: "scale"),
            transform: Bounds.cfg.argument)
    var cfg: Float?

    @Option(name: [.customLong("negative-prompt"), .customLong("neg-prompt")],
            help: ArgumentHelp("What to steer away from (default: empty).", valueName: "text"))
    var negativePrompt: String?

    func validate() throws {
        if size != nil, width != nil || height != nil {
            throw ValidationError("give either --size or --width/--height, not both")
        }
    }

    /// Applies the given values (preset first, then explicit flags) to `request`.
    func apply(to request: inout GenerationRequest) {
        if let preset { request.apply(preset) }
        if let frames { request.frames = frames }
        if let size {
            request.width = size.width
            request.height = size.height
        }
        if let width { request.width = width }
        if let height { request.height = height }
        if let steps { request.steps = steps }
        if let seed { request.seed = seed }
        if let cfg { request.cfgScale = cfg }
        if let negativePrompt { request.negativePrompt = negativePrompt }
    }

    /// Refuses `--guidance` for a transformer that cannot take one (FLUX.1-schnell) rather than
    /// ignore it (`generate` and `batch`, before anything loads).
    func checkGuidance(takesGuidance: Bool) throws {
        if cfg != nil, !takesGuidance {
            throw ValidationError("--guidance: this FLUX.1 transformer has no guidance embedder "
                                  + "(guidance_embeds false, as FLUX.1-schnell); leave --guidance out")
        }
    }
}

/// `WIDTHxHEIGHT`, each side checked against `GenerationRequest.Bounds.pixelSide`.
struct Resolution: Equatable, Sendable {
    var width: Int
    var height: Int

    init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ValidationError(RequestError(.badSize(text), field: "size").description) }
        let bound = GenerationRequest.Bounds.pixelSide
        func side(_ name: String, _ text: Substring) throws -> Int {
            do { return try bound.parse(String(text)) } catch {
                throw ValidationError(RequestError(.outOfBounds(error), field: name).description)
            }
        }
        width = try side("width", parts[0])
        height = try side("height", parts[1])
    }
}

extension Preset: ExpressibleByArgument {}
