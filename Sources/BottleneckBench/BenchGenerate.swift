import ArgumentParser
import Benchmarks
import Bottleneck
import Diagnostics
import Evaluation
import Foundation
import Models
import Sampling
import Tensor

extension BottleneckBench {
    /// `bottleneck-bench generate`: the paper's comparison tables (arXiv 2503.18940 Tables 1–3
    /// and 7) on our own pipeline, end to end.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "generate",
            abstract: "Compare sampling methods end to end: latency, FLOPs, peak RSS, accuracy, PSNR/SSIM.",
            discussion: """
                Every method runs as its own `bottleneck generate` child process per prompt, with \
                the prompt's seed, so wall time and peak RSS (wait4 ru_maxrss) are per method. \
                Quality: the shapes-world analyzer's accuracy (as `bottleneck evaluate`) and PSNR / \
                SSIM against the standard video of the same seed. OUTPUT keeps plans/, videos/, \
                logs/, manifests/ (re-score with `bottleneck evaluate OUTPUT/manifests/x3.jsonl`), \
                runs.jsonl (one record per video) and results.json (the summary, as --json prints).
                """)

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Folder for plans, videos, logs and results.", valueName: "dir"))
        var output: String

        @Option(help: ArgumentHelp("Held-out prompts, JSONL with prompt, attributes and seed.", valueName: "file"))
        var prompts = "samples/heldout_prompts.jsonl"

        @Option(help: ArgumentHelp("Use only the first n prompts (default: all).", valueName: "n"))
        var count: Int?

        @Option(help: ArgumentHelp("Comma-separated methods, or all (the default: \(ComparisonMethod.allCases.map(\.rawValue).joined(separator: ", "))); std is always run.",
                                   valueName: "list"),
                transform: { text in
                    do { return try ComparisonMethod.list(parsing: text) } catch { throw ValidationError("\(error)") }
                })
        var methods: [ComparisonMethod] = ComparisonMethod.allCases

        @Option(help: "Frames, 4k + 1.") var frames = 129
        @Option(help: "Width in pixels, a multiple of 16.") var width = 128
        @Option(help: "Height in pixels, a multiple of 16.") var height = 128
        @Option(help: "Steps of standard sampling; every plan is derived for and compared with it.") var steps = 50
        @Option(help: "Guidance scale (two transformer passes per step when above 1; default: the pipeline's, else 6).")
        var cfg: Float?
        @Option(help: "H.264 CRF of the kept videos; 0 (lossless) keeps x264 out of PSNR and SSIM.") var crf = 0
        @Option(help: "Kernel and gemm threads of each generation.") var threads = 2

        @Option(help: ArgumentHelp("Pipeline folder (default: as for generate).", valueName: "dir"))
        var pipeline: String?

        @Option(help: ArgumentHelp("World spec for the analyzer (default: the pipeline's world_spec.json).", valueName: "file"))
        var spec: String?

        @Flag(help: ArgumentHelp("Score the videos already in the output folder again, with the times in its runs.jsonl; generate nothing.",
                                 discussion: "Give the same flags as the run that made them."))
        var rescore = false

        @Flag(help: "Print the summary as JSON on stdout instead of a table.")
        var json = false

        @Option(help: ArgumentHelp("Also write the table as Markdown to this file.", valueName: "file"))
        var markdown: String?

        func validate() throws {
            // Every method, std included, runs from a plan file, and a plan needs a step per stage.
            if (1..<3).contains(steps) { throw ValidationError("--steps must be at least 3 for bench generate, got \(steps)") }
            do { try probeRequest.validate() } catch let error as RequestError { throw ValidationError(error.optionMessage) }
            if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        }

        /// The settings as one `generate` request, so they are checked by the rules every child
        /// applies. Bottleneck off, as for std: each method's plan is checked by `setups`.
        var probeRequest: GenerationRequest {
            var r = GenerationRequest(prompt: "probe")
            (r.frames, r.width, r.height, r.steps) = (frames, width, height, steps)
            (r.bottleneck, r.crf, r.threads) = (.preset(.off), crf, threads)
            if let cfg { r.cfgScale = cfg }
            return r
        }

        /// The methods to run: std first (the reference for speed-ups, PSNR and SSIM), then the
        /// others in the order given.
        var runOrder: [ComparisonMethod] { [.standard] + methods.filter { $0 != .standard } }

        func run() throws {
            let log = Log(level: .info)
            let folder = try PipelineFolder.locate(explicit: pipeline)
            let cfg = try cfg ?? folder.defaultGuidance() ?? probeRequest.cfgScale  // as generate resolves it
            let settings = BenchGenerateSettings(frames: frames, width: width, height: height, steps: steps,
                                                 cfg: cfg, crf: crf, threads: threads, pipeline: folder.path)
            let methodsRun = runOrder
            if !methods.contains(.standard) { log.info("adding std: it is the reference for speed-ups, PSNR and SSIM") }

            // 1. Plans and their counted FLOPs, before anything runs, so a method that cannot be
            //    derived for these settings fails at once.
            let layout = BenchLayout(root: output)
            try layout.create(methods: methodsRun, startingRuns: !rescore)
            let rows = try setups(methodsRun, context: planContext(folder: folder), cfg: cfg, layout: layout, log: log)

            // 2. Prompts and the analyzer; with --rescore, the earlier records of every video.
            let items = try HeldOutPrompt.read(path: prompts, count: count)
            let earlier = rescore ? try layout.readRuns() : [:]
            for item in items where rescore {
                for m in methodsRun where earlier[BenchLayout.key(m.rawValue, item.line)] == nil {
                    throw BenchmarkError(.missingRun(method: m.rawValue, line: item.line, runs: layout.runs))
                }
            }
            let world = try WorldSpec(contentsOf: spec ?? folder.path + "/world_spec.json")
            let analyzer = SceneAnalyzer(spec: world)
            let executable = BottleneckBench.productExecutable

            // 3. Every prompt through every method; score as soon as a prompt's videos exist.
            var records: [GenerationRecord] = []
            let total = items.count * methodsRun.count
            for item in items {
                var reference: RGBClip?
                for m in methodsRun {
                    let setup = rows[m]!
                    let video = layout.video(m, item: item)
                    let logFile = layout.log(m, item: item)
                    let child: ChildProcessReport, timings: StageTimingsLog.Timings
                    if rescore, let run = earlier[BenchLayout.key(m.rawValue, item.line)] {
                        (child, timings) = (run.process, run.timings)
                    } else {
                        let arguments = childArguments(item: item, video: video, plan: layout.plan(m), setup: setup, cfg: cfg,
                                                       pipeline: folder.path)
                        child = try ChildProcess.run(executable: executable, arguments: arguments, standardError: logFile)
                        guard child.exitStatus == 0 else {
                            throw BenchmarkError(.childFailed(method: m.rawValue, line: item.line,
                                                                  status: child.exitStatus, log: logFile))
                        }
                        timings = try StageTimingsLog.read(logFile)
                    }
                    let clip = try RGBClip(videoAt: video)
                    let scores = SceneScorer.score(expected: item.attributes, detected: analyzer.analyze(clip))
                    let similarity = try reference.map { try VideoSimilarity.compare(clip, reference: $0, source: video) }
                    if m == .standard { reference = clip }
                    let record = GenerationRecord(
                        method: m.rawValue, line: item.line, seed: item.seed, prompt: item.prompt,
                        video: layout.relative(video), process: child, timings: timings,
                        scores: scores, psnr: similarity?.psnr, ssim: similarity?.ssim)
                    if !rescore { try layout.append(record) }
                    records.append(record)
                    log.info(String(format: "[%d/%d] line %d %@: %.1f s wall, peak RSS %.0f MiB, %d/%d attributes%@",
                                    records.count, total, item.line, m.rawValue, child.wallSeconds,
                                    Double(child.peakRSSBytes) / 1_048_576, scores.filter(\.correct).count, scores.count,
                                    similarity.map { String(format: ", PSNR %.2f dB, SSIM %.4f", $0.psnr, $0.ssim) } ?? ""))
                }
            }

            // 4. Manifests for `bottleneck evaluate`, the summary, the outputs.
            if rescore { try layout.rewriteRuns(earlier, updatedWith: records) }
            for m in methodsRun {
                try layout.writeManifest(m, items: items, records: records.filter { $0.method == m.rawValue })
            }
            let report = BenchGenerateReport(settings: settings, blasCore: BLAS.coreName, prompts: items.count,
                                             setups: methodsRun.map { ($0, rows[$0]!) }, records: records)
            let data = try report.jsonData()
            try data.write(to: URL(fileURLWithPath: layout.results))
            if let markdown { try report.markdown().write(toFile: markdown, atomically: true, encoding: .utf8) }
            FileHandle.standardOutput.write(json ? data + Data("\n".utf8) : Data(report.text().utf8))
        }

        /// Each method's plan (also written to `plans/`) and its cost with one or two passes per
        /// step (CFG).
        func setups(_ methods: [ComparisonMethod], context: PlanContext, cfg: Float, layout: BenchLayout,
                    log: Log) throws -> [ComparisonMethod: MethodSetup] {
            var rows: [ComparisonMethod: MethodSetup] = [:]
            for m in methods {
                do {
                    let plan = try m.plan(context: context)
                    let cost = try plan.cost(base: context.base, transformer: context.transformer,
                                             passesPerCall: cfg > 1 ? 2 : 1)
                    try plan.write(to: URL(fileURLWithPath: layout.plan(m)))
                    rows[m] = MethodSetup(plan: plan, cost: cost)
                    // Reading B floors N_i·(1 − w_i): with few steps a later stage starts at σ = 1,
                    // i.e. from pure noise, and the stages before it cannot influence the video.
                    let stages = try plan.resolved(base: context.base, patch: context.transformer.patch)
                    for st in stages.dropFirst() where plan.ablations.renoise && st.sigmas[0] >= 1 {
                        log.warning("method \(m.rawValue): stage \(st.index) restarts from pure noise (σ = 1) at "
                                    + "--steps \(steps); the stages before it do not affect the video (use more steps)")
                    }
                } catch let e as SamplingError {
                    throw ValidationError("method \(m.rawValue) at \(frames) frames, \(width)×\(height), \(steps) steps: \(e)")
                }
            }
            return rows
        }

        /// The plan context of the pipeline's transformer and scheduler at these settings.
        func planContext(folder: PipelineFolder) throws -> PlanContext {
            let base = LatentSize(videoFrames: frames, width: width, height: height)
            let cost = try folder.transformerConfiguration().cost(textTokens: BottleneckPipeline.textTokens)
            return PlanContext(base: base, transformer: cost, baseSteps: steps,
                               baseShift: try folder.schedulerShift(imageTokens: cost.patch.tokens(base)))
        }

        /// `bottleneck generate` flags for one method and prompt; the plan file carries the
        /// method, `--steps` only labels the video's metadata with the plan's nominal steps.
        func childArguments(item: HeldOutPrompt, video: String, plan: String, setup: MethodSetup, cfg: Float,
                            pipeline: String) -> [String] {
            ["generate", item.prompt, "-o", video, "--seed", String(item.seed), "--frames", String(frames),
             "--width", String(width), "--height", String(height),
             "--steps", String(setup.plan.stages.reduce(0) { $0 + $1.steps }), "--bottleneck", plan,
             "--cfg", String(cfg), "--crf", String(crf), "--threads", String(threads),
             "--pipeline", pipeline, "--progress", "json"]
        }
    }
}

/// A method's plan and its counted cost at the bench settings.
struct MethodSetup {
    var plan: BottleneckPlan
    var cost: PlanCost
}

/// One line of the held-out prompt file: `{"prompt", "attributes", "seed", …}`.
struct HeldOutPrompt: Decodable {
    var prompt: String
    var attributes: SceneAttributes
    var seed: UInt64
    /// 1-based line in the prompt file (set after decoding).
    var line = 0

    enum CodingKeys: String, CodingKey { case prompt, attributes, seed }

    /// The first `count` prompts of `path` (all when nil); a bad line is an error naming it.
    static func read(path: String, count: Int?) throws -> [HeldOutPrompt] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("\(path): cannot read the prompt file: \(error.localizedDescription)")
        }
        var out: [HeldOutPrompt] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let count, out.count == count { break }
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                var p = try JSONDecoder().decode(HeldOutPrompt.self, from: Data(line.utf8))
                p.line = i + 1
                out.append(p)
            } catch {
                throw ValidationError("\(path):\(i + 1): not a {prompt, attributes, seed} object: \(error)")
            }
        }
        guard !out.isEmpty else { throw ValidationError("\(path): no prompts") }
        return out
    }
}

/// The `finished` event of a child's `--progress json` stderr: its stage timings.
enum StageTimingsLog {
    struct Timings: Codable, Equatable {
        var encode: Double, denoise: Double, decode: Double, total: Double
    }
    private struct Event: Decodable {
        var event: String
        var timings: Timings?
    }

    static func read(_ path: String) throws -> Timings {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n").reversed() where line.hasPrefix("{") {
            if let e = try? JSONDecoder().decode(Event.self, from: Data(line.utf8)), e.event == "finished",
               let t = e.timings {
                return t
            }
        }
        throw BenchmarkError(.noTimings(log: path))
    }
}
