import Tensor

/// How much memory one transformer pass takes, from the configuration alone (no weights), for
/// the check that refuses a video or image the machine cannot hold before anything loads. The
/// MM-DiT part is shared by HunyuanVideo and FLUX.1 (same blocks, same workspace); each model
/// adds its own inputs and RoPE tables.
extension BlockDimensions {
    /// Peak bytes of one forward (batch 1) over `ni` image and `l` text tokens, N = their sum,
    /// width D, FFN width F:
    /// - the joint stream `[N, D]` and the blocks' shared workspace (`BlockWorkspace`: normed and
    ///   projected rows `[N, D]` each, the wide rows `[N, 4D + F]`);
    /// - the RoPE tables (cos and sin, `[rotaryTokens, headDim]` each) and `inputFloats`, the
    ///   model's copies of its input (patches and their embedding, or packed tokens);
    /// - the larger of attention's scratch (its K/V copy `[2, N, D]` and per-core tiles,
    ///   `Attention.scratchBytes`) and the final layer's (norm `[Ni, D]`, projection and
    ///   velocity `[Ni, outFeatures]` each).
    func forwardBytes(imageTokens ni: Int, textTokens l: Int, rotaryTokens: Int, inputFloats: Int,
                      outFeatures: Int, workers: Int) -> Int {
        let n = ni + l, d = width
        let resident = 3 * n * d + n * (4 * d + mlpWidth) + 2 * rotaryTokens * headDim + inputFloats
        let attention = Attention.scratchBytes(keys: n, heads: heads, headDim: headDim, workers: workers)
            / MemoryLayout<Float>.size
        let finalLayer = ni * (d + 2 * outFeatures)
        return (resident + max(attention, finalLayer)) * MemoryLayout<Float>.size
    }
}

extension TransformerConfiguration {
    /// Peak bytes one `HunyuanVideoTransformer` forward allocates (`BlockDimensions.forwardBytes`):
    /// RoPE over the image tokens only, the patches and their embedding `[Ni, C·pt·p·p + D]`.
    public func forwardBytes(imageTokens ni: Int, textTokens l: Int, workers: Int) -> Int {
        blockDimensions.forwardBytes(imageTokens: ni, textTokens: l, rotaryTokens: ni,
                                     inputFloats: ni * (patchFeaturesIn + innerDim),
                                     outFeatures: patchFeaturesOut, workers: workers)
    }
}
