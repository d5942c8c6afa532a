import Foundation

/// Mirrors `vae/config.json` (diffusers 0.42.1 `AutoencoderKLHunyuanVideo.__init__`; absent keys
/// take that constructor's defaults). Only the decoder-side fields are used; the encoder's
/// `down_block_types` are read so a real config round-trips.
public struct VAEConfiguration: Codable, Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var latentChannels = 16
    public var downBlockTypes = Array(repeating: "HunyuanVideoDownBlock3D", count: 4)
    public var upBlockTypes = Array(repeating: "HunyuanVideoUpBlock3D", count: 4)
    public var blockOutChannels = [128, 256, 512, 512]
    public var layersPerBlock = 2
    public var actFn = "silu"
    public var normNumGroups = 32
    /// The pipeline divides latents by this before decoding (`CausalVideoDecoder.decode` does).
    public var scalingFactor: Float = 0.476986
    public var spatialCompressionRatio = 8
    public var temporalCompressionRatio = 4
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
        case spatialCompressionRatio = "spatial_compression_ratio"
        case temporalCompressionRatio = "temporal_compression_ratio"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VAEConfiguration()
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
        spatialCompressionRatio =
            try c.decodeIfPresent(Int.self, forKey: .spatialCompressionRatio) ?? d.spatialCompressionRatio
        temporalCompressionRatio =
            try c.decodeIfPresent(Int.self, forKey: .temporalCompressionRatio) ?? d.temporalCompressionRatio
        midBlockAddAttention =
            try c.decodeIfPresent(Bool.self, forKey: .midBlockAddAttention) ?? d.midBlockAddAttention
    }

    /// Reads and validates `path` (a `vae/config.json`).
    public static func load(contentsOf path: String) throws -> VAEConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw VAEError(.cannotReadConfiguration(reason: (error as NSError).localizedDescription), file: path)
        }
        let config: VAEConfiguration
        do { config = try JSONDecoder().decode(VAEConfiguration.self, from: data) } catch {
            throw VAEError(.cannotReadConfiguration(reason: "\(error)"), file: path)
        }
        try config.validate(file: path)
        return config
    }

    /// Checks the invariants the decoder relies on (the same ones diffusers' constructor enforces
    /// or silently assumes).
    public func validate(file: String = "vae/config.json") throws {
        func fail(_ key: String, _ reason: String) -> VAEError {
            VAEError(.invalidConfiguration(key: key, reason: reason), file: file)
        }
        if blockOutChannels.isEmpty || blockOutChannels.contains(where: { $0 <= 0 }) {
            throw fail("block_out_channels", "must be non-empty and positive, got \(blockOutChannels)")
        }
        if let c = blockOutChannels.first(where: { $0 % normNumGroups != 0 }) {
            throw fail("norm_num_groups", "\(normNumGroups) groups do not divide \(c) channels")
        }
        if upBlockTypes.count != blockOutChannels.count {
            throw fail("up_block_types", "\(upBlockTypes.count) types for \(blockOutChannels.count) blocks")
        }
        if let bad = upBlockTypes.first(where: { $0 != "HunyuanVideoUpBlock3D" }) {
            throw fail("up_block_types", "unsupported block '\(bad)' (only HunyuanVideoUpBlock3D)")
        }
        if temporalCompressionRatio != 4 {
            throw fail("temporal_compression_ratio", "only 4 is supported (as diffusers), got \(temporalCompressionRatio)")
        }
        if spatialCompressionRatio <= 0 || spatialCompressionRatio & (spatialCompressionRatio - 1) != 0 {
            throw fail("spatial_compression_ratio", "must be a power of two, got \(spatialCompressionRatio)")
        }
        if actFn != "silu" && actFn != "swish" {
            throw fail("act_fn", "only silu is supported, got '\(actFn)'")
        }
        if layersPerBlock < 0 || latentChannels <= 0 || outChannels <= 0 {
            throw fail("layers_per_block", "layers \(layersPerBlock), latent \(latentChannels), out \(outChannels)")
        }
    }

    /// Number of spatial (×2) upsampling layers: log2(spatial_compression_ratio).
    var spatialUpsampleLayers: Int { spatialCompressionRatio.trailingZeroBitCount }
    /// Number of temporal (×2) upsampling layers: log2(temporal_compression_ratio).
    var temporalUpsampleLayers: Int { temporalCompressionRatio.trailingZeroBitCount }

    /// One decoder up block: `layers_per_block + 1` resnets from `inChannels` to `outChannels`,
    /// then an upsampler when it doubles the size in space or time.
    struct UpBlockLayout: Equatable {
        var inChannels: Int, outChannels: Int
        var spatialUpsample: Bool, temporalUpsample: Bool
        var upsamples: Bool { spatialUpsample || temporalUpsample }
    }

    /// The decoder's up blocks in order, by diffusers `HunyuanVideoDecoder3D.__init__`'s rules
    /// for a time compression of 4: the first log2(spatial ratio) blocks upsample in space, the
    /// log2(temporal ratio) blocks before the last in time, the last block not at all. Read by
    /// `CausalVideoDecoder` (which builds them) and `decodeActivationBytes` (which sizes them).
    var upBlockLayouts: [UpBlockLayout] {
        let reversed = Array(blockOutChannels.reversed())
        return reversed.indices.map { i in
            let isFinal = i == reversed.count - 1
            return UpBlockLayout(inChannels: i == 0 ? reversed[0] : reversed[i - 1], outChannels: reversed[i],
                                 spatialUpsample: i < spatialUpsampleLayers,
                                 temporalUpsample: i >= reversed.count - 1 - temporalUpsampleLayers && !isFinal)
        }
    }

    /// Pixel frames decoded from `latentFrames`: `4·(T − 1) + 1`.
    public func pixelFrames(latentFrames: Int) -> Int {
        (latentFrames - 1) * temporalCompressionRatio + 1
    }
}
