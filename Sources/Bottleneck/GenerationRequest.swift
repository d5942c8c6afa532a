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
    /// Bottleneck Sampling plan choice; the lead maps it to `Sampling.BottleneckPlan`.
    public var bottleneck: BottleneckChoice = Preset.balanced.bottleneck
    /// Guidance scale (HunyuanVideo embedded guidance; diffusers default 6.0).
    public var cfgScale: Float = 6.0
    /// Frames per second written to the container.
    public var fps: Int = 24
    /// x264/x265/VP9 constant rate factor; 18 keeps generated detail (x264's 23 is too lossy).
    public var crf: Int = 18
    /// Container/codec; `nil` means "from the output file's extension".
    public var format: OutputFormat?
    /// Where the video goes.
    public var output: OutputDestination = .file("out.mp4")
    /// Where to save the final latents (safetensors) before decoding, if anywhere.
    public var saveLatentsPath: String?
    /// Preview images written while sampling, if any.
    public var preview: PreviewSettings?
    /// Compute threads (BLAS and kernels); `nil` means all cores. Set once per process.
    public var threads: Int?

    public init(prompt: String) { self.prompt = prompt }

    /// The container actually used: the explicit `format`, else the output file's extension.
    /// - Throws: `RequestError` when neither names a known container (always for stdout).
    public func resolvedFormat() throws -> OutputFormat {
        if let format { return format }
        switch output {
        case .stdout:
            throw RequestError(.formatNeededForStdout, field: "format")
        case .file(let path):
            guard let f = OutputFormat(pathExtensionOf: path) else {
                throw RequestError(.unknownExtension(path: path), field: "format")
            }
            return f
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

    /// Number of latent frames the VAE produces for this request: `(frames - 1) / 4 + 1`.
    public var latentFrames: Int { (frames - 1) / 4 + 1 }
}

/// Where a finished video is written.
public enum OutputDestination: Sendable, Equatable, CustomStringConvertible {
    /// A file path (the parent folder must exist). PNG sequences use a printf pattern.
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

/// Output containers/codecs the Media module writes.
public enum OutputFormat: String, Sendable, Equatable, CaseIterable {
    /// H.264 in MP4 (fragmented when written to a pipe).
    case mp4
    /// VP9 in WebM.
    case webm
    /// H.264 in Matroska.
    case mkv
    /// Uncompressed YUV4MPEG2 (self-describing stream).
    case y4m
    /// FFmpeg's NUT container (streamable).
    case nut
    /// Raw RGB24 frames with no header.
    case rawvideo
    /// One PNG per frame; the path is a printf pattern such as `frames_%04d.png`.
    case png

    /// The format for a path's extension (`.mp4`, `.webm`, …; `.rgb`/`.raw` mean `rawvideo`).
    public init?(pathExtensionOf path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...].lowercased()
        switch ext {
        case "rgb", "raw": self = .rawvideo
        default:
            guard let f = OutputFormat(rawValue: ext) else { return nil }
            self = f
        }
    }

    /// Whether the format can be written to a pipe.
    public var isStreamable: Bool { self != .png }
}

/// Which Bottleneck Sampling plan to use. The lead maps each case to `Sampling.BottleneckPlan`
/// (`off` = all steps at full resolution; `x2`, `x2.5`, `x3` = the presets with that speed-up;
/// `file` = a plan read from a JSON file).
public enum BottleneckChoice: Sendable, Equatable, CustomStringConvertible {
    case off
    case x2
    case x2_5
    case x3
    case file(String)

    /// Parses `off`, `x2`, `x2.5`, `x3` (case-insensitive), or any other text as a file path.
    /// - Throws: `RequestError` for an empty value or a value that looks like a mistyped preset
    ///   (starts with `x` followed by a digit) so it is not taken as a missing file.
    public init(parsing text: String) throws {
        switch text.lowercased() {
        case "off", "none", "x1": self = .off
        case "x2": self = .x2
        case "x2.5": self = .x2_5
        case "x3": self = .x3
        default:
            let t = text.lowercased()
            if t.isEmpty || (t.hasPrefix("x") && t.dropFirst().first?.isNumber == true) {
                throw RequestError(.badBottleneck(text), field: "bottleneck")
            }
            self = .file(text)
        }
    }

    /// Whether the plan is read from a file (whose stages set their own steps).
    public var isFile: Bool {
        if case .file = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .off: "off"
        case .x2: "x2"
        case .x2_5: "x2.5"
        case .x3: "x3"
        case .file(let p): p
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
        case .draft: .x3
        case .balanced: .x2
        case .quality: .off
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
