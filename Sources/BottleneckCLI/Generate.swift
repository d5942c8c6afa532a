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
            discussion: "Use -o - with --format (mp4, webm, mkv, y4m, nut, rawvideo) to stream to stdout; logs and progress go to stderr. PNG frames go to a folder: -o frames/ writes frames/frames_0001.png, ….")

        @Argument(help: "The text prompt.")
        var prompt: String

        @Option(name: [.short, .customLong("output"), .customLong("save-path")],
                help: ArgumentHelp("Output file, folder for PNG frames (frames/), or - for stdout (default: {seed}_{slug}.mp4).", valueName: "file"))
        var output: String?

        @OptionGroup var model: ModelOptions
        @OptionGroup var sampling: SamplingOptions
        @OptionGroup var bottleneck: BottleneckOptions
        @OptionGroup var outputOptions: OutputOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            _ = try request()
        }

        /// The library request for these flags, with a seed drawn when none was given.
        func request() throws -> GenerationRequest {
            var r = try makeRequest(prompt: prompt, output: OutputDestination(argument: output ?? "placeholder.mp4"),
                                    model: model, sampling: sampling, bottleneck: bottleneck, outputOptions: outputOptions)
            r = r.resolvingSeed()
            if output == nil {
                let name = (try? NameTemplate("{seed}_{slug}.\((try? r.resolvedFormat())?.rawValue ?? "mp4")"))?
                    .render(index: 0, seed: r.seed!, prompt: prompt) ?? "out.mp4"
                r.output = .file(name)
                try r.validateForCommandLine()  // the generated name against --save-latents, --preview
            }
            return r
        }

        /// Derives and resolves the request's plan from the pipeline's configs alone (no weights),
        /// so a size or step count the plan cannot serve fails before the models load.
        /// - Returns: the plan's stages, for the resource check.
        /// - Throws: `ValidationError` saying what to change.
        func checkPlan(for request: GenerationRequest, in folder: PipelineFolder) throws -> [ResolvedStage] {
            do { return try PlanFit(pipeline: folder).check(request) } catch let error as RequestError {
                throw ValidationError(error.optionMessage)
            }
        }

        func run() async throws {
            let log = logging.log
            let request = try request()
            log.info("seed \(request.seed!) → \(request.output)")
            Threads.configure(request.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let folder = try PipelineFolder.locate(explicit: model.pipeline)
            let plan = try checkPlan(for: request, in: folder)
            let fit = try ResourceFit(pipeline: folder)
            let estimate = try fit.check(request, stages: plan)
            log.debug(fit.describe(estimate))
            let pipeline = try BottleneckPipeline.load(folder, log: log)
            let failures = try await ProgressRenderer(style: logging.progress, log: log)
                .render(try pipeline.generate(request))
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
