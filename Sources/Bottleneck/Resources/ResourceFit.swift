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
        case textEncoder = "text_encoder", textEncoder2 = "text_encoder_2", transformer, vae

        /// The weight file's name without `.safetensors` (or its `.index.json` shards).
        var weightsName: String {
            switch self {
            case .textEncoder, .textEncoder2: BertTextEncoder.weightsName
            case .transformer: HunyuanVideoTransformer.weightsName
            case .vae: CausalVideoDecoder.weightsName
            }
        }

        /// Which stored shapes the component's loader reads as weight matrices (kept in 16 bits
        /// when stored so): every rank-2+ tensor of the text encoders (MiniLM, CLIP, T5) and
        /// transformers; the VAEs' conv kernels (repacked at 16 bits: as many bytes as stored).
        var readsAsMatrix: ([Int]) -> Bool {
            switch self {
            case .textEncoder, .textEncoder2: BertTextEncoder.readsAsMatrix
            case .transformer: HunyuanVideoTransformer.readsAsMatrix
            case .vae: CausalVideoDecoder.readsAsMatrix
            }
        }

        /// Whether the component multiplies its stored matrix `key` through the 16-bit product
        /// (text embedding tables are looked up by row, and conv kernels widen into their own
        /// scratch, `ResourceFit.convolutionScratchBytes`: no product scratch).
        var multiplies: (String) -> Bool {
            switch self {
            case .textEncoder: { !BertTextEncoder.isEmbeddingTable($0) }
            case .textEncoder2, .transformer: { _ in true }
            case .vae: { _ in false }
            }
        }

        /// The components `kind` loads.
        static func loaded(by kind: PipelineKind) -> [Component] {
            allCases.filter { kind.components.contains($0.rawValue) }
        }
    }

    /// One component's weights as a run holds them.
    public struct Weights: Sendable, Equatable {
        public var component: Component
        public var parameters: Int
        /// Storage types on disk (`BF16`, `F32`, …), or the assumed one for a folder without
        /// weight files (`inferredFromConfig`).
        public var storage: [String]
        /// Bytes of the weight files (2 a parameter when inferred).
        public var storedBytes: Int
        /// Bytes held once loaded (`WeightArchive.residentBytes`: 16-bit matrices once, the rest
        /// also as Float32). A VAE's 16-bit conv kernels count once too: the load repacks them
        /// into 16-bit copies and then holds no view of the file, whose mapping is released (the
        /// two exist together only while it loads, before any stage runs).
        public var residentBytes: Int
        /// True when the folder has no weight file for the component and the numbers come from
        /// its `config.json` (parameter counts of the model's modules), at 2 bytes a weight
        /// (bfloat16, as FLUX.1 ships).
        public var inferredFromConfig: Bool
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

    /// The VAE a kind decodes with, from its `vae/config.json`.
    enum Decoder: Sendable {
        case causal(VAEConfiguration)
        case image(AutoencoderKLConfiguration)

        var latentChannels: Int {
            switch self {
            case .causal(let c): c.latentChannels
            case .image(let c): c.latentChannels
            }
        }

        /// The widest conv kernel in Float32: what one conv call widens a 16-bit kernel into.
        var widenedKernelBytes: Int {
            switch self {
            case .causal(let c): c.widenedKernelBytes
            case .image(let c): c.widenedKernelBytes
            }
        }
    }

    /// The folder's pipeline kind.
    public let kind: PipelineKind
    let transformer: TransformerProfile?
    let vae: Decoder
    /// FLUX.1's T5 (`text_encoder_2`), whose activations at 512 tokens are counted.
    let t5: T5Configuration?
    /// Each loaded component's weights.
    public let weights: [Weights]
    /// The loaded weights' resident bytes: their files' bytes (mapped) plus Float32 copies of
    /// the tensors that are converted (`WeightArchive.residentBytes`), i.e. 16-bit matrices
    /// count once, at their stored width.
    var weightBytes: Int { weights.reduce(0) { $0 + $1.residentBytes } }
    /// Scratch one thread keeps for products with the largest 16-bit matrix (0 if none stays 16-bit).
    let productScratchBytes: Int
    /// The Float32 copy of one 16-bit conv kernel, held while that conv runs (0 when the VAE is
    /// not loaded or its kernels are Float32).
    let convolutionScratchBytes: Int
    /// What the machine has (nil where it cannot be told).
    let memory: AvailableMemory?

    /// Reads the configs and weight headers of `components` (the transformer's only when it
    /// is one of them; components the folder's kind does not load are skipped). A FLUX.1
    /// component without weight files is counted from its config (`Weights.inferredFromConfig`).
    /// - Throws: `PipelineError` naming `model_index.json`, the config's or weight file's error
    ///   naming it, or `PipelineError.badEnvironment` for a `BOTTLENECK_MEMORY_LIMIT` that is
    ///   not a size.
    public init(pipeline: PipelineFolder, components: [Component] = Component.allCases,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        kind = try pipeline.kind()
        let wanted = Component.loaded(by: kind).filter(components.contains)
        transformer = wanted.contains(.transformer) ? try pipeline.transformerProfile(kind) : nil
        let vaeConfig = pipeline.path + "/vae/config.json"
        switch kind {
        case .hunyuanVideo:
            vae = .causal(try VAEConfiguration.load(contentsOf: vaeConfig))
            t5 = nil
        case .flux:
            vae = .image(try AutoencoderKLConfiguration.load(contentsOf: vaeConfig))
            t5 = wanted.contains(.textEncoder2) ? try Self.t5Configuration(pipeline) : nil
        }
        var weights: [Weights] = [], scratch = 0, convolutionScratch = 0
        for component in wanted {
            let directory = pipeline.path + "/" + component.rawValue
            if kind == .flux, !WeightArchive.exists(directory: directory, baseName: component.weightsName) {
                weights.append(try Self.inferredWeights(component, pipeline: pipeline))
                if component == .vae { convolutionScratch = vae.widenedKernelBytes }  // inferred as BF16
                continue
            }
            let archive = try WeightArchive(directory: directory, baseName: component.weightsName)
            if component == .vae, !archive.storedMatrices(component.readsAsMatrix).isEmpty {
                convolutionScratch = vae.widenedKernelBytes
            }
            let entries = archive.files.flatMap(\.entries.values)
            weights.append(Weights(component: component, parameters: entries.reduce(0) { $0 + $1.shape.reduce(1, *) },
                                   storage: Set(entries.map(\.dtype.rawValue)).sorted(), storedBytes: archive.storedBytes,
                                   residentBytes: archive.residentBytes(component.readsAsMatrix), inferredFromConfig: false))
            // A fused q|k|v (3·D × D) is smaller than the largest stored matrix of these models
            // (the 6·D × D modulation, a feed-forward layer), so the stored shapes bound the panel.
            let panels = archive.storedMatrices(component.readsAsMatrix).filter { component.multiplies($0.key) }
                .map { WeightMatrix.scratchBytes(rows: $0.entry.shape[0], columns: $0.entry.shape.dropFirst().reduce(1, *)) }
            scratch = max(scratch, panels.max() ?? 0)
        }
        self.weights = weights
        productScratchBytes = scratch
        convolutionScratchBytes = convolutionScratch
        memory = try AvailableMemory.current(environment: environment)
    }

    /// A text encoder's `config.json` (absent keys take transformers' defaults).
    /// - Throws: `PipelineError.badPipeline` naming the file.
    static func textConfiguration<T: Decodable>(_ type: T.Type, _ directory: String) throws -> T {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.badPipeline(reason: "missing text encoder config"), subject: path)
        }
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw PipelineError(.badPipeline(reason: "\(error)"), subject: path)
        }
    }

    static func t5Configuration(_ pipeline: PipelineFolder) throws -> T5Configuration {
        let directory = pipeline.path + "/text_encoder_2"
        let c = try textConfiguration(T5Configuration.self, directory)
        try c.validate(directory: directory)
        return c
    }

    /// A FLUX.1 component's weights from its config alone: its parameter count at 2 bytes
    /// a weight, kept 16-bit by the text encoders, the transformer and the VAE's conv kernels;
    /// the VAE's other tensors are also held as Float32. The product scratch is then not counted.
    static func inferredWeights(_ component: Component, pipeline: PipelineFolder) throws -> Weights {
        let directory = pipeline.path + "/" + component.rawValue
        var parameters: Int, widened = 0  // Float32 copies the load makes
        switch component {
        case .textEncoder:
            parameters = try textConfiguration(CLIPTextConfiguration.self, directory).parameterCount()
        case .textEncoder2: parameters = try t5Configuration(pipeline).encoderParameterCount
        case .transformer: parameters = try FluxConfiguration(contentsOf: directory + "/config.json").parameterCount
        case .vae:
            let c = try AutoencoderKLConfiguration.load(contentsOf: directory + "/config.json")
            parameters = c.parameterCount
            widened = parameters - c.convolutionKernelCount
        }
        let stored = 2 * parameters
        return Weights(component: component, parameters: parameters, storage: ["BF16"], storedBytes: stored,
                       residentBytes: stored + 4 * widened, inferredFromConfig: true)
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
            let threads = Threads.count + max(lanes, 1) * kind.guidance(for: request).passesPerStep
            resident.append(.init("16-bit product scratch (\(threads) threads)", bytes: threads * productScratchBytes))
        }
        if convolutionScratchBytes > 0 {
            // Conv calls at once: the decode's, and each lane's preview decodes beside it in a batch.
            let layers = 1 + (request.preview != nil ? lanes : 0)
            resident.append(.init("16-bit conv scratch (\(layers) layer\(layers == 1 ? "" : "s"))",
                                  bytes: layers * convolutionScratchBytes))
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
    /// decode of one latent frame at the stage's size; or FLUX.1's T5 encoding before it, when
    /// that is larger.
    private func denoising(_ request: GenerationRequest, stages: [ResolvedStage]) -> ResourceEstimate.Share? {
        guard let transformer else { return nil }
        let passes = kind.guidance(for: request).passesPerStep
        let text = transformer.cost.textTokens
        let largest = stages.map { stage in
            let size = stage.size
            // x, both velocities, their combination, x̂₀, the stage's noise, a resampled copy.
            let latents = 8 * size.frames * size.height * size.width * transformer.latentChannels
            var bytes = passes * transformer.forwardBytes(stage.tokens, Threads.count) + latents * MemoryLayout<Float>.size
            if request.preview != nil { bytes += previewBytes(size) }
            let name = "transformer at stage \(stage.index) (\(passes) pass\(passes == 1 ? "" : "es") "
                + "of \(stage.tokens + text) tokens)"
            return ResourceEstimate.Share(name, bytes: Self.withHeapSlack(bytes))
        }.max { $0.bytes < $1.bytes }
        guard let t5, let largest else { return largest }
        let encoding = ResourceEstimate.Share("T5 text encoder (\(text) tokens)", bytes: Self.withHeapSlack(
            t5.forwardBytes(batch: 1, tokens: text, workers: Threads.count)))
        return encoding.bytes > largest.bytes ? encoding : largest
    }

    /// A preview's decode of one latent frame of `size`.
    private func previewBytes(_ size: LatentSize) -> Int {
        switch vae {
        case .causal(let c):
            c.decodeActivationBytes(latentFrames: 1, latentHeight: size.height, latentWidth: size.width, chunkFrames: nil)
        case .image(let c): c.decodeActivationBytes(batch: 1, latentHeight: size.height, latentWidth: size.width)
        }
    }

    /// The decode's working set: the VAE's activations (untiled or streamed, as `VAEStage`
    /// chooses), the latents, the frame batches in flight and the encoder's frames.
    private func decoding(_ request: GenerationRequest, base: LatentSize,
                          frameQueueCapacity: Int) -> ResourceEstimate.Share {
        let chunk: Int?, activations: Int
        switch vae {
        case .causal(let c):
            chunk = VAEStage.streamingChunk(for: base, c)
            activations = c.decodeActivationBytes(latentFrames: base.frames, latentHeight: base.height,
                                                  latentWidth: base.width, chunkFrames: chunk)
        case .image(let c):
            // One image per latent frame, decoded whole (`ImageVAEStage`).
            chunk = nil
            activations = c.decodeActivationBytes(batch: base.frames, latentHeight: base.height, latentWidth: base.width)
        }
        let latents = 2 * base.frames * base.height * base.width * vae.latentChannels * MemoryLayout<Float>.size
        let pixels = request.width * request.height
        let batches = StageRunner.batchesInMemory(frameQueueCapacity: frameQueueCapacity)
        // Float RGB per batch, and the batch being written again as 8-bit RGB.
        let perBatch = kind.makesImages ? 1 : VAEStage.framesPerBatch  // an image is one batch of one frame
        let frames = perBatch * pixels * 3 * (batches * MemoryLayout<Float>.size + 1)
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
