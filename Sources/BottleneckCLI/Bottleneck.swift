import ArgumentParser
import Bottleneck
import CommandLineTool
import Tensor

/// The `bottleneck` command: text-to-video with Bottleneck Sampling.
@main
struct Bottleneck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck",
        abstract: "Generate videos from text prompts on the CPU, with Bottleneck Sampling.",
        version: BottleneckPipeline.version,
        subcommands: [
            Generate.self, Batch.self, BatchMerge.self, Decode.self, Info.self, Plan.self, Evaluate.self,
        ])

    /// Parses and runs the command (`runAsTool`); every error is printed to stderr as
    /// `bottleneck: error: …` and turns into a non-zero exit status: 64 for usage errors, 128 +
    /// the signal after an interruption (`Interruption`), 69 for a request that does not fit
    /// this machine (`ResourceShortage`), else ArgumentParser's (1). Help and
    /// version go to stdout with status 0, as usual.
    static func main() async {
        AllocatorPolicy.reuseLargeBuffers()
        await runAsTool { error in
            if let interruption = error as? Interruption { return interruption.exitStatus }
            return error is ResourceShortage ? ResourceShortage.exitStatus : nil
        }
    }
}
