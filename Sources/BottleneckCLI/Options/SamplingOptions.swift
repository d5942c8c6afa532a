import ArgumentParser
import Pipeline

/// Video size, length, steps, seed and guidance. Optional values override the preset.
struct SamplingOptions: ParsableArguments {
    @Option(name: [.customLong("frames"), .customLong("video-length"), .customLong("frame-num")],
            help: ArgumentHelp("Frames, 4k+1 (default: 129).", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Width in pixels, a multiple of 16 (default: 128).", valueName: "px"))
    var width: Int?

    @Option(help: ArgumentHelp("Height in pixels, a multiple of 16 (default: 128).", valueName: "px"))
    var height: Int?

    @Option(help: ArgumentHelp("Width and height together, e.g. 128x96.", valueName: "WxH"),
            transform: { try Resolution(parsing: $0) })
    var size: Resolution?

    @Option(name: [.customLong("steps"), .customLong("infer-steps"), .customLong("sample-steps")],
            help: ArgumentHelp("Denoising steps over all stages (default: from --preset, 50).", valueName: "n"))
    var steps: Int?

    @Option(help: "Named steps/bottleneck defaults (default: balanced).")
    var preset: Preset?

    @Option(name: [.customLong("seed"), .customLong("base-seed")],
            help: ArgumentHelp("Noise seed (default: random, always reported). In batch: the base seed.", valueName: "n"))
    var seed: UInt64?

    @Option(name: [.customLong("cfg"), .customLong("guidance-scale"), .customLong("sample-guide-scale")],
            help: ArgumentHelp("Guidance scale (default: 6.0).", valueName: "scale"))
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
}

/// `WIDTHxHEIGHT`.
struct Resolution: Equatable, Sendable {
    var width: Int
    var height: Int

    init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw ValidationError(RequestError(.badSize(text), field: "size").description)
        }
        width = w
        height = h
    }
}

extension Preset: ExpressibleByArgument {}
