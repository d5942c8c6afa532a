import ArgumentParser
import Foundation
import Pipeline
import Tensor

extension Bottleneck {
    /// `bottleneck decode LATENTS -o out.mp4`: decode latents saved with --save-latents.
    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode latents saved with --save-latents into a video.")

        @Argument(help: "Latents file written by generate --save-latents.")
        var latents: String

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output file, or - for stdout.", valueName: "file"))
        var output: String

        @OptionGroup var model: ModelOptions
        @OptionGroup var outputOptions: OutputOptions
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if outputOptions.saveLatents != nil || outputOptions.preview != nil {
                throw ValidationError("--save-latents and --preview do not apply to decode")
            }
        }

        func run() async throws {
            let log = logging.log
            let (latents, stored) = try LatentFile.read(from: latents)
            var request = stored
            request.output = OutputDestination(argument: output)
            outputOptions.apply(to: &request)
            request.threads = model.threads
            try request.validateForCommandLine()
            log.info("decoding \(latents.tensor.shape) (seed \(request.seed.map(String.init) ?? "unknown")) → \(request.output)")
            Threads.configure(model.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let folder = try PipelineFolder.locate(explicit: model.pipeline)
            try Engine.ResourceFit(pipeline: folder, components: [.vae]).check(request, stages: nil, log: log)
            let stages = try Engine.loadDecoding(from: folder)
            let renderer = ProgressRenderer(style: logging.progress, log: log)
            let failures = FailureCount()
            let item = WorkItem(index: 0, request: request)
            try await Interrupt.run(log: log) {
                try await StageRunner.decode([(item, latents)], with: stages) { event in
                    if event.failsItem { failures.add() }
                    renderer.render(event)
                }
            }
            renderer.finish()
            if failures.count > 0 { throw ExitCode.failure }
        }
    }
}
