import ArgumentParser
import Benchmarks
import Diagnostics
import Evaluation
import Foundation
import Sampling

/// The settings every method of one `bench generate` run shares.
struct BenchGenerateSettings: Codable, Equatable {
    var frames: Int, width: Int, height: Int, steps: Int
    var cfg: Float
    var crf: Int
    var threads: Int
    var pipeline: String
}

/// One video: which method and prompt, what the child process cost, how it scored.
struct GenerationRecord: Codable, Equatable {
    var method: String
    var line: Int
    var seed: UInt64
    var prompt: String
    /// Relative to the output folder.
    var video: String
    var process: ChildProcessReport
    /// The child's own stage timings (text encoding, denoising, VAE decode, total), seconds.
    var timings: StageTimingsLog.Timings
    var scores: [AttributeScore]
    /// Against the standard video of the same seed; nil for the standard video itself.
    var psnr: Double?
    var ssim: Double?
}

/// The output folder: `plans/M.json`, `videos/M/NNNN_SEED.mp4`, `logs/M/NNNN.log`,
/// `manifests/M.jsonl`, `runs.jsonl`, `results.json`.
struct BenchLayout {
    var root: String

    func plan(_ m: ComparisonMethod) -> String { "\(root)/plans/\(m.rawValue).json" }
    func video(_ m: ComparisonMethod, item: HeldOutPrompt) -> String {
        "\(root)/videos/\(m.rawValue)/\(String(format: "%04d", item.line))_\(item.seed).mp4"
    }
    func log(_ m: ComparisonMethod, item: HeldOutPrompt) -> String {
        "\(root)/logs/\(m.rawValue)/\(String(format: "%04d", item.line)).log"
    }
    func manifest(_ m: ComparisonMethod) -> String { "\(root)/manifests/\(m.rawValue).jsonl" }
    var runs: String { "\(root)/runs.jsonl" }
    var results: String { "\(root)/results.json" }

    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// Creates the folders and, for a new run, an empty `runs.jsonl`.
    func create(methods: [ComparisonMethod], startingRuns: Bool) throws {
        let fm = FileManager.default
        for sub in ["plans", "manifests"] + methods.flatMap({ ["videos/\($0.rawValue)", "logs/\($0.rawValue)"] }) {
            try fm.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        if startingRuns { try Data().write(to: URL(fileURLWithPath: runs)) }
    }

    /// After `--rescore`: `runs.jsonl` with the re-scored records in place of their earlier
    /// versions; records of other methods and prompts are kept.
    func rewriteRuns(_ earlier: [String: GenerationRecord], updatedWith records: [GenerationRecord]) throws {
        var all = earlier
        for r in records { all[Self.key(r.method, r.line)] = r }
        let encoder = BenchGenerateReport.encoder(pretty: false)
        var out = Data()
        for r in all.values.sorted(by: { ($0.line, $0.method) < ($1.line, $1.method) }) {
            out += try encoder.encode(r) + Data("\n".utf8)
        }
        try out.write(to: URL(fileURLWithPath: runs), options: .atomic)
    }

    static func key(_ method: String, _ line: Int) -> String { "\(method)/\(line)" }

    /// The records of an earlier run (`--rescore`), by method and prompt line; the last record
    /// of a pair wins.
    func readRuns() throws -> [String: GenerationRecord] {
        let text: String
        do { text = try String(contentsOfFile: runs, encoding: .utf8) } catch {
            throw ValidationError("\(runs): cannot read the earlier run to re-score: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var out: [String: GenerationRecord] = [:]
        for (i, line) in text.split(separator: "\n").enumerated() {
            do {
                let r = try decoder.decode(GenerationRecord.self, from: Data(line.utf8))
                out[Self.key(r.method, r.line)] = r
            } catch {
                throw ValidationError("\(runs):\(i + 1): not a run record: \(error)")
            }
        }
        return out
    }

    /// Appends one record to `runs.jsonl` as soon as it exists, so an interrupted run keeps its
    /// finished measurements.
    func append(_ record: GenerationRecord) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: runs))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: try BenchGenerateReport.encoder(pretty: false).encode(record) + Data("\n".utf8))
    }

    /// An evaluation manifest (`bottleneck evaluate`) of one method's videos, paths relative to
    /// `manifests/`.
    func writeManifest(_ m: ComparisonMethod, items: [HeldOutPrompt], records: [GenerationRecord]) throws {
        struct Line: Encodable { var prompt: String; var video: String; var attributes: SceneAttributes }
        let encoder = BenchGenerateReport.encoder(pretty: false)
        var out = Data()
        for (item, r) in zip(items, records) {
            out += try encoder.encode(Line(prompt: item.prompt, video: "../" + r.video, attributes: item.attributes))
            out += Data("\n".utf8)
        }
        try out.write(to: URL(fileURLWithPath: manifest(m)))
    }
}

/// Per-method summary over all prompts, and its JSON, text and Markdown forms.
struct BenchGenerateReport: Encodable {
    struct MethodSummary: Encodable, Equatable {
        var method: String
        var title: String
        var stages: Int
        var modelCalls: Int
        var planGFLOPs: Double
        var standardGFLOPs: Double
        /// Counted transformer FLOPs: standard / method.
        var flopsSpeedup: Double
        var videos: Int
        var wallSecondsMean: Double
        var denoiseSecondsMean: Double
        /// Mean wall (whole child process) of std / of this method.
        var wallSpeedup: Double
        /// Mean denoising time of std / of this method.
        var denoiseSpeedup: Double
        var peakRSSBytesMax: Int
        /// Analyzer accuracy over all attributes of all prompts, and per attribute kind.
        var accuracy: Double
        var accuracyPerAttribute: [String: Double]
        /// Means over prompts against std; nil for std.
        var psnrMean: Double?
        var ssimMean: Double?

        enum CodingKeys: String, CodingKey {
            case method, title, stages, videos, accuracy
            case modelCalls = "model_calls", planGFLOPs = "plan_gflops", standardGFLOPs = "standard_gflops"
            case flopsSpeedup = "flops_speedup", wallSecondsMean = "wall_seconds_mean"
            case denoiseSecondsMean = "denoise_seconds_mean", wallSpeedup = "wall_speedup"
            case denoiseSpeedup = "denoise_speedup", peakRSSBytesMax = "peak_rss_bytes_max"
            case accuracyPerAttribute = "accuracy_per_attribute", psnrMean = "psnr_mean", ssimMean = "ssim_mean"
        }
    }

    var settings: BenchGenerateSettings
    var blasCore: String
    var prompts: Int
    var methods: [MethodSummary]
    var runs: [GenerationRecord]

    enum CodingKeys: String, CodingKey {
        case settings, prompts, methods, runs
        case blasCore = "blas_core"
    }

    /// Summarises `records` per method; std must be among them (it is the reference).
    init(settings: BenchGenerateSettings, blasCore: String, prompts: Int,
         setups: [(ComparisonMethod, MethodSetup)], records: [GenerationRecord]) {
        self.settings = settings
        self.blasCore = blasCore
        self.prompts = prompts
        self.runs = records
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
        let std = records.filter { $0.method == ComparisonMethod.standard.rawValue }
        let stdWall = mean(std.map(\.process.wallSeconds)), stdDenoise = mean(std.map(\.timings.denoise))
        methods = setups.map { m, setup in
            let rs = records.filter { $0.method == m.rawValue }
            let accuracy = AccuracyReport(rs.map(\.scores))
            let wall = mean(rs.map(\.process.wallSeconds)), denoise = mean(rs.map(\.timings.denoise))
            return MethodSummary(
                method: m.rawValue, title: m.title, stages: setup.plan.stages.count,
                modelCalls: setup.cost.stages.reduce(0) { $0 + $1.modelCalls },
                planGFLOPs: setup.cost.planFLOPs / 1e9, standardGFLOPs: setup.cost.standardFLOPs / 1e9,
                flopsSpeedup: setup.cost.speedup, videos: rs.count, wallSecondsMean: wall,
                denoiseSecondsMean: denoise, wallSpeedup: stdWall / wall, denoiseSpeedup: stdDenoise / denoise,
                peakRSSBytesMax: rs.map(\.process.peakRSSBytes).max() ?? 0, accuracy: accuracy.overall,
                accuracyPerAttribute: accuracy.perAttribute.mapValues(\.accuracy),
                psnrMean: m == .standard ? nil : mean(rs.compactMap(\.psnr)),
                ssimMean: m == .standard ? nil : mean(rs.compactMap(\.ssim)))
        }
    }

    /// JSON with `inf` for the PSNR of identical videos (JSON has no infinity).
    static func encoder(pretty: Bool) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    func jsonData() throws -> Data { try Self.encoder(pretty: true).encode(self) }

    static let header = ["method", "stages", "calls", "GFLOP", "FLOPs speed-up", "wall s", "wall speed-up",
                         "denoise s", "denoise speed-up", "peak RSS MiB", "accuracy", "PSNR dB", "SSIM"]

    /// One row of cells per method, formatted for both tables.
    func cells() -> [[String]] {
        func f(_ x: Double, _ digits: Int) -> String { x.isFinite ? String(format: "%.\(digits)f", x) : (x > 0 ? "inf" : "n/a") }
        return methods.map { s in
            [s.method, "\(s.stages)", "\(s.modelCalls)", f(s.planGFLOPs, 1), "×" + f(s.flopsSpeedup, 2),
             f(s.wallSecondsMean, 2), "×" + f(s.wallSpeedup, 2), f(s.denoiseSecondsMean, 2), "×" + f(s.denoiseSpeedup, 2),
             f(Double(s.peakRSSBytesMax) / 1_048_576, 0), f(s.accuracy, 3),
             s.psnrMean.map { f($0, 2) } ?? "ref", s.ssimMean.map { f($0, 4) } ?? "ref"]
        }
    }

    var caption: String {
        "\(prompts) prompt(s), \(settings.frames) frames \(settings.width)×\(settings.height), \(settings.steps) steps, "
            + "CFG \(settings.cfg), CRF \(settings.crf), \(settings.threads) threads, OpenBLAS \(blasCore); "
            + "means over prompts, PSNR/SSIM (luma, Gaussian 11×11) against std of the same seed"
    }

    func markdown() -> String {
        var t = caption + "\n\n| " + Self.header.joined(separator: " | ") + " |\n"
        t += "|" + String(repeating: "---|", count: Self.header.count) + "\n"
        for row in cells() { t += "| " + row.joined(separator: " | ") + " |\n" }
        return t
    }

    func text() -> String {
        let rows = [Self.header] + cells()
        let widths = (0..<Self.header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        var t = caption + "\n"
        for row in rows {
            t += zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ") + "\n"
        }
        return t
    }
}
