import ArgumentParser

extension Bottleneck {
    /// `bottleneck bench …`: timing and memory of one stage with random or given weights.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the speed and memory of pipeline stages (use a release build).",
            subcommands: [VAE.self])
    }
}
