import Foundation
import Tensor

/// Mirrors an image VAE's `vae/config.json` (diffusers 0.42.1 `AutoencoderKL.__init__`,
/// `src/diffusers/models/autoencoders/autoencoder_kl.py`; absent keys take that constructor's
/// defaults). FLUX.1's: 16 latent channels, `block_out_channels` [128, 256, 512, 512],
/// `layers_per_block` 2, `scaling_factor` 0.3611, `shift_factor` 0.1159, no quant convs.
/// Only the decoder-side fields are used; `down_block_types` is read so a config round-trips.
public struct AutoencoderKLConfiguration: Codable, Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var latentChannels = 4
    public var downBlockTypes = ["DownEncoderBlock2D"]
    public var upBlockTypes = ["UpDecoderBlock2D"]
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var actFn = "silu"
    public var normNumGroups = 32
    /// The pipeline divides latents by this before decoding (`unscaledLatents`).
    public var scalingFactor: Float = 0.18215
    /// Added after the division when present (FLUX.1); `null` or absent means none.
    public var shiftFactor: Float?
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case latentChannels = "latent_channels"
        case downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block"
        case actFn = "act_fn"
        case normNumGroups = "norm_num_groups"
        case scalingFactor = "scaling_factor"
        case shiftFactor = "shift_factor"
        case useQuantConv = "use_quant_conv"
        case usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AutoencoderKLConfiguration()
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? d.latentChannels
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? d.normNumGroups
        scalingFactor = try c.decodeIfPresent(Float.self, forKey: .scalingFactor) ?? d.scalingFactor
        shiftFactor = try c.decodeIfPresent(Float.self, forKey: .shiftFactor)
        useQuantConv = try c.decodeIfPresent(Bool.self, forKey: .useQuantConv) ?? d.useQuantConv
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? d.usePostQuantConv
        midBlockAddAttention =
            try c.decodeIfPresent(Bool.self, forKey: .midBlockAddAttention) ?? d.midBlockAddAttention
    }

    /// Reads and validates `path` (a `vae/config.json`).
    public static func load(contentsOf path: String) throws -> AutoencoderKLConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw VAEError(.cannotReadConfiguration(reason: (error as NSError).localizedDescription), file: path)
        }
        let config: AutoencoderKLConfiguration
        do { config = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: data) } catch {
            throw VAEError(.cannotReadConfiguration(reason: "\(error)"), file: path)
        }
        try config.validate(file: path)
        return config
    }

    /// Checks the invariants the decoder relies on (those diffusers' constructor enforces or
    /// silently assumes).
    public func validate(file: String = "vae/config.json") throws {
        func fail(_ key: String, _ reason: String) -> VAEError {
            VAEError(.invalidConfiguration(key: key, reason: reason), file: file)
        }
        if blockOutChannels.isEmpty || blockOutChannels.contains(where: { $0 <= 0 }) {
            throw fail("block_out_channels", "must be non-empty and positive, got \(blockOutChannels)")
        }
        if normNumGroups <= 0 || blockOutChannels.contains(where: { $0 % normNumGroups != 0 }) {
            throw fail("norm_num_groups", "\(normNumGroups) groups do not divide the widths \(blockOutChannels)")
        }
        if upBlockTypes.count != blockOutChannels.count {
            throw fail("up_block_types", "\(upBlockTypes.count) types for \(blockOutChannels.count) blocks")
        }
        if let bad = upBlockTypes.first(where: { $0 != "UpDecoderBlock2D" }) {
            throw fail("up_block_types", "unsupported block '\(bad)' (only UpDecoderBlock2D)")
        }
        if actFn != "silu" && actFn != "swish" {
            throw fail("act_fn", "only silu is supported, got '\(actFn)'")
        }
        if layersPerBlock < 0 || latentChannels <= 0 || outChannels <= 0 {
            throw fail("layers_per_block", "layers \(layersPerBlock), latent \(latentChannels), out \(outChannels)")
        }
        if !(scalingFactor.isFinite && scalingFactor != 0) {
            throw fail("scaling_factor", "must be finite and non-zero, got \(scalingFactor)")
        }
    }

    /// Output pixels per latent pixel along each axis: 2^(number of up blocks − 1) (each block
    /// but the last upsamples by 2; 8 for FLUX.1).
    public var spatialCompressionRatio: Int { 1 << (blockOutChannels.count - 1) }

    /// One decoder up block: `layers_per_block + 1` resnets from `inChannels` to `outChannels`,
    /// then a 2× upsampler unless it is the last block (diffusers `Decoder.__init__` in
    /// `vae.py`). Read by `AutoencoderKLDecoder` (which builds them) and `decodeActivationBytes`.
    struct UpBlockLayout: Equatable {
        var inChannels: Int, outChannels: Int
        var upsamples: Bool
    }

    var upBlockLayouts: [UpBlockLayout] {
        let reversed = Array(blockOutChannels.reversed())
        return reversed.indices.map { i in
            UpBlockLayout(inChannels: reversed[max(i - 1, 0)], outChannels: reversed[i],
                          upsamples: i < reversed.count - 1)
        }
    }
}

extension AutoencoderKLConfiguration {
    /// Latents as the VAE decodes them, `latents / scaling_factor + shift_factor` (just
    /// `latents / scaling_factor` without a shift), as diffusers 0.42.1
    /// `src/diffusers/pipelines/flux/pipeline_flux.py` (`FluxPipeline.__call__`, line 962) does
    /// before `vae.decode`. Elementwise, so any layout; division (not a multiplication by the
    /// reciprocal) as in PyTorch, so the values match bit for bit.
    public func unscaledLatents(_ latents: Tensor) -> Tensor {
        var z = latents
        let (scale, shift) = (scalingFactor, shiftFactor ?? 0)
        z.apply(costPerItem: 1) { $0 / scale + shift }
        return z
    }
}
