import Tensor

/// Mutable state of one decode: how GroupNorm gets its statistics, and, when streaming, the
/// causal caches carried from one chunk of frames to the next. Owned by one task (a `struct`
/// passed `inout` through the layers).
struct DecodeState {
    /// How every GroupNorm layer of the decoder obtains its statistics.
    enum NormStatistics {
        /// From the tensor being normalised: all frames of the current decode (untiled decode)
        /// or of the current temporal tile (diffusers' tiled decode). Not causal.
        case local
        /// Fixed statistics of the whole video, indexed by `GroupNormLayer.index`; a streaming
        /// decode uses these so it equals the untiled decode.
        case global([GroupNormStatistics])
        /// Statistics gathering: layers `< index` use `known`; layer `index` adds the current
        /// chunk's sums to `gathered` and the chunk's forward pass stops there.
        case gather(index: Int, known: [GroupNormStatistics], gathered: GroupNormStatistics)
    }

    var norms: NormStatistics
    /// Whether the decode consumes the video in several chunks (caches are kept).
    let streaming: Bool
    /// True while the current chunk is the first of the video: causal convs replicate its first
    /// frame, and upsamplers keep its first frame single in time.
    var atStart = true
    /// Last `k − 1` input frames of each causal conv, by `CausalConv3d.index`.
    var convCaches: [Int: Tensor] = [:]
    /// Mid-block attention keys and values of all frames so far, `[tokens, C]` each.
    var attentionKeys: Tensor?
    var attentionValues: Tensor?
    /// Largest single activation produced so far (floats): the memory-scaling probe.
    var peakActivationFloats = 0

    init(norms: NormStatistics, streaming: Bool) {
        self.norms = norms
        self.streaming = streaming
    }

    mutating func record(_ t: Tensor) { peakActivationFloats = max(peakActivationFloats, t.count) }

    /// Floats held in causal caches (conv frames and attention keys/values).
    var cacheFloats: Int {
        convCaches.values.reduce(0) { $0 + $1.count } + (attentionKeys?.count ?? 0)
            + (attentionValues?.count ?? 0)
    }
}

/// `nn.GroupNorm(groups, C, eps=1e-6, affine=True)` over a channels-last activation
/// `[T, H, W, C]`, optionally fused with the SiLU that follows it.
struct GroupNormLayer: Sendable {
    /// Position among the decoder's GroupNorm layers in execution order.
    let index: Int
    let groups: Int
    let weight: [Float], bias: [Float]
    static let eps: Float = 1e-6  // diffusers HunyuanVideo VAE and AutoencoderKL: resnet_eps / conv_norm_out eps

    init(_ p: any ParameterSource, channels: Int, groups: Int, index: inout Int) throws {
        weight = try p.tensor("weight", shape: [channels]).data
        bias = try p.tensor("bias", shape: [channels]).data
        self.groups = groups
        self.index = index
        index += 1
    }

    /// Normalised `x`, or nil when the state gathers this layer's statistics (the chunk's
    /// forward pass ends here).
    func callAsFunction(_ x: Tensor, silu: Bool, state: inout DecodeState) -> Tensor? {
        var y = x
        return normalize(&y, silu: silu, state: &state) ? y : nil
    }

    /// Normalises `x` in place (no copy when `x` is uniquely referenced); false, with `x`
    /// unchanged, when the state gathers this layer's statistics.
    func normalize(_ x: inout Tensor, silu: Bool, state: inout DecodeState) -> Bool {
        let statistics: GroupNormStatistics?
        switch state.norms {
        case .local:
            statistics = nil
        case .global(let stats):
            statistics = stats[index]
        case .gather(let target, let known, var gathered):
            if index < target {
                statistics = known[index]
            } else {
                gathered.merge(x.groupNormStatistics(groups: groups))
                state.norms = .gather(index: target, known: known, gathered: gathered)
                return false
            }
        }
        x.formGroupNorm(groups: groups, eps: Self.eps, weight: weight, bias: bias, statistics: statistics, silu: silu)
        return true
    }
}

/// diffusers `HunyuanVideoCausalConv3d` (key level `….conv`): replicate padding, causal in time.
struct CausalConv3d: Sendable {
    /// Position among the decoder's causal convs; keys its streaming cache.
    let index: Int
    let kernel: Conv3dKernel

    init(_ p: any ParameterSource, in cin: Int, out cout: Int, kernelSize k: Int, index: inout Int) throws {
        let conv = p.scoped("conv")
        kernel = Conv3dKernel(weight: try conv.matrix("weight", shape: [cout, cin, k, k, k]), kernelFrames: k,
                              kernelHeight: k, kernelWidth: k, bias: try conv.tensor("bias", shape: [cout]))
        self.index = index
        index += 1
    }

    /// A conv from an already packed kernel (e.g. `post_quant_conv`, a plain `nn.Conv3d(k=1)`).
    init(index: inout Int, kernel: Conv3dKernel) {
        self.kernel = kernel
        self.index = index
        index += 1
    }

    /// `[T, H, W, Cin] -> [T, H, W, Cout]`; keeps the last `k − 1` input frames when streaming.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor {
        let history = kernel.kernelFrames - 1
        let past = history > 0 ? state.convCaches[index] : nil
        let y = x.causalConv3d(kernel, past: past)
        if state.streaming && history > 0 {
            state.convCaches[index] = x.causalHistory(past: past, count: history)
        }
        state.record(y)
        return y
    }
}
