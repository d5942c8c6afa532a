import Foundation
import Media
import Models
import Sampling
import Synchronization
import Tensor
import TestSupport
@testable import Bottleneck

/// Small real stages for runner tests: they compute actual values (seeded noise, Euler steps
/// towards the prompt embedding mean, an 8× nearest upsampling decoder, a file sink), and
/// record when each heavy stage runs so tests can check overlap and exclusion.

/// Thread-safe log of `(stage, item, begin/end)` marks in the order they happened.
final class ActivityLog: Sendable {
    enum Mark: Equatable, Sendable {
        case begin(String, Int)
        case end(String, Int)
    }

    private let marks = Mutex<[Mark]>([])
    private let active = Mutex<[String: Int]>([:])
    private let maxActive = Mutex<[String: Int]>([:])

    func begin(_ stage: String, _ item: Int) {
        marks.withLock { $0.append(.begin(stage, item)) }
        let n = active.withLock { a -> Int in
            a[stage, default: 0] += 1
            return a[stage]!
        }
        maxActive.withLock { $0[stage] = max($0[stage] ?? 0, n) }
    }

    func end(_ stage: String, _ item: Int) {
        active.withLock { $0[stage, default: 0] -= 1 }
        marks.withLock { $0.append(.end(stage, item)) }
    }

    var all: [Mark] { marks.withLock { $0 } }
    func maxConcurrent(_ stage: String) -> Int { maxActive.withLock { $0[stage] ?? 0 } }
    func position(_ mark: Mark) -> Int? { all.firstIndex(of: mark) }
}

struct TestTextEncoder: TextEncodingStage {
    static let width = 4
    let log: ActivityLog

    /// One token per word; token `t` has components `sin(Σ bytes · (k+1))`.
    func encode(prompt: String, negativePrompt: String?) async throws -> PromptEmbeddings {
        if prompt.contains("FAIL-TEXT") {
            throw TestStageError(message: "cannot encode")
        }
        let words = prompt.split(separator: " ")
        var data: [Float] = []
        for w in words {
            let s = Float(w.utf8.reduce(0) { $0 + Int($1) })
            for k in 0..<Self.width { data.append(sin(s * Float(k + 1))) }
        }
        let text = TextEmbeddings(states: Tensor(shape: [1, words.count, Self.width], data: data),
                                  mask: [Array(repeating: true, count: words.count)], pooled: Tensor(shape: [1, Self.width]))
        return PromptEmbeddings(conditional: text, unconditional: text)
    }
}

struct TestGenerator: LatentGenerator {
    static let channels = 4
    let log: ActivityLog
    var stepDelay: Duration = .zero
    /// Spend `stepDelay` blocking the thread (as real denoising does) instead of suspending.
    var blocking = false
    var preview = false

    func generate(embeddings: PromptEmbeddings, request: GenerationRequest,
                  observer: StepObserver) async throws -> Latents {
        let index = Int(request.prompt.split(separator: " ").last.flatMap { Int($0) } ?? -1)
        log.begin("denoise", index)
        defer { log.end("denoise", index) }
        let shape = [1] + request.latentSize.extents + [Self.channels]
        var rng = SplitMix64(seed: request.seed!)
        var x = Tensor(shape: shape) { buf in
            for i in buf.indices { buf[i] = Float(Double(rng.next() >> 11) / Double(1 << 53)) * 2 - 1 }
        }
        // Target: mean embedding per channel.
        let e = embeddings.conditional.states
        var target = [Float](repeating: 0, count: Self.channels)
        for t in 0..<embeddings.tokenCount {
            for c in 0..<Self.channels { target[c] += e.data[t * TestTextEncoder.width + c] / Float(embeddings.tokenCount) }
        }
        for step in 0..<request.steps {
            try Task.checkCancellation()
            let sigma = 1 - Float(step + 1) / Float(request.steps)
            let dt = 1 / Float(request.steps - step)
            for i in 0..<x.count { x.data[i] += dt * (target[i % Self.channels] - x.data[i]) }
            if stepDelay != .zero {
                if blocking { usleep(UInt32(stepDelay.seconds * 1e6)) }
                else { try await Task.sleep(for: stepDelay) }
            }
            observer.report(StepEvent(stage: 0, stageStep: step, stageSteps: request.steps, index: step,
                                      count: request.steps, sigma: sigma, sigmaNext: sigma, timestep: 1000 * sigma,
                                      tokens: 0, latentSize: request.latentSize, seconds: 0,
                                      cleanEstimate: observer.wantsCleanEstimate(step) ? x : nil))
        }
        return Latents(x)
    }
}

/// Decodes latent frame 0 to 1 pixel frame and every later one to 4 (causal VAE counts),
/// pixel = tanh(channel c of the latent cell) for RGB c = 0, 1, 2, upsampled 8× nearest.
/// A prompt with `NAN-DECODE` makes the second batch's first pixel NaN (a diverged VAE).
struct TestDecoder: FrameDecoding {
    let log: ActivityLog
    var batchDelay: Duration = .zero
    var flow: FlowCounter? = nil

    func decode(_ latents: Latents, request: GenerationRequest,
                emit: @Sendable (FrameBatch) async throws -> Void) async throws {
        let index = Int(request.prompt.split(separator: " ").last.flatMap { Int($0) } ?? -1)
        log.begin("decode", index)
        defer { log.end("decode", index) }
        if request.prompt.contains("FAIL-DECODE") {
            throw TestStageError(message: "bad latents")
        }
        let (lh, lw, c) = (latents.height, latents.width, latents.channels)
        var next = 0
        for t in 0..<latents.frames {
            try Task.checkCancellation()
            let n = t == 0 ? 1 : 4
            let h = lh * 8, w = lw * 8
            var frame = Tensor(shape: [n, h, w, 3]) { buf in
                for f in 0..<n {
                    for y in 0..<h {
                        for x in 0..<w {
                            for ch in 0..<3 {
                                let v = latents.tensor.data[(((t * lh) + y / 8) * lw + x / 8) * c + ch]
                                buf[((f * h + y) * w + x) * 3 + ch] = tanh(v)
                            }
                        }
                    }
                }
            }
            if t == 1, request.prompt.contains("NAN-DECODE") { frame.data[0] = .nan }
            if batchDelay != .zero { try await Task.sleep(for: batchDelay) }
            flow?.produced()
            try await emit(FrameBatch(firstFrame: next, pixels: frame))
            next += n
        }
    }
}

/// Writes RGB8 frames under Media's temporary name, renamed into place on finish (as the real
/// writer does).
actor TestFileSink: VideoSink {
    let path: String
    let temporaryPath: String
    let handle: FileHandle
    var frames = 0
    var bytes = 0
    let writeDelay: Duration
    /// Blocks every write after the first until the task is cancelled, so a test can cancel in
    /// the middle of this output however the machine schedules it.
    let stallsAfterFirstBatch: Bool
    let flow: FlowCounter?

    init(path: String, writeDelay: Duration, stallsAfterFirstBatch: Bool = false, flow: FlowCounter?) throws {
        self.path = path
        temporaryPath = TemporaryOutputName.path(for: path)
        _ = FileManager.default.createFile(atPath: temporaryPath, contents: nil)
        guard let h = FileHandle(forWritingAtPath: temporaryPath) else {
            throw TestStageError(message: "\(path): cannot open")
        }
        handle = h
        self.writeDelay = writeDelay
        self.stallsAfterFirstBatch = stallsAfterFirstBatch
        self.flow = flow
    }

    func write(_ batch: FrameBatch) async throws {
        if writeDelay != .zero { try await Task.sleep(for: writeDelay) }
        if stallsAfterFirstBatch, frames > 0 { try await Task.sleep(for: .seconds(3600)) }
        let data = Data(batch.rgb8())
        try handle.write(contentsOf: data)
        frames += batch.frameCount
        bytes += data.count
        flow?.consumed()
    }

    func finish() async throws -> OutputSummary {
        try handle.close()
        if rename(temporaryPath, path) != 0 {
            throw TestStageError(message: "\(path): cannot move \(temporaryPath) into place")
        }
        return OutputSummary(destination: path, bytes: bytes, frames: frames)
    }

    func cancel() async {
        try? handle.close()
        _ = unlink(temporaryPath)
    }
}

/// What the test stages throw: text or latents a prompt marks as failing, a file the sink
/// cannot open or commit.
struct TestStageError: Error, Equatable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

struct TestSinkFactory: VideoSinkFactory {
    var writeDelay: Duration = .zero
    var flow: FlowCounter? = nil
    /// Prompt text whose output stalls after its first frame batch until cancelled.
    var stallingItemPrompt: String? = nil

    func makeSink(for request: GenerationRequest) async throws -> any VideoSink {
        guard case .file(let path) = request.output else {
            throw TestStageError(message: "test sink writes files only")
        }
        let stalls = stallingItemPrompt.map { request.prompt.contains($0) } == true
        return try TestFileSink(path: path, writeDelay: writeDelay, stallsAfterFirstBatch: stalls, flow: flow)
    }
}

/// Frame batches produced by the decoder but not yet written by the sink, and the maximum.
final class FlowCounter: Sendable {
    private let state = Mutex<(inFlight: Int, max: Int, total: Int)>((0, 0, 0))
    func produced() { state.withLock { $0.inFlight += 1; $0.max = max($0.max, $0.inFlight); $0.total += 1 } }
    func consumed() { state.withLock { $0.inFlight -= 1 } }
    var maxInFlight: Int { state.withLock { $0.max } }
    var total: Int { state.withLock { $0.total } }
}

/// The partial files of the output at `path` left in its folder (Media's temporary names).
func partials(of path: String) -> [String] {
    let folder = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        .filter { TemporaryOutputName.isTemporary($0, of: name) }
}

func testRequest(_ prompt: String, output: String, frames: Int = 9, size: Int = 32, steps: Int = 4, seed: UInt64 = 7) -> GenerationRequest {
    var r = GenerationRequest(prompt: prompt)
    r.frames = frames
    r.width = size
    r.height = size
    r.steps = steps
    r.seed = seed
    r.output = .file(output)
    return r
}

extension FrameBatch {
    /// Frames as packed RGB24 bytes (`[frames, height, width, 3]`) for the in-test file sink
    /// (the product's sinks convert through `Media.VideoFrame(floatRGB:)`).
    func rgb8() -> [UInt8] {
        pixels.data.map { x in
            let v = ((x + 1) * 127.5).rounded()
            return UInt8(min(255, max(0, v.isNaN ? 0 : v)))
        }
    }
}
