import Foundation
import Models
import SafeTensors
import Sampling
import Tensor

/// What a request needs of this machine, worked out from the pipeline folder's configs and
/// its weight files' headers (no weights load), so that a video that cannot fit is refused
/// before the models load: `generate` and `decode` check their request, `batch` every item.
/// The arithmetic of each model's working set lives next to its code
/// (`TransformerConfiguration.forwardBytes`, `VAEConfiguration.decodeActivationBytes`); this
/// puts the shares together as the stages run them (`ResourceEstimate`).
public struct ResourceFit: Sendable {
    /// The pipeline's components whose weights a command loads.
    public enum Component: String, CaseIterable, Sendable {
        case textEncoder = "text_encoder", transformer, vae

        var weightsName: String {
            switch self {
            case .textEncoder: BertTextEncoder.weightsName
            case .transformer: HunyuanVideoTransformer.weightsName
            case .vae: CausalVideoDecoder.weightsName
            }
        }

        /// Which stored shapes the component's loader reads as weight matrices (kept in 16 bits
        /// when stored so); the VAE converts every tensor to Float32.
        var readsAsMatrix: ([Int]) -> Bool {
            switch self {
            case .textEncoder: BertTextEncoder.readsAsMatrix
            case .transformer: HunyuanVideoTransformer.readsAsMatrix
            case .vae: { _ in false }
            }
        }

        /// Whether the component multiplies its stored matrix `key` (text embedding tables are
        /// looked up by row: no product scratch).
        var multiplies: (String) -> Bool {
            self == .textEncoder ? { !BertTextEncoder.isEmbeddingTable($0) } : { _ in true }
        }
    }

    /// The process before any weights load (Swift runtime, Foundation, libav, OpenBLAS):
    /// 48 MiB measured as the peak RSS of `bottleneck plan`, rounded up.
    static let runtimeBytes = 64 << 20
    /// The working sets counted here are live bytes; the heap keeps what is freed for reuse
    /// (`AllocatorPolicy`), so peak RSS can run above them: one video's tracks them closely
    /// (at 129 frames of 256² RSS grew 2077 MiB for 2064 MiB of decode activations), a
    /// batch's grows by about 8 % from its 2nd to its 6th item (Docs/benchmarks.md,
    /// "Resource estimate"). An eighth on top of each working set covers both.
    static func withHeapSlack(_ bytes: Int) -> Int { bytes + bytes / 8 }
    /// Frames a video encoder holds: x264's medium preset keeps up to 40 frames of lookahead,
    /// 3 B-frames, 3 references and a frame per thread (1.5 × cores), libvpx up to 25 of lag.
    static func encoderFrames(cores: Int) -> Int { 48 + 2 * cores }

    let transformer: TransformerConfiguration?
    let vae: VAEConfiguration
    /// The loaded weights' resident bytes: their files' bytes (mapped) plus Float32 copies of
    /// the tensors that are converted (`WeightArchive.residentBytes`), i.e. 16-bit matrices
    /// count once, at their stored width.
    let weightBytes: Int
    /// Scratch one thread keeps for products with the largest 16-bit matrix (0 if none stays 16-bit).
    let productScratchBytes: Int
    /// What the machine has (nil where it cannot be told).
    let memory: AvailableMemory?

    /// Reads the configs and weight headers of `components` (the transformer's only when it
    /// is one of them).
    /// - Throws: the config's or weight file's error naming it, or `PipelineError.badEnvironment`
    ///   for a `BOTTLENECK_MEMORY_LIMIT` that is not a size.
    public init(pipeline: PipelineFolder, components: [Component] = Component.allCases,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        transformer = components.contains(.transformer) ? try pipeline.transformerConfiguration() : nil
        vae = try VAEConfiguration.load(contentsOf: pipeline.path + "/vae/config.json")
        let archives = try components.map { component in
            (component, try WeightArchive(directory: pipeline.path + "/" + component.rawValue,
                                          baseName: component.weightsName))
        }
        weightBytes = archives.reduce(0) { $0 + $1.1.residentBytes($1.0.readsAsMatrix) }
        // A fused q|k|v (3·D × D) is smaller than the largest stored matrix of these models (the
        // 6·D × D modulation, a feed-forward layer), so the stored shapes bound the panel.
        productScratchBytes = archives.flatMap { component, archive in
            archive.storedMatrices(component.readsAsMatrix).filter { component.multiplies($0.key) }.map(\.entry)
        }.map { WeightMatrix.scratchBytes(rows: $0.shape[0], columns: $0.shape.dropFirst().reduce(1, *)) }.max() ?? 0
        memory = try AvailableMemory.current(environment: environment)
    }

    /// The estimate for `request`, whose plan resolved to `stages` (nil: decode only).
    /// - Parameters:
    ///   - lanes: denoisings that run beside a decode (a batch's `--lanes`; 0 for one video).
    ///   - frameQueueCapacity: the runner's frame batches between decoder and muxer.
    public func estimate(_ request: GenerationRequest, stages: [ResolvedStage]?, lanes: Int = 0,
                         frameQueueCapacity: Int = 2) -> ResourceEstimate {
        let base = request.latentSize
        var resident = [ResourceEstimate.Share("weights and runtime", bytes: Self.runtimeBytes + weightBytes)]
        if productScratchBytes > 0 {
            // Threads that multiply 16-bit weights: the workers, and each lane's passes' own threads.
            let threads = Threads.count + max(lanes, 1) * DiTGenerator.guidance(for: request).passesPerStep
            resident.append(.init("16-bit product scratch (\(threads) threads)", bytes: threads * productScratchBytes))
        }
        return ResourceEstimate(
            frames: request.frames, width: request.width, height: request.height,
            resident: resident,
            denoise: stages.flatMap { denoising(request, stages: $0) },
            decode: decoding(request, base: base, frameQueueCapacity: frameQueueCapacity),
            denoisingBesideDecode: stages == nil ? 0 : lanes,
            outputs: request.outputSizes(latentChannels: vae.latentChannels))
    }

    /// Refuses `request` when it does not fit (`ResourceEstimate.check`).
    /// - Returns: the estimate, for `describe`.
    /// - Throws: `ResourceShortage` with the estimate and the limit.
    @discardableResult
    public func check(_ request: GenerationRequest, stages: [ResolvedStage]?, lanes: Int = 0,
                      frameQueueCapacity: Int = 2) throws(ResourceShortage) -> ResourceEstimate {
        let estimate = estimate(request, stages: stages, lanes: lanes, frameQueueCapacity: frameQueueCapacity)
        try estimate.check(memory: memory)
        return estimate
    }

    /// The estimate's peak, its shares and the memory available, in one line for a debug log.
    public func describe(_ estimate: ResourceEstimate) -> String {
        let shares = estimate.peakShares.map { "\($0.name) \(ResourceShortage.bytes($0.bytes))" }
        let available = memory.map { "\(ResourceShortage.bytes($0.bytes)) (\($0.source))" } ?? "unknown"
        return "estimated peak memory \(ResourceShortage.bytes(estimate.peakMemoryBytes)) ("
            + shares.joined(separator: "; ") + "), available \(available)"
    }

    /// The largest stage's working set: the transformer's passes (two side by side with
    /// classifier-free guidance), the sampler's latents and, with `--preview`, the VAE
    /// decode of one latent frame at the stage's size.
    private func denoising(_ request: GenerationRequest, stages: [ResolvedStage]) -> ResourceEstimate.Share? {
        guard let transformer else { return nil }
        let passes = DiTGenerator.guidance(for: request).passesPerStep
        let text = MiniLMStage.maxTokens
        return stages.map { stage in
            let size = stage.size
            // x, both velocities, their combination, x̂₀, the stage's noise, a resampled copy.
            let latents = 8 * size.frames * size.height * size.width * transformer.inChannels
            var bytes = passes * transformer.forwardBytes(imageTokens: stage.tokens, textTokens: text,
                                                          workers: Threads.count)
                + latents * MemoryLayout<Float>.size
            if request.preview != nil {
                bytes += vae.decodeActivationBytes(latentFrames: 1, latentHeight: size.height,
                                                   latentWidth: size.width, chunkFrames: nil)
            }
            let name = "transformer at stage \(stage.index) (\(passes) pass\(passes == 1 ? "" : "es") "
                + "of \(stage.tokens + text) tokens)"
            return ResourceEstimate.Share(name, bytes: Self.withHeapSlack(bytes))
        }.max { $0.bytes < $1.bytes }
    }

    /// The decode's working set: the VAE's activations (untiled or streamed, as `VAEStage`
    /// chooses), the latents, the frame batches in flight and the encoder's frames.
    private func decoding(_ request: GenerationRequest, base: LatentSize,
                          frameQueueCapacity: Int) -> ResourceEstimate.Share {
        let chunk = VAEStage.streamingChunk(for: base, vae)
        let activations = vae.decodeActivationBytes(latentFrames: base.frames, latentHeight: base.height,
                                                    latentWidth: base.width, chunkFrames: chunk)
        let latents = 2 * base.frames * base.height * base.width * vae.latentChannels * MemoryLayout<Float>.size
        let pixels = request.width * request.height
        let batches = StageRunner.batchesInMemory(frameQueueCapacity: frameQueueCapacity)
        // Float RGB per batch, and the batch being written again as 8-bit RGB.
        let frames = VAEStage.framesPerBatch * pixels * 3 * (batches * MemoryLayout<Float>.size + 1)
        // Compressed formats: the encoder's frames, 4:2:0 with padding (2 bytes per pixel).
        let encoder: Int
        switch try? request.resolvedFormat() {
        case .mp4, .mkv, .webm: encoder = Self.encoderFrames(cores: ProcessInfo.processInfo.activeProcessorCount) * pixels * 2
        default: encoder = 0
        }
        let name = "VAE decode (\(chunk.map { "streamed \($0) latent frames at a time" } ?? "untiled"))"
        return ResourceEstimate.Share(name, bytes: Self.withHeapSlack(activations + latents + frames + encoder))
    }
}
