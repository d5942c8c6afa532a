import Tensor

/// Text conditioning for one prompt, produced by a `TextEncodingStage`.
public struct PromptEmbeddings: Sendable {
    /// Token embeddings of the prompt.
    /// Layout: `[1, tokens, width]`, Float32, row-major (width 384 for MiniLM).
    public var conditional: Tensor
    /// Valid (non-padding) tokens in `conditional`; the rest is masked out.
    public var tokenCount: Int
    /// Pooled prompt vector, if the encoder has one. Layout: `[1, width]`.
    public var pooled: Tensor?
    /// Negative-prompt embeddings for classifier-free guidance, same layout as `conditional`.
    public var unconditional: Tensor?
    /// Valid tokens in `unconditional`.
    public var unconditionalTokenCount: Int
    /// Pooled negative-prompt vector. Layout: `[1, width]`.
    public var unconditionalPooled: Tensor?

    public init(conditional: Tensor, tokenCount: Int, pooled: Tensor? = nil, unconditional: Tensor? = nil,
                unconditionalTokenCount: Int? = nil, unconditionalPooled: Tensor? = nil) {
        self.conditional = conditional
        self.tokenCount = tokenCount
        self.pooled = pooled
        self.unconditional = unconditional
        self.unconditionalTokenCount = unconditionalTokenCount ?? unconditional.map { $0.shape[1] } ?? 0
        self.unconditionalPooled = unconditionalPooled
    }
}

/// Final (or intermediate) video latents.
/// Layout of `tensor`: `[batch, latentFrames, latentHeight, latentWidth, channels]`, Float32,
/// row-major; `latentFrames = (frames - 1) / 4 + 1`, `latentHeight = height / 8`,
/// `latentWidth = width / 8` (causal VAE compression). diffusers uses `[B, C, F, H, W]`; only
/// loaders and parity tests permute.
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

/// Progress of one denoising step, mapped from `Sampling.StepEvent` by the generator adapter.
public struct StepProgress: Sendable, Equatable {
    /// Step index over all bottleneck stages, 0-based.
    public var index: Int
    /// Total steps over all stages.
    public var count: Int
    /// Bottleneck stage of this step (0 full, 1 bottleneck, 2 full for a 3-stage plan).
    public var stage: Int
    /// Latent extent `[frames, height, width]` at this stage.
    public var latentSize: [Int]
    /// Noise level after the step.
    public var sigma: Float
    /// Wall time the step took.
    public var seconds: Double

    public init(index: Int, count: Int, stage: Int, latentSize: [Int], sigma: Float, seconds: Double) {
        self.index = index
        self.count = count
        self.stage = stage
        self.latentSize = latentSize
        self.sigma = sigma
        self.seconds = seconds
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
