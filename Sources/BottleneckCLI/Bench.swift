import ArgumentParser

extension Bottleneck {
    /// `bottleneck bench <case>`: timed runs on this machine. Each case is one file
    /// (`Bench<Case>.swift`, an `extension Bottleneck.Bench` command) plus its line below.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the speed of a pipeline stage on this machine.",
            subcommands: [Encode.self])
    }
}
