import SafeTensors
import Tensor

/// BERT encoder (no pooler): embeddings (word + absolute position + token type 0, LayerNorm),
/// then post-LN transformer layers with exact-erf GELU and a key padding mask.
/// Port of transformers 5.x `BertModel` (`models/bert/modeling_bert.py`: `BertEmbeddings`,
/// `BertSelfAttention`, `BertSelfOutput`, `BertIntermediate`, `BertOutput`).
public final class BertTextEncoder: Sendable {
    public let configuration: BertConfiguration
    let wordEmbeddings: Tensor        // [vocab, width]
    let positionEmbeddings: Tensor    // [maxPositions, width]
    let tokenTypeEmbeddings: Tensor   // [typeVocab, width]
    let embeddingNorm: TextLayerNorm
    let layers: [BertLayer]
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "model"

    /// Loads `model.safetensors` (F32/F16/BF16; keys `embeddings.*`, `encoder.layer.{i}.*`,
    /// an optional `bert.` prefix; `pooler.*` and `embeddings.position_ids` are ignored).
    public init(directory: String) throws {
        let c = try ModelConfigFile.load(BertConfiguration.self, directory: directory)
        try c.validate(directory: directory)
        configuration = c
        let archive = try WeightArchive(directory: directory, baseName: Self.weightsName)
        let root = WeightReader(archive)
        let w = archive.shape(of: "bert.embeddings.word_embeddings.weight") != nil ? root.scope("bert") : root
        let e = w.scope("embeddings")
        wordEmbeddings = try e.tensor("word_embeddings.weight", shape: [c.vocabSize, c.hiddenSize])
        positionEmbeddings = try e.tensor("position_embeddings.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize])
        tokenTypeEmbeddings = try e.tensor("token_type_embeddings.weight", shape: [c.typeVocabSize, c.hiddenSize])
        embeddingNorm = try TextLayerNorm(e.scope("LayerNorm"), width: c.hiddenSize, eps: c.layerNormEps)
        layers = try (0..<c.numHiddenLayers).map { try BertLayer(w.scope("encoder.layer.\($0)"), c) }
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
        h.data.withUnsafeMutableBufferPointer { x in
            for r in 0..<(b * n) {
                let p = r % n
                for i in 0..<width {
                    x[r * width + i] += positionEmbeddings.data[p * width + i] + tokenTypeEmbeddings.data[i]
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
    let qkvWeight: Tensor, qkvBias: Tensor
    let attentionOutput: TextLinear, attentionNorm: TextLayerNorm
    let intermediate: TextLinear, output: TextLinear, outputNorm: TextLayerNorm
    let heads: Int

    init(_ w: WeightReader, _ c: BertConfiguration) throws {
        let d = c.hiddenSize
        let parts = try ["query", "key", "value"].map { try TextLinear(w.scope("attention.self.\($0)"), in: d, out: d) }
        qkvWeight = Tensor.concatenate(rows: parts.map(\.weight))
        qkvBias = Tensor.concatenate(rows: parts.map { $0.bias! })
        attentionOutput = try TextLinear(w.scope("attention.output.dense"), in: d, out: d)
        attentionNorm = try TextLayerNorm(w.scope("attention.output.LayerNorm"), width: d, eps: c.layerNormEps)
        intermediate = try TextLinear(w.scope("intermediate.dense"), in: d, out: c.intermediateSize)
        output = try TextLinear(w.scope("output.dense"), in: c.intermediateSize, out: d)
        outputNorm = try TextLayerNorm(w.scope("output.LayerNorm"), width: d, eps: c.layerNormEps)
        heads = c.numAttentionHeads
    }

    /// `x`: `[batch, tokens, width]` → same layout.
    func callAsFunction(_ x: Tensor, mask: AttentionMask) -> Tensor {
        let (b, n, d) = (x.shape[0], x.shape[1], x.shape[2])
        let split = [b, n, heads, d / heads]
        // 1. Self-attention: [B·N, 3D] -> q, k, v each [B, N, heads, headDim].
        let qkv = x.linear(qkvWeight, bias: qkvBias)
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
