import Foundation
import SafeTensors
import Tensor
import Tokenizers

/// T5's encoder stack: shared token embeddings, pre-norm blocks of self-attention with a
/// relative position bias (computed once from block 0's table and added in every block, logits
/// unscaled: T5 folds `1/√d_kv` into its init) and a ReLU or gated feed-forward, then the final
/// norm. Norms are T5LayerNorm: RMS without mean subtraction or bias, variance in Float32.
/// Port of transformers 5.x `T5EncoderModel` / `T5Stack` (`models/t5/modeling_t5.py`).
public final class T5EncoderModel: Sendable {
    public let configuration: T5Configuration
    let shared: WeightMatrix                 // [vocab, d_model]
    /// `encoder.block.0.layer.0.SelfAttention.relative_attention_bias`: `[buckets, heads]`.
    let relativeAttentionBias: Tensor
    let blocks: [T5Block]
    let finalLayerNorm: Tensor               // [d_model]

    /// Builds the encoder from `parameters` with transformers' keys: `embeddingKey` (`shared.weight`,
    /// or the tied `encoder.embed_tokens.weight`), `encoder.block.{i}.…`,
    /// `encoder.final_layer_norm.weight`. `configuration` must pass `validate`.
    public init(configuration c: T5Configuration, parameters w: any ParameterSource,
                embeddingKey: String = "shared.weight") throws {
        configuration = c
        guard let (activation, gated) = c.feedForward else {
            throw TextEncoderError(.badConfiguration(key: "feed_forward_proj", reason: "unsupported \(c.feedForwardProj)"),
                                   subject: "config.json")
        }
        shared = try w.matrix(embeddingKey, shape: [c.vocabSize, c.dModel])
        let encoder = w.scoped("encoder")
        relativeAttentionBias = try encoder.tensor("block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                                                   shape: [c.relativeAttentionNumBuckets, c.numHeads])
        blocks = try (0..<c.numLayers).map {
            try T5Block(encoder.scoped("block.\($0)"), c, activation: activation, gated: gated)
        }
        finalLayerNorm = try encoder.tensor("final_layer_norm.weight", shape: [c.dModel])
    }

    /// Loads `model.safetensors` (or a sharded index) and `config.json` from `directory`. 16-bit
    /// weight matrices and the embedding table stay as stored unless `matrices` is `.float32`.
    /// A full T5's `decoder.*` and `lm_head.*`, and `encoder.embed_tokens.weight` beside
    /// `shared.weight` (tied to it in transformers), are not read.
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let c = try ModelConfigFile.load(T5Configuration.self, directory: directory)
        try c.validate(directory: directory)
        let root = WeightReader(try WeightArchive(directory: directory, baseName: "model"), matrices: matrices)
        let tied = !root.contains("shared.weight") && root.contains("encoder.embed_tokens.weight")
        try self.init(configuration: c, parameters: root, embeddingKey: tied ? "encoder.embed_tokens.weight" : "shared.weight")
        try root.finish(ignoringPrefixes: ["decoder.", "lm_head.", "encoder.embed_tokens."])
    }

    /// - Parameters:
    ///   - ids: right-padded token ids `[batch][tokens]`.
    ///   - mask: `[batch][tokens]`, false for padding keys (transformers' `attention_mask`); nil
    ///     attends to every token, as FLUX.1 runs it.
    /// - Returns: `last_hidden_state` `[batch, tokens, d_model]`, Float32 (padded rows hold the
    ///   encoder's output at the pad tokens).
    public func callAsFunction(_ ids: [[Int]], mask: [[Bool]]? = nil) throws -> Tensor {
        let c = configuration
        guard !ids.isEmpty else { throw TextEncoderError(.emptyBatch) }
        let (b, n) = (ids.count, ids[0].count)
        precondition(ids.allSatisfy { $0.count == n } && (mask.map { $0.map(\.count) == ids.map(\.count) } ?? true),
                     "T5EncoderModel: ragged batch")
        // 1. Embeddings and the position bias shared by all blocks.
        var h = try embeddingRows(shared, ids.flatMap { $0 }).reshaped([b, n, c.dModel])
        let bias = positionBias(queries: n, keys: n)
        let attentionMask = mask.map { AttentionMask(keyIsValid: $0) } ?? .none
        // 2. Blocks, then the final norm.
        for block in blocks { h = block(h, bias: bias, mask: attentionMask) }
        return h.rmsNorm(eps: c.layerNormEpsilon, weight: finalLayerNorm)
    }

    /// `compute_bias`: the table row of each (query, key) bucket. Layout: `[heads, queries, keys]`.
    func positionBias(queries: Int, keys: Int) -> Tensor {
        let c = configuration, heads = c.numHeads
        let table = relativeAttentionBias.data
        let buckets = (-(queries - 1)...(keys - 1)).map {
            Self.relativePositionBucket($0, numBuckets: c.relativeAttentionNumBuckets,
                                        maxDistance: c.relativeAttentionMaxDistance)
        }
        return Tensor(shape: [heads, queries, keys]) { out in
            for h in 0..<heads {
                for i in 0..<queries {
                    for j in 0..<keys {
                        out[(h * queries + i) * keys + j] = table[buckets[j - i + queries - 1] * heads + h]
                    }
                }
            }
        }
    }

    /// transformers' bidirectional `_relative_position_bucket` for `relative = key - query`: half
    /// the buckets per direction, the first half of those exact distances, the rest logarithmic
    /// up to `maxDistance` (then clamped). Float32 arithmetic as torch, so boundaries match.
    static func relativePositionBucket(_ relative: Int, numBuckets: Int, maxDistance: Int) -> Int {
        let half = numBuckets / 2, maxExact = half / 2
        let base = relative > 0 ? half : 0
        let distance = abs(relative)
        if distance < maxExact { return base + distance }
        let logRatio = Foundation.log(Float(distance) / Float(maxExact))
        let scale = Float(Foundation.log(Double(maxDistance) / Double(maxExact)))  // a Python float in torch
        let large = maxExact + Int(logRatio / scale * Float(half - maxExact))
        return base + min(large, half - 1)
    }
}

/// `encoder.block.{i}`: `x + o(attn(q, k, v) + bias)` on `layer.0.layer_norm(x)`, then
/// `x + DenseReluDense(layer.1.layer_norm(x))`.
struct T5Block: Sendable {
    let attentionNorm: Tensor, feedForwardNorm: Tensor   // [d_model]
    let q: Linear, k: Linear, v: Linear, o: Linear
    let wi: Linear, wiGate: Linear?, wo: Linear           // wi = wi_0 when gated, wiGate = wi_1
    let activation: T5Activation
    let heads: Int, headDim: Int, eps: Float

    init(_ w: any ParameterSource, _ c: T5Configuration, activation: T5Activation, gated: Bool) throws {
        let (d, inner) = (c.dModel, c.innerDim)
        let attention = w.scoped("layer.0.SelfAttention"), ff = w.scoped("layer.1.DenseReluDense")
        attentionNorm = try w.tensor("layer.0.layer_norm.weight", shape: [d])
        q = try Linear(attention.scoped("q"), in: d, out: inner, bias: false)
        k = try Linear(attention.scoped("k"), in: d, out: inner, bias: false)
        v = try Linear(attention.scoped("v"), in: d, out: inner, bias: false)
        o = try Linear(attention.scoped("o"), in: inner, out: d, bias: false)
        feedForwardNorm = try w.tensor("layer.1.layer_norm.weight", shape: [d])
        wi = try Linear(ff.scoped(gated ? "wi_0" : "wi"), in: d, out: c.dFf, bias: false)
        wiGate = gated ? try Linear(ff.scoped("wi_1"), in: d, out: c.dFf, bias: false) : nil
        wo = try Linear(ff.scoped("wo"), in: c.dFf, out: d, bias: false)
        self.activation = activation
        heads = c.numHeads; headDim = c.dKv; eps = c.layerNormEpsilon
    }

    /// `[batch, tokens, d_model]` → same layout; `bias` is `[heads, tokens, tokens]`.
    func callAsFunction(_ x: Tensor, bias: Tensor, mask: AttentionMask) -> Tensor {
        let (b, n) = (x.shape[0], x.shape[1])
        // 1. Self-attention, unscaled logits plus the position bias.
        let y = x.rmsNorm(eps: eps, weight: attentionNorm)
        let shape = [b, n, heads, headDim]
        let a = Attention.scaledDotProduct(q: q(y).reshaped(shape), k: k(y).reshaped(shape), v: v(y).reshaped(shape),
                                           mask: mask, scale: 1, bias: bias)
        var h = o(a.reshaped([b, n, heads * headDim]))
        h.add(x)
        // 2. Feed-forward: wo(act(wi(z))) or wo(act(wi_0(z)) · wi_1(z)).
        let z = h.rmsNorm(eps: eps, weight: feedForwardNorm)
        var hidden = activate(wi(z))
        if let wiGate { hidden.multiply(wiGate(z)) }
        var out = wo(hidden)
        out.add(h)
        return out
    }

    private func activate(_ t: Tensor) -> Tensor {
        switch activation {
        case .relu: var r = t; r.apply(costPerItem: 1) { max($0, 0) }; return r
        case .gelu: return t.geluErf()
        case .geluNew: return t.geluTanh()
        case .silu: return t.silu()
        }
    }
}

/// FLUX.1's second text encoder: T5 states of each prompt padded to `maxSequenceLength`.
/// Port of diffusers 0.42.1 `FluxPipeline._get_t5_prompt_embeds`: tokenize with
/// `padding="max_length"` and truncation, then run the encoder on the ids alone (no attention
/// mask, so pad tokens are attended to and their rows are real outputs).
public struct T5TextEncoder: Sendable {
    public let tokenizer: UnigramTokenizer
    public let model: T5EncoderModel

    /// - Parameter maxSequenceLength: 512 for FLUX.1-dev, 256 for -schnell.
    public init(directory: String, tokenizerDirectory: String, maxSequenceLength: Int = 512,
                matrices: MatrixPrecision = .stored) throws {
        tokenizer = try UnigramTokenizer(directory: tokenizerDirectory, maxLength: maxSequenceLength)
        model = try T5EncoderModel(directory: directory, matrices: matrices)
    }

    /// - Returns: states `[prompts, maxSequenceLength, d_model]`, Float32 (computed without a
    ///   mask), and the tokenizer's mask `[prompts][maxSequenceLength]` (true for real tokens),
    ///   which FLUX.1 does not pass to its transformer but which counts the prompt's tokens.
    public func encode(_ prompts: [String]) throws -> (states: Tensor, mask: [[Bool]]) {
        let batch = tokenizer.encodeBatch(prompts, padToMaxLength: true)
        return (try model(batch.ids), batch.mask)
    }
}
