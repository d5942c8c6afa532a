import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoIndividualTokenRefinerBlock` (hunyuan-video.md §2.3 step 5).
public struct TokenRefinerBlock: Sendable {
    /// Affine LayerNorm weights/biases, `[D]`.
    public let norm1Weight: Tensor, norm1Bias: Tensor, norm2Weight: Tensor, norm2Bias: Tensor
    /// `attn.to_q | to_k | to_v` fused: `[3D, D]`.
    public let toQKV: Linear
    public let toOut: Linear
    /// `ff.net.0.proj` (D → F) and `ff.net.2` (F → D), SiLU between.
    public let ffIn: Linear, ffOut: Linear
    /// `norm_out.linear`: SiLU(c) → (gate_msa, gate_mlp), `[2D]`.
    public let normOut: Linear
    let heads: Int, headDim: Int

    init(_ w: any ParameterSource, _ c: TransformerConfiguration) throws {
        let d = c.innerDim
        norm1Weight = try w.scoped("norm1").tensor("weight", shape: [d])
        norm1Bias = try w.scoped("norm1").tensor("bias", shape: [d])
        norm2Weight = try w.scoped("norm2").tensor("weight", shape: [d])
        norm2Bias = try w.scoped("norm2").tensor("bias", shape: [d])
        let a = w.scoped("attn")
        toQKV = Linear(fusing: try ["to_q", "to_k", "to_v"].map { try Linear(a.scoped($0), in: d, out: d) })
        toOut = try Linear(a.scoped("to_out").scoped("0"), in: d, out: d)
        ffIn = try Linear(w.scoped("ff").scoped("net").scoped("0").scoped("proj"), in: d, out: c.mlpWidth)
        ffOut = try Linear(w.scoped("ff").scoped("net").scoped("2"), in: c.mlpWidth, out: d)
        normOut = try Linear(w.scoped("norm_out").scoped("linear"), in: d, out: 2 * d)
        heads = c.numAttentionHeads
        headDim = c.attentionHeadDim
    }

    /// - Parameters:
    ///   - h: text tokens `[B, L, D]`, updated.
    ///   - conditionActivated: `SiLU(c)`, `[B, D]`.
    ///   - mask: refiner self-attention mask (valid keys, padded queries see key 0).
    func forward(_ h: inout Tensor, conditionActivated: Tensor, mask: AttentionMask) {
        let (b, l, d) = (h.shape[0], h.shape[1], h.shape[2])
        let gates = normOut(conditionActivated)  // [B, 2D]: gate_msa, gate_mlp
        // 1. Self-attention on LayerNorm(h).
        let n = h.layerNorm(eps: 1e-6, weight: norm1Weight, bias: norm1Bias)
        let qkv = toQKV(n)  // [B, L, 3D]
        var attn = Tensor(shape: [b, l, d], repeating: 0)
        qkv.data.withUnsafeBufferPointer { q in
            attn.data.withUnsafeMutableBufferPointer { o in
                Attention.scaledDotProduct(q: q.baseAddress!, queryStride: 3 * d, k: q.baseAddress! + d,
                                           v: q.baseAddress! + 2 * d, keyStride: 3 * d, out: o.baseAddress!,
                                           outStride: d, batch: b, queries: l, keys: l, heads: heads,
                                           headDim: headDim, mask: mask)
            }
        }
        let a = toOut(attn)
        Self.addGated(&h, a, gates: gates, chunk: 0, chunks: 2)
        // 2. SiLU MLP on LayerNorm(h).
        let n2 = h.layerNorm(eps: 1e-6, weight: norm2Weight, bias: norm2Bias)
        let f = ffOut(ffIn(n2).silu())
        Self.addGated(&h, f, gates: gates, chunk: 1, chunks: 2)
    }

    /// `x[b] += y[b] · gates[b, chunk]` for `x`, `y` of layout `[B, L, D]`, `gates` `[B, chunks·D]`.
    static func addGated(_ x: inout Tensor, _ y: Tensor, gates: Tensor, chunk: Int, chunks: Int) {
        let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
        x.data.withUnsafeMutableBufferPointer { xp in
            y.data.withUnsafeBufferPointer { yp in
                gates.data.withUnsafeBufferPointer { g in
                    RowKernels.addGated(xp.baseAddress!, xBatchStride: l * d, yp.baseAddress!, yStride: d,
                                        yBatchStride: l * d, gate: g.baseAddress! + chunk * d, gateStride: chunks * d,
                                        batch: b, tokens: l, width: d)
                }
            }
        }
    }
}

/// Port of diffusers 0.42.1 `HunyuanVideoTokenRefiner` (`context_embedder`, hunyuan-video.md §2.3).
public struct TokenRefiner: Sendable {
    /// `time_text_embed`: timestep MLP + text MLP over the masked-mean pooled states (no guidance).
    public let timestepEmbedder: EmbeddingMLP
    public let textEmbedder: EmbeddingMLP
    public let projIn: Linear
    /// `token_refiner.refiner_blocks.{i}`.
    public let refinerBlocks: [TokenRefinerBlock]

    init(_ w: any ParameterSource, _ c: TransformerConfiguration) throws {
        let tte = w.scoped("time_text_embed")
        timestepEmbedder = try EmbeddingMLP(tte.scoped("timestep_embedder"), in: 256, out: c.innerDim)
        textEmbedder = try EmbeddingMLP(tte.scoped("text_embedder"), in: c.textEmbedDim, out: c.innerDim)
        projIn = try Linear(w.scoped("proj_in"), in: c.textEmbedDim, out: c.innerDim)
        let blocks = w.scoped("token_refiner").scoped("refiner_blocks")
        refinerBlocks = try (0..<c.numRefinerLayers).map { try TokenRefinerBlock(blocks.scoped("\($0)"), c) }
    }

    /// - Parameters:
    ///   - text: LLM states `[B, L, E]`.
    ///   - validCounts: per batch item, the number of leading valid tokens (right padding).
    ///   - timestep: per batch item, 1000·σ.
    /// - Returns: refined text tokens `[B, L, D]`.
    func callAsFunction(_ text: Tensor, validCounts: [Int], timestep: [Float]) -> Tensor {
        let (b, l, e) = (text.shape[0], text.shape[1], text.shape[2])
        // 1. Masked mean over valid tokens.
        let pooled = Tensor(shape: [b, e]) { buf in
            for bi in 0..<b {
                for j in 0..<e { buf[bi * e + j] = 0 }
                for t in 0..<validCounts[bi] { for j in 0..<e { buf[bi * e + j] += text.data[(bi * l + t) * e + j] } }
                for j in 0..<e { buf[bi * e + j] /= Float(validCounts[bi]) }
            }
        }
        // 2. Conditioning c = MLP_t(sinus(t)) + MLP_p(pooled).
        var cond = timestepEmbedder(TimestepSinusoid.embed(timestep))
        cond.add(textEmbedder(pooled))
        let condActivated = cond.silu()
        // 3. Project in.
        var h = projIn(text)
        // 4. Mask: key j visible iff valid; padded queries see key 0 only.
        let valid = validCounts.map { n in (0..<l).map { $0 < n } }
        let mask = AttentionMask(keyIsValid: valid, paddedQueriesSeeFirstKeyOnly: true)
        // 5. Refiner blocks.
        for block in refinerBlocks { block.forward(&h, conditionActivated: condActivated, mask: mask) }
        return h
    }
}
