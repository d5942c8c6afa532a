import Sampling

/// The stage boundaries of the pipeline. `BottleneckPipeline` plugs the real modules in with the
/// thin adapters in `Engine/` (MiniLM → `TextEncodingStage`, DiT + bottleneck controller →
/// `LatentGenerator`, causal VAE → `FrameDecoding`, Media's `VideoWriter` →
/// `VideoSinkFactory`/`VideoSink`).
///
/// Loaded weights live inside the conforming types (immutable, shared by reference), so a
/// batch loads every model once and reuses it for every item. Every requirement should check
/// `Task.isCancelled` (or call `try Task.checkCancellation()`) at natural boundaries — between
/// denoising steps, between decoded chunks — so Ctrl-C stops within one step.

/// Prompt text → embeddings.
public protocol TextEncodingStage: Sendable {
    /// Encodes `prompt` (and `negativePrompt` for guidance, `nil` meaning empty).
    func encode(prompt: String, negativePrompt: String?) async throws -> PromptEmbeddings
}

/// Receives the sampler's step events from a `LatentGenerator`.
public struct StepObserver: Sendable {
    /// Whether the event of step `index` (0-based) should carry `cleanEstimate`, the clean
    /// estimate x̂₀ = x_t − σ·v at the current stage's size: true on preview steps only, so
    /// copies are not kept otherwise. `latents` is never asked for.
    public var wantsCleanEstimate: @Sendable (_ index: Int) -> Bool
    /// Called once per finished step, on the generator's task; must return quickly.
    public var report: @Sendable (StepEvent) -> Void

    public init(wantsCleanEstimate: @escaping @Sendable (Int) -> Bool = { _ in false },
                report: @escaping @Sendable (StepEvent) -> Void) {
        self.wantsCleanEstimate = wantsCleanEstimate
        self.report = report
    }
}

/// Embeddings + request → final latents (the DiT under the Bottleneck Sampling controller).
public protocol LatentGenerator: Sendable {
    /// Denoises from seeded Gaussian noise to final latents.
    /// - Parameters:
    ///   - embeddings: output of the text stage for `request.prompt`.
    ///   - request: validated, with `seed` set (never `nil` here).
    ///   - observer: gets one report per step; check cancellation between steps.
    /// - Returns: latents, layout `[1] + request.latentSize.extents + [channels]`.
    func generate(embeddings: PromptEmbeddings, request: GenerationRequest,
                  observer: StepObserver) async throws -> Latents
}

/// Latents → frame batches, streamed (the causal VAE decodes a few latent frames at a time).
public protocol FrameDecoding: Sendable {
    /// Decodes `latents` and hands each batch to `emit` in frame order. `emit` suspends while
    /// the muxer is behind (backpressure), so at most a queue's worth of frames is in memory.
    /// - Parameter latents: layout `[1, latentFrames, latentHeight, latentWidth, channels]`.
    func decode(_ latents: Latents, request: GenerationRequest,
                emit: @Sendable (FrameBatch) async throws -> Void) async throws
}

/// One output being written. Writes go to a temporary location; `finish` commits them (for
/// files: rename into place) and `cancel` removes everything written so far, so an
/// interrupted run never leaves a truncated video under the final name.
public protocol VideoSink: Sendable {
    /// Appends frames (layout `[frames, height, width, 3]`, Float32 in [-1, 1]).
    func write(_ batch: FrameBatch) async throws
    /// Flushes, writes the trailer, commits the output.
    func finish() async throws -> OutputSummary
    /// Abandons the output and removes what was written. Never throws; safe to call twice.
    func cancel() async
}

/// Opens sinks; one per item.
public protocol VideoSinkFactory: Sendable {
    /// Opens the sink for `request.output` in `request`'s format, fps and crf.
    func makeSink(for request: GenerationRequest) async throws -> any VideoSink
}

/// Writes a preview image of intermediate latents (the CLI decodes one latent frame with the
/// VAE). Runs synchronously on the generator's task between steps, so it must be cheap.
/// Optional: without one, `--preview` requests are reported as failed previews.
public protocol PreviewRendering: Sendable {
    /// Replaces the image at `path` atomically (a viewer never sees a partial file).
    /// - Parameter latents: x̂₀ of the current step, layout `[1, frames, height, width, channels]`
    ///   at the current stage's (possibly reduced) size.
    func writePreview(_ latents: Latents, request: GenerationRequest, to path: String) throws
}

/// The decoding half of the pipeline (also used alone by `bottleneck decode`).
public struct DecodingStages: Sendable {
    public var decoder: any FrameDecoding
    public var sinks: any VideoSinkFactory

    public init(decoder: any FrameDecoding, sinks: any VideoSinkFactory) {
        self.decoder = decoder
        self.sinks = sinks
    }
}

/// The stages one run uses, each loaded once.
public struct PipelineStages: Sendable {
    public var textEncoder: any TextEncodingStage
    public var generator: any LatentGenerator
    public var decoding: DecodingStages
    public var preview: (any PreviewRendering)?

    public init(textEncoder: any TextEncodingStage, generator: any LatentGenerator,
                decoder: any FrameDecoding, sinks: any VideoSinkFactory,
                preview: (any PreviewRendering)? = nil) {
        self.textEncoder = textEncoder
        self.generator = generator
        self.decoding = DecodingStages(decoder: decoder, sinks: sinks)
        self.preview = preview
    }
}
