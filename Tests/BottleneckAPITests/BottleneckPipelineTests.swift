import Bottleneck
import Foundation
import TestSupport
import Testing

/// The library as a separate package uses it: `import Bottleneck` only (no `@testable`), the
/// embedded `pipelines/shapes`, a 9-frame 32×32 video.
@Suite struct BottleneckPipelineTests {
    /// Loaded once for the suite, as an app would.
    static let pipeline = Result { try BottleneckPipeline(folder: PipelineFolder.locate(explicit: TestPaths.shapesPipeline)) }

    static func request(output: String, steps: Int = 2) -> GenerationRequest {
        var r = GenerationRequest(prompt: "a red ball bouncing on a black background")
        (r.frames, r.width, r.height, r.steps, r.bottleneck, r.seed) = (9, 32, 32, steps, .preset(.off), 5)
        r.output = .file(output)
        return r
    }

    /// `request(prompt:)` starts from the pipeline's own defaults: the video ones, and the
    /// guidance scale its folder sets (`model_index.json`'s `_guidance_scale`).
    @Test func requestTakesThePipelinesDefaults() throws {
        let pipeline = try Self.pipeline.get()
        let r = pipeline.request(prompt: "a red ball")
        #expect(pipeline.defaultGuidance == 3 && r.cfgScale == 3)
        #expect(r.prompt == "a red ball" && r.frames == 129 && r.width == 128 && r.height == 128)
    }

    /// The events of one video arrive in order, and `finished` states the file that was written.
    @Test func generatesAVideoWithItsEvents() async throws {
        let dir = try makeTemporaryDirectory(prefix: "api")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var events: [GenerationEvent] = []
        for try await event in try Self.pipeline.get().generate(Self.request(output: dir + "/ball.mp4")) {
            events.append(event)
        }
        guard case .started(0, let seed) = events[0] else { Issue.record("\(events[0])"); return }
        #expect(seed == 5)
        guard case .promptEncoded(0, let tokens) = events[1] else { Issue.record("\(events[1])"); return }
        #expect(tokens > 0)
        let steps = events.compactMap { if case .step(_, let p) = $0 { p.index } else { nil } }
        #expect(steps == [0, 1])
        // A standard plan has one stage at the full latent size: 9 frames of 32×32 → 3×4×4.
        let stages = events.compactMap { if case .stageChanged(_, let s, let size) = $0 { [s] + size.extents } else { nil } }
        #expect(stages == [[0, 3, 4, 4]])
        #expect(events.contains { if case .latentsReady(0, nil) = $0 { true } else { false } })
        let decoded = events.compactMap { if case .framesDecoded(_, let r) = $0 { r } else { nil } }
        #expect(decoded.first?.lowerBound == 0 && decoded.last?.upperBound == 9)
        guard case .finished(0, let output, _) = events.last else { Issue.record("\(events.last!)"); return }
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/ball.mp4")[.size] as? Int
        #expect(output.frames == 9)
        #expect(output.bytes == size)
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir + "/ball.mp4")).read(upToCount: 8)
        #expect(head.map { Array($0.suffix(4)) } == Array("ftyp".utf8))
    }

    /// Cancelling the iterating task stops the run; iteration throws `CancellationError` once
    /// the output being written is gone, so nothing is left in the folder.
    @Test func cancellingTheTaskStopsTheRunAndRemovesTheOutput() async throws {
        let dir = try makeTemporaryDirectory(prefix: "api")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let events = try Self.pipeline.get().generate(Self.request(output: dir + "/ball.mp4", steps: 1000))
        let run = Task {
            var steps = 0
            for try await event in events {
                if case .step = event {
                    steps += 1
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            }
            return steps
        }
        await #expect(throws: CancellationError.self) { try await run.value }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }

    /// A request the library refuses is an error of `generate` itself, before anything runs.
    @Test func invalidRequestIsRefused() throws {
        var request = Self.request(output: "out.mp4")
        request.frames = 10
        #expect(throws: RequestError.self) { try Self.pipeline.get().generate(request) }
    }
}
