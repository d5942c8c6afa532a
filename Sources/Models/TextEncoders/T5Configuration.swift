/// Mirrors a T5 `config.json` (transformers 5.x `T5Config`, `models/t5/configuration_t5.py`);
/// defaults are `T5Config`'s (t5-small). FLUX.1's `text_encoder_2` is T5 v1.1 XXL: d_model 4096,
/// 64 heads × d_kv 64, d_ff 10240, 24 layers, "gated-gelu", vocab 32128.
public struct T5Configuration: Codable, Sendable, Equatable {
    public var vocabSize = 32128
    public var dModel = 512
    /// Per-head width; `numHeads × dKv` need not equal `dModel`.
    public var dKv = 64
    public var dFf = 2048
    public var numLayers = 6
    public var numHeads = 8
    public var relativeAttentionNumBuckets = 32
    public var relativeAttentionMaxDistance = 128
    /// `relu` (original T5) or `gated-<act>` (v1.1: `gated-gelu`).
    public var feedForwardProj = "relu"
    public var layerNormEpsilon: Float = 1e-6

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", dKv = "d_kv", dFf = "d_ff", numLayers = "num_layers"
        case numHeads = "num_heads", relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case relativeAttentionMaxDistance = "relative_attention_max_distance"
        case feedForwardProj = "feed_forward_proj", layerNormEpsilon = "layer_norm_epsilon"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? 32128
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 512
        dKv = try c.decodeIfPresent(Int.self, forKey: .dKv) ?? 64
        dFf = try c.decodeIfPresent(Int.self, forKey: .dFf) ?? 2048
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? 6
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 8
        relativeAttentionNumBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? 32
        relativeAttentionMaxDistance = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionMaxDistance) ?? 128
        feedForwardProj = try c.decodeIfPresent(String.self, forKey: .feedForwardProj) ?? "relu"
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-6
    }

    /// Width of the attention projections, `num_heads × d_kv`.
    public var innerDim: Int { numHeads * dKv }

    /// The feed-forward's activation and whether it is gated, read from `feed_forward_proj` as
    /// `T5Config.__post_init__` does ("gated-gelu" means `gelu_new`, the tanh form); nil when the
    /// value is not `<act>` or `gated-<act>` with a known activation.
    public var feedForward: (activation: T5Activation, gated: Bool)? {
        let parts = feedForwardProj.split(separator: "-", omittingEmptySubsequences: false)
        let gated = parts.count == 2 && parts[0] == "gated"
        guard parts.count == 1 || gated else { return nil }
        let name = feedForwardProj == "gated-gelu" ? "gelu_new" : String(parts.last!)
        return T5Activation(rawValue: name).map { ($0, gated) }
    }

    public func validate(directory: String) throws {
        for (key, value) in [("d_model", dModel), ("d_kv", dKv), ("d_ff", dFf), ("num_heads", numHeads),
                             ("vocab_size", vocabSize), ("relative_attention_max_distance", relativeAttentionMaxDistance)]
        where value <= 0 {
            throw ModelConfigFile.invalid(directory, key, "must be positive, found \(value)")
        }
        // Bidirectional buckets: half per direction, half of those exact (transformers'
        // `_relative_position_bucket` needs at least one exact and one logarithmic bucket).
        guard relativeAttentionNumBuckets >= 4 else {
            throw ModelConfigFile.invalid(directory, "relative_attention_num_buckets",
                                          "must be at least 4, found \(relativeAttentionNumBuckets)")
        }
        guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 4 else {
            throw ModelConfigFile.invalid(directory, "relative_attention_max_distance",
                                          "must exceed the \(relativeAttentionNumBuckets / 4) exact buckets")
        }
        guard feedForward != nil else {
            throw ModelConfigFile.invalid(directory, "feed_forward_proj", "expected relu, gelu, gelu_new or silu, "
                                          + "optionally as gated-<act>; found \(feedForwardProj)")
        }
    }
}

/// The `ACT2FN` names T5 checkpoints use for their feed-forward.
public enum T5Activation: String, Sendable, CaseIterable {
    case relu
    /// Exact (erf) GELU.
    case gelu
    /// Tanh-approximated GELU (T5 v1.1, FLUX.1's encoder).
    case geluNew = "gelu_new"
    case silu
}
