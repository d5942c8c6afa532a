import Foundation

/// Mirrors `transformer/config.json` of FLUX.1-dev / -schnell (diffusers 0.42.1
/// `FluxTransformer2DModel.__init__`, `src/diffusers/models/transformers/transformer_flux.py`).
/// Absent keys take the diffusers defaults (the real 12B model; `guidance_embeds` false as in
/// diffusers, FLUX.1-dev's file sets it true).
public struct FluxConfiguration: Codable, Sendable, Equatable {
    /// Only widens `proj_out` to `patch_size² · out_channels` features per token; the tokens come
    /// in already packed (1 in both FLUX.1 models).
    public var patchSize = 1
    /// Features per packed image token: 4 · latent channels (2 × 2 latent patches, 64).
    public var inChannels = 64
    /// nil: as `in_channels`.
    public var outChannels: Int? = nil
    /// Double-stream blocks.
    public var numLayers = 19
    public var numSingleLayers = 38
    public var attentionHeadDim = 128
    public var numAttentionHeads = 24
    /// Width of the T5 text states.
    public var jointAttentionDim = 4096
    /// Width of the pooled CLIP vector.
    public var pooledProjectionDim = 768
    /// Whether the model embeds the guidance scale (FLUX.1-dev, guidance-distilled).
    public var guidanceEmbeds = false
    /// Head-dim split for RoPE over the id axes (the columns of `img_ids` / `txt_ids`).
    public var axesDimsRope = [16, 56, 56]

    /// RoPE base, `FluxPosEmbed(theta=10000)` in `FluxTransformer2DModel.__init__` (not a config key).
    public static let ropeTheta: Double = 10000
    /// D = heads × head dim.
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }
    /// Channels of the predicted velocity per packed token.
    public var outputChannels: Int { outChannels ?? inChannels }
    /// `proj_out` features per image token, `patch_size² · out_channels`.
    public var outFeatures: Int { patchSize * patchSize * outputChannels }
    /// Widths of the blocks: FFN and single-block MLP width `4D` (`FeedForward` default `mult=4`,
    /// `FluxSingleTransformerBlock(mlp_ratio=4.0)`).
    var blockDimensions: BlockDimensions {
        BlockDimensions(heads: numAttentionHeads, headDim: attentionHeadDim, mlpWidth: 4 * innerDim)
    }

    enum CodingKeys: String, CodingKey {
        case patchSize = "patch_size", inChannels = "in_channels", outChannels = "out_channels"
        case numLayers = "num_layers", numSingleLayers = "num_single_layers"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case jointAttentionDim = "joint_attention_dim", pooledProjectionDim = "pooled_projection_dim"
        case guidanceEmbeds = "guidance_embeds", axesDimsRope = "axes_dims_rope"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = FluxConfiguration()
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels)
        numLayers = try c.decodeIfPresent(Int.self, forKey: .numLayers) ?? d.numLayers
        numSingleLayers = try c.decodeIfPresent(Int.self, forKey: .numSingleLayers) ?? d.numSingleLayers
        attentionHeadDim = try c.decodeIfPresent(Int.self, forKey: .attentionHeadDim) ?? d.attentionHeadDim
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        jointAttentionDim = try c.decodeIfPresent(Int.self, forKey: .jointAttentionDim) ?? d.jointAttentionDim
        pooledProjectionDim = try c.decodeIfPresent(Int.self, forKey: .pooledProjectionDim) ?? d.pooledProjectionDim
        guidanceEmbeds = try c.decodeIfPresent(Bool.self, forKey: .guidanceEmbeds) ?? d.guidanceEmbeds
        axesDimsRope = try c.decodeIfPresent([Int].self, forKey: .axesDimsRope) ?? d.axesDimsRope
    }

    /// Reads and validates `path` (a `config.json`).
    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError(.cannotRead(reason: (error as NSError).localizedDescription), file: path)
        }
        do { self = try JSONDecoder().decode(FluxConfiguration.self, from: data) } catch {
            throw ModelError(.badConfiguration(reason: "\(error)"), file: path)
        }
        try validate(file: path)
    }

    /// Checks the invariants the model relies on; throws `badConfiguration` naming the field.
    public func validate(file: String = "config.json") throws {
        func fail(_ reason: String) -> ModelError { ModelError(.badConfiguration(reason: reason), file: file) }
        let positive: [(String, Int)] = [
            ("patch_size", patchSize), ("in_channels", inChannels), ("out_channels", outputChannels),
            ("attention_head_dim", attentionHeadDim), ("num_attention_heads", numAttentionHeads),
            ("joint_attention_dim", jointAttentionDim), ("pooled_projection_dim", pooledProjectionDim),
        ]
        for (name, v) in positive where v <= 0 { throw fail("\(name) must be positive, found \(v)") }
        for (name, v) in [("num_layers", numLayers), ("num_single_layers", numSingleLayers)] where v < 0 {
            throw fail("\(name) must not be negative, found \(v)")
        }
        if axesDimsRope.isEmpty || axesDimsRope.contains(where: { $0 <= 0 || $0 % 2 != 0 }) {
            throw fail("axes_dims_rope must be positive even numbers, found \(axesDimsRope)")
        }
        if axesDimsRope.reduce(0, +) != attentionHeadDim {
            throw fail("axes_dims_rope \(axesDimsRope) sums to \(axesDimsRope.reduce(0, +)), not attention_head_dim \(attentionHeadDim)")
        }
    }
}
