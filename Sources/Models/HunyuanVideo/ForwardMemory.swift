import Tensor

/// How much memory one transformer pass takes, from the configuration alone (no weights), for
/// the check that refuses a video the machine cannot hold before anything loads.
extension TransformerConfiguration {
    /// Peak bytes one forward (`HunyuanVideoTransformer.callAsFunction`, batch 1) allocates for
    /// `imageTokens` image and `textTokens` text tokens, N = their sum, width D, FFN width F:
    /// - the joint stream `[N, D]` and the blocks' shared workspace (`BlockWorkspace`: normed and
    ///   projected rows `[N, D]` each, the wide rows `[N, 4D + F]`);
    /// - the RoPE tables (cos and sin, `[Ni, headDim]` each), the patches and their embedding
    ///   (`[Ni, C·pt·p·p]`, `[Ni, D]`);
    /// - the larger of attention's scratch (its K/V copy `[2, N, D]` and per-core tiles,
    ///   `Attention.scratchBytes`) and the final layer's (norm `[Ni, D]`, projection and
    ///   velocity `[Ni, C·pt·p·p]` each).
    public func forwardBytes(imageTokens ni: Int, textTokens l: Int, workers: Int) -> Int {
        let n = ni + l, d = innerDim
        let resident = n * d + n * d + n * d + n * (4 * d + mlpWidth)
            + 2 * ni * attentionHeadDim + ni * (patchFeaturesIn + d)
        let attention = Attention.scratchBytes(keys: n, heads: numAttentionHeads, headDim: attentionHeadDim,
                                               workers: workers) / MemoryLayout<Float>.size
        let finalLayer = ni * (d + 2 * patchFeaturesOut)
        return (resident + max(attention, finalLayer)) * MemoryLayout<Float>.size
    }
}
