import ArgumentParser
import Bottleneck
import Diagnostics
import Foundation
import Tensor

/// The `bottleneck` command: text-to-video with Bottleneck Sampling.
@main
struct Bottleneck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck",
        abstract: "Generate videos from text prompts on the CPU, with Bottleneck Sampling.",
        version: BottleneckPipeline.version,
        subcommands: [
            Generate.self, Batch.self, Decode.self, Info.self, Plan.self, Evaluate.self,
        ])

    /// Parses and runs the command; every error is printed to stderr as
    /// `bottleneck: error: …` and turns into a non-zero exit status: 64 for usage errors, 128 +
    /// the signal after an interruption (`Interruption`), 69 for a request that does not fit
    /// this machine (`ResourceShortage`), else ArgumentParser's (1). Help and
    /// version go to stdout with status 0, as usual.
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
                Log.writeStderr("bottleneck: error: \(Self.userMessage(for: error))\n")
                if code == .validationFailure {
                    Log.writeStderr("see 'bottleneck help' for usage\n")
                }
            }
            if let interruption = error as? Interruption { Foundation.exit(interruption.exitStatus) }
            if error is ResourceShortage { Foundation.exit(ResourceShortage.exitStatus) }
            Foundation.exit(code.rawValue)
        }
    }
}

extension Bottleneck {
    /// The text after `bottleneck: error: `: ArgumentParser's message for the error, except for
    /// Foundation's file errors (`FileErrorText`), which it would print as a raw dump.
    static func userMessage(for error: any Error) -> String {
        if error is CancellationError { return "interrupted" }
        return FileErrorText.message(error) ?? message(for: error)
    }
}
