import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoResnetBlockCausal3D`
/// (`src/diffusers/models/autoencoders/autoencoder_kl_hunyuan_video.py`), dropout 0.
struct ResnetBlockCausal3D: Sendable {
    let norm1: GroupNormLayer, conv1: CausalConv3d
    let norm2: GroupNormLayer, conv2: CausalConv3d
    let convShortcut: CausalConv3d?

    init(_ p: any ParameterSource, in cin: Int, out cout: Int, groups: Int,
         convIndex: inout Int, normIndex: inout Int) throws {
        norm1 = try GroupNormLayer(p.scoped("norm1"), channels: cin, groups: groups, index: &normIndex)
        conv1 = try CausalConv3d(p.scoped("conv1"), in: cin, out: cout, kernelSize: 3, index: &convIndex)
        norm2 = try GroupNormLayer(p.scoped("norm2"), channels: cout, groups: groups, index: &normIndex)
        conv2 = try CausalConv3d(p.scoped("conv2"), in: cout, out: cout, kernelSize: 3, index: &convIndex)
        convShortcut = cin == cout ? nil
            : try CausalConv3d(p.scoped("conv_shortcut"), in: cin, out: cout, kernelSize: 1, index: &convIndex)
    }

    /// `[T, H, W, Cin] -> [T, H, W, Cout]`; nil when a statistics-gathering pass stops inside.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor? {
        // 1. h = conv1(SiLU(norm1(x)))
        guard let n1 = norm1(x, silu: true, state: &state) else { return nil }
        var h = conv1(n1, state: &state)
        // 2. h = conv2(SiLU(norm2(h)))
        guard let n2 = norm2(h, silu: true, state: &state) else { return nil }
        h = conv2(n2, state: &state)
        // 3. residual (1×1×1 causal conv when the width changes)
        h.add(convShortcut.map { $0(x, state: &state) } ?? x)
        return h
    }
}

/// diffusers `Attention(_from_deprecated_attn_block=True, residual_connection=True)` in
/// `HunyuanVideoMidBlock3D`: one head of width C, GroupNorm on the input, frame-causal mask
/// (`prepare_causal_attention_mask`: a token of frame i sees the tokens of frames ≤ i).
struct MidBlockAttention: Sendable {
    let groupNorm: GroupNormLayer
    /// `[C, C]` PyTorch linear weights and `[C]` biases.
    let toQ: (Tensor, Tensor), toK: (Tensor, Tensor), toV: (Tensor, Tensor), toOut: (Tensor, Tensor)

    init(_ p: any ParameterSource, channels c: Int, groups: Int, normIndex: inout Int) throws {
        groupNorm = try GroupNormLayer(p.scoped("group_norm"), channels: c, groups: groups, index: &normIndex)
        func linear(_ name: String) throws -> (Tensor, Tensor) {
            let s = p.scoped(name)
            return (try s.tensor("weight", shape: [c, c]), try s.tensor("bias", shape: [c]))
        }
        toQ = try linear("to_q")
        toK = try linear("to_k")
        toV = try linear("to_v")
        toOut = try linear("to_out.0")
    }

    /// `[T, H, W, C] -> [T, H, W, C]`. When streaming, keys and values of earlier chunks are
    /// kept in `state` (exact: the mask is frame-causal).
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor? {
        let (frames, height, width, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let frameTokens = height * width
        guard let normed = groupNorm(x, silu: false, state: &state) else { return nil }
        // 1. q, k, v: [tokens, C], tokens in (t, h, w) row-major order.
        let tokens = normed.reshaped([frames * frameTokens, c])
        let q = tokens.linear(toQ.0, bias: toQ.1)
        var k = tokens.linear(toK.0, bias: toK.1)
        var v = tokens.linear(toV.0, bias: toV.1)
        // 2. frame-causal attention (scale 1/sqrt(C), one head).
        var attended: Tensor
        if !state.streaming {
            attended = Attention.scaledDotProduct(
                q: q.reshaped([1, frames * frameTokens, 1, c]), k: k.reshaped([1, frames * frameTokens, 1, c]),
                v: v.reshaped([1, frames * frameTokens, 1, c]),
                mask: AttentionMask(causality: .block(blockSize: frameTokens)))
        } else {
            if let pk = state.attentionKeys, let pv = state.attentionValues {
                k = Tensor.concatenate(rows: [pk, k])
                v = Tensor.concatenate(rows: [pv, v])
            }
            state.attentionKeys = k
            state.attentionValues = v
            let earlier = k.shape[0] / frameTokens - frames
            var parts: [Tensor] = []
            for f in 0..<frames {
                let visible = (earlier + f + 1) * frameTokens
                let qf = q.slice(rows: (f * frameTokens)..<((f + 1) * frameTokens))
                parts.append(Attention.scaledDotProduct(
                    q: qf.reshaped([1, frameTokens, 1, c]),
                    k: k.slice(rows: 0..<visible).reshaped([1, visible, 1, c]),
                    v: v.slice(rows: 0..<visible).reshaped([1, visible, 1, c])))
            }
            attended = Tensor.concatenate(rows: parts.map { $0.reshaped([frameTokens, c]) })
        }
        // 3. output projection and residual with the un-normalised input.
        var out = attended.reshaped([frames * frameTokens, c]).linear(toOut.0, bias: toOut.1)
        out.add(x.reshaped([frames * frameTokens, c]))
        return out.reshaped([frames, height, width, c])
    }
}
