import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoSingleTransformerBlock` (hunyuan-video.md §2.7) and
/// `FluxSingleTransformerBlock` (`transformer_flux.py`): the same computation and keys —
/// AdaLayerNormZeroSingle (shift, scale, gate), attention and a GELU(tanh) MLP of width 4D in
/// parallel on the same normed rows, `proj_out([attn, mlp])`. As for `DoubleStreamBlock`, only
/// the rotated tokens (`BlockContext.textRotary`) and the joint order differ.
///
/// Per token the block works in one wide row `[q | k | v | attn | mlp]` (`4D + F` floats):
/// `linear1` writes q, k, v and the MLP input side by side, attention writes its output next to
/// the MLP activations, and `proj_out` reads `[attn | mlp]` (5D at F = 4D) in place — no concat.
public struct SingleStreamBlock: Sendable {
    /// `norm.linear`: SiLU(temb) → (shift, scale, gate), `[3D]`.
    let norm: Linear
    /// `attn.to_q|to_k|to_v` fused, `[3D, D]`.
    let toQKV: Linear
    let normQ: HeadNorm, normK: HeadNorm
    /// `proj_mlp` (D → F) and `proj_out` (D + F → D, input order [attn, mlp]).
    let projMLP: Linear, projOut: Linear
    let heads: Int, headDim: Int, width: Int, mlpWidth: Int

    init(_ w: any ParameterSource, _ c: BlockDimensions) throws {
        let d = c.width
        norm = try Linear(w.scoped("norm").scoped("linear"), in: d, out: 3 * d)
        let a = w.scoped("attn")
        toQKV = Linear(fusing: try ["to_q", "to_k", "to_v"].map { try Linear(a.scoped($0), in: d, out: d) })
        normQ = try HeadNorm(a.scoped("norm_q"), headDim: c.headDim)
        normK = try HeadNorm(a.scoped("norm_k"), headDim: c.headDim)
        projMLP = try Linear(w.scoped("proj_mlp"), in: d, out: c.mlpWidth)
        projOut = try Linear(w.scoped("proj_out"), in: d + c.mlpWidth, out: d)
        heads = c.heads
        headDim = c.headDim
        width = d
        mlpWidth = c.mlpWidth
    }

    /// Updates all rows of `x` in place.
    func forward(_ x: JointStream, _ ctx: BlockContext) {
        let (b, ni, n, d, f) = (x.batch, x.imageTokens, x.tokens, width, mlpWidth)
        let rowWidth = 4 * d + f
        let mod = norm(ctx.tembActivated)  // [B, 3D]
        let normed = ctx.workspace.normed, wide = ctx.workspace.wide, proj = ctx.workspace.proj
        mod.data.withUnsafeBufferPointer { mb in
            let m = mb.baseAddress!
            // 1. Modulated LayerNorm over all tokens.
            RowKernels.adaLayerNorm(x.pointer, xBatchStride: n * d, batch: b, tokens: n, width: d, eps: 1e-6,
                                    scale: m + d, shift: m, modStride: 3 * d, out: normed.pointer, outStride: d,
                                    outBatchStride: n * d)
            // 2. q|k|v and GELU(proj_mlp) into the wide rows.
            toQKV.apply(normed.pointer, rows: b * n, xStride: d, out: wide.pointer, outStride: rowWidth)
            projMLP.apply(normed.pointer, rows: b * n, xStride: d, out: wide.pointer + 4 * d, outStride: rowWidth)
            RowKernels.geluTanh(wide.pointer + 4 * d, rows: b * n, cols: f, stride: rowWidth)
            // 3. QK RMSNorm (same weights for all tokens), then RoPE (text rows only with a text table).
            for bi in 0..<b {
                let row0 = wide.pointer + bi * n * rowWidth, text0 = row0 + ni * rowWidth
                normQ.apply(row0, rows: ni, stride: rowWidth, heads: heads, headDim: headDim, rotary: ctx.imageRotary)
                normK.apply(row0 + d, rows: ni, stride: rowWidth, heads: heads, headDim: headDim, rotary: ctx.imageRotary)
                normQ.apply(text0, rows: n - ni, stride: rowWidth, heads: heads, headDim: headDim, rotary: ctx.textRotary)
                normK.apply(text0 + d, rows: n - ni, stride: rowWidth, heads: heads, headDim: headDim, rotary: ctx.textRotary)
            }
            // 4. Attention, written into the `attn` columns.
            Attention.scaledDotProduct(q: wide.pointer, queryStride: rowWidth, k: wide.pointer + d, v: wide.pointer + 2 * d,
                                       keyStride: rowWidth, out: wide.pointer + 3 * d, outStride: rowWidth, batch: b,
                                       queries: n, keys: n, heads: heads, headDim: headDim, mask: ctx.mask)
            // 5. proj_out([attn, mlp]) and gated residual (chunk 2).
            projOut.apply(wide.pointer + 3 * d, rows: b * n, xStride: rowWidth, out: proj.pointer, outStride: d)
            RowKernels.addGated(x.pointer, xBatchStride: n * d, proj.pointer, yStride: d, yBatchStride: n * d,
                                gate: m + 2 * d, gateStride: 3 * d, batch: b, tokens: n, width: d)
        }
    }
}
