import Foundation
import Synchronization
import Tensor
import TestSupport
import Testing
@testable import Bottleneck

/// `StageRunner` with real in-test stages: output, overlap policy, backpressure, failures and
/// cancellation cleanup.
@Suite struct StageRunnerTests {
    final class EventLog: Sendable {
        private let events = Mutex<[GenerationEvent]>([])
        func append(_ e: GenerationEvent) { events.withLock { $0.append(e) } }
        var all: [GenerationEvent] { events.withLock { $0 } }
    }

    func stages(log: ActivityLog, stepDelay: Duration = .zero, batchDelay: Duration = .zero,
                sinks: TestSinkFactory = TestSinkFactory(), flow: FlowCounter? = nil) -> PipelineStages {
        PipelineStages(textEncoder: TestTextEncoder(log: log),
                       generator: TestGenerator(log: log, stepDelay: stepDelay),
                       decoder: TestDecoder(log: log, batchDelay: batchDelay, flow: flow),
                       sinks: sinks)
    }

    // MARK: Output

    /// Each item becomes a complete file (frames × H × W × 3 bytes); events of one item come
    /// in stage order and the decoded ranges tile 0..<frames; same seed → same bytes.
    @Test func producesCompleteDeterministicOutputs() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let runner = StageRunner(stages: stages(log: log))
        let items = [
            WorkItem(index: 0, request: testRequest("a red fox 0", output: "\(dir)/a.rgb", seed: 1)),
            WorkItem(index: 1, request: testRequest("a red fox 1", output: "\(dir)/b.rgb", seed: 2)),
            WorkItem(index: 2, request: testRequest("a red fox 2", output: "\(dir)/c.rgb", seed: 1)),
        ]
        let events = EventLog()
        try await runner.execute(items) { events.append($0) }
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.rgb"))
        let b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/b.rgb"))
        #expect(a.count == 9 * 32 * 32 * 3)
        #expect(b.count == a.count)
        #expect(a != b)
        for index in 0..<3 {
            let mine = events.all.filter { $0.item == index }
            guard case .started(_, let seed) = mine.first else { Issue.record("no start"); continue }
            #expect(seed == items[index].request.seed)
            guard case .promptEncoded(_, let tokens) = mine[1] else { Issue.record("no encode"); continue }
            #expect(tokens == 4)
            let steps = mine.compactMap { if case .step(_, let p) = $0 { p.index } else { nil } }
            #expect(steps == [0, 1, 2, 3])
            let ranges = mine.compactMap { if case .framesDecoded(_, let r) = $0 { r } else { nil } }
            #expect(ranges.first?.lowerBound == 0)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.last?.upperBound == 9)
            guard case .finished(_, let out, let t) = mine.last else { Issue.record("not finished"); continue }
            #expect(out.frames == 9)
            #expect(out.bytes == 9 * 32 * 32 * 3)
            #expect(t.total >= t.encode + t.denoise)
        }
        // Same seed, different prompt: a different video; same request again: the same bytes.
        let c = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/c.rgb"))
        #expect(c != a)
        try await runner.execute([WorkItem(index: 0, request: items[0].request)]) { _ in }
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/a.rgb")) == a)
        #expect(partials(of: "\(dir)/a.rgb").isEmpty)
    }

    // MARK: Concurrency policy

    /// One lane (the default): the decode of item i overlaps the denoising of item i+1, but
    /// never two denoisings or two decodes at once.
    @Test func decodeOverlapsNextDenoiseButHeavyStagesAreExclusive() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let runner = StageRunner(stages: stages(log: log, stepDelay: .milliseconds(3), batchDelay: .milliseconds(25)))
        let items = (0..<3).map { i in
            WorkItem(index: i, request: testRequest("prompt \(i)", output: "\(dir)/\(i).rgb", steps: 8, seed: UInt64(i)))
        }
        try await runner.execute(items) { _ in }
        #expect(log.maxConcurrent("denoise") == 1)
        #expect(log.maxConcurrent("decode") == 1)
        for i in 0..<2 {
            let denoiseNext = try #require(log.position(.begin("denoise", i + 1)))
            let decodeEnd = try #require(log.position(.end("decode", i)))
            let decodeBegin = try #require(log.position(.begin("decode", i)))
            #expect(denoiseNext < decodeEnd, "item \(i + 1) should denoise while item \(i) decodes")
            #expect(try #require(log.position(.end("denoise", i))) < decodeBegin)
        }
    }

    /// Two lanes denoise two items at once (still one decode at a time), every item ends exactly
    /// once, and the outputs are byte for byte those of one lane.
    @Test func twoLanesDenoiseTwoItemsAtOnceWithUnchangedOutputs() async throws {
        let dir = try makeTemporaryDirectory()
        func run(lanes: Int) async throws -> (ActivityLog, EventLog, [Data]) {
            let log = ActivityLog(), events = EventLog()
            let runner = StageRunner(stages: stages(log: log, stepDelay: .milliseconds(3)), denoisingLanes: lanes)
            let items = (0..<5).map { i in
                WorkItem(index: i, request: testRequest("lane \(i)", output: "\(dir)/\(lanes)-\(i).rgb",
                                                       steps: 8, seed: UInt64(i)))
            }
            try await runner.execute(items) { events.append($0) }
            return (log, events, try (0..<5).map { try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(lanes)-\($0).rgb")) })
        }
        let (_, _, single) = try await run(lanes: 1)
        let (log, events, double) = try await run(lanes: 2)
        #expect(log.maxConcurrent("denoise") == 2)
        #expect(log.maxConcurrent("decode") == 1)
        #expect(double == single)
        let finished = events.all.compactMap { if case .finished(let i, _, _) = $0 { i } else { nil } }
        #expect(finished.sorted() == [0, 1, 2, 3, 4])
    }

    /// Lanes that block their thread while denoising (as the real DiT does) must not starve the
    /// decode and mux: with as many lanes as the cooperative pool has threads, item 0 is written
    /// before the next round of items has finished denoising.
    @Test func blockingLanesDoNotStarveDecodeAndMux() async throws {
        let dir = try makeTemporaryDirectory()
        let lanes = max(2, ProcessInfo.processInfo.activeProcessorCount)
        let log = ActivityLog(), events = EventLog()
        let stages = PipelineStages(textEncoder: TestTextEncoder(log: log),
                                    generator: TestGenerator(log: log, stepDelay: .milliseconds(50), blocking: true),
                                    decoder: TestDecoder(log: log), sinks: TestSinkFactory())
        let items = (0..<(2 * lanes)).map { i in
            WorkItem(index: i, request: testRequest("starve \(i)", output: "\(dir)/\(i).rgb", steps: 10, seed: UInt64(i)))
        }
        try await StageRunner(stages: stages, denoisingLanes: lanes).execute(items) { events.append($0) }
        let all = events.all
        let written = try #require(all.firstIndex { if case .finished(0, _, _) = $0 { true } else { false } })
        let secondRound = try #require(all.firstIndex { if case .latentsReady(lanes, _) = $0 { true } else { false } })
        #expect(written < secondRound, "item 0 should be written while the second round denoises")
    }

    /// A slow sink suspends the decoder: at most `capacity` batches queued, plus one held by
    /// the decoder waiting to send and one being written.
    @Test(arguments: [1, 2, 3])
    func slowSinkBackpressuresDecoder(capacity: Int) async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let flow = FlowCounter()
        let sinks = TestSinkFactory(writeDelay: .milliseconds(5), flow: flow)
        let runner = StageRunner(stages: stages(log: log, sinks: sinks, flow: flow), frameQueueCapacity: capacity)
        let request = testRequest("long 0", output: "\(dir)/long.rgb", frames: 49, size: 16)
        try await runner.execute([WorkItem(index: 0, request: request)]) { _ in }
        #expect(flow.total == 13)
        #expect(flow.maxInFlight <= capacity + 2)
        #expect(flow.maxInFlight >= capacity, "the decoder should have run ahead until the queue was full")
        let size = try FileManager.default.attributesOfItem(atPath: "\(dir)/long.rgb")[.size] as? Int
        #expect(size == 49 * 16 * 16 * 3)
    }

    // MARK: Failures and cancellation

    /// A failing item is reported (with its stage) and leaves no file; the others finish.
    @Test func failedItemDoesNotStopTheRun() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let runner = StageRunner(stages: stages(log: log))
        let items = [
            WorkItem(index: 0, request: testRequest("FAIL-TEXT 0", output: "\(dir)/0.rgb")),
            WorkItem(index: 1, request: testRequest("FAIL-DECODE 1", output: "\(dir)/1.rgb")),
            WorkItem(index: 2, request: testRequest("fine 2", output: "\(dir)/2.rgb")),
        ]
        let events = EventLog()
        try await runner.execute(items) { events.append($0) }
        let failures = events.all.compactMap { if case .failed(let i, let s, let e) = $0 { (i, s, e) } else { nil } }
        #expect(failures.map(\.0) == [0, 1])
        #expect(failures.map(\.1) == [.text, .decode])
        // The stage's own error value arrives, not its text.
        #expect(failures.first?.2 as? TestStageError == TestStageError(message: "cannot encode"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/0.rgb"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/1.rgb"))
        #expect(partials(of: "\(dir)/1.rgb").isEmpty)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/2.rgb"))
    }

    /// Issue #16: NaN frames were written as black and the run exited 0. A batch of decoded
    /// frames that is not finite fails its item at the decode stage before it reaches the sink;
    /// the frames already written are removed with the partial file, and the next item runs.
    @Test func nonFiniteFramesFailTheItemAndLeaveNothing() async throws {
        let dir = try makeTemporaryDirectory()
        let runner = StageRunner(stages: stages(log: ActivityLog()))
        let items = [WorkItem(index: 0, request: testRequest("NAN-DECODE 0", output: "\(dir)/0.rgb")),
                     WorkItem(index: 1, request: testRequest("fine 1", output: "\(dir)/1.rgb"))]
        let events = EventLog()
        try await runner.execute(items) { events.append($0) }
        let failures = events.all.compactMap { if case .failed(let i, let s, let e) = $0 { (i, s, e) } else { nil } }
        #expect(failures.map(\.0) == [0])
        #expect(failures.map(\.1) == [.decode])
        let error = try #require(failures.first?.2 as? PipelineError)
        #expect(error.description == "frames 1..<5 hold 1 NaN value, the first at element 0; the VAE's output was "
                + "not finite, so the video would be black (nothing was kept)")
        let written = events.all.compactMap { if case .framesDecoded(0, let r) = $0 { r } else { nil } }
        #expect(written == [0..<1], "the first batch reached the sink before the NaN one")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/0.rgb"))
        #expect(partials(of: "\(dir)/0.rgb").isEmpty)
        #expect(FileManager.default.fileExists(atPath: "\(dir)/1.rgb"))
    }

    /// Cancelling mid-run keeps the committed output, removes the one being written (no
    /// `.partial` left), never starts the rest, and ends with `CancellationError`.
    @Test func cancellationRemovesUnfinishedOutputAndKeepsFinished() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let sinks = TestSinkFactory(stallingItemPrompt: "slow")
        let runner = StageRunner(stages: stages(log: log, sinks: sinks))
        let items = [
            WorkItem(index: 0, request: testRequest("quick 0", output: "\(dir)/0.rgb")),
            WorkItem(index: 1, request: testRequest("slow 1", output: "\(dir)/1.rgb")),
            WorkItem(index: 2, request: testRequest("quick 2", output: "\(dir)/2.rgb", steps: 400)),
        ]
        let events = EventLog()
        let task = Task {
            try await runner.execute(items) { events.append($0) }
        }
        try await waitUntil {
            events.all.contains { if case .framesDecoded(1, _) = $0 { true } else { false } }
        }
        #expect(partials(of: "\(dir)/1.rgb").count == 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(FileManager.default.fileExists(atPath: "\(dir)/0.rgb"))
        let size = try FileManager.default.attributesOfItem(atPath: "\(dir)/0.rgb")[.size] as? Int
        #expect(size == 9 * 32 * 32 * 3)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/1.rgb"))
        #expect(partials(of: "\(dir)/1.rgb").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/2.rgb"))
        #expect(!events.all.contains { if case .finished(2, _, _) = $0 { true } else { false } })
    }

    /// The stream form: cancelling the iterating task cancels the run, and iteration throws
    /// `CancellationError` only after the partial output is removed (a caller that exits then
    /// leaves nothing behind).
    @Test func eventStreamEndsWithCancellationAfterCleanup() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        let runner = StageRunner(stages: stages(log: log, stepDelay: .milliseconds(2)))
        let items = [WorkItem(index: 0, request: testRequest("x 0", output: "\(dir)/0.rgb", steps: 1000))]
        let task = Task {
            var steps = 0
            for try await event in runner.events(items) {
                if case .step = event { steps += 1 }
            }
            return steps
        }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/0.rgb"))
        #expect(partials(of: "\(dir)/0.rgb").isEmpty)
    }

    /// Latents saved with `saveLatentsPath` read back identical, with the request settings.
    @Test func savedLatentsRoundTrip() async throws {
        let dir = try makeTemporaryDirectory()
        let log = ActivityLog()
        var request = testRequest("save me 0", output: "\(dir)/0.rgb", seed: 99)
        request.saveLatentsPath = "\(dir)/0.safetensors"
        let runner = StageRunner(stages: stages(log: log))
        try await runner.execute([WorkItem(index: 0, request: request)]) { _ in }
        let (latents, back) = try LatentFile.read(from: "\(dir)/0.safetensors")
        #expect(latents.tensor.shape == [1, 3, 4, 4, 4])
        #expect(back.seed == 99)
        #expect(back.prompt == "save me 0")
        #expect(back.frames == 9 && back.width == 32 && back.height == 32)
        // Decoding the saved latents alone gives the same video as the full run.
        var decodeRequest = back
        decodeRequest.output = .file("\(dir)/again.rgb")
        try await StageRunner.decode([(WorkItem(index: 0, request: decodeRequest), latents)],
                                     with: stages(log: log).decoding) { _ in }
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/again.rgb"))
                == Data(contentsOf: URL(fileURLWithPath: "\(dir)/0.rgb")))
    }
}
