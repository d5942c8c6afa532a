import SafeTensors
import Tensor

/// Llama decoder used as a text encoder: token embeddings, pre-RMSNorm decoder layers with
/// half-split rotary embeddings, grouped-query attention (causal + right-padding mask) and a
/// SwiGLU MLP. Returns `hidden_states[-(skip + 1)]`: the output of layer `L - skip` without
/// the final norm (the final norm only applies when `skip == 0`, as transformers).
/// Port of transformers 5.x `LlamaModel` (`models/llama/modeling_llama.py`).
public final class LlamaTextModel: Sendable {
    public let configuration: LlamaConfiguration
    let embedTokens: WeightMatrix      // [vocab, width]
    let layers: [LlamaDecoderLayer]
    let norm: Tensor                   // [width]

    /// Builds the model from `parameters` (keys as in transformers' state dict, below the
    /// model's prefix): the first `layers` decoder layers of `configuration`.
    public init(configuration c: LlamaConfiguration, parameters w: any ParameterSource, layers count: Int) throws {
        configuration = c
        embedTokens = try w.matrix("embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize])
        layers = try (0..<count).map { try LlamaDecoderLayer(w.scoped("layers.\($0)"), c) }
        norm = try w.tensor("norm.weight", shape: [c.hiddenSize])
    }

    /// Loads `model.safetensors` (or a sharded index) with keys `embed_tokens.weight`,
    /// `layers.{i}.*`, `norm.weight` (an optional `model.` or `language_model.model.` prefix;
    /// an `lm_head.*` is ignored). Only the first `maxLayers` layers are read when given
    /// (HunyuanVideo needs 30 of 32). F16/BF16 weight matrices and the embedding table stay as
    /// stored unless `matrices` is `.float32`; norm weights are converted to Float32.
    public convenience init(directory: String, maxLayers: Int? = nil, matrices: MatrixPrecision = .stored) throws {
        let c = try ModelConfigFile.load(LlamaConfiguration.self, directory: directory)
        try c.validate(directory: directory)
        let archive = try WeightArchive(directory: directory, baseName: "model")
        let root = WeightReader(archive, matrices: matrices)
        let prefix = ["", "model.", "language_model.model."].first { archive.shape(of: $0 + "embed_tokens.weight") != nil } ?? ""
        let count = min(maxLayers ?? c.numHiddenLayers, c.numHiddenLayers)
        try self.init(configuration: c, parameters: prefix.isEmpty ? root : root.scope(String(prefix.dropLast())),
                      layers: count)
        let skipped = (count..<c.numHiddenLayers).map { "\(prefix)layers.\($0)." }
        try root.finish(ignoringPrefixes: skipped + ["lm_head.", "language_model.lm_head.", "\(prefix)rotary_emb."])
    }

    /// - Parameters:
    ///   - batch: right-padded ids `[batch][tokens]` with real lengths (positions are
    ///     `0..<tokens` for every item, as transformers without explicit position ids).
    ///   - skip: hidden layers to skip from the end (HunyuanVideo: 2 → `hidden_states[-3]`).
    /// - Returns: `[batch, tokens, width]`.
    public func hiddenStates(_ batch: TokenIds, skip: Int) throws -> Tensor {
        let c = configuration
        let target = c.numHiddenLayers - skip  // index into (embeddings, layer 1 … layer L)
        guard skip >= 0, target >= 0, target <= layers.count else {
            throw TextEncoderError(.layerOutOfRange(skip: skip, layers: layers.count))
        }
        let (b, n) = (batch.ids.count, batch.ids.first?.count ?? 0)
        guard n <= c.maxPositionEmbeddings else {
            throw TextEncoderError(.sequenceTooLong(length: n, maximum: c.maxPositionEmbeddings))
        }
        // 1. Embeddings and rotary tables.
        var h = try embeddingRows(embedTokens, batch.ids.flatMap { $0 }).reshaped([b, n, c.hiddenSize])
        let rope = HalfSplitRotaryTable(positions: n, dim: c.resolvedHeadDim, theta: c.ropeTheta)
        let mask = AttentionMask(validKeyCount: batch.lengths, causality: .token)
        // 2. Decoder layers up to the requested one.
        for layer in layers.prefix(target) { h = layer(h, rope: rope, mask: mask) }
        // 3. Final norm only for hidden_states[-1].
        if skip == 0 { h = h.rmsNorm(eps: c.rmsNormEps, weight: norm) }
        return h
    }
}

/// `layers.{i}`: `x + o_proj(attn(rope(q), rope(k), v))` on `input_layernorm(x)`, then
/// `x + down_proj(silu(gate_proj(y)) · up_proj(y))` on `post_attention_layernorm(x)`.
struct LlamaDecoderLayer: Sendable {
    let inputLayernorm: Tensor, postAttentionLayernorm: Tensor   // [width]
    let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
    let gateProj: Linear, upProj: Linear, downProj: Linear
    let heads: Int, kvHeads: Int, headDim: Int, eps: Float

    init(_ w: any ParameterSource, _ c: LlamaConfiguration) throws {
        let d = c.hiddenSize, hd = c.resolvedHeadDim
        inputLayernorm = try w.tensor("input_layernorm.weight", shape: [d])
        postAttentionLayernorm = try w.tensor("post_attention_layernorm.weight", shape: [d])
        qProj = try Linear(w.scoped("self_attn.q_proj"), in: d, out: c.numAttentionHeads * hd, bias: c.attentionBias)
        kProj = try Linear(w.scoped("self_attn.k_proj"), in: d, out: c.numKeyValueHeads * hd, bias: c.attentionBias)
        vProj = try Linear(w.scoped("self_attn.v_proj"), in: d, out: c.numKeyValueHeads * hd, bias: c.attentionBias)
        oProj = try Linear(w.scoped("self_attn.o_proj"), in: c.numAttentionHeads * hd, out: d, bias: c.attentionBias)
        gateProj = try Linear(w.scoped("mlp.gate_proj"), in: d, out: c.intermediateSize, bias: c.mlpBias)
        upProj = try Linear(w.scoped("mlp.up_proj"), in: d, out: c.intermediateSize, bias: c.mlpBias)
        downProj = try Linear(w.scoped("mlp.down_proj"), in: c.intermediateSize, out: d, bias: c.mlpBias)
        heads = c.numAttentionHeads; kvHeads = c.numKeyValueHeads; headDim = hd; eps = c.rmsNormEps
    }

    /// `[batch, tokens, width]` → same layout.
    func callAsFunction(_ x: Tensor, rope: HalfSplitRotaryTable, mask: AttentionMask) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        // 1. Attention.
        let y = x.rmsNorm(eps: eps, weight: inputLayernorm)
        var q = qProj(y).reshaped([b, n, heads, headDim])
        var k = kProj(y).reshaped([b, n, kvHeads, headDim])
        q.applyHalfSplitRotary(rope)
        k.applyHalfSplitRotary(rope)
        let groups = heads / kvHeads
        let v = repeatHeads(vProj(y).reshaped([b, n, kvHeads, headDim]), groups: groups)
        let a = Attention.scaledDotProduct(q: q, k: repeatHeads(k, groups: groups), v: v, mask: mask)
        var h = oProj(a.reshaped([b, n, heads * headDim]))
        h.add(x)
        // 2. SwiGLU MLP.
        let z = h.rmsNorm(eps: eps, weight: postAttentionLayernorm)
        var gate = gateProj(z).silu()
        gate.multiply(upProj(z))
        var out = downProj(gate)
        out.add(h)
        return out
    }
}
