import ArgumentParser
import Foundation
import Pipeline
import Tensor

extension Bottleneck {
    /// `bottleneck generate PROMPT -o out.mp4`: one video from one prompt.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate one video from a text prompt.",
            discussion: "Use -o - with --format (y4m, nut, mkv, mp4) to stream to stdout; logs and progress go to stderr.")

        @Argument(help: "The text prompt.")
        var prompt: String

        @Option(name: [.short, .customLong("output"), .customLong("save-path")],
                help: ArgumentHelp("Output file, or - for stdout (default: {seed}_{slug}.mp4).", valueName: "file"))
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

        func run() async throws {
            let log = logging.log
            let request = try request()
            log.info("seed \(request.seed!) → \(request.output)")
            Threads.configure(request.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let folder = try PipelineFolder.locate(explicit: model.pipeline)
            let plan = try Engine.checkPlan(for: request, in: folder)
            try Engine.ResourceFit(pipeline: folder).check(request, stages: plan, log: log)
            let stages = try Engine.loadStages(from: folder, log: log)
            let renderer = ProgressRenderer(style: logging.progress, log: log)
            let failures = FailureCount()
            try await Interrupt.run(log: log) {
                try await StageRunner(stages: stages).execute([WorkItem(index: 0, request: request)]) { event in
                    if event.failsItem { failures.add() }
                    renderer.render(event)
                }
            }
            renderer.finish()
            if failures.count > 0 { throw ExitCode.failure }
        }
    }
}
