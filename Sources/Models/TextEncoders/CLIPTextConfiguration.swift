/// Mirrors a CLIP text `config.json` (transformers `CLIPTextConfig`; defaults are
/// `openai/clip-vit-large-patch14`'s text tower except where transformers' defaults differ).
public struct CLIPTextConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 512            // CLIP-L: 768
    public var intermediateSize = 2048     // CLIP-L: 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8       // CLIP-L: 12
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps: Float = 1e-5
    public var projectionDim = 512         // CLIP-L: 768
    /// Pooling rule: `2` selects the legacy `argmax(input_ids)` position (pre PR #24773).
    public var eosTokenId = 49407

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps", projectionDim = "projection_dim", eosTokenId = "eos_token_id"
        case textConfig = "text_config"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        var c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.textConfig) { c = try c.nestedContainer(keyedBy: CodingKeys.self, forKey: .textConfig) }
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 49408
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 512
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 2048
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 12
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 8
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 77
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "quick_gelu"
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-5
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? 49407
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings); try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(layerNormEps, forKey: .layerNormEps); try c.encode(projectionDim, forKey: .projectionDim)
        try c.encode(eosTokenId, forKey: .eosTokenId)
    }

    public func validate(directory: String) throws {
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelConfigFile.invalid(directory, "num_attention_heads", "\(numAttentionHeads) does not divide hidden_size \(hiddenSize)")
        }
        guard ["quick_gelu", "gelu"].contains(hiddenAct) else {
            throw ModelConfigFile.invalid(directory, "hidden_act", "expected quick_gelu or gelu, found \(hiddenAct)")
        }
    }
}
