import ArgumentParser
import Benchmarks
import Foundation
import Models
import SafeTensors
import Sampling
import Tensor

extension MatrixPrecision: ExpressibleByArgument {}

extension BottleneckBench {
    /// `bottleneck-bench vae`: decodes random latents with the causal VAE decoder.
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

        @Option(help: "With --pipeline: how 16-bit conv kernels load, kept as stored or expanded to float32.")
        var precision: MatrixPrecision = .stored

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

        @Option(help: "Kernel and gemm threads.")
        var threads: Int = 2

        @Flag(help: "Write one JSON object to stdout.")
        var json = false

        func validate() throws {
            if size <= 0 || size % 8 != 0 { throw ValidationError("--size must be a positive multiple of 8, got \(size).") }
            if latentFrames <= 0 { throw ValidationError("--latent-frames must be at least 1.") }
            if chunk <= 0 { throw ValidationError("--chunk must be at least 1.") }
            if repeats <= 0 { throw ValidationError("--repeats must be at least 1.") }
            if pipeline == nil && precision != .stored {
                throw ValidationError("--precision applies to weights read from a file: give --pipeline FOLDER.")
            }
        }

        func run() async throws {
            Threads.configure(threads)
            let decoder: CausalVideoDecoder
            let source: String
            if let pipeline {
                let dir = (pipeline as NSString).appendingPathComponent("vae")
                decoder = try CausalVideoDecoder(directory: dir, matrices: precision)
                source = dir
            } else {
                decoder = try CausalVideoDecoder.random(
                    configuration: try VAEConfiguration.load(contentsOf: config), seed: seed)
                source = config
            }
            let c = decoder.configuration
            let side = size / c.spatialCompressionRatio
            let shape = [1, latentFrames, side, side, c.latentChannels]
            var noise = GaussianNoise(seed: seed)
            let latents = Tensor(shape: shape, data: noise.gaussian(count: shape.reduce(1, *)))
            var times: [Double] = []
            var cpuTimes: [Double] = []
            var frames = 0
            var peakActivation = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let cpuStart = processCPUSeconds()
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
                cpuTimes.append(processCPUSeconds() - cpuStart)
            }
            let median = times.sorted()[times.count / 2]
            let rss = peakResidentBytes()
            if json {
                var object: [String: Any] = [
                    "case": "vae-decode", "mode": mode.rawValue, "weights": source, "precision": precision.rawValue,
                    "latent_frames": latentFrames, "frames": frames, "size": size,
                    "seconds_median": median, "seconds": times, "peak_rss_bytes": rss as Any? ?? NSNull(),
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
                let peak = rss.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "unknown"
                let line = String(format: "vae %@ (%@): %d frames %dx%d in %.3f s (median of %d; CPU %.3f s), peak RSS %@\n",
                                  mode.rawValue, precision.rawValue, frames, size, size, median, repeats,
                                  cpuTimes.sorted()[cpuTimes.count / 2], peak)
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
    }
}
