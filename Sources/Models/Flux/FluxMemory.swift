import Tensor

/// What a FLUX.1 transformer holds and takes, from `transformer/config.json` alone (no
/// weights): its parameter count, for the weights of a folder whose files are not there yet,
/// and the memory of one forward, for the check before anything loads.
extension FluxConfiguration {
    /// Peak bytes one `FluxTransformer` forward (batch 1) allocates for `ni` packed image and
    /// `l` T5 tokens (`BlockDimensions.forwardBytes`): RoPE over image *and* text tokens, the
    /// packed input `[Ni, in_channels]` (the embedders write straight into the joint stream).
    /// FLUX.1-dev at 1024² (4096 image + 512 text tokens, width 3072, 24 heads) takes about
    /// 0.7 GiB on 2 workers, most of it the blocks' wide rows `[N, 4D + F]`.
    public func forwardBytes(imageTokens ni: Int, textTokens l: Int, workers: Int) -> Int {
        blockDimensions.forwardBytes(imageTokens: ni, textTokens: l, rotaryTokens: ni + l,
                                     inputFloats: ni * inChannels, outFeatures: outFeatures, workers: workers)
    }

    /// Parameters of the diffusers state dict (`FluxTransformer2DModel`), counted per module
    /// as `FluxTransformer.init` reads them: 11.90 B for FLUX.1-dev, 11.89 B for -schnell.
    public var parameterCount: Int {
        let d = innerDim, f = blockDimensions.mlpWidth, h = attentionHeadDim
        func linear(_ i: Int, _ o: Int) -> Int { i * o + o }
        // time_text_embed: timestep (256 sinusoid features → D → D), guidance alike, text D.
        let embed = (guidanceEmbeds ? 2 : 1) * (linear(256, d) + linear(d, d))
            + linear(pooledProjectionDim, d) + linear(d, d)
        // Double block: two AdaLN-Zero (6D), q/k/v and their added twins, two outputs, four
        // QK norms, two feed-forwards.
        let double = 2 * linear(d, 6 * d) + 8 * linear(d, d) + 4 * h + 2 * (linear(d, f) + linear(f, d))
        // Single block: AdaLN (3D), q/k/v, QK norms, proj_mlp, proj_out over [attn; mlp].
        let single = linear(d, 3 * d) + 3 * linear(d, d) + 2 * h + linear(d, f) + linear(d + f, d)
        return linear(inChannels, d) + linear(jointAttentionDim, d) + embed
            + numLayers * double + numSingleLayers * single + linear(d, 2 * d) + linear(d, outFeatures)
    }
}
