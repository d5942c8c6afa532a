import ArgumentParser
import Foundation
import Tensor

/// The `bottleneck` command: text-to-video with Bottleneck Sampling.
@main
struct Bottleneck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck",
        abstract: "Generate videos from text prompts on the CPU, with Bottleneck Sampling.",
        version: "0.1.0",
        subcommands: [
            Generate.self, Batch.self, Decode.self, Info.self, Plan.self, Evaluate.self, Bench.self,
        ])

    /// Parses and runs the command; every error is printed to stderr as
    /// `bottleneck: error: …` and turns into a non-zero exit status (help and version go to
    /// stdout with status 0, as usual).
    static func main() async {
        AllocatorPolicy.reuseLargeBuffers()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                FileHandle.standardOutput.write(Data((fullMessage(for: error) + "\n").utf8))
            } else if !(error is ExitCode) {
                let message: String
                if error is CancellationError {
                    message = "interrupted"
                } else {
                    message = Self.message(for: error)
                }
                Log.writeStderr("bottleneck: error: \(message)\n")
                if error is ValidationError || "\(type(of: error))".contains("CommandError") {
                    Log.writeStderr("see 'bottleneck help' for usage\n")
                }
            }
            Foundation.exit(error is CancellationError ? 130 : code.rawValue)
        }
    }
}
