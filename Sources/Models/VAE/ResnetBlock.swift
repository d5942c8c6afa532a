import Tensor

/// A convolution of a VAE decoder over one decode's channels-last activations `[T, H, W, C]`:
/// HunyuanVideo's causal 3-D conv (`CausalConv3d`) or `AutoencoderKL`'s zero-padded 2-D conv
/// (`Conv2d`, where T = 1). `ResnetBlock` is written once over either.
protocol DecoderConvolution: Sendable {
    /// `[T, H, W, Cin] -> [T, H, W, Cout]`.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor
}

extension CausalConv3d: DecoderConvolution {}

/// HunyuanVideo's resnet block (causal 3-D convs).
typealias ResnetBlockCausal3D = ResnetBlock<CausalConv3d>

/// Port of diffusers 0.42.1 `ResnetBlock2D` (`src/diffusers/models/resnet.py`, as the VAE
/// decoders build it: no time embedding, dropout 0, `output_scale_factor` 1) and of
/// `HunyuanVideoResnetBlockCausal3D` (`autoencoder_kl_hunyuan_video.py`), the same computation
/// with causal 3-D convs: `shortcut(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x))))))`, where the
/// shortcut is a 1×1 `conv_shortcut` when the width changes and the identity otherwise.
struct ResnetBlock<Conv: DecoderConvolution>: Sendable {
    let norm1: GroupNormLayer, conv1: Conv
    let norm2: GroupNormLayer, conv2: Conv
    let convShortcut: Conv?

    /// - Parameter conv: builds the conv under a scope from its input and output widths and
    ///   kernel size (called for `conv1`, `conv2`, then `conv_shortcut`).
    init(_ p: any ParameterSource, in cin: Int, out cout: Int, groups: Int, normIndex: inout Int,
         conv: (_ scope: any ParameterSource, _ in: Int, _ out: Int, _ kernelSize: Int) throws -> Conv) throws {
        norm1 = try GroupNormLayer(p.scoped("norm1"), channels: cin, groups: groups, index: &normIndex)
        conv1 = try conv(p.scoped("conv1"), cin, cout, 3)
        norm2 = try GroupNormLayer(p.scoped("norm2"), channels: cout, groups: groups, index: &normIndex)
        conv2 = try conv(p.scoped("conv2"), cout, cout, 3)
        convShortcut = cin == cout ? nil : try conv(p.scoped("conv_shortcut"), cin, cout, 1)
    }

    /// `[T, H, W, Cin] -> [T, H, W, Cout]`; nil when a statistics-gathering pass stops inside.
    /// Besides `x` it holds at most two tensors at once: the normalised input and conv1's
    /// output, then conv1's output (normalised in place) and conv2's, then conv2's and the
    /// shortcut's.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor? {
        // 1. h = conv1(SiLU(norm1(x))); the normalised copy is released by the assignment.
        guard var h = norm1(x, silu: true, state: &state) else { return nil }
        h = conv1(h, state: &state)
        // 2. h = conv2(SiLU(norm2(h))), normalised in place.
        guard norm2.normalize(&h, silu: true, state: &state) else { return nil }
        h = conv2(h, state: &state)
        // 3. residual
        h.add(convShortcut.map { $0(x, state: &state) } ?? x)
        return h
    }
}

extension ResnetBlock where Conv == CausalConv3d {
    init(_ p: any ParameterSource, in cin: Int, out cout: Int, groups: Int,
         convIndex: inout Int, normIndex: inout Int) throws {
        try self.init(p, in: cin, out: cout, groups: groups, normIndex: &normIndex) { scope, cin, cout, k in
            try CausalConv3d(scope, in: cin, out: cout, kernelSize: k, index: &convIndex)
        }
    }
}

/// diffusers `Attention(_from_deprecated_attn_block=True, residual_connection=True)`
/// (`attention_processor.py`) in `HunyuanVideoMidBlock3D`: one head of width C, GroupNorm on
/// the input, frame-causal mask (`prepare_causal_attention_mask`: a token of frame i sees the
/// tokens of frames ≤ i). The same layer is `UNetMidBlock2D`'s attention in `AutoencoderKL`
/// (`attention_head_dim` = C, so one head): there the input is one image, `T = 1`, and the
/// mask lets every token see every token.
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
