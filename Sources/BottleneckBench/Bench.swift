import ArgumentParser
import Benchmarks
import Bottleneck
import CommandLineTool
import Foundation
import Tensor

/// `bottleneck-bench <case>`: timed runs with machine info, apart from the product. Each case is
/// one file (`Bench<Case>.swift`, an `extension BottleneckBench` command using `BenchOptions`
/// and `BenchOutput`) plus its line in `subcommands` below. `generate` and `batch` run the
/// `bottleneck` executable built next to this one as child processes.
@main
struct BottleneckBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck-bench",
        abstract: "Measure the speed of a pipeline stage, or the paper's comparisons, on this machine.",
        version: BottleneckPipeline.version,
        subcommands: [Transformer.self, Flux.self, Encode.self, VAE.self, BenchText.self, Generate.self, Batch.self,
                      Overhead.self])

    /// Parses and runs the case (`runAsTool`): errors print as `bottleneck-bench: error: …`.
    static func main() async { await runAsTool() }

    /// The `bottleneck` executable beside this one (both are built into `.build/<config>/`).
    static var productExecutable: String {
        (ChildProcess.currentExecutable as NSString).deletingLastPathComponent + "/bottleneck"
    }
}

/// Options every benchmark takes.
struct BenchOptions: ParsableArguments {
    @Option(help: "Kernel and gemm threads.")
    var threads: Int = 2

    @Flag(help: "Print the result as JSON on stdout instead of text.")
    var json = false

    @Option(help: "Untimed warm-up runs.")
    var warmup: Int = 1

    @Option(help: "Timed runs; the best is reported.")
    var iterations: Int = 3

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
        guard warmup >= 0, iterations >= 1 else { throw ValidationError("--warmup must be >= 0 and --iterations >= 1.") }
    }

    /// Sets the thread count once, before any work.
    func configureThreads() { Threads.configure(threads) }
}

/// Writes a benchmark result: JSON or its text form to stdout (the machine output of `bench`).
enum BenchOutput {
    static func emit<R: Encodable>(_ result: R, text: String, json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(result))
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    /// A latent size `FxHxW` (e.g. `33x16x16`).
    static func parseLatent(_ s: String) throws -> [Int] {
        let parts = s.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("latent '\(s)' must be frames x height x width in latent units, e.g. 33x16x16")
        }
        return parts.map { $0! }
    }
}
