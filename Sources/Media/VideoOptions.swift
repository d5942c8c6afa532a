/// Containers the writer can produce, the one list of output formats (`--format`, batch
/// `output` names, the manifest). For a pipe the container must be named.
public enum MediaFormat: String, CaseIterable, Sendable {
    /// MP4; `+faststart` for files, fragmented (`frag_keyframe+empty_moov+default_base_moof`)
    /// for pipes and other descriptors, which cannot seek back to write the index.
    case mp4
    /// WebM (Matroska subset): VP9 or AV1 only.
    case webm
    /// Matroska.
    case mkv
    /// YUV4MPEG2: uncompressed planar 4:2:0 with a self-describing header.
    case y4m
    /// NUT, FFmpeg's streaming container.
    case nut
    /// Headerless RGB24 frames; the consumer must be told size and rate (`StreamInfo.rawVideoArguments`).
    case rawvideo
    /// A folder of `frames_0001.png`, `frames_0002.png`, …: the path names the folder
    /// (`frames/`, or `frames` with the format named), never a file name pattern.
    case png

    /// Parses a format name; the error lists the known names.
    public init(name: String) throws {
        guard let f = MediaFormat(rawValue: name.lowercased()) else {
            throw MediaError(.unknownFormat(name: name, known: Self.allCases.map(\.rawValue)))
        }
        self = f
    }

    /// Whether the format can be written to a pipe or another descriptor (MP4 is then
    /// fragmented); a PNG sequence needs a folder.
    public var isStreamable: Bool { self != .png }

    /// The format implied by a file name's extension (`.m4v` and `.mov` are MP4, `.rgb` and
    /// `.raw` raw video), or by a trailing `/` (a PNG folder); nil for anything else.
    public static func inferred(fromPath path: String) -> MediaFormat? {
        if path.hasSuffix("/") { return .png }
        guard let dot = path.lastIndex(of: "."),
            !path[dot...].contains("/")
        else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "mp4", "m4v", "mov": return .mp4
        case "mkv": return .mkv
        case "webm": return .webm
        case "y4m": return .y4m
        case "nut": return .nut
        case "rgb", "raw": return .rawvideo
        default: return nil
        }
    }

    /// libavformat muxer name.
    var muxerName: String {
        switch self {
        case .mp4: "mp4"
        case .mkv: "matroska"
        case .webm: "webm"
        case .y4m: "yuv4mpegpipe"
        case .nut: "nut"
        case .rawvideo: "rawvideo"
        case .png: "image2"
        }
    }

    /// Codec used when none is given.
    public var defaultCodec: VideoCodec {
        switch self {
        case .mp4, .mkv: .h264
        case .webm: .vp9
        case .y4m, .nut, .rawvideo: .rawvideo
        case .png: .png
        }
    }

    /// Codecs this container accepts here.
    public var supportedCodecs: [VideoCodec] {
        switch self {
        case .mp4: [.h264, .vp9, .av1]
        case .mkv, .nut: [.h264, .vp9, .av1, .rawvideo]
        case .webm: [.vp9, .av1]
        case .y4m, .rawvideo: [.rawvideo]
        case .png: [.png]
        }
    }
}

/// Video codecs. `rawvideo` is uncompressed: yuv420p in y4m/nut/mkv, rgb24 in `rawvideo`.
public enum VideoCodec: String, CaseIterable, Sendable {
    case h264, vp9, av1, rawvideo, png

    /// Parses a codec name; the error lists the known names.
    public init(name: String) throws {
        guard let c = VideoCodec(rawValue: name.lowercased()) else {
            throw MediaError(.unknownCodec(name: name, known: Self.allCases.map(\.rawValue)))
        }
        self = c
    }

    /// libavcodec encoder names, in order of preference.
    var encoderCandidates: [String] {
        switch self {
        case .h264: ["libx264"]
        case .vp9: ["libvpx-vp9"]
        case .av1: ["libsvtav1", "libaom-av1", "librav1e"]
        case .rawvideo: ["rawvideo"]
        case .png: ["png"]
        }
    }

    /// Valid CRF values for the codec's encoders (x264: 0...51; libvpx, SVT-AV1, libaom: 0...63).
    var crfRange: ClosedRange<Int>? {
        switch self {
        case .h264: 0...51
        case .vp9, .av1: 0...63
        case .rawvideo, .png: nil
        }
    }
}

/// x264 speed presets (also mapped onto VP9/AV1 speed settings).
public enum EncoderPreset: String, CaseIterable, Sendable {
    case ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo

    /// 0 (fastest) ... 9 (slowest).
    var rank: Int { Self.allCases.firstIndex(of: self)! }
}

/// A frame rate as a positive rational, e.g. 24/1 or 30000/1001.
public struct FrameRate: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int

    public init(_ numerator: Int, _ denominator: Int = 1) throws {
        guard numerator > 0, denominator > 0, numerator <= Int(Int32.max),
            denominator <= Int(Int32.max)
        else {
            throw MediaError(.invalidFrameRate(numerator: numerator, denominator: denominator))
        }
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Parses `24`, `30000/1001` or `23.976` (decimal rates become n/1000).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let n = Int(parts[0]), let d = Int(parts[1]) {
            try self.init(n, d)
        } else if let n = Int(text) {
            try self.init(n, 1)
        } else if let v = Double(text), v.isFinite, v > 0, v < 1_000_000 {
            try self.init(Int((v * 1000).rounded()), 1000)
        } else {
            throw MediaError(.invalidFrameRate(numerator: 0, denominator: 0))
        }
    }

    /// Frames per second.
    public var value: Double { Double(numerator) / Double(denominator) }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// Where encoded media goes.
public enum MediaDestination: Sendable, Equatable, CustomStringConvertible {
    /// A file (or, for `MediaFormat.png`, a folder). Written under a temporary name in the same
    /// folder and renamed only by a successful `finish()`; a device, FIFO or socket at the path
    /// is written through instead, and a symbolic link is followed (`OutputTarget`).
    case file(String)
    /// An open, writable descriptor (a pipe, a socket, standard output). Not closed by the writer.
    case fileDescriptor(Int32)

    /// Standard output (`-o -`).
    public static let standardOutput = MediaDestination.fileDescriptor(1)

    /// `-` means standard output; anything else is a path.
    public init(argument: String) {
        self = argument == "-" ? .standardOutput : .file(argument)
    }

    public var description: String {
        switch self {
        case .file(let p): p
        case .fileDescriptor(let fd): fd == 1 ? "stdout" : "fd:\(fd)"
        }
    }
}

/// Settings for one output stream.
public struct VideoOptions: Sendable, Equatable {
    /// Frame width in pixels (even for 4:2:0 formats).
    public var width: Int
    /// Frame height in pixels (even for 4:2:0 formats).
    public var height: Int
    /// Frames per second.
    public var fps: FrameRate
    /// Container; nil infers it from the file extension (a descriptor needs it named).
    public var format: MediaFormat?
    /// Codec; nil takes `format.defaultCodec`.
    public var codec: VideoCodec?
    /// Constant rate factor (quality; lower is better). 18 is visually near lossless for x264.
    public var crf: Int = 18
    /// Encoder speed preset.
    public var preset: EncoderPreset = .medium
    /// Container metadata tags (prompt, seed, pipeline, sampler plan as JSON, software version…).
    /// MP4 stores custom keys with `movflags=use_metadata_tags`.
    public var metadata: [String: String] = [:]
    /// Keyframe interval in frames; nil lets the encoder decide, except for fragmented MP4
    /// where it defaults to about two seconds so fragments (and the stream) flow steadily.
    public var keyframeInterval: Int? = nil

    public init(
        width: Int, height: Int, fps: FrameRate, format: MediaFormat? = nil,
        codec: VideoCodec? = nil, crf: Int = 18, preset: EncoderPreset = .medium,
        metadata: [String: String] = [:]
    ) {
        self.width = width
        self.height = height
        self.fps = fps
        self.format = format
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.metadata = metadata
    }
}

/// What the writer produces, known once it is open: the CLI prints this on stderr for
/// `rawvideo` pipes, whose consumer must be told the geometry.
public struct StreamInfo: Sendable, Equatable, CustomStringConvertible {
    public var format: MediaFormat
    public var codec: VideoCodec
    /// libavcodec encoder actually used (e.g. `libx264`, `libsvtav1`).
    public var encoderName: String
    /// Pixel format on the wire (`yuv420p` or `rgb24`).
    public var pixelFormat: String
    public var width: Int
    public var height: Int
    public var fps: FrameRate
    /// True when MP4 is written fragmented (descriptors, and devices or FIFOs named as the file).
    public var fragmented: Bool

    /// ffmpeg input arguments that describe a raw stream, e.g.
    /// `-f rawvideo -pix_fmt rgb24 -video_size 128x128 -framerate 24/1`.
    public var rawVideoArguments: String {
        "-f rawvideo -pix_fmt \(pixelFormat) -video_size \(width)x\(height) -framerate \(fps)"
    }

    public var description: String {
        "\(format.rawValue)\(fragmented ? " (fragmented)" : "") \(encoderName) \(pixelFormat)"
            + " \(width)x\(height) @ \(fps) fps"
    }
}
