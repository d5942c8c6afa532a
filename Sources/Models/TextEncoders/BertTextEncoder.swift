import SafeTensors
import Tensor

/// BERT encoder (no pooler): embeddings (word + absolute position + token type 0, LayerNorm),
/// then post-LN transformer layers with exact-erf GELU and a key padding mask.
/// Port of transformers 5.x `BertModel` (`models/bert/modeling_bert.py`: `BertEmbeddings`,
/// `BertSelfAttention`, `BertSelfOutput`, `BertIntermediate`, `BertOutput`).
public final class BertTextEncoder: Sendable {
    public let configuration: BertConfiguration
    let wordEmbeddings: WeightMatrix        // [vocab, width]
    let positionEmbeddings: WeightMatrix    // [maxPositions, width]
    let tokenTypeEmbeddings: WeightMatrix   // [typeVocab, width]
    let embeddingNorm: TextLayerNorm
    let layers: [BertLayer]
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "model"

    /// Whether the loader reads a stored tensor of `shape` as a weight matrix (the embedding
    /// tables and every linear layer's weight: each tensor of rank 2; the rest are vectors),
    /// so that its resident bytes can be counted before it loads (`WeightArchive.residentBytes`).
    public static func readsAsMatrix(_ shape: [Int]) -> Bool { shape.count >= 2 }

    /// Whether the stored tensor `key` is an embedding table (word, position, token type), whose
    /// rows are looked up rather than multiplied.
    public static func isEmbeddingTable(_ key: String) -> Bool { key.hasSuffix("embeddings.weight") }

    /// Builds the encoder from `parameters` (keys as in transformers' state dict, below `bert.`).
    public init(configuration c: BertConfiguration, parameters w: any ParameterSource) throws {
        configuration = c
        let e = w.scoped("embeddings")
        wordEmbeddings = try e.matrix("word_embeddings.weight", shape: [c.vocabSize, c.hiddenSize])
        positionEmbeddings = try e.matrix("position_embeddings.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize])
        tokenTypeEmbeddings = try e.matrix("token_type_embeddings.weight", shape: [c.typeVocabSize, c.hiddenSize])
        embeddingNorm = try TextLayerNorm(e.scoped("LayerNorm"), width: c.hiddenSize, eps: c.layerNormEps)
        layers = try (0..<c.numHiddenLayers).map { try BertLayer(w.scoped("encoder.layer.\($0)"), c) }
    }

    /// Loads `model.safetensors` (F32/F16/BF16; keys `embeddings.*`, `encoder.layer.{i}.*`,
    /// an optional `bert.` prefix; `pooler.*` and `embeddings.position_ids` are ignored). F16/BF16
    /// weight matrices and embedding tables stay as stored, views of the mapped file, unless
    /// `matrices` is `.float32`; vectors (biases, norm weights) are converted to Float32.
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let c = try ModelConfigFile.load(BertConfiguration.self, directory: directory)
        try c.validate(directory: directory)
        let archive = try WeightArchive(directory: directory, baseName: Self.weightsName)
        let root = WeightReader(archive, matrices: matrices)
        try self.init(configuration: c,
                      parameters: archive.shape(of: "bert.embeddings.word_embeddings.weight") != nil ? root.scope("bert") : root)
        try root.finish(ignoringPrefixes: ["pooler.", "bert.pooler.", "embeddings.position_ids", "bert.embeddings.position_ids"])
    }

    /// Runs the encoder on a right-padded batch.
    /// - Parameter batch: ids `[batch][length]` with the padding mask.
    /// - Returns: `last_hidden_state`, layout `[batch, length, hiddenSize]`.
    public func callAsFunction(_ batch: TokenIds) throws -> Tensor {
        let c = configuration
        let (b, n) = (batch.ids.count, batch.ids.first?.count ?? 0)
        guard n <= c.maxPositionEmbeddings else {
            throw TextEncoderError(.sequenceTooLong(length: n, maximum: c.maxPositionEmbeddings))
        }
        // 1. Embeddings: word + position + token type 0, then LayerNorm.
        var h = try embeddingRows(wordEmbeddings, batch.ids.flatMap { $0 })
        let width = c.hiddenSize
        let positions = positionEmbeddings.gatheredRows(Array(0..<n))
        let tokenType = tokenTypeEmbeddings.gatheredRows([0])
        h.data.withUnsafeMutableBufferPointer { x in
            for r in 0..<(b * n) {
                let p = r % n
                for i in 0..<width {
                    x[r * width + i] += positions[p * width + i] + tokenType[i]
                }
            }
        }
        h = embeddingNorm(h).reshaped([b, n, width])
        // 2. Encoder layers with the key padding mask.
        let mask = AttentionMask(validKeyCount: batch.lengths)
        for layer in layers { h = layer(h, mask: mask) }
        return h
    }
}

/// Token ids of a right-padded batch (the layout the encoders consume).
public struct TokenIds: Sendable, Equatable {
    /// `[batch][length]`.
    public var ids: [[Int]]
    /// Real tokens per item (the rest is padding).
    public var lengths: [Int]

    public init(ids: [[Int]], lengths: [Int]) {
        self.ids = ids
        self.lengths = lengths
    }
}

/// One BERT layer (`encoder.layer.{i}`): self-attention + add & LayerNorm, then
/// intermediate (GELU) + output + add & LayerNorm.
struct BertLayer: Sendable {
    /// `attention.self.{query,key,value}` stacked into one `[3·width, width]` projection
    /// (one gemm instead of three; the output columns are q | k | v).
    let qkv: Linear
    let attentionOutput: Linear, attentionNorm: TextLayerNorm
    let intermediate: Linear, output: Linear, outputNorm: TextLayerNorm
    let heads: Int

    init(_ w: any ParameterSource, _ c: BertConfiguration) throws {
        let d = c.hiddenSize
        qkv = Linear(fusing: try ["query", "key", "value"].map { try Linear(w.scoped("attention.self.\($0)"), in: d, out: d) })
        attentionOutput = try Linear(w.scoped("attention.output.dense"), in: d, out: d)
        attentionNorm = try TextLayerNorm(w.scoped("attention.output.LayerNorm"), width: d, eps: c.layerNormEps)
        intermediate = try Linear(w.scoped("intermediate.dense"), in: d, out: c.intermediateSize)
        output = try Linear(w.scoped("output.dense"), in: c.intermediateSize, out: d)
        outputNorm = try TextLayerNorm(w.scoped("output.LayerNorm"), width: d, eps: c.layerNormEps)
        heads = c.numAttentionHeads
    }

    /// `x`: `[batch, tokens, width]` → same layout.
    func callAsFunction(_ x: Tensor, mask: AttentionMask) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let split = [b, n, heads, d / heads]
        // 1. Self-attention: [B·N, 3D] -> q, k, v each [B, N, heads, headDim].
        let qkv = self.qkv(x)
        var q = [Float](), k = [Float](), v = [Float]()
        q.reserveCapacity(b * n * d); k.reserveCapacity(b * n * d); v.reserveCapacity(b * n * d)
        for r in 0..<(b * n) {
            q.append(contentsOf: qkv.data[(r * 3 * d)..<(r * 3 * d + d)])
            k.append(contentsOf: qkv.data[(r * 3 * d + d)..<(r * 3 * d + 2 * d)])
            v.append(contentsOf: qkv.data[(r * 3 * d + 2 * d)..<(r * 3 * d + 3 * d)])
        }
        let attended = Attention.scaledDotProduct(q: Tensor(shape: split, data: q), k: Tensor(shape: split, data: k),
                                                  v: Tensor(shape: split, data: v), mask: mask)
        var a = attentionOutput(attended.reshaped([b, n, d]))
        a.add(x)
        let h = attentionNorm(a)
        // 2. Feed-forward.
        var f = output(intermediate(h).geluErf())
        f.add(h)
        return outputNorm(f)
    }
}
