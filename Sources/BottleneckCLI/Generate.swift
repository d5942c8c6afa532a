import ArgumentParser
import Bottleneck
import Foundation
import Sampling
import Tensor

extension Bottleneck {
    /// `bottleneck generate PROMPT -o out.mp4`: one video from one prompt.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate one video from a text prompt.",
            discussion: "Use -o - with --format (mp4, webm, mkv, y4m, nut, rawvideo) to stream to stdout; logs and progress go to stderr. PNG frames go to a folder: -o frames/ writes frames/frames_0001.png, …. A FLUX.1 folder makes one image: -o image.png (the default name ends in .png), or a one-frame video with -o image.mp4.")

        @Argument(help: "The text prompt.")
        var prompt: String

        @Option(name: [.short, .customLong("output"), .customLong("save-path")],
                help: ArgumentHelp("Output file, folder for PNG frames (frames/), or - for stdout "
                                   + "(default: {seed}_{slug}.mp4; .png for an image model).", valueName: "file"))
        var output: String?

        @OptionGroup var model: ModelOptions
        @OptionGroup var sampling: SamplingOptions
        @OptionGroup var bottleneck: BottleneckOptions
        @OptionGroup var outputOptions: OutputOptions
        @OptionGroup var logging: LoggingOptions

        /// Checks the flags against the folder's kind; a folder whose `model_index.json` is
        /// wrong is left to `run`, which names it.
        func validate() throws {
            if let kind = model.pipelineKind { _ = try request(kind: kind) }
        }

        /// The library request for these flags on a pipeline of `kind` (its defaults: one
        /// 1024² image named `….png` for FLUX.1), with a seed drawn when none was given.
        func request(kind: PipelineKind? = nil) throws -> GenerationRequest {
            let kind = kind ?? model.pipelineKind ?? .hunyuanVideo
            let placeholder = "placeholder." + kind.defaultExtension
            var r = try makeRequest(prompt: prompt, output: OutputDestination(argument: output ?? placeholder),
                                    model: model, sampling: sampling, bottleneck: bottleneck, outputOptions: outputOptions,
                                    kind: kind)
            r = r.resolvingSeed()
            if output == nil {
                let name = (try? NameTemplate("{seed}_{slug}.\((try? r.resolvedFormat())?.rawValue ?? "mp4")"))?
                    .render(index: 0, seed: r.seed!, prompt: prompt) ?? "out.mp4"
                r.output = .file(name)
                try r.validateForCommandLine(kind: kind)  // the generated name against --save-latents, --preview
            }
            return r
        }

        /// Derives and resolves the request's plan from the pipeline's configs alone (no weights),
        /// so a size or step count the plan cannot serve fails before the models load.
        /// - Returns: the plan's stages, for the resource check.
        /// - Throws: `ValidationError` saying what to change.
        /// Also refuses a `--guidance` the transformer cannot take (FLUX.1-schnell), rather than
        /// ignore it.
        func checkPlan(for request: GenerationRequest, with fit: PlanFit) throws -> [ResolvedStage] {
            try sampling.checkGuidance(takesGuidance: fit.takesGuidance)
            do { return try fit.check(request) } catch let error as RequestError {
                throw ValidationError(error.optionMessage)
            }
        }

        func run() async throws {
            let log = logging.log
            let folder = try PipelineFolder.locate(explicit: model.pipeline)
            let fit = try PlanFit(pipeline: folder)
            let request = try request(kind: fit.kind)
            log.info("seed \(request.seed!) → \(request.output)")
            Threads.configure(request.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let plan = try checkPlan(for: request, with: fit)
            let resources = try ResourceFit(pipeline: folder)
            let estimate = try resources.check(request, stages: plan)
            log.debug(resources.describe(estimate))
            let pipeline = try BottleneckPipeline.load(folder, log: log)
            let failures = try await ProgressRenderer(style: logging.progress, log: log)
                .render(try pipeline.generate(request))
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
