/// Mirrors a Llama `config.json` (transformers `LlamaConfig`; HunyuanVideo's
/// llava-llama-3-8b text encoder: 32 layers, width 4096, 32/8 heads, RMS eps 1e-5,
/// rope_theta 500000).
public struct LlamaConfiguration: Codable, Sendable, Equatable {
    public var vocabSize = 32000
    public var hiddenSize = 4096
    public var intermediateSize = 11008
    public var numHiddenLayers = 32
    public var numAttentionHeads = 32
    /// Defaults to `numAttentionHeads` (no grouping) when absent, as transformers.
    public var numKeyValueHeads = 32
    public var headDim: Int? = nil
    public var hiddenAct = "silu"
    public var maxPositionEmbeddings = 2048
    public var rmsNormEps: Float = 1e-6
    public var ropeTheta: Float = 10000
    public var ropeType = "default"
    public var attentionBias = false
    public var mlpBias = false

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta", ropeScaling = "rope_scaling", ropeParameters = "rope_parameters"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", textConfig = "text_config"
    }
    enum RopeKeys: String, CodingKey { case ropeType = "rope_type", type, ropeTheta = "rope_theta" }

    public init() {}

    public init(from decoder: any Decoder) throws {
        var c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.textConfig) { c = try c.nestedContainer(keyedBy: CodingKeys.self, forKey: .textConfig) }
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 32000
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 4096
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 11008
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 32
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 32
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
        // transformers 5 stores rope settings in `rope_parameters`; 4.x in `rope_theta`/`rope_scaling`.
        for key in [CodingKeys.ropeParameters, .ropeScaling] where (try? c.decodeNil(forKey: key)) == false {
            if let r = try? c.nestedContainer(keyedBy: RopeKeys.self, forKey: key) {
                ropeType = try r.decodeIfPresent(String.self, forKey: .ropeType)
                    ?? r.decodeIfPresent(String.self, forKey: .type) ?? ropeType
                if let t = try r.decodeIfPresent(Float.self, forKey: .ropeTheta) { ropeTheta = t }
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize); try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize); try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads); try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encodeIfPresent(headDim, forKey: .headDim); try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings); try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta); try c.encode(attentionBias, forKey: .attentionBias)
        try c.encode(mlpBias, forKey: .mlpBias)
    }

    /// Per-head width: `head_dim`, else `hidden_size / num_attention_heads`.
    public var resolvedHeadDim: Int { headDim ?? hiddenSize / max(numAttentionHeads, 1) }

    public func validate(directory: String) throws {
        guard numAttentionHeads > 0, numKeyValueHeads > 0, numAttentionHeads % numKeyValueHeads == 0 else {
            throw ModelConfigFile.invalid(directory, "num_key_value_heads", "\(numKeyValueHeads) must divide num_attention_heads \(numAttentionHeads)")
        }
        guard resolvedHeadDim % 2 == 0, resolvedHeadDim > 0 else {
            throw ModelConfigFile.invalid(directory, "head_dim", "rotary embeddings need an even head dim, got \(resolvedHeadDim)")
        }
        guard hiddenAct == "silu" else { throw ModelConfigFile.invalid(directory, "hidden_act", "only silu is supported") }
        guard ropeType == "default" else {
            throw ModelConfigFile.invalid(directory, "rope_parameters.rope_type", "only the default rope is supported, found \(ropeType)")
        }
    }
}
