import ArgumentParser
import Benchmarks
import Foundation
import Models
import SafeTensors

extension BottleneckBench {
    /// `bottleneck-bench transformer --config FILE [--dtype bf16] [--precision both] [--latent 33x16x16]`.
    struct Transformer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time HunyuanVideo transformer forwards and compare with the sgemm peak.",
            discussion: """
                With --config, random weights are built from a transformer config.json (float32 in memory, or \
                with --dtype written as a safetensors file in that dtype and loaded from it); with --model, a \
                diffusers transformer folder is loaded. --precision both loads the file twice, its 16-bit \
                matrices expanded to float32 and kept as stored, one process each, and prints peak RSS and \
                forward time side by side.
                """)

        /// A 16-bit dtype for written random weights.
        enum WeightType: String, ExpressibleByArgument, CaseIterable {
            case f16, bf16
            var storage: StorageType { self == .f16 ? .f16 : .bf16 }
        }

        /// How a weights file's 16-bit matrices load: one way, or each in its own process.
        enum PrecisionChoice: String, ExpressibleByArgument, CaseIterable {
            case stored, float32, both
        }

        @Option(help: "A transformer config.json; random weights are used.")
        var config: String?

        @Option(help: "A diffusers transformer folder (config.json + safetensors) instead of --config.")
        var model: String?

        @Option(help: "With --config: write the random weights in this dtype to a temporary folder (removed afterwards) and load them from it.")
        var dtype: WeightType?

        @Option(help: "How 16-bit weight matrices load (--model or --dtype): kept as stored, expanded to float32, or both side by side (default: stored).")
        var precision: PrecisionChoice?

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
            guard dtype == nil || config != nil else { throw ValidationError("--dtype writes random weights for --config; --model has its own.") }
            guard precision == nil || model != nil || dtype != nil else {
                throw ValidationError("--precision applies to weights read from a file: give --model FOLDER or --dtype with --config.")
            }
            guard textTokens >= 1 else { throw ValidationError("--text-tokens must be at least 1.") }
            guard (1...64).contains(batch) else { throw ValidationError("--batch must be 1 to 64, got \(batch).") }
        }

        func run() async throws {
            options.configureThreads()
            var folder = model
            if let config, let dtype {
                let written = FileManager.default.temporaryDirectory.path + "/bottleneck-bench-weights-\(ProcessInfo.processInfo.processIdentifier)"
                try TransformerBenchmark.writeRandomWeights(configFile: config, storage: dtype.storage, to: written)
                folder = written
            }
            defer { if dtype != nil, let folder { try? FileManager.default.removeItem(atPath: folder) } }
            guard let folder else {
                return try measure(.random(try TransformerConfiguration(contentsOf: config!)))
            }
            switch precision ?? .stored {
            case .both:
                let arguments = ["transformer", "--model", folder, "--latent", latent.map(String.init).joined(separator: "x"),
                                 "--text-tokens", "\(textTokens)", "--batch", "\(batch)", "--threads", "\(options.threads)",
                                 "--warmup", "\(options.warmup)", "--iterations", "\(options.iterations)"]
                let comparison = try PrecisionComparison.run(executable: ChildProcess.currentExecutable, arguments: arguments)
                try BenchOutput.emit(comparison, text: comparison.text, json: options.json)
            case .stored: try measure(.folder(folder, .stored))
            case .float32: try measure(.folder(folder, .float32))
            }
        }

        private func measure(_ weights: TransformerBenchmark.Weights) throws {
            let bench = TransformerBenchmark(weights: weights, latent: latent, textTokens: textTokens, batch: batch,
                                             warmup: options.warmup, iterations: options.iterations)
            let result = try bench.run(threads: options.threads)
            try BenchOutput.emit(result, text: result.text, json: options.json)
        }
    }
}
