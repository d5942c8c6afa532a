import Dispatch
import Foundation
import Sampling
import Synchronization

/// Runs work items through the stages as three concurrent tasks joined by bounded queues:
///
/// ```
/// [generate task]  text encode → denoise  ──▶ latents queue (cap 1) ──▶
/// [decode task]    VAE decode, batch by batch ──▶ frames queue (cap N) ──▶
/// [mux task]       sink.write … sink.finish (commit) | sink.cancel (remove partial)
/// ```
///
/// **Concurrency policy (2-core machine).** One task runs the VAE decode and `denoisingLanes`
/// tasks (default 1) run text encoding + denoising, each taking the next item in order: the
/// decode and mux of item *i* overlap the denoising of the items after it, never two decodes.
/// More lanes fill cores that one denoising leaves idle with another item's work. On two cores
/// a guided denoising already runs its two passes side by side, one core each, and a second
/// lane there made a batch slower (4 compute threads on 2 cores; Docs/benchmarks.md, batch
/// throughput), so the CLI's default is one lane. The latents queue holds one item, so each
/// lane is at most one finished item ahead of the decoder. The frames queue holds
/// `frameQueueCapacity` batches; a slow sink suspends the decoder (backpressure, nothing is
/// dropped). Kernel and gemm threads (`Threads.configure`)
/// are set once by the caller, not here.
///
/// **Threads.** The denoising lanes, the decode and the mux (the video encoder) run long
/// synchronous computations between their suspension points, so each runs on a
/// `DedicatedThreadExecutor` (a thread of its own) rather than on Swift's cooperative pool,
/// which has only as many threads as cores: two lanes computing there left no thread for the
/// decode and mux tasks, and finished items waited for the lanes to suspend before they were
/// written (measured: written 8 s after denoising ended).
///
/// **Errors.** A stage error fails only that item (`.failed` event, partial output removed)
/// and the run goes on. Cancelling the consumer of the event stream (or the task iterating
/// it) cancels all three tasks: the output being written is removed with `VideoSink.cancel()`,
/// committed outputs stay, and the stream ends with `CancellationError`.
public struct StageRunner: Sendable {
    public var stages: PipelineStages
    /// Frame batches buffered between the VAE and the muxer (default 2).
    public var frameQueueCapacity: Int
    /// Denoised items buffered between the generator and the VAE (default 1).
    public var latentQueueCapacity: Int
    /// Items encoded and denoised at the same time (default 1; see the concurrency policy).
    public var denoisingLanes: Int

    /// Frame batches alive at once behind a frames queue of `frameQueueCapacity`: that many
    /// queued, one the decoder is sending (suspended while the queue is full), one being written.
    public static func batchesInMemory(frameQueueCapacity: Int) -> Int { frameQueueCapacity + 2 }

    public init(stages: PipelineStages, frameQueueCapacity: Int = 2, latentQueueCapacity: Int = 1,
                denoisingLanes: Int = 1) {
        self.stages = stages
        self.frameQueueCapacity = frameQueueCapacity
        self.latentQueueCapacity = latentQueueCapacity
        self.denoisingLanes = max(1, denoisingLanes)
    }

    /// Generates `items` in order (each `request.seed` must be set), overlapping items, and
    /// returns when every stage has stopped. Cancelling the calling task stops the stages;
    /// the partial output is removed before this throws `CancellationError`.
    /// - Parameter onEvent: called for every event, from the stage tasks; must return quickly.
    public func execute(_ items: [WorkItem], onEvent: @escaping @Sendable (GenerationEvent) -> Void) async throws {
        let (stages, lanes) = (self.stages, min(denoisingLanes, max(1, items.count)))
        try await Self.execute(decoding: stages.decoding, frameCapacity: frameQueueCapacity,
                               latentCapacity: latentQueueCapacity, events: onEvent) { queue, events in
            let next = ItemCursor()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<lanes {
                    group.addTask(executorPreference: DedicatedThreadExecutor(label: "bottleneck.denoise.\(lane)")) {
                        while let i = next.take(below: items.count) {
                            try await Self.generate(items[i], stages: stages, into: queue, events: events)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// `execute(_:onEvent:)` as a sequence of events; cancelling the iterating task cancels
    /// the run, and iteration throws `CancellationError` after the stages have cleaned up.
    public func events(_ items: [WorkItem]) -> GenerationEvents {
        GenerationEvents { events in try await self.execute(items, onEvent: events) }
    }

    /// Decodes and muxes already-denoised latents (`bottleneck decode`).
    public static func decode(_ inputs: [(item: WorkItem, latents: Latents)], with stages: DecodingStages,
                              frameQueueCapacity: Int = 2,
                              onEvent: @escaping @Sendable (GenerationEvent) -> Void) async throws {
        let clock = ContinuousClock()
        try await execute(decoding: stages, frameCapacity: frameQueueCapacity, latentCapacity: 1,
                          events: onEvent) { queue, events in
            for (item, latents) in inputs {
                try Task.checkCancellation()
                events(.started(item: item.index, seed: item.request.seed ?? 0))
                try await queue.send(DenoisedItem(item: item, latents: latents, start: clock.now,
                                                  timings: StageTimings()))
            }
        }
    }

    // MARK: Plumbing

    struct DenoisedItem: Sendable {
        var item: WorkItem
        var latents: Latents
        var start: ContinuousClock.Instant
        var timings: StageTimings
    }

    enum FrameMessage: Sendable {
        case begin(DenoisedItem)
        case frames(item: Int, FrameBatch)
        case end(item: Int)
        case abort(item: Int, stage: GenerationStage, error: any Error)
    }

    typealias Events = @Sendable (GenerationEvent) -> Void

    private static func execute(
        decoding: DecodingStages, frameCapacity: Int, latentCapacity: Int, events: @escaping Events,
        produce: @escaping @Sendable (BoundedQueue<DenoisedItem>, @escaping Events) async throws -> Void
    ) async throws {
        let latents = BoundedQueue<DenoisedItem>(capacity: latentCapacity)
        let frames = BoundedQueue<FrameMessage>(capacity: frameCapacity)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await produce(latents, events)
                        latents.finish()
                    } catch {
                        latents.finish(throwing: error)
                        throw error
                    }
                }
                group.addTask(executorPreference: DedicatedThreadExecutor(label: "bottleneck.decode")) {
                    try await decodeAll(from: latents, into: frames, decoder: decoding.decoder, events: events)
                }
                group.addTask(executorPreference: DedicatedThreadExecutor(label: "bottleneck.mux")) {
                    try await muxAll(from: frames, sinks: decoding.sinks, events: events)
                }
                // The first error (a cancellation, in practice) cancels the other tasks; the
                // group waits for all three, so cleanup is done when this returns.
                while let _ = try await group.next() {}
            }
        } catch {
            throw Task.isCancelled || isCancellation(error) ? CancellationError() : error
        }
    }

    /// Whether `error` means "stop everything" rather than "this item failed".
    static func isCancellation(_ error: any Error) -> Bool {
        error is CancellationError || Task.isCancelled
    }

    // MARK: Generate task

    /// Text-encodes and denoises one item and queues its latents; a failure fails only the item.
    private static func generate(_ item: WorkItem, stages: PipelineStages,
                                 into queue: BoundedQueue<DenoisedItem>, events: @escaping Events) async throws {
        let clock = ContinuousClock()
        try Task.checkCancellation()
        let request = item.request
        let index = item.index
        events(.started(item: index, seed: request.seed ?? 0))
        let start = clock.now
        var stage = GenerationStage.text
        do {
            let embeddings = try await stages.textEncoder.encode(
                prompt: request.prompt, negativePrompt: request.negativePrompt)
            events(.promptEncoded(item: index, tokens: embeddings.tokenCount))
            let encoded = clock.now
            stage = .denoise
            let observer = makeObserver(item: item, preview: stages.preview, events: events)
            let latents = try await stages.generator.generate(
                embeddings: embeddings, request: request, observer: observer)
            let denoised = clock.now
            var savedTo: String?
            if let path = request.saveLatentsPath {
                stage = .latents
                try LatentFile.write(latents, request: request, to: path)
                savedTo = path
            }
            events(.latentsReady(item: index, savedTo: savedTo))
            let timings = StageTimings(encode: (encoded - start).seconds,
                                       denoise: (denoised - encoded).seconds)
            stage = .queue
            try await queue.send(DenoisedItem(item: item, latents: latents, start: start, timings: timings))
        } catch {
            if isCancellation(error) { throw CancellationError() }
            events(.failed(item: index, stage: stage, error: error))
        }
    }

    private static func makeObserver(item: WorkItem, preview: (any PreviewRendering)?,
                                     events: @escaping Events) -> StepObserver {
        let request = item.request
        @Sendable func publish(_ step: StepEvent) {
            if step.stageStep == 0 {
                events(.stageChanged(item: item.index, stage: step.stage, latentSize: step.latentSize))
            }
            events(.step(item: item.index, step))
        }
        guard let settings = request.preview else { return StepObserver(report: publish) }
        return StepObserver(
            wantsCleanEstimate: { ($0 + 1) % settings.every == 0 },
            report: { step in
                publish(step)
                guard let cleanEstimate = step.cleanEstimate else { return }
                do {
                    guard let preview else {
                        throw PipelineError(.engineUnavailable, subject: GenerationStage.preview.rawValue)
                    }
                    try preview.writePreview(Latents(cleanEstimate), request: request, to: settings.path)
                    events(.previewWritten(item: item.index, step: step.index, path: settings.path))
                } catch {
                    // A failed preview is reported but does not fail the generation.
                    events(.failed(item: item.index, stage: .preview, error: error))
                }
            })
    }

    // MARK: Decode task

    private static func decodeAll(from latents: BoundedQueue<DenoisedItem>, into frames: BoundedQueue<FrameMessage>,
                                  decoder: any FrameDecoding, events: @escaping Events) async throws {
        do {
            for try await denoised in latents {
                let index = denoised.item.index
                try await frames.send(.begin(denoised))
                do {
                    try await decoder.decode(denoised.latents, request: denoised.item.request) { batch in
                        // One pass per batch: a NaN frame fails the item (its partial output is
                        // removed) instead of being written as black.
                        if let values = batch.pixels.nonFiniteValues {
                            let range = batch.frameRange
                            throw PipelineError(.nonFiniteFrames(values),
                                                subject: "frames \(range.lowerBound)..<\(range.upperBound)")
                        }
                        try await frames.send(.frames(item: index, batch))
                    }
                    try await frames.send(.end(item: index))
                } catch {
                    if isCancellation(error) { throw CancellationError() }
                    try await frames.send(.abort(item: index, stage: .decode, error: error))
                }
            }
            frames.finish()
        } catch {
            frames.finish(throwing: error)
            latents.cancel()
            throw error
        }
    }

    // MARK: Mux task

    private struct OpenOutput {
        var denoised: DenoisedItem
        var sink: (any VideoSink)?
        var decodeStart: ContinuousClock.Instant
    }

    private static func muxAll(from frames: BoundedQueue<FrameMessage>, sinks: any VideoSinkFactory,
                               events: @escaping Events) async throws {
        let clock = ContinuousClock()
        var open: OpenOutput?
        do {
            for try await message in frames {
                switch message {
                case .begin(let denoised):
                    open = OpenOutput(denoised: denoised, sink: nil, decodeStart: clock.now)
                    do {
                        open?.sink = try await sinks.makeSink(for: denoised.item.request)
                    } catch {
                        if isCancellation(error) { throw CancellationError() }
                        events(.failed(item: denoised.item.index, stage: .mux, error: error))
                    }
                case .frames(let index, let batch):
                    guard let sink = open?.sink, open?.denoised.item.index == index else { continue }
                    do {
                        try await sink.write(batch)
                        events(.framesDecoded(item: index, frames: batch.frameRange))
                    } catch {
                        await sink.cancel()
                        open?.sink = nil
                        if isCancellation(error) { throw CancellationError() }
                        events(.failed(item: index, stage: .mux, error: error))
                    }
                case .end(let index):
                    guard let current = open, current.denoised.item.index == index else { continue }
                    open = nil
                    guard let sink = current.sink else { continue }
                    do {
                        let summary = try await sink.finish()
                        let now = clock.now
                        var timings = current.denoised.timings
                        timings.decode = (now - current.decodeStart).seconds
                        timings.total = (now - current.denoised.start).seconds
                        events(.finished(item: index, output: summary, timings: timings))
                    } catch {
                        await sink.cancel()
                        if isCancellation(error) { throw CancellationError() }
                        events(.failed(item: index, stage: .mux, error: error))
                    }
                case .abort(let index, let stage, let error):
                    if let sink = open?.sink { await sink.cancel() }
                    open = nil
                    events(.failed(item: index, stage: stage, error: error))
                }
            }
        } catch {
            if let sink = open?.sink { await sink.cancel() }
            frames.cancel()
            throw error
        }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}

/// Hands out item positions `0, 1, 2, …` to the denoising lanes, each exactly once.
final class ItemCursor: Sendable {
    private let next = Atomic<Int>(0)

    /// The next position, or nil once `count` positions have been taken.
    func take(below count: Int) -> Int? {
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return i < count ? i : nil
    }
}

/// Runs the jobs of the tasks that prefer it, in order, on one serial dispatch queue: a thread
/// outside Swift's cooperative pool for a stage that computes for seconds without suspending.
/// The stage's kernels still spread their work over the cores through `Threads`.
final class DedicatedThreadExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
