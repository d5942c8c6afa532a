import Media
import Models
import Tensor

/// Text conditioning for one request, produced by a `TextEncodingStage`: the prompt and the
/// negative prompt, each as Models' `TextEmbeddings` of a batch of one (states
/// `[1, tokens, width]`, right-padded, with their `mask`; pooled `[1, pooledWidth]`).
public struct PromptEmbeddings: Sendable {
    /// The prompt.
    public var conditional: TextEmbeddings
    /// The negative prompt (the empty text when none was given), for classifier-free guidance;
    /// nil for a pipeline that never runs an unconditional pass (FLUX.1).
    public var unconditional: TextEmbeddings?

    public init(conditional: TextEmbeddings, unconditional: TextEmbeddings?) {
        self.conditional = conditional
        self.unconditional = unconditional
    }

    /// Valid (unmasked) tokens of the prompt, as `GenerationEvent.promptEncoded` reports them.
    public var tokenCount: Int { conditional.mask[0].filter { $0 }.count }
}

/// Final (or intermediate) video latents.
/// Layout of `tensor`: `[batch, latentFrames, latentHeight, latentWidth, channels]`, Float32,
/// row-major; the final latents of a request have its `latentSize` (the causal VAE's
/// compression, `LatentSize(videoFrames:width:height:)`). diffusers uses `[B, C, F, H, W]`;
/// only loaders and parity tests permute.
public struct Latents: Sendable, Equatable {
    public var tensor: Tensor

    public init(_ tensor: Tensor) { self.tensor = tensor }

    public var batch: Int { tensor.shape.first ?? 0 }
    public var frames: Int { tensor.rank == 5 ? tensor.shape[1] : 0 }
    public var height: Int { tensor.rank == 5 ? tensor.shape[2] : 0 }
    public var width: Int { tensor.rank == 5 ? tensor.shape[3] : 0 }
    public var channels: Int { tensor.rank == 5 ? tensor.shape[4] : 0 }
}

/// A run of consecutive decoded frames, streamed from the VAE to the muxer.
public struct FrameBatch: Sendable, Equatable {
    /// Index of the first frame in the whole video.
    public var firstFrame: Int
    /// Pixels. Layout: `[frames, height, width, 3]` (RGB), Float32 in [-1, 1], row-major.
    /// The sink maps to 8-bit with `round((x + 1) * 127.5)` clamped to [0, 255].
    public var pixels: Tensor

    public init(firstFrame: Int, pixels: Tensor) {
        self.firstFrame = firstFrame
        self.pixels = pixels
    }

    public var frameCount: Int { pixels.shape.first ?? 0 }
    /// Frame indices this batch covers.
    public var frameRange: Range<Int> { firstFrame..<(firstFrame + frameCount) }

    /// The frames as Media's 8-bit RGB frames (`VideoFrame(width:height:floatRGB:)`).
    func videoFrames() throws -> [VideoFrame] {
        let (f, h, w) = (pixels.shape[0], pixels.shape[1], pixels.shape[2])
        let frameSize = h * w * 3
        return try pixels.data.withUnsafeBufferPointer { all in
            try (0..<f).map { i in
                try VideoFrame(width: w, height: h,
                               floatRGB: UnsafeBufferPointer(rebasing: all[(i * frameSize)..<((i + 1) * frameSize)]))
            }
        }
    }
}

/// What a sink reports after committing an output.
public struct OutputSummary: Sendable, Equatable {
    /// Where the video went (`-` for stdout).
    public var destination: String
    /// Bytes written.
    public var bytes: Int
    /// Frames written.
    public var frames: Int

    public init(destination: String, bytes: Int, frames: Int) {
        self.destination = destination
        self.bytes = bytes
        self.frames = frames
    }
}

/// Seconds spent in each stage for one item.
public struct StageTimings: Sendable, Equatable, Codable {
    public var encode: Double = 0
    public var denoise: Double = 0
    /// VAE decode and muxing together (they overlap, frame batch by frame batch).
    public var decode: Double = 0
    /// From the start of text encoding to the committed output.
    public var total: Double = 0

    public init(encode: Double = 0, denoise: Double = 0, decode: Double = 0, total: Double = 0) {
        self.encode = encode
        self.denoise = denoise
        self.decode = decode
        self.total = total
    }
}
