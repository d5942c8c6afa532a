import Bottleneck
import Diagnostics
import Foundation
import Synchronization

/// Renders `GenerationEvent`s on stderr: a one-line bar redrawn in place (only when stderr is
/// a terminal), JSON lines (`--progress json`), or nothing. Item results are logged as lines.
final class ProgressRenderer: Sendable {
    private let style: LoggingOptions.ProgressStyle
    private let log: Log
    private let barVisible = Mutex(false)

    init(style: LoggingOptions.ProgressStyle, log: Log) {
        self.style = style == .bar && !Log.stderrIsTerminal ? .none : style
        self.log = log
    }

    func render(_ event: GenerationEvent) {
        switch style {
        case .json: Log.writeStderr(Self.json(event) + "\n")
        case .bar: renderBar(event)
        case .none: renderLines(event)
        }
    }

    /// Renders `events` to their end, under `Interrupt` (a signal cancels the run and waits
    /// for its cleanup), then ends the bar.
    /// - Returns: how many items failed.
    func render(_ events: GenerationEvents) async throws -> Int {
        let failures = try await Interrupt.run(log: log) {
            var failed = 0
            for try await event in events {
                if event.failsItem { failed += 1 }
                self.render(event)
            }
            return failed
        }
        finish()
        return failures
    }

    /// Ends a bar line so later log lines start on a fresh line.
    func finish() {
        if barVisible.withLock({ let v = $0; $0 = false; return v }) { Log.writeStderr("\n") }
    }

    private func renderBar(_ event: GenerationEvent) {
        switch event {
        case .step(let item, let p):
            let width = 30
            let done = (p.index + 1) * width / max(p.count, 1)
            let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
            let size = p.latentSize.extents.map(String.init).joined(separator: "x")
            let line = String(format: "\r[%@] item %d step %d/%d stage %d %@ sigma %.3f %.2fs/step",
                              bar, item, p.index + 1, p.count, p.stage, size, p.sigma, p.seconds)
            barVisible.withLock { $0 = true }
            if log.level >= .info { Log.writeStderr(line + "\u{1B}[K") }
        case .stageChanged:
            // The bar names the stage and its size already; a line would break it.
            break
        default:
            finish()
            renderLines(event)
        }
    }

    private func renderLines(_ event: GenerationEvent) {
        switch event {
        case .started(let item, let seed): log.info("item \(item): seed \(seed)")
        case .promptEncoded(let item, let tokens): log.debug("item \(item): prompt encoded, \(tokens) tokens")
        case .stageChanged(let item, let stage, let size): log.debug("item \(item): stage \(stage), latents \(size)")
        case .step(let item, let p): log.debug("item \(item): step \(p.index + 1)/\(p.count) sigma \(p.sigma)")
        case .previewWritten(let item, let step, let path): log.debug("item \(item): preview after step \(step + 1) → \(path)")
        case .latentsReady(let item, let saved):
            if let saved { log.info("item \(item): latents saved to \(saved)") }
        case .framesDecoded(let item, let frames): log.debug("item \(item): frames \(frames.lowerBound)..<\(frames.upperBound) written")
        case .finished(let item, let output, let t):
            log.info(String(format: "item %d: wrote %@ (%d frames, %d bytes) in %.1fs (text %.1fs, denoise %.1fs, decode %.1fs)",
                            item, output.destination, output.frames, output.bytes, t.total, t.encode, t.denoise, t.decode))
        case .failed(let item, let stage, let error):
            // "error:" only for what fails the item (and so the exit status); a failed
            // preview leaves the video and the status alone.
            if event.failsItem {
                log.error("item \(item): \(stage.rawValue): \(error)")
            } else {
                log.warning("item \(item): \(stage.rawValue): \(error)")
            }
        }
    }

    /// One JSON object per event, keys snake_case, `event` names the case.
    static func json(_ event: GenerationEvent) -> String {
        var o: [String: Any] = ["item": event.item]
        switch event {
        case .started(_, let seed):
            o["event"] = "started"
            o["seed"] = seed
        case .promptEncoded(_, let tokens):
            o["event"] = "prompt_encoded"
            o["tokens"] = tokens
        case .stageChanged(_, let stage, let size):
            o["event"] = "stage"
            o["stage"] = stage
            o["latent_size"] = size.extents
        case .step(_, let p):
            o["event"] = "step"
            o["index"] = p.index
            o["count"] = p.count
            o["stage"] = p.stage
            o["latent_size"] = p.latentSize.extents
            o["sigma"] = Double(p.sigma)
            o["seconds"] = p.seconds
        case .previewWritten(_, let step, let path):
            o["event"] = "preview"
            o["step"] = step
            o["path"] = path
        case .latentsReady(_, let saved):
            o["event"] = "latents_ready"
            if let saved { o["saved_to"] = saved }
        case .framesDecoded(_, let frames):
            o["event"] = "frames_decoded"
            o["first"] = frames.lowerBound
            o["end"] = frames.upperBound
        case .finished(_, let output, let t):
            o["event"] = "finished"
            o["output"] = output.destination
            o["bytes"] = output.bytes
            o["frames"] = output.frames
            o["timings"] = ["encode": t.encode, "denoise": t.denoise, "decode": t.decode, "total": t.total]
        case .failed(_, let stage, let error):
            o["event"] = "failed"
            o["stage"] = stage.rawValue
            o["message"] = "\(error)"
        }
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
