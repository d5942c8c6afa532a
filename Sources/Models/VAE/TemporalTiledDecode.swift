import Tensor

/// diffusers' default decode path: overlapping temporal tiles blended linearly
/// (`AutoencoderKLHunyuanVideo._temporal_tiled_decode`, diffusers 0.42.1; reference
/// `hunyuan-video.md` §4.6). Each tile is an independent untiled decode, so GroupNorm and the
/// causal attention see only the tile: results differ from `decode(latents:)` by O(1) with
/// random weights, and the cost is about 5/3 of an untiled decode.
public struct TemporalTiling: Sendable, Equatable {
    /// `tile_sample_min_num_frames` (pixel frames per tile).
    public var tileSampleFrames = 16
    /// `tile_sample_stride_num_frames`.
    public var tileSampleStride = 12

    public init(tileSampleFrames: Int = 16, tileSampleStride: Int = 12) {
        self.tileSampleFrames = tileSampleFrames
        self.tileSampleStride = tileSampleStride
    }

    /// diffusers' defaults (`use_framewise_decoding = True`, 16 / 12 frames).
    public static let diffusersDefault = TemporalTiling()
}

extension CausalVideoDecoder {
    /// Decodes exactly as diffusers `vae.decode(latents / scaling_factor)` with its defaults
    /// (`use_framewise_decoding = True`, spatial tiling off): latents longer than
    /// `tileSampleFrames / 4` latent frames go through the temporal tiled decode, shorter ones
    /// through the untiled decode.
    /// - Parameter latents: `[B, T, h, w, C]`, scaled.
    /// - Returns: `[B, 4·(T − 1) + 1, 8h, 8w, 3]`.
    public func decodeTiled(latents: Tensor, tiling: TemporalTiling = .diffusersDefault) throws -> Tensor {
        let (batch, frames) = try checkLatents(latents)
        let ratio = configuration.temporalCompressionRatio
        let tileLatent = tiling.tileSampleFrames / ratio
        guard frames > tileLatent else { return try decode(latents: latents) }
        let strideLatent = tiling.tileSampleStride / ratio
        let blend = tiling.tileSampleFrames - tiling.tileSampleStride
        let outFrames = configuration.pixelFrames(latentFrames: frames)
        var items: [Tensor] = []
        for b in 0..<batch {
            let z = unscaled(latents, item: b)
            // 1. decode overlapping tiles of tileLatent + 1 latent frames
            var tiles: [Tensor] = []
            for i in stride(from: 0, to: frames, by: strideLatent) {
                var state = DecodeState(norms: .local, streaming: false)
                var d = forward(z.slice(rows: i..<min(frames, i + tileLatent + 1)), state: &state)!
                if i > 0 { d = d.slice(rows: 1..<d.shape[0]) }
                tiles.append(d)
            }
            // 2. blend each tile with the (already blended) previous one, crop, concatenate
            var parts: [Tensor] = []
            for k in tiles.indices {
                if k > 0 {
                    tiles[k] = Self.blendFrames(tiles[k - 1], into: tiles[k], extent: blend)
                    parts.append(tiles[k].slice(rows: 0..<min(tiling.tileSampleStride, tiles[k].shape[0])))
                } else {
                    parts.append(tiles[k].slice(rows: 0..<min(tiling.tileSampleStride + 1, tiles[k].shape[0])))
                }
            }
            let video = Tensor.concatenate(rows: parts)
            items.append(video.slice(rows: 0..<min(outFrames, video.shape[0])))
        }
        return Tensor.concatenate(rows: items.map { $0.reshaped([1] + $0.shape) })
    }

    /// diffusers `blend_t`: for x < n = min(a.T, b.T, extent),
    /// `b[x] = a[a.T − n + x]·(1 − x/n) + b[x]·(x/n)`. Layout `[T, H, W, C]`.
    static func blendFrames(_ a: Tensor, into b: Tensor, extent: Int) -> Tensor {
        let n = min(a.shape[0], b.shape[0], extent)
        var out = b
        let frameSize = b.count / b.shape[0]
        for x in 0..<n {
            let w = Float(x) / Float(n)
            let aBase = (a.shape[0] - n + x) * frameSize, bBase = x * frameSize
            for i in 0..<frameSize {
                out.data[bBase + i] = a.data[aBase + i] * (1 - w) + b.data[bBase + i] * w
            }
        }
        return out
    }
}
