import ArgumentParser
import Benchmarks
import Foundation
import SafeTensors

extension BottleneckBench {
    /// `bottleneck-bench flux --config FILE [--size 1024x1024] [--text-tokens 512]`.
    struct Flux: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a FLUX.1 transformer forward block by block and project the step time of FLUX.1's 19 + 38 blocks.",
            discussion: """
                With --config, random weights for a FluxTransformer2DModel config.json are written in --dtype \
                to a temporary folder (removed afterwards) and measured from it in a child process (so the peak \
                RSS is the load and forward's own); with --model, a diffusers FLUX transformer folder is loaded. A config of FLUX.1's width with a few blocks \
                (samples/bench/flux-3072.json) measures each block at the real width; the step of the full \
                model is projected from the mean block times.
                """)

        @Option(help: "A FLUX transformer config.json; random weights are used.")
        var config: String?

        @Option(help: "A diffusers FLUX transformer folder (config.json + safetensors) instead of --config.")
        var model: String?

        @Option(help: "With --config: the dtype the random weights are written in.")
        var dtype: Transformer.WeightType = .bf16

        @Option(help: "How 16-bit weight matrices load: kept as stored or expanded to float32 (not both).")
        var precision: Transformer.PrecisionChoice = .stored

        @Option(help: "Image size WIDTHxHEIGHT in pixels, each a multiple of 16.")
        var size: String = "1024x1024"

        @Option(help: "T5 text tokens (FLUX.1-dev 512, -schnell 256).")
        var textTokens: Int = 512

        @Option(help: "Depth of the projected model: DOUBLE,SINGLE blocks.")
        var project: String = "19,38"

        @OptionGroup var options: BenchOptions

        /// `[height, width]` from `--size`.
        var pixels: [Int] {
            get throws {
                let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ $0 >= 16 && $0 % 16 == 0 }) else {
                    throw ValidationError("--size '\(size)' must be WIDTHxHEIGHT in pixels, each a positive multiple of 16, e.g. 1024x1024")
                }
                return [parts[1], parts[0]]
            }
        }

        /// `[double, single]` from `--project`.
        var projected: [Int] {
            get throws {
                let parts = project.split(separator: ",").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ $0 >= 0 }) else {
                    throw ValidationError("--project '\(project)' must be DOUBLE,SINGLE block counts, e.g. 19,38")
                }
                return parts
            }
        }

        func validate() throws {
            guard (config == nil) != (model == nil) else { throw ValidationError("Give exactly one of --config FILE or --model FOLDER.") }
            guard textTokens >= 1 else { throw ValidationError("--text-tokens must be at least 1.") }
            guard precision != .both else { throw ValidationError("--precision both is not offered here: run stored and float32 one after the other.") }
            _ = try pixels
            _ = try projected
        }

        func run() async throws {
            options.configureThreads()
            let result: FluxBenchmark.Result
            if let config {
                // Written here, measured in a child process: writing holds every weight in float32,
                // which would stand in the forward's peak RSS.
                let written = FileManager.default.temporaryDirectory.path + "/bottleneck-bench-flux-\(ProcessInfo.processInfo.processIdentifier)"
                defer { try? FileManager.default.removeItem(atPath: written) }
                try FluxBenchmark.writeRandomWeights(configFile: config, storage: dtype.storage, to: written)
                result = try ChildProcess.measurement(
                    FluxBenchmark.Result.self, what: "FLUX transformer", executable: ChildProcess.currentExecutable,
                    arguments: ["flux", "--model", written, "--precision", precision.rawValue, "--size", size,
                                "--text-tokens", "\(textTokens)", "--project", project, "--threads", "\(options.threads)",
                                "--warmup", "\(options.warmup)", "--iterations", "\(options.iterations)"])
            } else {
                let bench = FluxBenchmark(folder: model!, matrices: precision == .float32 ? .float32 : .stored,
                                          size: try pixels, textTokens: textTokens, projectedBlocks: try projected,
                                          warmup: options.warmup, iterations: options.iterations)
                result = try bench.run(threads: options.threads)
            }
            try BenchOutput.emit(result, text: result.text, json: options.json)
        }
    }
}
