import ArgumentParser
import Bottleneck
import CommandLineTool
import Diagnostics
import Foundation
import Tensor

extension Bottleneck {
    /// `bottleneck batch PROMPTS -o DIR`: many videos (or FLUX.1 images), models loaded once, resumable.
    struct Batch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a video (an image on a FLUX.1 folder) for every prompt in a .txt, .jsonl "
                + "or .csv file.",
            discussion: """
            .txt: one prompt per line, # comments. .jsonl: {"prompt": …, "seed": …, "negative_prompt": …, \
            "frames": …, "width": …, "height": …, "steps": …, "bottleneck": …, "output": …} per line. \
            .csv: a header row with the same column names. Bad lines are reported and skipped. \
            On a FLUX.1 folder every item is one image with generate's defaults \
            (\(SamplingOptions.image.width)x\(SamplingOptions.image.height), guidance \
            \(SamplingOptions.image.cfgScale)), named \(NameTemplate.default(for: .flux)) unless \
            --name-template says otherwise; a line whose frames is not 1 is skipped. \
            Every item is recorded in DIR/manifest.jsonl; --resume skips items recorded done whose file still has \
            the recorded size and settings, and makes the others again. Seeds of items without one derive from \
            --seed and the item's index, so shards and resumes agree; --shard auto takes the shard from a Slurm \
            job array or a Kubernetes Indexed Job, and `bottleneck batch-merge` reports on the shards together. One batch writes a folder at a time \
            (the shards of one list together); another is refused.
            """)

        @Argument(help: "Prompt file (.txt, .jsonl or .csv).")
        var prompts: String

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output folder (created if missing).", valueName: "dir"))
        var output: String

        @Flag(help: "Continue an interrupted batch: skip items the manifest records as done, if unchanged.")
        var resume = false

        @Option(parsing: .unconditional,
                help: ArgumentHelp("Run only items with index % N == I-1, 1 <= I <= N <= \(Shard.maxCount) "
                                   + "(1-based, e.g. 2/4); auto or auto/N: from a Slurm job array or a "
                                   + "Kubernetes Indexed Job (Docs/scale-out.md).", valueName: "I/N|auto[/N]"),
                transform: { text in
                    do { return try ShardChoice(parsing: text) } catch { throw ValidationError("\(error)") }
                })
        var shard: ShardChoice?

        @Option(name: .customLong("name-template"),
                help: ArgumentHelp("File names; tokens {index}, {index:04}, {seed}, {slug}, {hash} (default: "
                                   + "\(NameTemplate.default), on a FLUX.1 folder "
                                   + "\(NameTemplate.default(for: .flux))).",
                                   valueName: "template"))
        var nameTemplate: String?

        /// `--queue-capacity`: frame batches held between decoder and muxer (each is 16 frames).
        static let queueCapacityBound = IntegerBound(1...64)
        /// `--lanes`: items denoised at once (each holds a transformer's activations).
        static let lanesBound = IntegerBound(1...8)

        @Option(name: .customLong("queue-capacity"), parsing: .unconditional,
                help: ArgumentHelp("Frame batches buffered between decoder and muxer, "
                                   + "\(Self.queueCapacityBound.summary) (default: 2).", valueName: "n"),
                transform: Self.queueCapacityBound.argument)
        var queueCapacity: Int = 2

        @Option(name: .customLong("lanes"), parsing: .unconditional,
                help: ArgumentHelp("Items denoised at the same time, \(Self.lanesBound.summary) (default: 1; "
                                   + "a guided denoising already keeps two cores busy).", valueName: "n"),
                transform: Self.lanesBound.argument)
        var lanes: Int = 1

        @OptionGroup var model: ModelOptions
        @OptionGroup var sampling: SamplingOptions
        @OptionGroup var bottleneck: BottleneckOptions
        @OptionGroup var outputOptions: OutputOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let nameTemplate {
                do { _ = try NameTemplate(nameTemplate) } catch { throw ValidationError("\(error)") }
            }
            if shard != nil, sampling.seed == nil {
                throw ValidationError("--shard needs --seed so every shard derives the same seeds")
            }
            _ = try resolvedShard()
            if outputOptions.saveLatents != nil || outputOptions.preview != nil {
                throw ValidationError("--save-latents and --preview name one file; they are not available in batch")
            }
            // As `generate`: a folder whose model_index.json is wrong is left to `run`, which names it.
            if let kind = model.pipelineKind { _ = try baseRequest(kind: kind) }
        }

        /// The shard this process runs (`--shard auto` reads the job array's variables), and
        /// where `auto` found it; a variable that is missing, not a number or contradicts
        /// another is a usage error (exit 64) naming it.
        func resolvedShard() throws -> (shard: Shard, assignment: ShardAssignment?)? {
            do throws(ShardEnvironmentError) {
                return try shard?.resolve(environment: ProcessInfo.processInfo.environment)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        /// `--name-template`, else the default for the pipeline's `kind` (`….png` for FLUX.1).
        func template(kind: PipelineKind) throws -> NameTemplate {
            try NameTemplate(nameTemplate ?? NameTemplate.default(for: kind))
        }

        /// Batch-wide defaults on a pipeline of `kind` (else the folder's): its defaults, the
        /// ones `generate` starts from (`makeRequest`; one 1024² image for FLUX.1), then the
        /// flags, validated with a stand-in prompt and output name.
        func baseRequest(kind: PipelineKind? = nil) throws -> GenerationRequest {
            let kind = kind ?? model.pipelineKind ?? .hunyuanVideo
            let probe = (try? template(kind: kind))?.render(index: 0, seed: 0, prompt: "probe")
                ?? "probe." + kind.defaultExtension
            return try makeRequest(prompt: "probe", output: .file(probe), model: model, sampling: sampling,
                                   bottleneck: bottleneck, outputOptions: outputOptions, kind: kind)
        }

        func run() async throws {
            let log = logging.log
            let file = try PromptFile.load(path: prompts)
            for issue in file.issues { log.warning("\(issue) (skipped)") }
            do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
                throw RequestError(.unusableOutput(option: "output", reason: "cannot create the folder \(output): "
                                                   + FileErrorText.reason(error)), field: "output")
            }
            let resolved = try resolvedShard()
            let shard = resolved?.shard
            if let assignment = resolved?.assignment { log.info("\(assignment)") }
            let lock = try BatchFolderLock(folder: output, shard: shard)
            defer { withExtendedLifetime(lock) {} }
            let pipeline = try PipelineFolder.locate(explicit: model.pipeline)
            let kind = try pipeline.kind()

            var settings = BatchSettings(base: try baseRequest(kind: kind), outputDirectory: output,
                                         nameTemplate: try template(kind: kind), baseSeed: 0,
                                         shard: shard, shardSource: resolved?.assignment?.source, resume: resume,
                                         pipeline: pipeline.displayName, kind: kind)
            var records: [ManifestRecord] = []
            if resume {
                let (read, problems) = try ManifestReader.read(path: settings.manifestPath)
                for p in problems { log.warning("\(p)") }
                records = read
            }
            if let seed = sampling.seed {
                settings.baseSeed = seed
            } else if resume, let recorded = BatchPlanner.recordedBaseSeed(in: records, promptFile: prompts) {
                settings.baseSeed = recorded
            } else {
                var g = SystemRandomNumberGenerator()
                settings.baseSeed = g.next()
            }
            log.info("base seed \(settings.baseSeed)\(shard.map { ", shard \($0)" } ?? "")")

            let plan = BatchPlanner.plan(file, settings: settings, manifest: records,
                                         prepare: try itemPreparation(pipeline: pipeline))
            for issue in plan.invalid where !file.issues.contains(issue) { log.warning("\(issue) (skipped)") }
            for item in plan.redone { log.warning("\(item)") }
            for path in plan.livePartials {
                log.warning("\(path) is being written by another running process; left alone")
            }
            log.info("\(plan.toRun.count) to generate, \(plan.alreadyDone.count) already done, \(plan.invalid.count) skipped")

            let manifest = try ManifestWriter(path: settings.manifestPath)
            let summary: BatchSummary
            if plan.toRun.isEmpty {
                summary = try await BatchExecution.run(plan, settings: settings, promptFile: prompts, runner: nil,
                                                       manifest: manifest)
            } else {
                Threads.configure(model.threads ?? ProcessInfo.processInfo.activeProcessorCount)
                let runner = try BottleneckPipeline.load(pipeline, log: log)
                    .runner(frameQueueCapacity: queueCapacity, denoisingLanes: lanes)
                let renderer = ProgressRenderer(style: logging.progress, log: log)
                let frozen = settings
                summary = try await Interrupt.run(log: log) {
                    try await BatchExecution.run(plan, settings: frozen, promptFile: prompts, runner: runner,
                                                 manifest: manifest, onEvent: renderer.render)
                }
                renderer.finish()
            }
            log.info("done \(summary.done), failed \(summary.failed), skipped \(summary.skipped), "
                     + "already done \(summary.alreadyDone); manifest \(settings.manifestPath)")
            if summary.failed > 0 || summary.skipped > 0 { throw ExitCode.failure }
        }

        /// What every item goes through before any model loads, so an item that cannot run is
        /// skipped up front (reported with its line, recorded `skipped`) while the others run:
        /// a plan file sets its steps (`takeStepsFromFixedPlan`; the explicit steps are the
        /// line's `steps`, else `--steps`), then its plan must fit its size and steps on this
        /// pipeline (`PlanFit`, as `generate` checks), and the item must fit this machine
        /// (`ResourceFit`, with its decode beside the next item's denoising). A `--guidance` the
        /// transformer cannot take fails the whole batch first, as in `generate`.
        func itemPreparation(pipeline: PipelineFolder) throws -> BatchPlanner.Preparation {
            let fit = try PlanFit(pipeline: pipeline)
            try sampling.checkGuidance(takesGuidance: fit.takesGuidance)
            let resources = try ResourceFit(pipeline: pipeline)
            let (flagSteps, lanes, queueCapacity, log) = (sampling.steps, lanes, queueCapacity, logging.log)
            return { request, entry throws(PromptLineProblem) in
                do {
                    try request.takeStepsFromFixedPlan(explicit: entry.overrides.steps ?? flagSteps)
                    let stages = try fit.check(request)
                    let estimate = try resources.check(request, stages: stages, lanes: lanes, frameQueueCapacity: queueCapacity)
                    log.debug("line \(entry.line): \(resources.describe(estimate))")  // --verbose, as generate
                } catch let error as RequestError {
                    throw .invalidRequest(error)
                } catch let error as ResourceShortage {
                    throw .exceedsMachine(error)
                } catch {
                    throw .badValue(key: "bottleneck", message: "\(error)")
                }
            }
        }
    }
}
