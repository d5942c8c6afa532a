import ArgumentParser
import Benchmarks
import Bottleneck
import Diagnostics
import Foundation

extension BottleneckBench {
    /// `bottleneck-bench batch`: the same N prompts as one `bottleneck batch` process and as N
    /// `bottleneck generate` processes, with the same settings and seeds; wall time and peak RSS
    /// of every child (`wait4`), plus a shorter batch to show memory does not grow with length.
    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare one batch process with one generate process per prompt (time and peak RSS).",
            discussion: """
                Runs the `bottleneck` executable beside this one as child processes, one at a time: `batch` over N prompts, then \
                N × `generate`, then `batch` over --short-batch prompts. Prompts are the first N of \
                --prompts (reused in order when the file has fewer); per-line overrides in the file are \
                ignored so both modes use the flags below. Item i gets the seed `batch --seed S` derives \
                for index i. Outputs go to a temporary folder that is removed afterwards.
                """)

        @Option(help: ArgumentHelp("Prompt file (.txt, .jsonl or .csv).", valueName: "file"))
        var prompts: String = "samples/prompts.txt"

        @Option(help: ArgumentHelp("Prompts to generate (default: 20).", valueName: "n"))
        var count: Int = 20

        @Option(name: .customLong("short-batch"),
                help: ArgumentHelp("Items of the extra batch run whose peak RSS is compared with the full batch's; 0 skips it (default: 5).",
                                   valueName: "n"))
        var shortBatch: Int = 5

        @Option(help: ArgumentHelp("Frames, 4k+1 (default: generate's, 129).", valueName: "n"))
        var frames: Int?

        @Option(help: ArgumentHelp("Width in pixels (default: generate's, 128).", valueName: "px"))
        var width: Int?

        @Option(help: ArgumentHelp("Height in pixels (default: generate's, 128).", valueName: "px"))
        var height: Int?

        @Option(help: ArgumentHelp("Denoising steps (default: generate's, 50).", valueName: "n"))
        var steps: Int?

        @Option(help: ArgumentHelp("Bottleneck plan: off, x2, x2.5, x3 or a plan file (default: generate's, x2).",
                                   valueName: "plan"))
        var bottleneck: String?

        @Option(help: ArgumentHelp("Base seed of the batch (default: 1).", valueName: "n"))
        var seed: UInt64 = 1

        @Option(help: ArgumentHelp("Threads of each child (default: all cores).", valueName: "n"))
        var threads: Int?

        @Option(help: ArgumentHelp("Denoising lanes of the batch runs (default: batch's, 1).", valueName: "n"))
        var lanes: Int?

        @Option(help: ArgumentHelp("Pipeline folder passed to the children.", valueName: "dir"))
        var pipeline: String?

        @Flag(help: "Print the result as JSON on stdout instead of text.")
        var json = false

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1; got \(count)") }
            guard (0..<count).contains(shortBatch) else {
                throw ValidationError("--short-batch must be between 0 and --count − 1 (\(count - 1)); got \(shortBatch)")
            }
            if let threads, !(1...256).contains(threads) {
                throw ValidationError("--threads must be between 1 and 256; got \(threads)")
            }
            do { try request(prompt: "probe").validate() } catch {
                throw ValidationError("\(error)")
            }
        }

        /// The request the children build from the forwarded flags (for validation and the report).
        func request(prompt: String) throws -> GenerationRequest {
            var r = GenerationRequest(prompt: prompt)
            if let frames { r.frames = frames }
            if let width { r.width = width }
            if let height { r.height = height }
            if let steps { r.steps = steps }
            if let bottleneck { r.bottleneck = try BottleneckChoice(parsing: bottleneck) }
            return r
        }

        /// Flags every child gets: the settings, quiet logging, threads and pipeline.
        var sharedArguments: [String] {
            var a = ["--progress", "none", "--quiet"]
            if let frames { a += ["--frames", "\(frames)"] }
            if let width { a += ["--width", "\(width)"] }
            if let height { a += ["--height", "\(height)"] }
            if let steps { a += ["--steps", "\(steps)"] }
            if let bottleneck { a += ["--bottleneck", bottleneck] }
            if let threads { a += ["--threads", "\(threads)"] }
            if let pipeline { a += ["--pipeline", pipeline] }
            return a
        }

        struct Settings: Codable {
            var frames: Int, width: Int, height: Int, steps: Int
            var bottleneck: String
            var threads: Int
        }

        /// One measured child run.
        struct Run: Codable {
            /// Items it generated.
            var items: Int
            var process: ChildProcessReport
        }

        struct Report: Codable {
            var benchmark = "batch"
            var promptFile: String
            var prompts: Int
            var seed: UInt64
            var settings: Settings
            var processors: Int
            /// One `batch` process over all prompts.
            var batch: Run
            /// One `generate` process per prompt, in order.
            var generate: [Run]
            /// Sum of the generate processes' wall times.
            var generateWallSeconds: Double
            /// `generateWallSeconds / batch wall`: how many times the items per hour of the batch.
            var throughputRatio: Double
            /// Largest peak RSS over the generate processes.
            var generatePeakRSSBytes: Int
            /// The shorter batch run, for peak RSS against batch length.
            var shortBatch: Run?
        }

        func run() throws {
            let list = try promptList()
            let folder = NSTemporaryDirectory() + "bottleneck-bench-batch-\(getpid())"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let executable = BottleneckBench.productExecutable
            let log = Log(level: .info)

            log.info("batch of \(count) prompts")
            let batch = try runBatch(Array(list.prefix(count)), executable: executable, folder: folder, name: "batch")
            var generate: [Run] = []
            for (i, prompt) in list.prefix(count).enumerated() {
                log.info("generate \(i + 1)/\(count)")
                let seed = SeedDerivation.seed(base: seed, index: i)
                let arguments = ["generate", prompt, "-o", "\(folder)/generate-\(i).mp4", "--seed", "\(seed)"]
                generate.append(Run(items: 1, process: try measure(executable, arguments + sharedArguments,
                                                                   log: "\(folder)/generate-\(i).log")))
            }
            var short: Run?
            if shortBatch > 0 {
                log.info("batch of \(shortBatch) prompts (peak RSS against batch length)")
                short = try runBatch(Array(list.prefix(shortBatch)), executable: executable, folder: folder, name: "short")
            }

            let resolved = try request(prompt: "probe")
            let generateWall = generate.reduce(0) { $0 + $1.process.wallSeconds }
            let report = Report(
                promptFile: prompts, prompts: count, seed: seed,
                settings: Settings(frames: resolved.frames, width: resolved.width, height: resolved.height,
                                   steps: resolved.steps, bottleneck: resolved.bottleneck.description,
                                   threads: threads ?? ProcessInfo.processInfo.activeProcessorCount),
                processors: ProcessInfo.processInfo.activeProcessorCount, batch: batch, generate: generate,
                generateWallSeconds: generateWall, throughputRatio: generateWall / batch.process.wallSeconds,
                generatePeakRSSBytes: generate.map(\.process.peakRSSBytes).max() ?? 0, shortBatch: short)
            try BenchOutput.emit(report, text: Self.text(report), json: json)
        }

        /// The first `count` prompts of the file, reused in order when it has fewer.
        func promptList() throws -> [String] {
            let file = try PromptFile.load(path: prompts)
            guard !file.entries.isEmpty else {
                throw ValidationError("\(prompts): no prompts (\(file.issues.count) lines skipped)")
            }
            return (0..<count).map { file.entries[$0 % file.entries.count].prompt }
        }

        /// One `bottleneck batch` over `list` (written as JSON lines, so any prompt text survives).
        func runBatch(_ list: [String], executable: String, folder: String, name: String) throws -> Run {
            let encoder = JSONEncoder()
            let lines = try list.map { String(decoding: try encoder.encode(["prompt": $0]), as: UTF8.self) }
            let file = "\(folder)/\(name).jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let arguments = ["batch", file, "-o", "\(folder)/\(name)", "--seed", "\(seed)"]
                + (lanes.map { ["--lanes", "\($0)"] } ?? []) + sharedArguments
            return Run(items: list.count, process: try measure(executable, arguments, log: "\(folder)/\(name).log"))
        }

        /// Runs one child; a non-zero exit is an error quoting the end of its log.
        func measure(_ executable: String, _ arguments: [String], log: String) throws -> ChildProcessReport {
            let run = try ChildProcess.run(executable: executable, arguments: arguments, standardOutput: log,
                                           standardError: log)
            guard run.exitStatus == 0 else {
                let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
                    .split(separator: "\n").suffix(5).joined(separator: "\n")
                throw ValidationError("`\(arguments.prefix(2).joined(separator: " "))` exited with status \(run.exitStatus):\n\(tail)")
            }
            return run
        }

        static func text(_ r: Report) -> String {
            func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
            let s = r.settings
            var lines = [
                "batch vs generate: \(r.prompts) prompts from \(r.promptFile), \(s.frames) frames \(s.width)x\(s.height), "
                    + "\(s.steps) steps, bottleneck \(s.bottleneck), \(s.threads) threads, seed \(r.seed)",
                String(format: "  batch    (1 process):   %8.1f s wall, %6.2f s/item, peak RSS %@",
                       r.batch.process.wallSeconds, r.batch.process.wallSeconds / Double(r.prompts),
                       mib(r.batch.process.peakRSSBytes)),
                String(format: "  generate (%d processes): %8.1f s wall, %6.2f s/item, peak RSS %@ (largest)",
                       r.generate.count, r.generateWallSeconds, r.generateWallSeconds / Double(r.prompts),
                       mib(r.generatePeakRSSBytes)),
                String(format: "  throughput ratio: batch %.2f× the items per hour of separate generates",
                       r.throughputRatio),
            ]
            if let short = r.shortBatch {
                lines.append("  peak RSS by batch length: \(short.items) items \(mib(short.process.peakRSSBytes)), "
                             + "\(r.batch.items) items \(mib(r.batch.process.peakRSSBytes))")
            }
            return lines.joined(separator: "\n")
        }
    }
}
