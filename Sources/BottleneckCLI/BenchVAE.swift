import ArgumentParser
import Foundation
import Models
import Tensor

extension Bottleneck.Bench {
    /// `bottleneck bench vae`: decodes random latents with the causal VAE decoder.
    struct VAE: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vae",
            abstract: "Time a causal VAE decode and report its peak memory.",
            discussion: """
                Without --pipeline the weights are random (seeded) for the shapes in --config. \
                Peak RSS is per process, so run one --mode per invocation when comparing memory.
                """)

        enum Mode: String, CaseIterable, ExpressibleByArgument {
            /// diffusers' default path: temporal tiles of 16 frames, stride 12, blended.
            case tiled
            /// The whole video at once (GroupNorm over all frames).
            case untiled
            /// Exact streaming decode (equals untiled), bounded memory.
            case streaming
        }

        @Option(help: "A vae/config.json giving the shapes (random weights).")
        var config: String = "samples/bench/vae-shapes.json"

        @Option(help: "A pipeline folder whose vae/ holds config.json and weights (overrides --config).")
        var pipeline: String?

        @Option(help: "Latent frames to decode (pixel frames = 4·(n − 1) + 1).")
        var latentFrames: Int = 33

        @Option(help: "Output height and width in pixels (a multiple of 8).")
        var size: Int = 128

        @Option(help: "Decode path.")
        var mode: Mode = .tiled

        @Option(help: "Latent frames per streaming chunk.")
        var chunk: Int = 4

        @Option(help: "Timed repetitions (the median is reported).")
        var repeats: Int = 1

        @Option(help: "Seed for the random latents and weights.")
        var seed: UInt64 = 0

        @Option(help: "Kernel and BLAS threads.")
        var threads: Int = 2

        @Flag(help: "Write one JSON object to stdout.")
        var json = false

        func validate() throws {
            if size <= 0 || size % 8 != 0 { throw ValidationError("--size must be a positive multiple of 8, got \(size).") }
            if latentFrames <= 0 { throw ValidationError("--latent-frames must be at least 1.") }
            if chunk <= 0 { throw ValidationError("--chunk must be at least 1.") }
            if repeats <= 0 { throw ValidationError("--repeats must be at least 1.") }
        }

        func run() async throws {
            Threads.configure(threads)
            let decoder: CausalVideoDecoder
            let source: String
            if let pipeline {
                let dir = (pipeline as NSString).appendingPathComponent("vae")
                decoder = try CausalVideoDecoder(directory: dir)
                source = dir
            } else {
                decoder = try CausalVideoDecoder.random(
                    configuration: try VAEConfiguration.load(contentsOf: config), seed: seed)
                source = config
            }
            let c = decoder.configuration
            let side = size / c.spatialCompressionRatio
            let latents = Self.randomLatents([1, latentFrames, side, side, c.latentChannels], seed: seed)
            var times: [Double] = []
            var cpuTimes: [Double] = []
            var frames = 0
            var peakActivation = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let cpuStart = Self.cpuSeconds()
                switch mode {
                case .tiled: frames = try decoder.decodeTiled(latents: latents).shape[1]
                case .untiled: frames = try decoder.decode(latents: latents).shape[1]
                case .streaming:
                    frames = 0
                    let session = try decoder.decodeStreaming(
                        latents: latents.reshaped(Array(latents.shape.dropFirst())), chunkFrames: chunk
                    ) { frames += $0.shape[0] }
                    peakActivation = session.peakActivationBytes
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                cpuTimes.append(Self.cpuSeconds() - cpuStart)
            }
            let median = times.sorted()[times.count / 2]
            let rss = Self.peakResidentBytes()
            if json {
                var object: [String: Any] = [
                    "case": "vae-decode", "mode": mode.rawValue, "weights": source,
                    "latent_frames": latentFrames, "frames": frames, "size": size,
                    "seconds_median": median, "seconds": times, "peak_rss_bytes": rss,
                    "cpu_seconds_median": cpuTimes.sorted()[cpuTimes.count / 2],
                    "threads": threads, "blas_core": BLAS.coreName,
                ]
                if mode == .streaming {
                    object["chunk_latent_frames"] = chunk
                    object["peak_activation_bytes"] = peakActivation
                    object["groupnorm_passes"] = decoder.groupNormCount
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                let line = String(format: "vae %@: %d frames %dx%d in %.3f s (median of %d; CPU %.3f s), peak RSS %.1f MiB\n",
                                  mode.rawValue, frames, size, size, median, repeats,
                                  cpuTimes.sorted()[cpuTimes.count / 2], Double(rss) / 1_048_576)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }

        /// Standard-normal latents (Box–Muller over SplitMix64), layout `[B, T, h, w, C]`.
        static func randomLatents(_ shape: [Int], seed: UInt64) -> Tensor {
            var state = seed ^ 0x5EED
            func uniform() -> Double {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                return (Double(z >> 11) + 0.5) / Double(1 << 53)
            }
            let n = shape.reduce(1, *)
            return Tensor(shape: shape, data: (0..<n).map { _ in
                Float((-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()))
            })
        }

        /// User + system CPU time of this process so far (robust to a shared, loaded machine).
        static func cpuSeconds() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
                + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        }

        /// Peak resident set size of this process (`getrusage` `ru_maxrss`, KiB on Linux).
        static func peakResidentBytes() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024
        }
    }
}
