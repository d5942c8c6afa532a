import ArgumentParser

extension Bottleneck {
    /// `bottleneck bench …`: micro-benchmarks (release builds; they report, never assert).
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the speed of pipeline stages.",
            subcommands: [BenchText.self])
    }
}
