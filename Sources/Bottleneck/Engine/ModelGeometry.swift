import Models
import Sampling

/// What planning and the resource check need of a pipeline's transformer, from its
/// `config.json` alone (no weights): the cost model, the latent channels and the memory of one
/// pass. `DiTGenerator` drives the loaded model with the same numbers.
struct TransformerProfile: Sendable {
    /// Width, blocks, patch and the text tokens of every call.
    var cost: TransformerCost
    /// Channels of the sampler's latents `[B, T, H, W, C]` (16 for both kinds).
    var latentChannels: Int
    /// Whether the model takes a guidance value (HunyuanVideo's classifier-free scale, FLUX.1-dev's
    /// distilled guidance); false for FLUX.1-schnell (`guidance_embeds` false).
    var takesGuidance: Bool
    /// Peak bytes of one pass over `imageTokens` image tokens (plus `cost.textTokens`) on `workers` threads.
    var forwardBytes: @Sendable (_ imageTokens: Int, _ workers: Int) -> Int

    init(_ c: TransformerConfiguration) {
        let text = MiniLMStage.maxTokens
        cost = c.cost(textTokens: text)
        latentChannels = c.inChannels
        takesGuidance = true
        forwardBytes = { c.forwardBytes(imageTokens: $0, textTokens: text, workers: $1) }
    }

    init(_ c: FluxConfiguration) {
        let text = FluxTextStage.maxTokens
        cost = c.cost(textTokens: text)
        latentChannels = c.inChannels / 4
        takesGuidance = c.guidanceEmbeds
        forwardBytes = { c.forwardBytes(imageTokens: $0, textTokens: text, workers: $1) }
    }
}

extension TransformerConfiguration {
    /// The cost-model view of this transformer (`bottleneck plan` and the generator's presets).
    public func cost(textTokens: Int) -> TransformerCost {
        TransformerCost(width: innerDim, doubleBlocks: numLayers, singleBlocks: numSingleLayers,
                        patch: patch, textTokens: textTokens)
    }

    /// The sampler's view of `patch_size_t` and `patch_size`.
    public var patch: PatchSize { PatchSize(temporal: patchSizeT, spatial: patchSize) }
}

extension FluxConfiguration {
    /// The cost-model view of a FLUX.1 transformer: its blocks cost what HunyuanVideo's do per
    /// token; the pipeline packs 2 × 2 latent cells into a token (`FluxTransformer.pack`), the
    /// sampler's patch (frames: one).
    public func cost(textTokens: Int) -> TransformerCost {
        TransformerCost(width: innerDim, doubleBlocks: numLayers, singleBlocks: numSingleLayers,
                        patch: PatchSize(temporal: 1, spatial: 2), textTokens: textTokens)
    }
}

extension PipelineFolder {
    /// The transformer's profile for the folder's `kind`, from `transformer/config.json`.
    func transformerProfile(_ kind: PipelineKind) throws -> TransformerProfile {
        switch kind {
        case .hunyuanVideo: TransformerProfile(try transformerConfiguration())
        case .flux: TransformerProfile(try FluxConfiguration(contentsOf: path + "/transformer/config.json"))
        }
    }
}

extension LatentSize {
    /// The latent grid of a video of `videoFrames` (4k + 1) frames of `width`×`height` pixels
    /// under the causal VAE's 4× temporal and 8× spatial compression (one frame, an image, has
    /// one latent frame).
    public init(videoFrames: Int, width: Int, height: Int) {
        self.init(frames: (videoFrames - 1) / 4 + 1, height: height / 8, width: width / 8)
    }
}
