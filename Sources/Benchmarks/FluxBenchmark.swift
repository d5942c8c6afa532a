import Foundation
import Models
import SafeTensors
import Sampling
import Tensor

/// FLUX.1 transformer forwards timed part by part (`bottleneck-bench flux`): the embedders,
/// every double- and single-stream block and the output layer at one image size, and from them
/// the step time of the same blocks at another depth (FLUX.1-dev and -schnell: 19 double + 38
/// single). A block's time depends on the width and the tokens, not on how many blocks follow,
/// so a model of real width with a few blocks (random 16-bit weights) measures a step of the
/// real one on a machine that could not hold its 24 GB of weights.
public struct FluxBenchmark: Sendable {
    /// A diffusers FLUX `transformer/` folder.
    public var folder: String
    public var matrices: MatrixPrecision
    /// Image size in pixels, `[height, width]`, each a multiple of 16.
    public var size: [Int]
    /// T5 tokens (FLUX.1-dev: 512, -schnell: 256), all attended to as FluxPipeline does.
    public var textTokens: Int
    /// Depth of the projected model, `[double, single]` blocks.
    public var projectedBlocks: [Int]
    public var warmup: Int
    public var iterations: Int

    public init(folder: String, matrices: MatrixPrecision, size: [Int], textTokens: Int,
                projectedBlocks: [Int] = [19, 38], warmup: Int = 0, iterations: Int = 1) {
        self.folder = folder
        self.matrices = matrices
        self.size = size
        self.textTokens = textTokens
        self.projectedBlocks = projectedBlocks
        self.warmup = warmup
        self.iterations = iterations
    }

    /// Result of `run`, printed as text or JSON by `bottleneck-bench flux`.
    public struct Result: Codable, Sendable {
        public var machine: MachineInfo
        public var innerDim: Int, heads: Int, doubleBlocks: Int, singleBlocks: Int
        /// `[height, width]` in pixels.
        public var size: [Int]
        public var imageTokens: Int, textTokens: Int
        public var precision: MatrixPrecision
        /// Seconds of each timed forward.
        public var seconds: [Double]
        /// Parts of the fastest forward: embedders (with RoPE tables), each block, output layer.
        public var embeddingSeconds: Double, doubleBlockSeconds: [Double], singleBlockSeconds: [Double]
        public var finalSeconds: Double
        /// Counted FLOPs of one block (`TransformerCost`: double and single blocks alike).
        public var blockFLOPs: Double
        /// Rate of the mean double and the mean single block.
        public var doubleGFLOPS: Double, singleGFLOPS: Double
        public var projectedDoubleBlocks: Int, projectedSingleBlocks: Int
        /// Embedders + double × mean double block + single × mean single block + output layer:
        /// one step (one pass; FLUX.1-dev's guidance is embedded, not a second pass).
        public var projectedStepSeconds: Double
        public var loadSeconds: Double
        /// Bytes of the stored tensors (the weight files less their headers).
        public var weightFileBytes: Int
        /// `FluxConfiguration.forwardBytes` for these tokens: what the pre-load check adds to the
        /// weights for the transformer.
        public var estimatedForwardBytes: Int
        /// Resident set size before the load (the runtime and inputs), after it, and the peak.
        public var residentBeforeLoadBytes: Int?
        public var residentAfterLoadBytes: Int?
        public var peakResidentBytes: Int?
    }

    /// Loads the folder and runs `warmup` untimed and `iterations` timed forwards (batch 1,
    /// σ = 1, guidance 3.5 when embedded), each with a `ForwardClock`.
    public func run(threads: Int) throws -> Result {
        let residentBeforeLoad = residentBytes()
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let model = try FluxTransformer(directory: folder, matrices: matrices)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let residentAfterLoad = residentBytes()
        let c = model.configuration
        let (h, w) = (size[0] / 8, size[1] / 8)  // latent cells; tokens are 2 × 2 of them
        let ni = (h / 2) * (w / 2)
        let latents = RandomParameters(seed: 2).uniform(shape: [1, ni, c.inChannels])
        let text = RandomParameters(seed: 3).uniform(shape: [1, textTokens, c.jointAttentionDim])
        let pooled = RandomParameters(seed: 4).uniform(shape: [1, c.pooledProjectionDim])
        let imageIDs = FluxTransformer.imageIDs(latentHeight: h, latentWidth: w)
        let textIDs = Tensor(shape: [textTokens, 3])  // zeros, as FluxPipeline passes them
        var runs: [(seconds: Double, parts: [(name: String, seconds: Double)])] = []
        for i in 0..<(warmup + iterations) {
            let clock = ForwardClock()
            let start = DispatchTime.now().uptimeNanoseconds
            let v = try model(latents: latents, timestep: [1], text: text, pooled: pooled,
                              guidance: c.guidanceEmbeds ? [3.5] : nil, imageIDs: imageIDs, textIDs: textIDs, clock: clock)
            precondition(v.shape == [1, ni, c.outFeatures])
            if i >= warmup { runs.append((Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, clock.parts)) }
        }
        let peakResident = peakResidentBytes()  // before the sgemm peak's 48 MiB of matrices
        let best = runs.min { $0.seconds < $1.seconds }!
        func times(_ name: String) -> [Double] { best.parts.filter { $0.name == name }.map(\.seconds) }
        func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(max(1, x.count)) }
        let double = times("double"), single = times("single")
        let embedding = times("embedding").reduce(0, +), final = times("final").reduce(0, +)
        let blockFLOPs = TransformerCost(width: c.innerDim, doubleBlocks: 1, singleBlocks: 0, textTokens: textTokens)
            .flopsPerPass(imageTokens: ni)
        let archive = try WeightArchive(directory: folder, baseName: FluxTransformer.weightsName)
        return Result(machine: MachineInfo.measure(threads: threads), innerDim: c.innerDim, heads: c.numAttentionHeads,
                      doubleBlocks: c.numLayers, singleBlocks: c.numSingleLayers, size: size, imageTokens: ni,
                      textTokens: textTokens, precision: matrices, seconds: runs.map(\.seconds),
                      embeddingSeconds: embedding, doubleBlockSeconds: double, singleBlockSeconds: single,
                      finalSeconds: final, blockFLOPs: blockFLOPs,
                      doubleGFLOPS: blockFLOPs / mean(double) / 1e9, singleGFLOPS: blockFLOPs / mean(single) / 1e9,
                      projectedDoubleBlocks: projectedBlocks[0], projectedSingleBlocks: projectedBlocks[1],
                      projectedStepSeconds: embedding + Double(projectedBlocks[0]) * mean(double)
                        + Double(projectedBlocks[1]) * mean(single) + final,
                      loadSeconds: loadSeconds, weightFileBytes: archive.storedBytes,
                      estimatedForwardBytes: c.forwardBytes(imageTokens: ni, textTokens: textTokens, workers: threads),
                      residentBeforeLoadBytes: residentBeforeLoad, residentAfterLoadBytes: residentAfterLoad,
                      peakResidentBytes: peakResident)
    }

    /// Writes seeded random weights for the FLUX config in `configFile`, in `storage`, as a
    /// diffusers `transformer/` folder in `directory`.
    public static func writeRandomWeights(configFile: String, storage: StorageType, to directory: String) throws {
        let c = try FluxConfiguration(contentsOf: configFile)
        try writeRandomModel(configFile: configFile, storage: storage, to: directory, weightsName: FluxTransformer.weightsName) {
            _ = try FluxTransformer(configuration: c, parameters: $0)
        }
    }
}

extension FluxBenchmark.Result {
    /// Human-readable summary (what `bottleneck-bench flux` prints without `--json`).
    public var text: String {
        func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
        func mib(_ bytes: Int?) -> String { bytes.map { "\(f(Double($0) / 1048576, 1)) MiB" } ?? "n/a" }
        func list(_ x: [Double]) -> String { x.map { f($0, 3) }.joined(separator: ", ") }
        let weights = precision == .stored ? "16-bit kept as stored" : "expanded to float32"
        return """
        FLUX transformer forward: D=\(innerDim) (\(heads) heads), \(doubleBlocks) double + \(singleBlocks) single blocks, weights \(weights)
          \(size[1])x\(size[0]) px -> \(imageTokens) image + \(textTokens) text tokens
          forward: best \(f(seconds.min() ?? .nan, 3)) s (runs: \(list(seconds)))
          embedding \(f(embeddingSeconds, 3)) s, output layer \(f(finalSeconds, 3)) s
          double blocks: \(list(doubleBlockSeconds)) s -> \(f(doubleGFLOPS, 1)) GFLOP/s
          single blocks: \(list(singleBlockSeconds)) s -> \(f(singleGFLOPS, 1)) GFLOP/s
          one block: \(f(blockFLOPs / 1e9, 1)) GFLOP counted; sgemm peak \(f(machine.sgemmPeakGFLOPS, 1)) GFLOP/s
          projected step at \(projectedDoubleBlocks) double + \(projectedSingleBlocks) single blocks: \(f(projectedStepSeconds, 1)) s
          machine: \(machine.cores) cores, \(machine.threads) threads, OpenBLAS core \(machine.blasCore)
          load: \(f(loadSeconds, 2)) s, weight files \(mib(weightFileBytes)), RSS before load \(mib(residentBeforeLoadBytes)), after \(mib(residentAfterLoadBytes))
          peak RSS: \(mib(peakResidentBytes)); estimated: weight files + forward \(mib(estimatedForwardBytes)) = \(mib(weightFileBytes + estimatedForwardBytes)) over the RSS before load
        """
    }
}
