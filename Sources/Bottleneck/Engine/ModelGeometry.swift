import Models
import Sampling

extension TransformerConfiguration {
    /// The cost-model view of this transformer (`bottleneck plan` and the generator's presets).
    public func cost(textTokens: Int) -> TransformerCost {
        TransformerCost(width: innerDim, doubleBlocks: numLayers, singleBlocks: numSingleLayers,
                        patch: patch, textTokens: textTokens)
    }

    /// The sampler's view of `patch_size_t` and `patch_size`.
    public var patch: PatchSize { PatchSize(temporal: patchSizeT, spatial: patchSize) }
}

extension LatentSize {
    /// The latent grid of a video of `videoFrames` (4k + 1) frames of `width`×`height` pixels
    /// under the causal VAE's 4× temporal and 8× spatial compression.
    public init(videoFrames: Int, width: Int, height: Int) {
        self.init(frames: (videoFrames - 1) / 4 + 1, height: height / 8, width: width / 8)
    }
}
