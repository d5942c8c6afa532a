import Sampling

/// What the pipeline reports while it runs, in the order things happen. `item` is the work
/// item's index (the batch index; 0 for a single `generate`). Events of different items
/// interleave because stages overlap (item i+1's steps arrive while item i decodes).
public enum GenerationEvent: Sendable {
    /// Work on an item began; `seed` is the seed actually used (always reported).
    case started(item: Int, seed: UInt64)
    /// The text stage finished; `tokens` valid prompt tokens.
    case promptEncoded(item: Int, tokens: Int)
    /// Denoising entered stage `stage` of the bottleneck plan (0 for the first; a standard
    /// plan has only that one), whose latents are `latentSize`. Sent when the stage's first
    /// step has finished, just before that step's `.step`.
    case stageChanged(item: Int, stage: Int, latentSize: LatentSize)
    /// One denoising step finished. On preview steps (`GenerationRequest.preview`) the event's
    /// `cleanEstimate` holds x̂₀, the latents the preview image is decoded from.
    case step(item: Int, StepEvent)
    /// A preview image was written after step `step`.
    case previewWritten(item: Int, step: Int, path: String)
    /// Denoising finished; `savedTo` is the latents file when `--save-latents` was given.
    case latentsReady(item: Int, savedTo: String?)
    /// Frames in `frames` were decoded and handed to the sink.
    case framesDecoded(item: Int, frames: Range<Int>)
    /// The output was committed.
    case finished(item: Int, output: OutputSummary, timings: StageTimings)
    /// Something failed in `stage`, with the stage's own error value (`PipelineError`,
    /// `SamplingError`, `MediaError`, …); the run goes on with the next item. A failed preview
    /// leaves the item running: see `failsItem`.
    case failed(item: Int, stage: GenerationStage, error: any Error)

    /// Whether the event ends its item as failed: a `.failed` event of any stage but previews,
    /// which are optional (the video is still written, and the run's exit status stays 0).
    public var failsItem: Bool {
        if case .failed(_, let stage, _) = self { stage != .preview } else { false }
    }

    /// The item the event is about.
    public var item: Int {
        switch self {
        case .started(let i, _), .promptEncoded(let i, _), .stageChanged(let i, _, _), .step(let i, _),
             .previewWritten(let i, _, _), .latentsReady(let i, _), .framesDecoded(let i, _),
             .finished(let i, _, _), .failed(let i, _, _):
            return i
        }
    }
}

/// Where in the pipeline an item failed (`GenerationEvent.failed`); the raw value is the name
/// in messages and the manifest (`decode: …`).
public enum GenerationStage: String, Sendable, CaseIterable {
    /// Text encoding of the prompt and the negative prompt.
    case text
    /// Denoising under the plan.
    case denoise
    /// Writing `--save-latents`.
    case latents
    /// Handing the latents to the decoder.
    case queue
    /// VAE decode (a non-finite frame included).
    case decode
    /// Opening, writing or committing the output.
    case mux
    /// A preview image; does not fail the item.
    case preview
}

/// One unit of work for the runner: a validated request with its seed set.
public struct WorkItem: Sendable, Equatable {
    /// Stable index (batch index; 0 for `generate`), used in events and the manifest.
    public var index: Int
    /// Validated request; `request.seed` is not `nil`.
    public var request: GenerationRequest

    public init(index: Int, request: GenerationRequest) {
        self.index = index
        self.request = request
    }
}
