import Models
import Tensor

/// Text to video (or image) from one pipeline folder: the models are loaded once, then every
/// `generate` runs through the same `StageRunner` (text encoding, denoising under the
/// Bottleneck Sampling plan, VAE decode, muxing), reporting `GenerationEvent`s.
///
/// ```swift
/// let pipeline = try BottleneckPipeline(folder: PipelineFolder.locate(explicit: "pipelines/shapes"))
/// var request = GenerationRequest(prompt: "a red ball bouncing on a black background")
/// request.output = .file("ball.mp4")
/// for try await event in try pipeline.generate(request) { print(event) }
/// ```
///
/// The plumbing behind the stage protocols, per `PipelineKind` (from `model_index.json`):
/// HunyuanVideo: MiniLM → `TextEncodingStage`, the HunyuanVideo DiT under the Bottleneck
/// Sampling controller → `LatentGenerator`, the causal VAE (untiled or exact streaming decode) →
/// `FrameDecoding`, a one-frame VAE decode → `PreviewRendering`. FLUX.1: CLIP-L + T5 →
/// `TextEncodingStage`, the FLUX transformer under the same controller, the image VAE for the
/// decode and the preview. Media's `VideoWriter` (or one PNG) → `VideoSinkFactory` for both.
public struct BottleneckPipeline: Sendable {
    /// The software version, written into every video's metadata (`software`).
    public static let version = "0.1.0"

    /// Prompt tokens the text encoder passes to the transformer (the text contract the shipped
    /// DiT was trained with); the cost model and the memory estimate count them.
    public static let textTokens = MiniLMStage.maxTokens

    /// The `OPENBLAS_CORETYPE` to start this process with, or nil when OpenBLAS's own kernels
    /// stand: OpenBLAS picks them when the process loads, and on a CPU it does not know it runs
    /// generic SSE3 ones, 2.85× slower on the default video (`BLAS.relaunchCoreType`; the CLI
    /// relaunches itself with it).
    public static var fasterOpenBLASCoreType: String? { BLAS.relaunchCoreType }

    public let folder: PipelineFolder
    /// What the folder holds (`model_index.json`).
    public let kind: PipelineKind
    /// The folder's own guidance scale (`PipelineFolder.defaultGuidance()`), nil for the kind's.
    public let defaultGuidance: Float?
    /// The loaded stages (immutable weights, shared by every run).
    public let stages: PipelineStages

    /// Loads every model of `folder`: text encoder(s) and tokenizer(s), transformer, VAE.
    /// - Throws: `PipelineError` naming `model_index.json` (unknown class, missing component),
    ///   the first model's loading error (`SafeTensorsError`, `TextEncoderError`, `TokenizerError`,
    ///   `ModelError`, `VAEError`; `PipelineError.badPipeline` for a bad scheduler config or
    ///   `_guidance_scale`).
    public init(folder: PipelineFolder) throws {
        let root = folder.path
        kind = try folder.kind()
        defaultGuidance = try folder.defaultGuidance()
        let schedule = try folder.schedulerSettings()
        switch kind {
        case .hunyuanVideo:
            let text = try MiniLMStage(encoder: MiniLMTextEncoder(
                directory: root + "/text_encoder", tokenizerDirectory: root + "/tokenizer",
                maxLength: MiniLMStage.maxTokens))
            let generator = DiTGenerator(model: try HunyuanVideoTransformer(directory: root + "/transformer"),
                                         kind: kind, schedule: schedule, pipelineName: folder.displayName)
            let vae = try CausalVideoDecoder(directory: root + "/vae")
            let decoding = LatentDecodingPipeline(decoder: VAEStage(decoder: vae), folder: folder).stages
            stages = PipelineStages(textEncoder: text, generator: generator, decoder: decoding.decoder,
                                    sinks: decoding.sinks, preview: VAEPreview(decoder: vae))
        case .flux:
            let text = FluxTextStage(encoder: FluxTextEncoder(
                clip: try CLIPTextEncoder(directory: root + "/text_encoder", tokenizerDirectory: root + "/tokenizer"),
                t5: try T5TextEncoder(directory: root + "/text_encoder_2", tokenizerDirectory: root + "/tokenizer_2",
                                      maxSequenceLength: FluxTextStage.maxTokens)))
            let generator = DiTGenerator(model: try FluxTransformer(directory: root + "/transformer"),
                                         kind: kind, schedule: schedule, pipelineName: folder.displayName)
            let vae = ImageVAEStage(decoder: try AutoencoderKLDecoder(directory: root + "/vae"))
            let decoding = LatentDecodingPipeline(decoder: vae, folder: folder).stages
            stages = PipelineStages(textEncoder: text, generator: generator, decoder: decoding.decoder,
                                    sinks: decoding.sinks, preview: vae)
        }
        self.folder = folder
    }

    /// A request for `prompt` with this pipeline's defaults: its kind's, and its folder's
    /// guidance scale where it has one.
    public func request(prompt: String) -> GenerationRequest {
        GenerationRequest(prompt: prompt, kind: kind, guidance: defaultGuidance)
    }

    /// One video: validates `request` (and draws a seed when it has none), then runs it as
    /// item 0. The events end with `.finished` (or `.failed`); see `GenerationEvents` for
    /// cancellation.
    /// - Throws: `RequestError` for a request that `GenerationRequest.validate` refuses.
    public func generate(_ request: GenerationRequest) throws -> GenerationEvents {
        try request.validate(for: kind)
        return runner().events([WorkItem(index: 0, request: request.resolvingSeed())])
    }

    /// A runner on these stages for many items (a batch), with the given queue and lanes.
    public func runner(frameQueueCapacity: Int = 2, denoisingLanes: Int = 1) -> StageRunner {
        StageRunner(stages: stages, frameQueueCapacity: frameQueueCapacity, denoisingLanes: denoisingLanes)
    }
}

/// Latents saved with `--save-latents` (`LatentFile`) back to a video: only the VAE and the
/// video writer are loaded.
public struct LatentDecodingPipeline: Sendable {
    public let stages: DecodingStages

    /// Loads the VAE of `folder` (the causal video VAE, or FLUX.1's image VAE).
    /// - Throws: `PipelineError` naming `model_index.json`, the VAE's loading error.
    public init(folder: PipelineFolder) throws {
        let vae = folder.path + "/vae"
        switch try folder.kind() {
        case .hunyuanVideo: self.init(decoder: VAEStage(decoder: try CausalVideoDecoder(directory: vae)), folder: folder)
        case .flux: self.init(decoder: ImageVAEStage(decoder: try AutoencoderKLDecoder(directory: vae)), folder: folder)
        }
    }

    /// The one place the decode and write stages are built, on a loaded VAE (which
    /// `BottleneckPipeline` also gives the preview).
    init(decoder: any FrameDecoding, folder: PipelineFolder) {
        stages = DecodingStages(decoder: decoder, sinks: MediaSinks(pipelineName: folder.displayName))
    }

    /// Decodes `latents` into `request.output` as item 0.
    /// - Throws: `RequestError` for a request that `GenerationRequest.validate` refuses.
    public func decode(_ latents: Latents, request: GenerationRequest) throws -> GenerationEvents {
        try request.validate()
        let item = WorkItem(index: 0, request: request)
        return GenerationEvents { [stages] events in
            try await StageRunner.decode([(item, latents)], with: stages, onEvent: events)
        }
    }
}
