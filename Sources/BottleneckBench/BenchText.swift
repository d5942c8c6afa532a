import ArgumentParser
import Benchmarks
import Foundation
import Models
import Tensor
import Tokenizers

extension BottleneckBench {
    /// `bottleneck-bench text`: tokenizer throughput and MiniLM prompt-encoding latency.
    struct BenchText: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "text",
            abstract: "Measure tokenizer throughput (MB/s) and MiniLM encode time per prompt.")

        @Option(help: "MiniLM text encoder folder (config.json, model.safetensors).")
        var textEncoder = "pipelines/shapes/text_encoder"
        @Option(help: "MiniLM tokenizer folder (vocab.txt).")
        var tokenizer = "pipelines/shapes/tokenizer"
        @Option(help: "Optional CLIP tokenizer folder (vocab.json, merges.txt) to measure too.")
        var clipTokenizer: String?
        @Option(help: "Optional byte-level BPE tokenizer folder (tokenizer.json) to measure too.")
        var bpeTokenizer: String?
        @Option(help: "Megabytes of text to tokenize per tokenizer (default 4).")
        var megabytes: Double = 4
        @Option(help: "Timed MiniLM encodes of one prompt (default 50).")
        var repeats = 50
        @Option(help: "Kernel and gemm threads (default: all cores).")
        var threads = ProcessInfo.processInfo.activeProcessorCount
        @Flag(help: "Write JSON to stdout instead of a table.")
        var json = false

        func validate() throws {
            guard megabytes > 0, repeats > 0, threads > 0 else {
                throw ValidationError("--megabytes, --repeats and --threads must be positive.")
            }
        }

        func run() async throws {
            Threads.configure(threads)
            var results: [[String: Any]] = []
            let lines = Self.corpus(bytes: Int(megabytes * 1_000_000))
            let bytes = lines.reduce(0) { $0 + $1.utf8.count }
            // 1. Tokenizer throughput (no truncation: max length far above any line).
            var tokenizers: [(String, any TextTokenizer)] = [
                ("wordpiece", try WordPieceTokenizer(directory: tokenizer, maxLength: 1 << 20))]
            if let clipTokenizer { tokenizers.append(("clip-bpe", try CLIPTokenizer(directory: clipTokenizer, maxLength: 1 << 20))) }
            if let bpeTokenizer { tokenizers.append(("byte-level-bpe", try ByteLevelBPETokenizer(directory: bpeTokenizer, maxLength: 1 << 20))) }
            for (name, t) in tokenizers {
                var tokens = 0
                let seconds = Self.time { for l in lines { tokens += t.encode(l).count } }
                results.append(["case": "tokenize-\(name)", "bytes": bytes, "tokens": tokens, "seconds": seconds,
                                "megabytes_per_second": Double(bytes) / 1e6 / seconds])
            }
            // 2. MiniLM: one prompt per call, median and spread over `repeats`.
            var loaded: MiniLMTextEncoder?
            let load = try Self.time { loaded = try MiniLMTextEncoder(directory: textEncoder, tokenizerDirectory: tokenizer) }
            guard let encoder = loaded else { return }
            let prompt = "A slow cinematic drone shot over a misty mountain valley at sunrise, golden light on pine forests."
            _ = try encoder.encode([prompt])  // warm-up
            var samples: [Double] = [], cpuSamples: [Double] = []
            for _ in 0..<repeats {
                let cpu0 = processCPUSeconds()
                samples.append(try Self.time { _ = try encoder.encode([prompt]) })
                cpuSamples.append(processCPUSeconds() - cpu0)
            }
            samples.sort()
            cpuSamples.sort()
            let tokens = encoder.tokenizer.encode(prompt).count
            results.append(["case": "minilm-encode-1-prompt", "tokens": tokens, "load_seconds": load,
                            "median_ms": samples[samples.count / 2] * 1e3, "min_ms": samples[0] * 1e3,
                            "max_ms": samples[samples.count - 1] * 1e3, "repeats": repeats,
                            "median_cpu_ms": cpuSamples[cpuSamples.count / 2] * 1e3])
            var loadAverage: [Double] = [0, 0, 0]
            let loadCount = getloadavg(&loadAverage, 3)
            let machine: [String: Any] = ["blas_core": BLAS.coreName, "threads": threads,
                                          "cores": ProcessInfo.processInfo.activeProcessorCount,
                                          "load_average_1min": loadCount > 0 ? loadAverage[0] : -1]
            if json {
                let data = try JSONSerialization.data(withJSONObject: ["machine": machine, "results": results],
                                                      options: [.prettyPrinted, .sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                var out = String(format: "machine: BLAS %@, %d threads, %d cores, load average %.2f\n",
                                 BLAS.coreName, threads, ProcessInfo.processInfo.activeProcessorCount, loadAverage[0])
                for r in results {
                    let name = r["case"] as! String
                    if let mbs = r["megabytes_per_second"] as? Double {
                        out += String(format: "%@: %.2f MB/s (%d bytes, %d tokens)\n", name, mbs, bytes, r["tokens"] as! Int)
                    } else {
                        out += String(format: "%@: median %.2f ms wall, %.2f ms process CPU (min %.2f, max %.2f wall, %d tokens, %d runs)\n",
                                      name, r["median_ms"] as! Double, r["median_cpu_ms"] as! Double,
                                      r["min_ms"] as! Double, r["max_ms"] as! Double, r["tokens"] as! Int, repeats)
                    }
                }
                FileHandle.standardOutput.write(Data(out.utf8))
            }
        }

        /// Wall-clock seconds of `body`.
        static func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        /// Deterministic prompt-like lines (mixed English, accents, numbers, punctuation,
        /// emoji, CJK) totalling about `bytes` UTF-8 bytes.
        static func corpus(bytes: Int) -> [String] {
            let words = ["a", "slow", "cinematic", "drone", "shot", "glides", "over", "misty", "mountain", "valley",
                         "sunrise,", "golden", "light", "café", "crème", "brûlée", "naïve", "2024-05-01", "$42,000",
                         "(approx.)", "it's", "we'll", "🐱", "🎾", "一只猫", "草地上", "Привет", "мир", "reflections!",
                         "antidisestablishmentarianism", "supercalifragilistic", "100%", "—", "Ångström"]
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            var lines: [String] = []
            var total = 0
            while total < bytes {
                var line = ""
                for _ in 0..<40 {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    line += (line.isEmpty ? "" : " ") + words[Int(state >> 33) % words.count]
                }
                total += line.utf8.count
                lines.append(line)
            }
            return lines
        }
    }
}
