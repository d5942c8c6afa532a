import Foundation

/// Mirrors `transformer/config.json` (diffusers 0.42.1 `HunyuanVideoTransformer3DModel.__init__`,
/// `src/diffusers/models/transformers/transformer_hunyuan_video.py`). Absent keys take the
/// diffusers defaults (the real 13B model).
public struct TransformerConfiguration: Codable, Sendable, Equatable {
    /// Latent channels in (16).
    public var inChannels = 16
    /// Velocity channels out (16).
    public var outChannels = 16
    public var numAttentionHeads = 24
    public var attentionHeadDim = 128
    /// Double-stream blocks.
    public var numLayers = 20
    public var numSingleLayers = 40
    public var numRefinerLayers = 2
    public var mlpRatio: Double = 4.0
    /// Spatial patch size.
    public var patchSize = 2
    /// Temporal patch size.
    public var patchSizeT = 1
    /// Only `"rms_norm"` is supported.
    public var qkNorm = "rms_norm"
    public var guidanceEmbeds = true
    /// Width of the LLM text states.
    public var textEmbedDim = 4096
    /// Width of the pooled (CLIP) text vector.
    public var pooledProjectionDim = 768
    public var ropeTheta: Double = 256.0
    /// Head-dim split for RoPE over (t, h, w).
    public var ropeAxesDim = [16, 56, 56]
    /// nil for text-to-video; the I2V variants are not supported.
    public var imageConditionType: String? = nil

    /// D = heads × head dim.
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }
    /// FFN hidden width, `int(D · mlp_ratio)`.
    public var mlpWidth: Int { Int(Double(innerDim) * mlpRatio) }
    /// Features per latent patch, `C · pt · p · p`.
    public var patchFeaturesIn: Int { inChannels * patchSizeT * patchSize * patchSize }
    public var patchFeaturesOut: Int { outChannels * patchSizeT * patchSize * patchSize }
    /// Widths of the double- and single-stream blocks.
    var blockDimensions: BlockDimensions {
        BlockDimensions(heads: numAttentionHeads, headDim: attentionHeadDim, mlpWidth: mlpWidth)
    }

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels"
        case numAttentionHeads = "num_attention_heads", attentionHeadDim = "attention_head_dim"
        case numLayers = "num_layers", numSingleLayers = "num_single_layers"
        case numRefinerLayers = "num_refiner_layers", mlpRatio = "mlp_ratio"
        case patchSize = "patch_size", patchSizeT = "patch_size_t", qkNorm = "qk_norm"
        case guidanceEmbeds = "guidance_embeds", textEmbedDim = "text_embed_dim"
        case pooledProjectionDim = "pooled_projection_dim", ropeTheta = "rope_theta"
        case ropeAxesDim = "rope_axes_dim", imageConditionType = "image_condition_type"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TransformerConfiguration()
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        attentionHeadDim = try c.decodeIfPresent(Int.self, forKey: .attentionHeadDim) ?? d.attentionHeadDim
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
        numSingleLayers = try c.decodeIfPresent(Int.self, forKey: .numSingleLayers) ?? d.numSingleLayers
        numRefinerLayers = try c.decodeIfPresent(Int.self, forKey: .numRefinerLayers) ?? d.numRefinerLayers
        mlpRatio = try c.decodeIfPresent(Double.self, forKey: .mlpRatio) ?? d.mlpRatio
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        patchSizeT = try c.decodeIfPresent(Int.self, forKey: .patchSizeT) ?? d.patchSizeT
        qkNorm = try c.decodeIfPresent(String.self, forKey: .qkNorm) ?? d.qkNorm
        guidanceEmbeds = try c.decodeIfPresent(Bool.self, forKey: .guidanceEmbeds) ?? d.guidanceEmbeds
        textEmbedDim = try c.decodeIfPresent(Int.self, forKey: .textEmbedDim) ?? d.textEmbedDim
        pooledProjectionDim = try c.decodeIfPresent(Int.self, forKey: .pooledProjectionDim) ?? d.pooledProjectionDim
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? d.ropeTheta
        ropeAxesDim = try c.decodeIfPresent([Int].self, forKey: .ropeAxesDim) ?? d.ropeAxesDim
        imageConditionType = try c.decodeIfPresent(String.self, forKey: .imageConditionType)
    }

    /// Reads and validates `path` (a `config.json`).
    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError(.cannotRead(reason: (error as NSError).localizedDescription), file: path)
        }
        do { self = try JSONDecoder().decode(TransformerConfiguration.self, from: data) } catch {
            throw ModelError(.badConfiguration(reason: "\(error)"), file: path)
        }
        try validate(file: path)
    }

    /// Checks the invariants the model relies on; throws `badConfiguration` naming the field.
    public func validate(file: String = "config.json") throws {
        func fail(_ reason: String) -> ModelError { ModelError(.badConfiguration(reason: reason), file: file) }
        let positive: [(String, Int)] = [
            ("in_channels", inChannels), ("out_channels", outChannels),
            ("num_attention_heads", numAttentionHeads), ("attention_head_dim", attentionHeadDim),
            ("patch_size", patchSize), ("patch_size_t", patchSizeT),
            ("text_embed_dim", textEmbedDim), ("pooled_projection_dim", pooledProjectionDim),
        ]
        for (name, v) in positive where v <= 0 { throw fail("\(name) must be positive, found \(v)") }
        for (name, v) in [("num_layers", numLayers), ("num_single_layers", numSingleLayers),
                          ("num_refiner_layers", numRefinerLayers)] where v < 0 {
            throw fail("\(name) must not be negative, found \(v)")
        }
        if mlpRatio <= 0 { throw fail("mlp_ratio must be positive, found \(mlpRatio)") }
        if qkNorm != "rms_norm" { throw fail("qk_norm '\(qkNorm)' is not supported (only rms_norm)") }
        if let t = imageConditionType { throw fail("image_condition_type '\(t)' is not supported (text-to-video only)") }
        if ropeAxesDim.count != 3 || ropeAxesDim.contains(where: { $0 <= 0 || $0 % 2 != 0 }) {
            throw fail("rope_axes_dim must be three positive even numbers, found \(ropeAxesDim)")
        }
        if ropeAxesDim.reduce(0, +) != attentionHeadDim {
            throw fail("rope_axes_dim \(ropeAxesDim) sums to \(ropeAxesDim.reduce(0, +)), not attention_head_dim \(attentionHeadDim)")
        }
        if ropeTheta <= 0 { throw fail("rope_theta must be positive, found \(ropeTheta)") }
    }
}
