import ArgumentParser
import Foundation
import Media
import Models
import Pipeline
import Sampling
import Synchronization
import Tensor

/// The integration seam: the real modules behind the `Pipeline` stage protocols.
/// MiniLM → `TextEncodingStage`, HunyuanVideo DiT under the Bottleneck Sampling controller →
/// `LatentGenerator`, causal VAE (untiled or exact streaming decode) → `FrameDecoding`, Media's
/// `VideoWriter` → `VideoSinkFactory`, one-frame VAE decode → `PreviewRendering`.
enum Engine {
    /// Loads every stage from a diffusers-layout pipeline folder, once per process.
    static func loadStages(from pipeline: PipelineFolder, log: Log) throws -> PipelineStages {
        let root = pipeline.path
        let started = Date()
        let text = try MiniLMStage(encoder: MiniLMTextEncoder(
            directory: root + "/text_encoder", tokenizerDirectory: root + "/tokenizer",
            maxLength: MiniLMStage.maxTokens))
        let transformer = try HunyuanVideoTransformer(directory: root + "/transformer")
        let shift = try pipeline.schedulerShift()
        let generator = DiTGenerator(transformer: transformer, baseShift: shift, pipelineName: pipeline.displayName)
        let vae = try CausalVideoDecoder(directory: root + "/vae")
        log.debug("loaded \(root) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        let decoding = decodingStages(vae: vae, pipeline: pipeline)
        return PipelineStages(textEncoder: text, generator: generator, decoder: decoding.decoder,
                              sinks: decoding.sinks, preview: VAEPreview(decoder: vae))
    }

    /// Derives and resolves the request's plan from the pipeline's configs alone (no weights),
    /// so a size or step count the plan cannot serve fails before the models load.
    /// - Returns: the plan's stages, for the resource check.
    /// - Throws: `ValidationError` saying what to change.
    static func checkPlan(for request: GenerationRequest, in pipeline: PipelineFolder) throws -> [ResolvedStage] {
        do { return try PlanFit(pipeline: pipeline).check(request) } catch let error as RequestError {
            throw ValidationError(error.optionMessage)
        }
    }

    /// The pipeline's configs that decide whether a request's plan can run (the transformer's
    /// patch and cost model, the scheduler's shift), read once: `generate` checks its request,
    /// `batch` every item, before any weights load.
    struct PlanFit {
        let transformer: TransformerConfiguration
        let baseShift: Double

        /// - Throws: `PipelineError.badPipeline` naming a config file that is missing or wrong.
        init(pipeline: PipelineFolder) throws {
            transformer = try pipeline.transformerConfiguration()
            baseShift = try pipeline.schedulerShift()
        }

        /// Derives and resolves `request`'s plan as `DiTGenerator` will.
        /// - Returns: the resolved stages.
        /// - Throws: `RequestError` (`planDoesNotFit`, field `bottleneck`) with what to change.
        @discardableResult
        func check(_ request: GenerationRequest) throws -> [ResolvedStage] {
            let base = LatentSize(videoFrames: request.frames, width: request.width, height: request.height)
            do {
                let plan = try DiTGenerator.plan(for: request, base: base, transformer: transformer,
                                                 baseShift: baseShift)
                return try plan.resolved(base: base, patch: transformer.patch)
            } catch let error as SamplingError {
                let r = request
                throw RequestError(.planDoesNotFit(plan: r.bottleneck, frames: r.frames, width: r.width, height: r.height,
                                                   steps: r.steps, reason: error.description), field: "bottleneck")
            }
        }
    }

    /// Loads only the VAE decoder and the video writer (for `bottleneck decode`).
    static func loadDecoding(from pipeline: PipelineFolder) throws -> DecodingStages {
        decodingStages(vae: try CausalVideoDecoder(directory: pipeline.path + "/vae"), pipeline: pipeline)
    }

    /// The one place the decode and write stages are built, on an already loaded VAE (which
    /// `loadStages` also gives the preview).
    private static func decodingStages(vae: CausalVideoDecoder, pipeline: PipelineFolder) -> DecodingStages {
        DecodingStages(decoder: VAEStage(decoder: vae), sinks: MediaSinks(pipelineName: pipeline.displayName))
    }
}

/// `scheduler/scheduler_config.json` (diffusers `FlowMatchEulerDiscreteScheduler`): only `shift`.
struct SchedulerSettings: Decodable {
    var shift: Double

    /// - Throws: `PipelineError.badPipeline` naming the file for a missing file, a missing or
    ///   non-numeric `shift`, or one outside `BottleneckPlan.Bounds.shift` (the same bound as a
    ///   plan's shifts, since it becomes every plan's base shift).
    static func load(from path: String) throws -> SchedulerSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.badPipeline(path: path, reason: "missing scheduler config"))
        }
        let settings: SchedulerSettings
        do { settings = try JSONDecoder().decode(SchedulerSettings.self, from: data) } catch {
            throw PipelineError(.badPipeline(path: path, reason: "no numeric \"shift\" key"))
        }
        if let violation = BottleneckPlan.Bounds.shift.violation(settings.shift) {
            throw PipelineError(.badPipeline(path: path, reason: "\"shift\" \(violation)"))
        }
        return settings
    }
}

/// MiniLM text states `[1, L, 384]` and the normalised mean-pooled vector `[1, 384]`; the
/// negative prompt (empty when none) is encoded alongside for classifier-free guidance.
struct MiniLMStage: TextEncodingStage {
    /// Token limit of the text contract the shipped DiT was trained with (Docs/training.md).
    static let maxTokens = 32
    let encoder: MiniLMTextEncoder

    func encode(prompt: String, negativePrompt: String?) async throws -> PromptEmbeddings {
        let positive = try encoder.encode([prompt])
        let negative = try encoder.encode([negativePrompt ?? ""])
        return PromptEmbeddings(
            conditional: positive.states, tokenCount: positive.mask[0].filter { $0 }.count,
            pooled: positive.pooled, unconditional: negative.states,
            unconditionalTokenCount: negative.mask[0].filter { $0 }.count, unconditionalPooled: negative.pooled)
    }
}

/// The transformer as the sampler's `Denoiser`: one prompt, conditional or unconditional pass.
struct TransformerDenoiser: Denoiser {
    let transformer: HunyuanVideoTransformer
    let embeddings: PromptEmbeddings
    /// Runs the unconditional pass of a guided step beside the conditional one.
    private let sidePass = DispatchQueue(label: "bottleneck.unconditional-pass")

    init(transformer: HunyuanVideoTransformer, embeddings: PromptEmbeddings) {
        self.transformer = transformer
        self.embeddings = embeddings
    }

    mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry,
                           conditional: Bool) throws -> Tensor {
        try pass(latents, timestep: timestep, conditional: conditional)
    }

    /// The two passes side by side, each on half the kernel threads (one each on two cores),
    /// instead of one after the other on all of them: a pass on one thread has no parallel
    /// regions to wait for, no split products and no serial stretches leaving a core idle,
    /// which is worth most at the bottleneck stage's low resolution (Docs/benchmarks.md).
    /// Results equal the sequential passes' bit for bit where a split product equals one call
    /// (OpenBLAS's AVX-512 kernels) and within float rounding elsewhere (`BLAS.splitAlignment`).
    mutating func guidedVelocities(_ latents: Tensor, timestep: Float,
                                   geometry: StageGeometry) throws -> (conditional: Tensor, unconditional: Tensor) {
        let workers = Threads.count
        guard workers >= 2 else {
            return (try pass(latents, timestep: timestep, conditional: true),
                    try pass(latents, timestep: timestep, conditional: false))
        }
        let side = workers / 2
        let unconditional = Mutex<Result<Tensor, any Error>?>(nil)
        let group = DispatchGroup()
        sidePass.async(group: group) { [self] in
            let r = Result { try Threads.withWorkers(side) { try pass(latents, timestep: timestep, conditional: false) } }
            unconditional.withLock { $0 = r }
        }
        let conditional = Result { try Threads.withWorkers(workers - side) { try pass(latents, timestep: timestep, conditional: true) } }
        group.wait()
        return (try conditional.get(), try unconditional.withLock { $0! }.get())
    }

    private func pass(_ latents: Tensor, timestep: Float, conditional: Bool) throws -> Tensor {
        let states = conditional ? embeddings.conditional : (embeddings.unconditional ?? embeddings.conditional)
        let valid = conditional ? embeddings.tokenCount : embeddings.unconditionalTokenCount
        let pooled = (conditional ? embeddings.pooled : embeddings.unconditionalPooled)
            ?? Tensor(shape: [1, transformer.configuration.pooledProjectionDim])
        let mask = [(0..<states.shape[1]).map { $0 < valid }]
        return try transformer(latents: latents, timestep: [timestep], text: states, textMask: mask,
                               pooled: pooled, guidance: nil)
    }
}

/// Seeded noise → latents `[1, T, H/8, W/8, 16]` through the Bottleneck Sampling controller.
struct DiTGenerator: LatentGenerator {
    let transformer: HunyuanVideoTransformer
    /// The pipeline's scheduler shift (standard sampling and each plan's base shift).
    let baseShift: Double
    let pipelineName: String

    func plan(for request: GenerationRequest, base: LatentSize) throws -> BottleneckPlan {
        try Self.plan(for: request, base: base, transformer: transformer.configuration, baseShift: baseShift)
    }

    /// The plan `request.bottleneck` names at `base`: a preset derived for this transformer's
    /// cost model, or the plan file.
    static func plan(for request: GenerationRequest, base: LatentSize, transformer: TransformerConfiguration,
                     baseShift: Double) throws -> BottleneckPlan {
        let cost = transformer.cost(textTokens: MiniLMStage.maxTokens)
        let context = PlanContext(base: base, transformer: cost, baseSteps: request.steps, baseShift: baseShift)
        switch request.bottleneck {
        case .off: return .standard(steps: request.steps, shift: baseShift)
        case .x2: return try .preset(.x2, context: context)
        case .x2_5: return try .preset(.x2_5, context: context)
        case .x3: return try .preset(.x3, context: context)
        case .file(let path): return try BottleneckPlan(contentsOf: URL(fileURLWithPath: path))
        }
    }

    /// Classifier-free guidance (two passes per step) above a scale of 1, else one pass.
    static func guidance(for request: GenerationRequest) -> GuidanceMode {
        request.cfgScale > 1 ? .classifierFree(scale: request.cfgScale) : .embedded
    }

    func generate(embeddings: PromptEmbeddings, request: GenerationRequest,
                  observer: StepObserver) async throws -> Latents {
        let c = transformer.configuration
        let base = LatentSize(videoFrames: request.frames, width: request.width, height: request.height)
        let guidance = Self.guidance(for: request)
        var sampler = try BottleneckSampler(
            plan: plan(for: request, base: base), base: base,
            patch: c.patch,
            denoiser: TransformerDenoiser(transformer: transformer, embeddings: embeddings),
            seed: request.seed ?? 0,
            configuration: .init(guidance: guidance, includeCleanEstimate: request.preview != nil,
                                 channels: c.inChannels))
        while let event = try sampler.nextStep() {
            try Task.checkCancellation()
            let progress = StepProgress(index: event.index, count: event.count, stage: event.stage,
                                        latentSize: [event.latentSize.frames, event.latentSize.height, event.latentSize.width],
                                        sigma: event.sigma, seconds: event.seconds)
            // Previews show x̂₀ = x − σ·v: the sampler's current guess of the final video, not
            // the noisy x_t.
            observer.report(progress, observer.wantsLatents(event.index) ? event.cleanEstimate.map(Latents.init) : nil)
        }
        guard let final = sampler.finalLatents else {
            throw PipelineError(.badPipeline(path: pipelineName, reason: "the sampler produced no latents"))
        }
        return Latents(final)
    }
}

/// VAE decode, emitted to the muxer in batches of frames.
///
/// Small videos (at most `untiledPixelBudget` pixels over all frames) are decoded untiled in one
/// pass: the exact streaming decode equals it but runs one statistics pass per GroupNorm layer
/// (about 6× the compute, `StreamingVideoDecoder`). Larger videos use the exact streaming decode,
/// whose memory depends on the chunk and frame size, not on the number of frames.
struct VAEStage: FrameDecoding {
    let decoder: CausalVideoDecoder
    /// Latent frames per decoded chunk (4 latent frames = 16 pixel frames).
    static let chunkFrames = 4
    /// Pixel frames per emitted batch, on either path.
    static let framesPerBatch = 4 * chunkFrames
    /// 129 frames of 256×256 (the shipped VAE's activations: about 2 GiB,
    /// `VAEConfiguration.decodeActivationBytes`).
    static let untiledPixelBudget = 129 * 256 * 256

    /// How latents of `size` are decoded: nil for untiled, else the streaming decode's chunk in
    /// latent frames. The one place the choice is made (the decode and the resource estimate).
    static func streamingChunk(for size: LatentSize, _ c: VAEConfiguration) -> Int? {
        let pixels = c.pixelFrames(latentFrames: size.frames) * size.height * size.width
            * c.spatialCompressionRatio * c.spatialCompressionRatio
        return pixels <= untiledPixelBudget ? nil : chunkFrames
    }

    func decode(_ latents: Latents, request: GenerationRequest,
                emit: @Sendable (FrameBatch) async throws -> Void) async throws {
        let c = decoder.configuration
        let first = latents.tensor.slice(rows: 0..<1)
        let size = LatentSize(frames: latents.frames, height: latents.height, width: latents.width)
        guard let chunkFrames = Self.streamingChunk(for: size, c) else {
            let all = try decoder.decode(latents: first)
            let frames = all.reshaped(Array(all.shape.dropFirst()))
            for start in stride(from: 0, to: frames.shape[0], by: Self.framesPerBatch) {
                try Task.checkCancellation()
                let end = min(frames.shape[0], start + Self.framesPerBatch)
                try await emit(FrameBatch(firstFrame: start, pixels: frames.slice(rows: start..<end)))
            }
            return
        }
        let video = first.reshaped(Array(first.shape.dropFirst()))  // [T, h, w, C]
        let stats = try decoder.groupNormStatistics(latents: video, chunkFrames: chunkFrames)
        var session = StreamingVideoDecoder(decoder: decoder, statistics: stats)
        var next = 0
        for start in stride(from: 0, to: latents.frames, by: chunkFrames) {
            try Task.checkCancellation()
            let frames = try session.decode(chunk: video.slice(rows: start..<min(latents.frames, start + chunkFrames)))
            try await emit(FrameBatch(firstFrame: next, pixels: frames))
            next += frames.shape[0]
        }
    }
}

/// Media's `VideoWriter` as the pipeline's sink (temporary name, renamed on finish).
struct MediaSinks: VideoSinkFactory {
    let pipelineName: String

    func makeSink(for request: GenerationRequest) async throws -> any VideoSink {
        let format = try request.resolvedFormat()
        var metadata = [
            "prompt": request.prompt, "seed": String(request.seed ?? 0), "pipeline": pipelineName,
            "bottleneck": request.bottleneck.description, "steps": String(request.steps),
            "cfg": String(request.cfgScale), "software": "bottleneck \(Bottleneck.configuration.version)",
        ]
        if let negative = request.negativePrompt { metadata["negative_prompt"] = negative }
        let options = VideoOptions(width: request.width, height: request.height, fps: try FrameRate(request.fps, 1),
                                   format: try MediaFormat(name: format.rawValue), crf: request.crf, metadata: metadata)
        let destination: MediaDestination
        switch request.output {
        case .stdout: destination = .standardOutput
        case .file(let path): destination = .file(path)
        }
        return MediaSink(writer: try VideoWriter(destination: destination, options: options))
    }
}

struct MediaSink: VideoSink {
    let writer: VideoWriter

    func write(_ batch: FrameBatch) async throws {
        let (f, h, w) = (batch.pixels.shape[0], batch.pixels.shape[1], batch.pixels.shape[2])
        let frameSize = h * w * 3
        let frames = try batch.pixels.data.withUnsafeBufferPointer { all in
            try (0..<f).map { i in
                try VideoFrame(width: w, height: h,
                               floatRGB: UnsafeBufferPointer(rebasing: all[(i * frameSize)..<((i + 1) * frameSize)]))
            }
        }
        try await writer.append(frames)
    }

    func finish() async throws -> OutputSummary {
        let summary = try await writer.finish()
        return OutputSummary(destination: "\(summary.destination)", bytes: Int(summary.bytes), frames: summary.frames)
    }

    func cancel() async { await writer.cancel() }
}

extension TransformerConfiguration {
    /// The cost-model view of this transformer (`bottleneck plan` and the generator's presets).
    func cost(textTokens: Int) -> TransformerCost {
        TransformerCost(width: innerDim, doubleBlocks: numLayers, singleBlocks: numSingleLayers,
                        patch: patch, textTokens: textTokens)
    }

    /// The sampler's view of `patch_size_t` and `patch_size`.
    var patch: PatchSize { PatchSize(temporal: patchSizeT, spatial: patchSize) }
}

extension LatentSize {
    /// The latent grid of a video of `videoFrames` (4k + 1) frames of `width`×`height` pixels
    /// under the causal VAE's 4× temporal and 8× spatial compression.
    init(videoFrames: Int, width: Int, height: Int) {
        self.init(frames: (videoFrames - 1) / 4 + 1, height: height / 8, width: width / 8)
    }
}

extension PipelineFolder {
    /// `transformer/config.json`.
    func transformerConfiguration() throws -> TransformerConfiguration {
        try TransformerConfiguration(contentsOf: path + "/transformer/config.json")
    }

    /// The `shift` of `scheduler/scheduler_config.json`.
    func schedulerShift() throws -> Double {
        try SchedulerSettings.load(from: path + "/scheduler/scheduler_config.json").shift
    }
}
