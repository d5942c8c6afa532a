import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoPatchEmbed`: `Conv3d(C, D, kernel = stride = (pt, p, p))`,
/// computed as one linear layer over non-overlapping patches (hunyuan-video.md §2.1).
public struct PatchEmbed: Sendable {
    /// Conv weight `[D, C, pt, p, p]` viewed as `[D, C·pt·p·p]` (feature order c, kt, kh, kw).
    public let proj: Linear
    public let channels: Int, patchSize: Int, patchSizeT: Int

    init(_ w: any ParameterSource, _ c: TransformerConfiguration) throws {
        let p = c.patchSize, pt = c.patchSizeT
        proj = try Linear(w.scoped("proj"), weightShape: [c.innerDim, c.inChannels, pt, p, p])
        channels = c.inChannels
        patchSize = p
        patchSizeT = pt
    }

    /// Gathers patches of channels-last latents into rows.
    /// - Parameter latents: `[B, T, H, W, C]`.
    /// - Returns: `[B, Ni, C·pt·p·p]`, tokens in (t, h, w) row-major order, features (c, kt, kh, kw).
    func patches(_ latents: Tensor) -> Tensor {
        let (b, t, h, w, c) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3], latents.shape[4])
        let p = patchSize, pt = patchSizeT
        let (tp, hp, wp) = (t / pt, h / p, w / p)
        let features = c * pt * p * p
        let src = latents.data
        return Tensor(shape: [b, tp * hp * wp, features]) { dst in
            var o = 0
            for bi in 0..<b { for ti in 0..<tp { for hi in 0..<hp { for wi in 0..<wp {
                for ci in 0..<c { for kt in 0..<pt { for kh in 0..<p { for kw in 0..<p {
                    let tt = ti * pt + kt, hh = hi * p + kh, ww = wi * p + kw
                    dst[o] = src[(((bi * t + tt) * h + hh) * w + ww) * c + ci]
                    o += 1
                } } } }
            } } } }
        }
    }
}
