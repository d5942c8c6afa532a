import ArgumentParser
import Bottleneck
import Foundation
import Tensor

extension Bottleneck {
    /// `bottleneck decode LATENTS -o out.mp4`: decode latents saved with --save-latents.
    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode latents saved with --save-latents into a video.")

        @Argument(help: "Latents file written by generate --save-latents.")
        var latents: String

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output file, folder for PNG frames (frames/), or - for stdout.", valueName: "file"))
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
            let fit = try ResourceFit(pipeline: folder, components: [.vae])
            let estimate = try fit.check(request, stages: nil)
            log.debug(fit.describe(estimate))
            let decoder = try LatentDecodingPipeline(folder: folder)
            let failures = try await ProgressRenderer(style: logging.progress, log: log)
                .render(try decoder.decode(latents, request: request))
            if failures > 0 { throw ExitCode.failure }
        }
    }
}
