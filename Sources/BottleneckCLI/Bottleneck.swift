import ArgumentParser

/// The `bottleneck` command: text-to-video with Bottleneck Sampling.
@main
struct Bottleneck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck",
        abstract: "Generate videos from text prompts on the CPU, with Bottleneck Sampling.",
        version: "0.1.0",
        subcommands: [Evaluate.self])
}
