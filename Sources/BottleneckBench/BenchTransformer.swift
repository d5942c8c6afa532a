import ArgumentParser
import Benchmarks
import Foundation
import Models

extension BottleneckBench {
    /// `bottleneck-bench transformer --config FILE [--latent 33x16x16] [--text-tokens 64]`.
    struct Transformer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time HunyuanVideo transformer forwards and compare with the sgemm peak.",
            discussion: "With --config, random weights are built from a transformer config.json; with --model, a diffusers transformer folder is loaded.")

        @Option(help: "A transformer config.json; random weights are used.")
        var config: String?

        @Option(help: "A diffusers transformer folder (config.json + safetensors) instead of --config.")
        var model: String?

        @Option(help: "Latent size frames x height x width before patching.",
                transform: { try BenchOutput.parseLatent($0) })
        var latent: [Int] = [33, 16, 16]

        @Option(help: "Text tokens (all valid).")
        var textTokens: Int = 64

        @Option(help: "Samples per forward (generation runs each guidance pass as batch 1).")
        var batch: Int = 1

        @OptionGroup var options: BenchOptions

        func validate() throws {
            guard (config == nil) != (model == nil) else { throw ValidationError("Give exactly one of --config FILE or --model FOLDER.") }
            guard textTokens >= 1 else { throw ValidationError("--text-tokens must be at least 1.") }
            guard (1...64).contains(batch) else { throw ValidationError("--batch must be 1 to 64, got \(batch).") }
        }

        func run() async throws {
            options.configureThreads()
            let weights: TransformerBenchmark.Weights
            if let config {
                weights = .random(try TransformerConfiguration(contentsOf: config))
            } else {
                weights = .folder(model!)
            }
            let bench = TransformerBenchmark(weights: weights, latent: latent, textTokens: textTokens, batch: batch,
                                             warmup: options.warmup, iterations: options.iterations)
            let result = try bench.run(threads: options.threads)
            try BenchOutput.emit(result, text: result.text, json: options.json)
        }
    }
}
