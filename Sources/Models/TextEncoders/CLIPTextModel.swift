import SafeTensors
import Tensor

/// CLIP text transformer: token + position embeddings, pre-LN causal self-attention layers
/// with quick-GELU MLPs, final LayerNorm; pooled output at the end-of-text token, optionally
/// projected (`text_projection`, `CLIPTextModelWithProjection`).
/// Port of transformers 5.x `CLIPTextTransformer` / `CLIPTextModelWithProjection`
/// (`models/clip/modeling_clip.py`).
public final class CLIPTextModel: Sendable {
    public let configuration: CLIPTextConfiguration
    let tokenEmbedding: WeightMatrix      // [vocab, width]
    let positionEmbedding: WeightMatrix   // [maxPositions, width]
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: TextLayerNorm
    /// `[projectionDim, width]`, present for `CLIPTextModelWithProjection` checkpoints.
    let textProjection: Linear?

    /// Output of one forward pass.
    public struct Output: Sendable {
        /// After `final_layer_norm`. Layout: `[batch, tokens, width]`.
        public var lastHiddenState: Tensor
        /// Hidden state at the end-of-text token. Layout: `[batch, width]`.
        public var pooled: Tensor
        /// `pooled · text_projectionᵀ` if the checkpoint has a projection. Layout: `[batch, projectionDim]`.
        public var projected: Tensor?
    }

    /// Builds the model from `parameters` (keys as in transformers' state dict): the text model's
    /// below `textModel` (`text_model` or none), `text_projection.weight` at the top when
    /// `projection` is true.
    public init(configuration c: CLIPTextConfiguration, parameters root: any ParameterSource, textModel: String?,
                projection: Bool) throws {
        configuration = c
        let w = textModel.map { root.scoped($0) } ?? root
        tokenEmbedding = try w.matrix("embeddings.token_embedding.weight", shape: [c.vocabSize, c.hiddenSize])
        positionEmbedding = try w.matrix("embeddings.position_embedding.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize])
        layers = try (0..<c.numHiddenLayers).map { try CLIPEncoderLayer(w.scoped("encoder.layers.\($0)"), c) }
        finalLayerNorm = try TextLayerNorm(w.scoped("final_layer_norm"), width: c.hiddenSize, eps: c.layerNormEps)
        textProjection = projection
            ? try Linear(root.scoped("text_projection"), in: c.hiddenSize, out: c.projectionDim, bias: false) : nil
    }

    /// Loads `model.safetensors` with keys `text_model.*` (or unprefixed) and an optional
    /// `text_projection.weight`. F16/BF16 weight matrices and embedding tables stay as stored
    /// unless `matrices` is `.float32`; vectors are converted to Float32.
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let c = try ModelConfigFile.load(CLIPTextConfiguration.self, directory: directory)
        try c.validate(directory: directory)
        let archive = try WeightArchive(directory: directory, baseName: "model")
        let root = WeightReader(archive, matrices: matrices)
        try self.init(configuration: c, parameters: root,
                      textModel: root.contains("text_model.final_layer_norm.weight") ? "text_model" : nil,
                      projection: root.contains("text_projection.weight"))
        try root.finish(ignoringPrefixes: ["text_model.embeddings.position_ids", "embeddings.position_ids"])
    }

    /// - Parameter ids: `[batch][tokens]`, all the same length (pad to 77 as the tokenizer does);
    ///   no attention mask, as HunyuanVideo calls it.
    public func callAsFunction(_ ids: [[Int]]) throws -> Output {
        let c = configuration
        let (b, n, d) = (ids.count, ids.first?.count ?? 0, c.hiddenSize)
        guard n <= c.maxPositionEmbeddings else {
            throw TextEncoderError(.sequenceTooLong(length: n, maximum: c.maxPositionEmbeddings))
        }
        // 1. Embeddings.
        var h = try embeddingRows(tokenEmbedding, ids.flatMap { $0 })
        let positions = positionEmbedding.gatheredRows(Array(0..<n))
        h.data.withUnsafeMutableBufferPointer { x in
            for r in 0..<(b * n) { for i in 0..<d { x[r * d + i] += positions[(r % n) * d + i] } }
        }
        h = h.reshaped([b, n, d])
        // 2. Causal encoder layers, 3. final norm.
        for layer in layers { h = layer(h) }
        h = finalLayerNorm(h)
        // 4. Pool at the end-of-text position: legacy argmax(ids) when eos_token_id == 2,
        //    else the first position holding eos_token_id (0 if absent, as torch argmax).
        var pooled = [Float](repeating: 0, count: b * d)
        for (i, position) in Self.poolingPositions(ids, eosTokenId: c.eosTokenId).enumerated() {
            for k in 0..<d { pooled[i * d + k] = h.data[(i * n + position) * d + k] }
        }
        let p = Tensor(shape: [b, d], data: pooled)
        return Output(lastHiddenState: h, pooled: p, projected: textProjection.map { $0(p) })
    }
}

extension CLIPTextModel {
    /// Pooling position per item: `argmax(ids)` (first maximum) when `eosTokenId == 2` (the
    /// legacy rule), else the first position holding `eosTokenId` (0 if none, as torch argmax
    /// of an all-false row).
    public static func poolingPositions(_ ids: [[Int]], eosTokenId: Int) -> [Int] {
        ids.map { row in
            if eosTokenId == 2 { return row.max().flatMap { row.firstIndex(of: $0) } ?? 0 }
            return row.firstIndex(of: eosTokenId) ?? 0
        }
    }
}

/// `encoder.layers.{i}`: `x + attn(LN1(x))` (causal), then `x + fc2(act(fc1(LN2(x))))`.
struct CLIPEncoderLayer: Sendable {
    let layerNorm1: TextLayerNorm, layerNorm2: TextLayerNorm
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let fc1: Linear, fc2: Linear
    let heads: Int
    let quickGelu: Bool

    init(_ w: any ParameterSource, _ c: CLIPTextConfiguration) throws {
        let d = c.hiddenSize
        layerNorm1 = try TextLayerNorm(w.scoped("layer_norm1"), width: d, eps: c.layerNormEps)
        layerNorm2 = try TextLayerNorm(w.scoped("layer_norm2"), width: d, eps: c.layerNormEps)
        qProj = try Linear(w.scoped("self_attn.q_proj"), in: d, out: d)
        kProj = try Linear(w.scoped("self_attn.k_proj"), in: d, out: d)
        vProj = try Linear(w.scoped("self_attn.v_proj"), in: d, out: d)
        outProj = try Linear(w.scoped("self_attn.out_proj"), in: d, out: d)
        fc1 = try Linear(w.scoped("mlp.fc1"), in: d, out: c.intermediateSize)
        fc2 = try Linear(w.scoped("mlp.fc2"), in: c.intermediateSize, out: d)
        heads = c.numAttentionHeads
        quickGelu = c.hiddenAct == "quick_gelu"
    }

    /// `[batch, tokens, width]` → same layout.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let split = [b, n, heads, d / heads]
        let y = layerNorm1(x)
        let a = Attention.scaledDotProduct(q: qProj(y).reshaped(split), k: kProj(y).reshaped(split),
                                           v: vProj(y).reshaped(split), mask: AttentionMask(causality: .token))
        var h = outProj(a.reshaped([b, n, d]))
        h.add(x)
        let m = fc1(layerNorm2(h))
        var out = fc2(quickGelu ? m.quickGelu() : m.geluErf())
        out.add(h)
        return out
    }
}
