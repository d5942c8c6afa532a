import TestSupport
import ArgumentParser
@testable import Benchmarks
@testable import Evaluation
import Foundation
import Testing
@testable import BottleneckBench
@testable import Sampling

/// `bottleneck-bench generate`: flags, the prompt file, child logs and the summary table.
@Suite struct BenchGenerateTests {

    // MARK: Flags

    /// Defaults are the default pipeline's full setting; std always runs, first.
    @Test func defaultsAndRunOrder() throws {
        let all = try BottleneckBench.Generate.parse(["-o", "out"])
        #expect(all.frames == 129 && all.width == 128 && all.height == 128 && all.steps == 50 && all.crf == 0)
        #expect(all.runOrder == ComparisonMethod.allCases)
        let two = try BottleneckBench.Generate.parse(["-o", "out", "--methods", "x3,steps50", "--count", "2"])
        #expect(two.runOrder == [.standard, .x3, .halfSteps])
        #expect(two.count == 2)
    }

    @Test func badFlagsSayWhatToChange() {
        func message(_ args: [String]) -> String { benchFailure(["generate", "-o", "out"] + args) ?? "" }
        #expect(message(["--methods", "x3,x9"]).contains("unknown method 'x9'"))
        #expect(message(["--frames", "10"]).contains("frames must be 4k+1"))
        #expect(message(["--width", "100"]).contains("width must be a multiple of 16"))
        #expect(message(["--threads", "0"]).contains("--threads must be an integer between 1 and 256; got 0, use 1"))
        #expect(message(["--count", "0"]).contains("--count"))
        #expect(message(["--steps", "2"]).contains("--steps must be at least 3 for bench generate"))
    }

    // MARK: Inputs

    /// `--count` takes the first lines of the held-out set, with their seeds and line numbers.
    @Test func readsHeldOutPrompts() throws {
        let items = try HeldOutPrompt.read(path: TestPaths.path("samples/heldout_prompts.jsonl"), count: 2)
        #expect(items.map(\.line) == [1, 2])
        #expect(items.map(\.seed) == [10_000_000, 10_000_001])
        #expect(items[0].attributes.background == "gray")
    }

    /// The child's stage timings come from its last `finished` progress event.
    @Test func readsChildTimings() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("timings-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
            seed 1 → x.mp4
            {"event":"step","index":0,"seconds":0.5}
            {"event":"finished","item":0,"timings":{"decode":1.5,"denoise":2.5,"encode":0.25,"total":4.25}}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try StageTimingsLog.read(path) == .init(encode: 0.25, denoise: 2.5, decode: 1.5, total: 4.25))
        try "crashed\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: BenchmarkError.self) { try StageTimingsLog.read(path) }
    }

    /// `--rescore` reads runs.jsonl back (infinite PSNR included) and rewrites it with the
    /// re-scored records in place, keeping the others.
    @Test func runsRoundTripForRescore() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = BenchLayout(root: root)
        try layout.create(methods: [.standard, .x3], startingRuns: true)
        func record(_ m: String, _ line: Int, psnr: Double?) -> GenerationRecord {
            GenerationRecord(method: m, line: line, seed: 1, prompt: "p", video: "v.mp4",
                             process: ChildProcessReport(exitStatus: 0, wallSeconds: 1, userSeconds: 1, systemSeconds: 0,
                                                         peakRSSBytes: 1),
                             timings: .init(encode: 0, denoise: 1, decode: 0, total: 1), scores: [], psnr: psnr, ssim: psnr)
        }
        for r in [record("std", 1, psnr: nil), record("x3", 1, psnr: .infinity), record("x3", 2, psnr: 20)] {
            try layout.append(r)
        }
        let earlier = try layout.readRuns()
        #expect(earlier.count == 3 && earlier["x3/1"]?.psnr == .infinity && earlier["std/1"]?.psnr == nil)
        try layout.rewriteRuns(earlier, updatedWith: [record("x3", 2, psnr: 25)])
        let again = try layout.readRuns()
        #expect(again.count == 3 && again["x3/2"]?.psnr == 25 && again["x3/1"]?.psnr == .infinity)
        #expect(try String(contentsOfFile: layout.runs, encoding: .utf8).split(separator: "\n").count == 3)
    }

    // MARK: Summary

    /// Speed-ups are std's mean over the method's mean; accuracy pools all attributes; PSNR and
    /// SSIM average over prompts and are absent for std; infinite PSNR is written as "inf".
    @Test func summarisesPerMethod() throws {
        let context = PlanContext()
        func setup(_ m: ComparisonMethod) throws -> (ComparisonMethod, MethodSetup) {
            let plan = try m.plan(context: context)
            return (m, MethodSetup(plan: plan, cost: try plan.cost(base: context.base, transformer: .defaultModel,
                                                                   passesPerCall: 2)))
        }
        func record(_ m: ComparisonMethod, wall: Double, denoise: Double, correct: Bool, psnr: Double?) -> GenerationRecord {
            GenerationRecord(
                method: m.rawValue, line: 1, seed: 1, prompt: "p", video: "v.mp4",
                process: ChildProcessReport(exitStatus: 0, wallSeconds: wall, userSeconds: 0, systemSeconds: 0,
                                            peakRSSBytes: 100 << 20),
                timings: .init(encode: 0, denoise: denoise, decode: 0, total: wall),
                scores: [AttributeScore(kind: .background, object: nil, expected: "gray", detected: "gray", correct: true),
                         AttributeScore(kind: .color, object: 0, expected: "red", detected: "blue", correct: correct)],
                psnr: psnr, ssim: psnr.map { _ in 0.9 })
        }
        let records = [record(.standard, wall: 12, denoise: 10, correct: true, psnr: nil),
                       record(.standard, wall: 8, denoise: 6, correct: true, psnr: nil),
                       record(.x3, wall: 5, denoise: 3, correct: false, psnr: 30),
                       record(.x3, wall: 5, denoise: 3, correct: true, psnr: .infinity)]
        let report = BenchGenerateReport(
            settings: .init(frames: 129, width: 128, height: 128, steps: 50, cfg: 6, crf: 0, threads: 2, pipeline: "p"),
            blasCore: "Zen", prompts: 2, setups: [try setup(.standard), try setup(.x3)], records: records)
        let std = report.methods[0], x3 = report.methods[1]
        #expect(std.wallSpeedup == 1 && std.psnrMean == nil && std.accuracy == 1)
        #expect(x3.wallSpeedup == 2 && abs(x3.denoiseSpeedup - 8.0 / 3) < 1e-12)
        #expect(x3.accuracy == 0.75 && x3.accuracyPerAttribute["color"] == 0.5)
        #expect(x3.psnrMean == .infinity && x3.ssimMean == 0.9)
        #expect(abs(x3.flopsSpeedup - 3) < 0.15 && x3.stages == 3)
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        #expect(json.contains("\"psnr_mean\" : \"inf\"") && json.contains("\"flops_speedup\""))
        let md = report.markdown()
        #expect(md.contains("| method | stages | calls | GFLOP | FLOPs speed-up |"))
        #expect(md.contains("| x3 | 3 |") && md.contains("| ×2.00 |") && md.contains("| inf | 0.9000 |"))
    }
}
