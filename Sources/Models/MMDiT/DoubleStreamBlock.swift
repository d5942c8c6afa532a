import Tensor

/// The joint token stream shared by all blocks of one forward.
/// Layout: `[B, N, D]` row-major with `N = imageTokens + textTokens`; per batch item the image
/// tokens come first (rows `0..<Ni`), then the text tokens (diffusers' `[img; txt]` order).
struct JointStream {
    let pointer: UnsafeMutablePointer<Float>
    let batch: Int, imageTokens: Int, textTokens: Int, width: Int
    var tokens: Int { imageTokens + textTokens }
    /// Start of batch item `b`, image row 0.
    func image(_ b: Int) -> UnsafeMutablePointer<Float> { pointer + b * tokens * width }
    /// Start of batch item `b`, text row 0.
    func text(_ b: Int) -> UnsafeMutablePointer<Float> { pointer + (b * tokens + imageTokens) * width }
}

/// Widths of one MM-DiT block: `D = heads · headDim`, feed-forward (MLP) width `F`.
struct BlockDimensions: Sendable, Equatable {
    let heads: Int, headDim: Int, mlpWidth: Int
    var width: Int { heads * headDim }
}

/// Per-forward values every block reads.
struct BlockContext {
    /// `SiLU(temb)`, `[B, D]`.
    let tembActivated: Tensor
    /// RoPE tables of the image tokens, `[Ni, headDim]`.
    let imageRotary: RotaryTable
    /// RoPE tables of the text tokens, `[L, headDim]`; nil where text is not rotated
    /// (HunyuanVideo rotates image tokens only, FLUX rotates both by their ids).
    let textRotary: RotaryTable?
    /// Joint key mask over the `[img; txt]` rows (padded text keys hidden).
    let mask: AttentionMask
    /// Scratch reused by every block of the forward (fresh allocations per block cost page faults).
    let workspace: BlockWorkspace
}

/// Per-forward scratch shared by the blocks, sized for `[B, N]` tokens:
/// `normed` and `proj` `[B·N, D]`, `wide` `[B·N, 4D + F]` (single block: one wide row per token;
/// double block: q|k|v `[B·N, 3D]`, then attn `[B·N, D]`, then FFN hidden `[B·N, F]`).
struct BlockWorkspace {
    let normed: Scratch, proj: Scratch, wide: Scratch
    init(rows: Int, width: Int, mlpWidth: Int) {
        normed = Scratch(rows * width)
        proj = Scratch(rows * width)
        wide = Scratch(rows * (4 * width + mlpWidth))
    }
    func deallocate() { normed.deallocate(); proj.deallocate(); wide.deallocate() }
}

/// QK RMSNorm weights of one attention input (`norm_q`, `norm_k`, …), `[headDim]`.
struct HeadNorm: Sendable {
    let weight: [Float]
    init(_ w: any ParameterSource, headDim: Int) throws { weight = try w.tensor("weight", shape: [headDim]).data }

    /// RMSNorm (eps 1e-6) per head on `rows` rows of `x` (stride `stride`), then RoPE with rows
    /// `0..<rows` of `rotary` when given.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int, headDim: Int, rotary: RotaryTable?) {
        weight.withUnsafeBufferPointer { wp in
            RowKernels.headRMSNormRotary(x, rows: rows, rowStride: stride, heads: heads, headDim: headDim,
                                         eps: 1e-6, weight: wp.baseAddress!, rotary: rotary)
        }
    }
}

/// `ff.net.0.proj → GELU(tanh) → ff.net.2` (diffusers `FeedForward(activation_fn="gelu-approximate")`).
struct FeedForward: Sendable {
    let proj: Linear, out: Linear
    init(_ w: any ParameterSource, width: Int, hidden: Int) throws {
        proj = try Linear(w.scoped("net").scoped("0").scoped("proj"), in: width, out: hidden)
        out = try Linear(w.scoped("net").scoped("2"), in: hidden, out: width)
    }
}

/// Port of diffusers 0.42.1 `HunyuanVideoTransformerBlock` (double stream, hunyuan-video.md §2.6)
/// and `FluxTransformerBlock` (`transformer_flux.py`): the same computation and state-dict keys —
/// AdaLayerNormZero (shift, scale, gate) × 2 per stream, joint attention with per-head RMSNorm
/// (eps 1e-6) on q and k, GELU(tanh) feed-forward of width 4D. The models differ only in which
/// tokens RoPE rotates (`BlockContext.textRotary`) and in the order of the joint sequence, which
/// attention does not depend on (diffusers' FLUX concatenates [txt; img], we keep [img; txt]).
public struct DoubleStreamBlock: Sendable {
    /// `norm1.linear`, `norm1_context.linear`: SiLU(temb) → (shift, scale, gate) × 2, `[6D]`.
    let norm1: Linear, norm1Context: Linear
    /// `attn.to_q|to_k|to_v` and `attn.add_q_proj|add_k_proj|add_v_proj`, fused, `[3D, D]`.
    let toQKV: Linear, addQKV: Linear
    let normQ: HeadNorm, normK: HeadNorm, normAddedQ: HeadNorm, normAddedK: HeadNorm
    /// `attn.to_out.0`, `attn.to_add_out`.
    let toOut: Linear, toAddOut: Linear
    let ff: FeedForward, ffContext: FeedForward
    let heads: Int, headDim: Int, width: Int, mlpWidth: Int

    init(_ w: any ParameterSource, _ c: BlockDimensions) throws {
        let d = c.width
        norm1 = try Linear(w.scoped("norm1").scoped("linear"), in: d, out: 6 * d)
        norm1Context = try Linear(w.scoped("norm1_context").scoped("linear"), in: d, out: 6 * d)
        let a = w.scoped("attn")
        toQKV = Linear(fusing: try ["to_q", "to_k", "to_v"].map { try Linear(a.scoped($0), in: d, out: d) })
        addQKV = Linear(fusing: try ["add_q_proj", "add_k_proj", "add_v_proj"].map { try Linear(a.scoped($0), in: d, out: d) })
        normQ = try HeadNorm(a.scoped("norm_q"), headDim: c.headDim)
        normK = try HeadNorm(a.scoped("norm_k"), headDim: c.headDim)
        normAddedQ = try HeadNorm(a.scoped("norm_added_q"), headDim: c.headDim)
        normAddedK = try HeadNorm(a.scoped("norm_added_k"), headDim: c.headDim)
        toOut = try Linear(a.scoped("to_out").scoped("0"), in: d, out: d)
        toAddOut = try Linear(a.scoped("to_add_out"), in: d, out: d)
        ff = try FeedForward(w.scoped("ff"), width: d, hidden: c.mlpWidth)
        ffContext = try FeedForward(w.scoped("ff_context"), width: d, hidden: c.mlpWidth)
        heads = c.heads
        headDim = c.headDim
        width = d
        mlpWidth = c.mlpWidth
    }

    /// Updates the image and text rows of `x` in place.
    func forward(_ x: JointStream, _ ctx: BlockContext) {
        let (b, ni, l, d, n) = (x.batch, x.imageTokens, x.textTokens, width, x.tokens)
        let mod = norm1(ctx.tembActivated), cmod = norm1Context(ctx.tembActivated)  // [B, 6D] each
        let ws = ctx.workspace
        let normed = ws.normed, proj = ws.proj
        let qkv = (pointer: ws.wide.pointer, count: b * n * 3 * d)
        let attn = (pointer: ws.wide.pointer + b * n * 3 * d, count: b * n * d)
        let hidden = (pointer: ws.wide.pointer + b * n * 4 * d, count: b * n * mlpWidth)
        mod.data.withUnsafeBufferPointer { mb in
            cmod.data.withUnsafeBufferPointer { cb in
                let m = mb.baseAddress!, cm = cb.baseAddress!
                let joint = JointStream(pointer: normed.pointer, batch: b, imageTokens: ni, textTokens: l, width: d)
                // 1. Modulated LayerNorm: (shift, scale) = chunks 0, 1.
                adaNorm(x, into: joint, shift: m, scale: m + d, contextShift: cm, contextScale: cm + d)
                // 2. q|k|v for image and text rows of the joint sequence: [B, N, 3D].
                for bi in 0..<b {
                    toQKV.apply(joint.image(bi), rows: ni, xStride: d, out: qkv.pointer + bi * n * 3 * d, outStride: 3 * d)
                    addQKV.apply(joint.text(bi), rows: l, xStride: d, out: qkv.pointer + (bi * n + ni) * 3 * d, outStride: 3 * d)
                    let img = qkv.pointer + bi * n * 3 * d, txt = img + ni * 3 * d
                    // 3. QK RMSNorm per head, then RoPE (text rows only with a text table).
                    normQ.apply(img, rows: ni, stride: 3 * d, heads: heads, headDim: headDim, rotary: ctx.imageRotary)
                    normK.apply(img + d, rows: ni, stride: 3 * d, heads: heads, headDim: headDim, rotary: ctx.imageRotary)
                    normAddedQ.apply(txt, rows: l, stride: 3 * d, heads: heads, headDim: headDim, rotary: ctx.textRotary)
                    normAddedK.apply(txt + d, rows: l, stride: 3 * d, heads: heads, headDim: headDim, rotary: ctx.textRotary)
                }
                // 4. Joint attention over [img; txt] with the key mask.
                Attention.scaledDotProduct(q: qkv.pointer, queryStride: 3 * d, k: qkv.pointer + d, v: qkv.pointer + 2 * d,
                                           keyStride: 3 * d, out: attn.pointer, outStride: d, batch: b, queries: n,
                                           keys: n, heads: heads, headDim: headDim, mask: ctx.mask)
                // 5. Output projections and gated residuals (gate = chunk 2).
                let a = JointStream(pointer: attn.pointer, batch: b, imageTokens: ni, textTokens: l, width: d)
                let p = JointStream(pointer: proj.pointer, batch: b, imageTokens: ni, textTokens: l, width: d)
                for bi in 0..<b {
                    toOut.apply(a.image(bi), rows: ni, xStride: d, out: p.image(bi), outStride: d)
                    toAddOut.apply(a.text(bi), rows: l, xStride: d, out: p.text(bi), outStride: d)
                }
                addGated(x, p, gate: m + 2 * d, contextGate: cm + 2 * d)
                // 6. Feed-forward on the second modulated LayerNorm (chunks 3, 4; gate 5).
                adaNorm(x, into: joint, shift: m + 3 * d, scale: m + 4 * d, contextShift: cm + 3 * d, contextScale: cm + 4 * d)
                let f = mlpWidth
                for bi in 0..<b {
                    ff.proj.apply(joint.image(bi), rows: ni, xStride: d, out: hidden.pointer + bi * n * f, outStride: f)
                    ffContext.proj.apply(joint.text(bi), rows: l, xStride: d, out: hidden.pointer + (bi * n + ni) * f, outStride: f)
                }
                RowKernels.geluTanh(hidden.pointer, rows: b * n, cols: f, stride: f)
                for bi in 0..<b {
                    ff.out.apply(hidden.pointer + bi * n * f, rows: ni, xStride: f, out: p.image(bi), outStride: d)
                    ffContext.out.apply(hidden.pointer + (bi * n + ni) * f, rows: l, xStride: f, out: p.text(bi), outStride: d)
                }
                addGated(x, p, gate: m + 5 * d, contextGate: cm + 5 * d)
            }
        }
    }

    /// `out = LN(x)·(1 + scale) + shift` for image rows (image modulation) and text rows (context modulation).
    private func adaNorm(_ x: JointStream, into out: JointStream, shift: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                         contextShift: UnsafePointer<Float>, contextScale: UnsafePointer<Float>) {
        let (b, n, d) = (x.batch, x.tokens, width)
        RowKernels.adaLayerNorm(x.image(0), xBatchStride: n * d, batch: b, tokens: x.imageTokens, width: d, eps: 1e-6,
                                scale: scale, shift: shift, modStride: 6 * d, out: out.image(0), outStride: d,
                                outBatchStride: n * d)
        RowKernels.adaLayerNorm(x.text(0), xBatchStride: n * d, batch: b, tokens: x.textTokens, width: d, eps: 1e-6,
                                scale: contextScale, shift: contextShift, modStride: 6 * d, out: out.text(0),
                                outStride: d, outBatchStride: n * d)
    }

    /// `x += y · gate` on image rows and `x += y · contextGate` on text rows.
    private func addGated(_ x: JointStream, _ y: JointStream, gate: UnsafePointer<Float>, contextGate: UnsafePointer<Float>) {
        let (b, n, d) = (x.batch, x.tokens, width)
        RowKernels.addGated(x.image(0), xBatchStride: n * d, y.image(0), yStride: d, yBatchStride: n * d,
                            gate: gate, gateStride: 6 * d, batch: b, tokens: x.imageTokens, width: d)
        RowKernels.addGated(x.text(0), xBatchStride: n * d, y.text(0), yStride: d, yBatchStride: n * d,
                            gate: contextGate, gateStride: 6 * d, batch: b, tokens: x.textTokens, width: d)
    }
}
