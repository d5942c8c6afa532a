import ArgumentParser
import Benchmarks
import Foundation
import Media

extension BottleneckBench {
    /// `bottleneck-bench encode`: H.264 encoding throughput of `VideoWriter` (RGB -> BT.709 YUV
    /// -> libx264 -> MP4 file), frames per second, excluding frame synthesis.
    struct Encode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure video encoding speed (frames per second) at CRF 18, preset medium.")

        @Option(
            help: ArgumentHelp(
                "Frame size as WIDTHxHEIGHT; repeat for several (default: 128x128 and 512x512).",
                valueName: "size"))
        var size: [String] = []

        @Option(help: "Frames encoded per run.")
        var frames: Int = 256

        @Option(help: "Constant rate factor.")
        var crf: Int = 18

        @Option(help: "x264 preset.", transform: { try EncoderPreset(name: $0) })
        var preset: EncoderPreset = .medium

        @Option(help: "Timed runs per size; the median is reported.")
        var iterations: Int = 3

        @Option(help: "Keep the last encoded file of the last size at this path (for inspection).")
        var keepOutput: String?

        @Flag(help: "Print the result as JSON on stdout instead of text.")
        var json = false

        func validate() throws {
            guard frames >= 1 else { throw ValidationError("--frames must be at least 1.") }
            guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1.") }
            for s in size { _ = try Self.parseSize(s) }
        }

        struct Case: Codable {
            var width: Int
            var height: Int
            var frames: Int
            var encoder: String
            var crf: Int
            var preset: String
            var secondsPerRun: [Double]
            /// Process CPU time (user + system, all threads) per run: meaningful when other
            /// work shares the machine and wall time is inflated.
            var cpuSecondsPerRun: [Double]
            var medianFramesPerSecond: Double
            var bytes: Int64
        }

        struct Report: Codable {
            var benchmark = "encode"
            var container = "mp4"
            var processors: Int
            var cases: [Case]
        }

        func run() async throws {
            let sizes = try (size.isEmpty ? ["128x128", "512x512"] : size).map(Self.parseSize)
            let folder = NSTemporaryDirectory() + "bottleneck-bench-encode-\(getpid())"
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var cases: [Case] = []
            for (width, height) in sizes {
                let clip = try Self.synthesize(width: width, height: height, count: frames)
                var seconds: [Double] = []
                var cpuSeconds: [Double] = []
                var bytes: Int64 = 0
                var encoder = ""
                for _ in 0..<iterations {
                    let options = VideoOptions(
                        width: width, height: height, fps: try FrameRate(24), format: .mp4,
                        codec: .h264,
                        crf: crf, preset: preset)
                    let start = DispatchTime.now().uptimeNanoseconds
                    let cpuStart = processCPUSeconds()
                    let writer = try VideoWriter(
                        destination: .file(folder + "/bench.mp4"), options: options)
                    for batch in stride(from: 0, to: clip.count, by: 8) {
                        try await writer.append(Array(clip[batch..<min(clip.count, batch + 8)]))
                    }
                    let summary = try await writer.finish()
                    seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    cpuSeconds.append(processCPUSeconds() - cpuStart)
                    bytes = summary.bytes
                    encoder = summary.stream.encoderName
                }
                let median = seconds.sorted()[seconds.count / 2]
                cases.append(
                    Case(
                        width: width, height: height, frames: frames, encoder: encoder, crf: crf,
                        preset: preset.rawValue, secondsPerRun: seconds,
                        cpuSecondsPerRun: cpuSeconds,
                        medianFramesPerSecond: Double(frames) / median, bytes: bytes))
            }
            if let keepOutput {
                try? FileManager.default.removeItem(atPath: keepOutput)
                try FileManager.default.moveItem(atPath: folder + "/bench.mp4", toPath: keepOutput)
            }
            let report = Report(
                processors: ProcessInfo.processInfo.activeProcessorCount, cases: cases)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                FileHandle.standardOutput.write(try encoder.encode(report))
                FileHandle.standardOutput.write(Data("\n".utf8))
            } else {
                var text =
                    "encode: mp4 \(preset.rawValue) crf \(crf), \(report.processors) processors\n"
                for c in cases {
                    text +=
                        "  \(c.width)x\(c.height) × \(c.frames) frames (\(c.encoder)): "
                        + String(
                            format: "%.1f frames/s (median of %d), %.2f CPU-s per run, %d bytes",
                            c.medianFramesPerSecond, c.secondsPerRun.count,
                            c.cpuSecondsPerRun.sorted()[c.cpuSecondsPerRun.count / 2], c.bytes)
                        + "\n"
                }
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }

        static func parseSize(_ s: String) throws -> (Int, Int) {
            let parts = s.lowercased().split(separator: "x").map { Int($0) }
            guard parts.count == 2, let w = parts[0], let h = parts[1], w > 0, h > 0, w % 2 == 0,
                h % 2 == 0
            else {
                throw ValidationError(
                    "size '\(s)' must be WIDTHxHEIGHT with even positive numbers, e.g. 128x128")
            }
            return (w, h)
        }

        /// Generated-looking content: smooth gradients drifting over time and a soft disc
        /// moving across the frame (layout of each frame `[height, width, 3]` RGB).
        static func synthesize(width: Int, height: Int, count: Int) throws -> [VideoFrame] {
            try (0..<count).map { t in
                var pixels = [UInt8](repeating: 0, count: width * height * 3)
                let cx = Double(width) * (0.2 + 0.6 * Double(t % 64) / 63)
                let cy = Double(height) * (0.5 + 0.25 * sin(Double(t) * 0.15))
                let r = Double(min(width, height)) * 0.18
                for y in 0..<height {
                    for x in 0..<width {
                        let dx = Double(x) - cx
                        let dy = Double(y) - cy
                        let disc = max(
                            0, min(1, (r - (dx * dx + dy * dy).squareRoot()) / (0.3 * r)))
                        let u = Double(x) / Double(width)
                        let v = Double(y) / Double(height)
                        let i = (y * width + x) * 3
                        pixels[i] = UInt8(
                            (255 * (0.2 + 0.6 * u) * (1 - disc) + 230 * disc).rounded())
                        pixels[i + 1] = UInt8(
                            (255 * (0.3 + 0.4 * v + 0.1 * sin(Double(t) * 0.1 + u * 6)) * (1 - disc)
                                + 90 * disc).rounded())
                        pixels[i + 2] = UInt8(
                            (255 * (0.6 - 0.4 * u * v) * (1 - disc) + 40 * disc).rounded())
                    }
                }
                return try VideoFrame(width: width, height: height, pixels: pixels)
            }
        }
    }
}

extension EncoderPreset {
    /// Parses a preset name; the error lists the valid ones.
    init(name: String) throws {
        guard let p = EncoderPreset(rawValue: name) else {
            throw ValidationError(
                "unknown preset '\(name)'; use one of \(EncoderPreset.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self = p
    }
}
