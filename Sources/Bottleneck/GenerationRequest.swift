import Media
import Sampling

/// Everything one video generation needs, parsed and typed at the edge (CLI flags, batch lines).
///
/// Fields the user did not give keep the documented default. `Preset` fills `steps` and
/// `bottleneck`; flags given explicitly override the preset (see `applying(_:)`). Call
/// `validate()` before running: it names what to change for every impossible value, and never
/// rescales anything silently.
public struct GenerationRequest: Sendable, Equatable {
    /// The text to generate from. Must not be empty.
    public var prompt: String
    /// Text for the unconditional branch of classifier-free guidance; `nil` means empty.
    public var negativePrompt: String?
    /// Seed for the initial Gaussian noise. `nil`: a random seed is drawn by
    /// `resolvingSeed(using:)` and always reported (event, manifest, log).
    public var seed: UInt64?
    /// Pixel frames in the video; must be `4k + 1` (the causal VAE's temporal compression is 4).
    public var frames: Int = 129
    /// Pixel width; a multiple of 16 (VAE factor 8 × transformer patch 2).
    public var width: Int = 128
    /// Pixel height; a multiple of 16.
    public var height: Int = 128
    /// Denoising steps over all bottleneck stages.
    public var steps: Int = Preset.balanced.steps
    /// Bottleneck Sampling plan choice; `PlanFit` turns it into a `Sampling.BottleneckPlan`.
    public var bottleneck: BottleneckChoice = Preset.balanced.bottleneck
    /// Guidance scale: classifier-free for HunyuanVideo-layout folders (the shapes model has no
    /// guidance embedder; 6 is diffusers' `guidance_scale` default), a folder's
    /// `_guidance_scale` where it has one (`init(prompt:kind:guidance:)`).
    public var cfgScale: Float = 6.0
    /// Frames per second written to the container.
    public var fps: Int = 24
    /// x264/x265/VP9 constant rate factor; 18 keeps generated detail (x264's 23 is too lossy).
    public var crf: Int = 18
    /// Container/codec; `nil` means "from the output file's extension".
    public var format: MediaFormat?
    /// Where the video goes.
    public var output: OutputDestination = .file("out.mp4")
    /// Where to save the final latents (safetensors) before decoding, if anywhere.
    public var saveLatentsPath: String?
    /// Preview images written while sampling, if any.
    public var preview: PreviewSettings?
    /// Compute threads (BLAS and kernels); `nil` means all cores. Set once per process.
    public var threads: Int?

    public init(prompt: String) { self.prompt = prompt }

    /// A request with `kind`'s defaults: the video defaults above for HunyuanVideo; for FLUX.1
    /// one 1024×1024 image (FluxPipeline's `default_sample_size` 128 × the VAE's 8) at guidance
    /// 3.5 (its `guidance_scale`, embedded by -dev, unused by -schnell). `guidance`, the
    /// folder's own default (`PipelineFolder.defaultGuidance()`), replaces the kind's.
    public init(prompt: String, kind: PipelineKind, guidance: Float? = nil) {
        self.prompt = prompt
        if kind.makesImages { (frames, width, height, cfgScale) = (1, 1024, 1024, 3.5) }
        if let guidance { cfgScale = guidance }
    }

    /// Whether the output is one PNG image: a one-frame request (an image model's, or
    /// `--frames 1`) whose output file name ends in `.png` (a folder takes PNG frames).
    public var writesSingleImage: Bool {
        guard frames == 1, format == nil || format == .png, case .file(let path) = output else { return false }
        return path.lowercased().hasSuffix(".png")
    }

    /// The container actually used: the explicit `format`, else the output file's extension
    /// (`.png` for one image, `writesSingleImage`).
    /// - Throws: `RequestError` when neither names a known container (always for stdout), and
    ///   `pngNeedsFolder` for a `.png` file name of several frames (PNG frames go to a folder, `frames/`).
    public func resolvedFormat() throws -> MediaFormat {
        if let format { return format }
        switch output {
        case .stdout:
            throw RequestError(.formatNeededForStdout, field: "format")
        case .file(let path):
            if let f = MediaFormat.inferred(fromPath: path) { return f }
            if writesSingleImage { return .png }
            if path.lowercased().hasSuffix(".png") { throw RequestError(.pngNeedsFolder(path: path), field: "output") }
            throw RequestError(.unknownExtension(path: path), field: "format")
        }
    }

    /// A copy with `seed` set, drawing one from `generator` when absent.
    public func resolvingSeed<G: RandomNumberGenerator>(using generator: inout G) -> GenerationRequest {
        var r = self
        if r.seed == nil { r.seed = generator.next() }
        return r
    }

    /// A copy with a random seed when none was given (system entropy).
    public func resolvingSeed() -> GenerationRequest {
        var g = SystemRandomNumberGenerator()
        return resolvingSeed(using: &g)
    }

    /// The latent grid of this video: `LatentSize(videoFrames:width:height:)`, the one place
    /// the VAE's compression is applied.
    public var latentSize: LatentSize { LatentSize(videoFrames: frames, width: width, height: height) }
}

/// Where a finished video is written.
public enum OutputDestination: Sendable, Equatable, CustomStringConvertible {
    /// A file path (the parent folder must exist); for PNG frames, the folder to write them to.
    case file(String)
    /// Standard output (`-o -`); needs an explicit streaming-capable format.
    case stdout

    /// Parses `-` as stdout, anything else as a path.
    public init(argument: String) { self = argument == "-" ? .stdout : .file(argument) }

    public var description: String {
        switch self {
        case .file(let p): p
        case .stdout: "-"
        }
    }
}

/// Which Bottleneck Sampling plan to use: a named plan of `Sampling.PlanPreset` (`off` = all
/// steps at full resolution; `x2`, `x2.5`, `x3` = the plans derived for the request's size and
/// steps with that speed-up), or a plan read from a JSON file.
public enum BottleneckChoice: Sendable, Equatable, CustomStringConvertible {
    case preset(PlanPreset)
    case file(String)

    /// The presets a request can name: standard sampling, the plans derived for its size and
    /// steps, and `flux` (paper Table 4, whose stages set the steps). `hunyuan` and `5stage` are
    /// plans for `bottleneck plan`.
    public static let requestPresets: [PlanPreset] = [.off, .x2, .x2_5, .x3, .flux]

    /// Parses a name of `requestPresets` (case-insensitive; `none` and `x1` mean `off`), or any
    /// other text as a file path.
    /// - Throws: `RequestError` for an empty value or a value that looks like a mistyped preset
    ///   (starts with `x` followed by a digit) so it is not taken as a missing file.
    public init(parsing text: String) throws {
        let name = text.lowercased()
        if name == "none" || name == "x1" {
            self = .preset(.off)
        } else if let preset = PlanPreset(rawValue: name), Self.requestPresets.contains(preset) {
            self = .preset(preset)
        } else if name.isEmpty || (name.hasPrefix("x") && name.dropFirst().first?.isNumber == true) {
            throw RequestError(.badBottleneck(text), field: "bottleneck")
        } else {
            self = .file(text)
        }
    }

    /// Whether the plan is read from a file (whose stages set their own steps).
    public var isFile: Bool {
        if case .file = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .preset(let preset): preset.rawValue
        case .file(let path): path
        }
    }
}

/// Named bundles of `steps` and `bottleneck`. Explicit flags override them.
public enum Preset: String, Sendable, Equatable, CaseIterable {
    /// Fast look at composition and motion: 30 steps, `x3` (about 3× fewer FLOPs).
    case draft
    /// The default: 50 steps, `x2` (paper Table 2: quality on par with the baseline).
    case balanced
    /// Reference quality: 50 steps at full resolution (no bottleneck).
    case quality

    public var steps: Int {
        switch self {
        case .draft: 30
        case .balanced, .quality: 50
        }
    }

    public var bottleneck: BottleneckChoice {
        switch self {
        case .draft: .preset(.x3)
        case .balanced: .preset(.x2)
        case .quality: .preset(.off)
        }
    }
}

/// Writing a preview image (PNG) of the sampler's current clean estimate every `every` steps.
public struct PreviewSettings: Sendable, Equatable {
    /// Image path; overwritten at each preview so a viewer can reload it.
    public var path: String
    /// Steps between previews (≥ 1).
    public var every: Int

    public init(path: String, every: Int) {
        self.path = path
        self.every = every
    }
}

extension GenerationRequest {
    /// Sets `steps` and `bottleneck` from `preset`. Call before applying explicit flags.
    public mutating func apply(_ preset: Preset) {
        steps = preset.steps
        bottleneck = preset.bottleneck
    }
}
