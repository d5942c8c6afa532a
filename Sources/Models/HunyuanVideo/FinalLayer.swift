import Tensor

/// Port of diffusers 0.42.1 `AdaLayerNormContinuous` (`norm_out`) + `proj_out` + the unpatchify
/// at the end of `HunyuanVideoTransformer3DModel.forward` (hunyuan-video.md §2.8).
public struct FinalLayer: Sendable {
    /// `norm_out.linear`: SiLU(temb) → (scale, shift) — scale first — `[2D]`.
    let normOut: Linear
    /// `proj_out`: D → C_out·pt·p·p, features channel-major (c, kt, kh, kw).
    let projOut: Linear
    let width: Int, outChannels: Int, patchSize: Int, patchSizeT: Int

    init(_ w: any ParameterSource, _ c: TransformerConfiguration) throws {
        normOut = try Linear(w.scoped("norm_out").scoped("linear"), in: c.innerDim, out: 2 * c.innerDim)
        projOut = try Linear(w.scoped("proj_out"), in: c.innerDim, out: c.patchFeaturesOut)
        width = c.innerDim
        outChannels = c.outChannels
        patchSize = c.patchSize
        patchSizeT = c.patchSizeT
    }

    /// - Returns: velocity `[B, T, H, W, C_out]` (channels-last) for the image rows of `x`.
    func forward(_ x: JointStream, tembActivated: Tensor, frames t: Int, height h: Int, width w: Int) -> Tensor {
        let (b, ni, n, d) = (x.batch, x.imageTokens, x.tokens, width)
        let mod = normOut(tembActivated)  // [B, 2D]: scale, shift
        let normed = Scratch(b * ni * d), y = Scratch(b * ni * projOut.outFeatures)
        defer { normed.deallocate(); y.deallocate() }
        mod.data.withUnsafeBufferPointer { mb in
            RowKernels.adaLayerNorm(x.pointer, xBatchStride: n * d, batch: b, tokens: ni, width: d, eps: 1e-6,
                                    scale: mb.baseAddress!, shift: mb.baseAddress! + d, modStride: 2 * d,
                                    out: normed.pointer, outStride: d, outBatchStride: ni * d)
        }
        projOut.apply(normed.pointer, rows: b * ni, xStride: d, out: y.pointer, outStride: projOut.outFeatures)
        // Unpatchify: feature c·(pt·p·p) + kt·p·p + kh·p + kw of token (tp, hp, wp) → [b, t, h, w, c].
        let (p, pt, co) = (patchSize, patchSizeT, outChannels)
        let (tp, hp, wp) = (t / pt, h / p, w / p)
        let features = projOut.outFeatures
        let src = y.pointer
        return Tensor(shape: [b, t, h, w, co]) { dst in
            for bi in 0..<b { for ti in 0..<tp { for hi in 0..<hp { for wi in 0..<wp {
                let token = ((bi * tp + ti) * hp + hi) * wp + wi
                for ci in 0..<co { for kt in 0..<pt { for kh in 0..<p { for kw in 0..<p {
                    let f = ((ci * pt + kt) * p + kh) * p + kw
                    dst[((((bi * t) + ti * pt + kt) * h + hi * p + kh) * w + wi * p + kw) * co + ci] = src[token * features + f]
                } } } }
            } } } }
        }
    }
}
