import Tensor

/// Port of diffusers 0.42.1 `AdaLayerNormContinuous` (`norm_out`) + `proj_out`, the last layers of
/// `HunyuanVideoTransformer3DModel` (hunyuan-video.md §2.8) and `FluxTransformer2DModel`, applied
/// to the image rows of the joint stream.
public struct FinalLayer: Sendable {
    /// `norm_out.linear`: SiLU(temb) → (scale, shift) — scale first — `[2D]`.
    let normOut: Linear
    /// `proj_out`: D → the model's features per image token.
    let projOut: Linear
    let width: Int

    init(_ w: any ParameterSource, width: Int, outFeatures: Int) throws {
        normOut = try Linear(w.scoped("norm_out").scoped("linear"), in: width, out: 2 * width)
        projOut = try Linear(w.scoped("proj_out"), in: width, out: outFeatures)
        self.width = width
    }

    /// - Returns: `[B, Ni, outFeatures]`, `proj_out(LN(x)·(1 + scale) + shift)` of the image rows of `x`.
    func forward(_ x: JointStream, tembActivated: Tensor) -> Tensor {
        let (b, ni, n, d) = (x.batch, x.imageTokens, x.tokens, width)
        let mod = normOut(tembActivated)  // [B, 2D]: scale, shift
        let normed = Scratch(b * ni * d)
        defer { normed.deallocate() }
        mod.data.withUnsafeBufferPointer { mb in
            RowKernels.adaLayerNorm(x.pointer, xBatchStride: n * d, batch: b, tokens: ni, width: d, eps: 1e-6,
                                    scale: mb.baseAddress!, shift: mb.baseAddress! + d, modStride: 2 * d,
                                    out: normed.pointer, outStride: d, outBatchStride: ni * d)
        }
        let features = projOut.outFeatures
        return Tensor(shape: [b, ni, features]) { y in
            projOut.apply(normed.pointer, rows: b * ni, xStride: d, out: y.baseAddress!, outStride: features)
        }
    }
}
