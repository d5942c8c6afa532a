import Tensor

/// FLUX.1's text encoders from their `config.json` alone (no weights): parameter counts, for the
/// weights of a folder whose files are not there yet, and T5's working set at its sequence
/// length, for the check before anything loads.
extension T5Configuration {
    /// Parameters of a `T5EncoderModel` state dict (shared table, blocks, final norm; a full
    /// T5's decoder is not counted): 4.76 B for T5 v1.1 XXL.
    public var encoderParameterCount: Int {
        let ff = (feedForward?.gated == true ? 3 : 2) * dModel * dFf
        let block = 4 * dModel * innerDim + ff + 2 * dModel
        return vocabSize * dModel + relativeAttentionNumBuckets * numHeads + numLayers * block + dModel
    }

    /// Peak bytes of one encoder forward of `batch` prompts of `tokens` tokens
    /// (`T5EncoderModel.callAsFunction`): the block's input, its norm and the residual sum
    /// `[N, d_model]`, the position bias `[heads, N, N]`, and the larger of the attention
    /// (q, k, v and output `[N, inner]`, plus `Attention.scratchBytes`) and the feed-forward
    /// (`[N, d_ff]` twice, three times gated). T5-XXL at 512 tokens: about 150 MiB.
    public func forwardBytes(batch: Int, tokens: Int, workers: Int) -> Int {
        let n = batch * tokens
        let attention = 4 * n * innerDim
            + Attention.scratchBytes(keys: tokens, heads: numHeads, headDim: dKv, workers: workers) / MemoryLayout<Float>.size
        let feedForward = (self.feedForward?.gated == true ? 3 : 2) * n * dFf
        return (3 * n * dModel + numHeads * tokens * tokens + max(attention, feedForward)) * MemoryLayout<Float>.size
    }
}

extension CLIPTextConfiguration {
    /// Parameters of a `CLIPTextModel` state dict (embeddings, layers, final norm; the
    /// projection of `CLIPTextModelWithProjection` when `projection`): 123.1 M for CLIP-L.
    public func parameterCount(projection: Bool = false) -> Int {
        let d = hiddenSize, f = intermediateSize
        let layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
        return (vocabSize + maxPositionEmbeddings) * d + numHiddenLayers * layer + 2 * d
            + (projection ? projectionDim * d : 0)
    }
}
