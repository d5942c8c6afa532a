import Tensor

/// `nn.Conv2d(cin, cout, k, padding=k // 2)` over one image `[1, H, W, C]` (channels last).
/// The weight is packed, in its stored precision, for the direct convolution kernel
/// (`Conv3dKernel` with one temporal tap).
struct Conv2d: DecoderConvolution {
    let kernel: Conv3dKernel

    /// Loads `weight` `[cout, cin, k, k]` and `bias` `[cout]` (scope: the conv's key).
    init(_ p: any ParameterSource, in cin: Int, out cout: Int, kernelSize k: Int) throws {
        kernel = Conv3dKernel(weight: try p.matrix("weight", shape: [cout, cin, k, k]), kernelFrames: 1, kernelHeight: k,
                              kernelWidth: k, bias: try p.tensor("bias", shape: [cout]))
    }

    /// `[1, H, W, Cin] -> [1, H, W, Cout]`.
    func callAsFunction(_ x: Tensor, state: inout DecodeState) -> Tensor {
        let y = x.conv2d(kernel)
        state.record(y)
        return y
    }
}

/// `AutoencoderKL`'s resnet block (zero-padded 2-D convs).
typealias ResnetBlock2D = ResnetBlock<Conv2d>

extension ResnetBlock where Conv == Conv2d {
    init(_ p: any ParameterSource, in cin: Int, out cout: Int, groups: Int, normIndex: inout Int) throws {
        try self.init(p, in: cin, out: cout, groups: groups, normIndex: &normIndex) { scope, cin, cout, k in
            try Conv2d(scope, in: cin, out: cout, kernelSize: k)
        }
    }
}

/// Port of diffusers 0.42.1 `Upsample2D(use_conv=True)` (`src/diffusers/models/upsampling.py`):
/// `F.interpolate(scale_factor=2, mode="nearest")`, then a 3×3 conv (key `upsamplers.0.conv`).
struct Upsample2D: Sendable {
    let conv: Conv2d

    /// `[1, H, W, C] -> [1, 2H, 2W, C]`; the input is released once upsampled, so the layer
    /// holds the upsampled image and the conv's output (8·H·W·C floats).
    func callAsFunction(_ x: consuming Tensor, state: inout DecodeState) -> Tensor {
        let up = x.upsampledNearest(frames: 1, height: 2, width: 2)
        _ = consume x
        state.record(up)
        return conv(up, state: &state)
    }
}

/// Port of diffusers 0.42.1 `UpDecoderBlock2D` (`src/diffusers/models/unets/unet_2d_blocks.py`):
/// `layers_per_block + 1` resnets, then an upsampler except in the last block.
struct UpDecoderBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let upsampler: Upsample2D?

    /// `[1, H, W, Cin] -> [1, H', W', Cout]` with `H' = 2H` when the block upsamples; nil when
    /// a statistics-gathering pass stops inside (never with the 2-D decoder's local norms).
    func callAsFunction(_ x: consuming Tensor, state: inout DecodeState) -> Tensor? {
        var h = consume x
        for resnet in resnets {
            guard let next = resnet(h, state: &state) else { return nil }
            h = consume next
        }
        guard let upsampler else { return h }
        return upsampler(consume h, state: &state)
    }
}
