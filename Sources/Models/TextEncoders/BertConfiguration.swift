/// Mirrors a BERT `config.json` (transformers `BertConfig`; all-MiniLM-L6-v2's values noted).
public struct BertConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 30522
    public var hiddenSize = 768            // MiniLM: 384
    public var numHiddenLayers = 12        // MiniLM: 6
    public var numAttentionHeads = 12
    public var intermediateSize = 3072     // MiniLM: 1536
    public var hiddenAct = "gelu"
    public var maxPositionEmbeddings = 512
    public var typeVocabSize = 2
    public var layerNormEps: Float = 1e-12
    public var positionEmbeddingType = "absolute"

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 30522
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 768
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 12
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 12
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 3072
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Checks the invariants the encoder relies on; `directory` names the file in errors.
    public func validate(directory: String) throws {
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelConfigFile.invalid(directory, "num_attention_heads", "\(numAttentionHeads) does not divide hidden_size \(hiddenSize)")
        }
        guard hiddenAct == "gelu" else {
            throw ModelConfigFile.invalid(directory, "hidden_act", "only \"gelu\" (erf) is supported, found \"\(hiddenAct)\"")
        }
        guard positionEmbeddingType == "absolute" else {
            throw ModelConfigFile.invalid(directory, "position_embedding_type", "only \"absolute\" is supported")
        }
    }
}
