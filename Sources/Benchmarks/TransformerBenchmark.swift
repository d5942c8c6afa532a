import Foundation
import Models
import SafeTensors
import Tensor

/// One timed transformer forward configuration and its measurements.
public struct TransformerBenchmark: Sendable {
    /// Where the weights come from.
    public enum Weights: Sendable {
        /// Seeded random Float32 weights for `configuration` (no weights file needed).
        case random(TransformerConfiguration)
        /// A diffusers `transformer/` folder, its 16-bit matrices loaded at `MatrixPrecision`.
        case folder(String, MatrixPrecision)
    }

    public var weights: Weights
    /// Latent size before patching, `[frames, height, width]`.
    public var latent: [Int]
    public var textTokens: Int
    /// Samples per forward (generation runs batch 1: its two guidance passes are separate
    /// forwards, `TransformerDenoiser.guidedVelocities`).
    public var batch: Int
    public var warmup: Int
    public var iterations: Int

    public init(weights: Weights, latent: [Int], textTokens: Int, batch: Int = 1, warmup: Int = 1, iterations: Int = 3) {
        self.weights = weights
        self.latent = latent
        self.textTokens = textTokens
        self.batch = batch
        self.warmup = warmup
        self.iterations = iterations
    }

    /// Result of `run`, printed as text or JSON by `bottleneck bench transformer`.
    public struct Result: Codable, Sendable {
        public var machine: MachineInfo
        public var innerDim: Int, heads: Int, headDim: Int, doubleBlocks: Int, singleBlocks: Int
        /// `[frames, height, width]` before patching.
        public var latent: [Int]
        public var imageTokens: Int, textTokens: Int
        /// Samples per forward.
        public var batch: Int
        /// Seconds of each timed forward.
        public var seconds: [Double]
        /// Fastest forward.
        public var bestSeconds: Double
        /// Counted FLOPs of one forward (`TransformerConfiguration.flops`, times the batch).
        public var flops: Double
        public var attentionFraction: Double
        /// `flops / bestSeconds / 1e9`.
        public var gflops: Double
        /// `gflops / machine.sgemmPeakGFLOPS`.
        public var fractionOfSgemmPeak: Double
        /// CPU seconds (user + system, all threads) of the fastest forward.
        public var cpuSeconds: Double
        /// `flops / cpuSeconds × threads / 1e9` over `machine.sgemmPeakCPUGFLOPS`: efficiency
        /// with other processes' load factored out.
        public var fractionOfSgemmPeakCPU: Double
        /// Attention scratch of one call: tiles and the K/V copy (`Attention.scratchBytes`).
        public var attentionScratchBytes: Int
        /// How 16-bit weight matrices were loaded (nil: random Float32 weights).
        public var precision: MatrixPrecision?
        /// Seconds to build or load the model.
        public var loadSeconds: Double
        /// Resident set size once the model was loaded (weights, their mapped file pages, runtime).
        public var residentAfterLoadBytes: Int?
        /// Peak resident set size of the process after the run (includes weights).
        public var peakResidentBytes: Int?
    }

    /// Builds the model, runs `warmup` untimed and `iterations` timed forwards (`batch` samples,
    /// all text tokens valid, t = 1000, guidance 6000 when embedded) and measures the sgemm peak.
    public func run(threads: Int) throws -> Result {
        let model: HunyuanVideoTransformer
        let loadStart = DispatchTime.now().uptimeNanoseconds
        switch weights {
        case .random(let c): model = try HunyuanVideoTransformer(configuration: c, parameters: RandomParameters(seed: 1))
        case .folder(let path, let precision): model = try HunyuanVideoTransformer(directory: path, matrices: precision)
        }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let residentAfterLoad = residentBytes()
        let c = model.configuration
        let (t, h, w) = (latent[0], latent[1], latent[2])
        let latents = RandomParameters(seed: 2).uniform(shape: [batch, t, h, w, c.inChannels])
        let text = RandomParameters(seed: 3).uniform(shape: [batch, textTokens, c.textEmbedDim])
        let pooled = RandomParameters(seed: 4).uniform(shape: [batch, c.pooledProjectionDim])
        let mask = [[Bool]](repeating: [Bool](repeating: true, count: textTokens), count: batch)
        let timesteps = [Float](repeating: 1000, count: batch)
        let guidance: [Float]? = c.guidanceEmbeds ? [Float](repeating: 6000, count: batch) : nil
        func forward() throws -> (wall: Double, cpu: Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = processCPUSeconds()
            let v = try model(latents: latents, timestep: timesteps, text: text, textMask: mask, pooled: pooled, guidance: guidance)
            precondition(v.count == latents.count)
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, processCPUSeconds() - cpuStart)
        }
        for _ in 0..<warmup { _ = try forward() }
        var runs: [(wall: Double, cpu: Double)] = []
        for _ in 0..<iterations { runs.append(try forward()) }
        let peakResident = peakResidentBytes()  // before the sgemm peak's 48 MiB of matrices
        let seconds = runs.map(\.wall)
        let cpuSeconds = runs.map(\.cpu).min() ?? .nan
        let machine = MachineInfo.measure(threads: threads)
        let f = c.flops(latentFrames: t, latentHeight: h, latentWidth: w, textTokens: textTokens)
        let total = f.total * Double(batch)
        let best = seconds.min() ?? .nan
        let gflops = total / best / 1e9
        let ni = (t / c.patchSizeT) * (h / c.patchSize) * (w / c.patchSize)
        return Result(machine: machine, innerDim: c.innerDim, heads: c.numAttentionHeads, headDim: c.attentionHeadDim,
                      doubleBlocks: c.numLayers, singleBlocks: c.numSingleLayers, latent: latent, imageTokens: ni,
                      textTokens: textTokens, batch: batch, seconds: seconds, bestSeconds: best, flops: total,
                      attentionFraction: f.attention / f.total, gflops: gflops,
                      fractionOfSgemmPeak: gflops / machine.sgemmPeakGFLOPS, cpuSeconds: cpuSeconds,
                      fractionOfSgemmPeakCPU: total / cpuSeconds * Double(threads) / 1e9 / machine.sgemmPeakCPUGFLOPS,
                      attentionScratchBytes: Attention.scratchBytes(batch: batch, keys: ni + textTokens, heads: c.numAttentionHeads,
                                                                    headDim: c.attentionHeadDim),
                      precision: precision, loadSeconds: loadSeconds, residentAfterLoadBytes: residentAfterLoad,
                      peakResidentBytes: peakResident)
    }

    /// How this run loads 16-bit matrices (nil for random Float32 weights).
    var precision: MatrixPrecision? {
        if case .folder(_, let precision) = weights { precision } else { nil }
    }

    /// Writes seeded random weights for the configuration in `configFile` as a diffusers
    /// `transformer/` folder in `directory`: the config and one safetensors file in `storage`
    /// (every value rounded to it, as a checkpoint of that precision holds them).
    public static func writeRandomWeights(configFile: String, storage: StorageType, to directory: String) throws {
        let c = try TransformerConfiguration(contentsOf: configFile)
        try writeRandomModel(configFile: configFile, storage: storage, to: directory,
                             weightsName: HunyuanVideoTransformer.weightsName) {
            _ = try HunyuanVideoTransformer(configuration: c, parameters: $0)
        }
    }
}

/// Writes the seeded random weights `build` reads (every value rounded to `storage`, as a
/// checkpoint of that precision holds them) with a copy of `configFile` as a diffusers model
/// folder in `directory`: `config.json` and `<weightsName>.safetensors`.
func writeRandomModel(configFile: String, storage: StorageType, to directory: String, weightsName: String,
                      build: (any ParameterSource) throws -> Void) throws {
    let recorder = RecordingParameters(RandomParameters(seed: 1, precision: storage.precision))
    try build(recorder)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(contentsOf: URL(fileURLWithPath: configFile)).write(to: URL(fileURLWithPath: directory + "/config.json"))
    try recorder.write(to: directory + "/\(weightsName).safetensors", storage: storage)
}

extension TransformerBenchmark.Result {
    /// Human-readable summary (what `bench transformer` prints without `--json`).
    public var text: String {
        func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
        func mib(_ bytes: Int?) -> String { bytes.map { "\(f(Double($0) / 1048576, 1)) MiB" } ?? "n/a" }
        let weights = precision.map { $0 == .stored ? "16-bit kept as stored" : "expanded to float32" } ?? "random float32"
        return """
        transformer forward: D=\(innerDim) (\(heads)×\(headDim)), \(doubleBlocks) double + \(singleBlocks) single blocks, weights \(weights)
          latent \(latent.map(String.init).joined(separator: "x")) -> \(imageTokens) image + \(textTokens) text tokens, batch \(batch)
          time: best \(f(bestSeconds, 3)) s  (runs: \(seconds.map { f($0, 3) }.joined(separator: ", ")))
          counted: \(f(flops / 1e9, 1)) GFLOP (\(f(attentionFraction * 100, 0)) % attention) -> \(f(gflops, 1)) GFLOP/s
          sgemm peak: \(f(machine.sgemmPeakGFLOPS, 1)) GFLOP/s (n=\(machine.sgemmPeakSize)) -> \(f(fractionOfSgemmPeak * 100, 1)) % of peak
          per CPU second: forward \(f(cpuSeconds, 3)) CPU-s -> \(f(fractionOfSgemmPeakCPU * 100, 1)) % of the sgemm CPU-time peak (\(f(machine.sgemmPeakCPUGFLOPS, 1)) GFLOP/s)
          machine: \(machine.cores) cores, \(machine.threads) threads, OpenBLAS core \(machine.blasCore)
          load: \(f(loadSeconds, 2)) s, RSS after load: \(mib(residentAfterLoadBytes))
          attention scratch: \(f(Double(attentionScratchBytes) / 1048576, 2)) MiB, peak RSS: \(mib(peakResidentBytes))
        """
    }
}

extension RandomParameters {
    /// A tensor of `shape` with seeded values in [-1, 1) (benchmark inputs).
    func uniform(shape: [Int]) -> Tensor {
        // A [count, 1] "weight" has fan-in 1, so its values are uniform in ±1; this never throws.
        (try? scoped("input").tensor("values", shape: [shape.reduce(1, *), 1]).reshaped(shape)) ?? Tensor(shape: shape)
    }
}
