import Tensor

/// How much memory `AutoencoderKLDecoder.decode(latents:)` takes for its activations, from the
/// configuration alone (no weights), so a pipeline can report or check it before loading.
///
/// Counted per layer as the tensors alive while it runs (`AutoencoderKLDecoder.forward`, one
/// image at a time); the peak is the largest layer, plus the output of the whole batch, which
/// is allocated first. With `P` the pixels at a layer's size, in floats:
/// - the item's latents and `post_quant_conv`: `2·P·L`; `conv_in`: `P·(L + top)`;
/// - a resnet from `Cin` to `Cout`: `P·(Cin + Cout + max(Cin, Cout))` (its input, plus the
///   normalised input and conv1's output, or conv1's and conv2's outputs, or conv2's and the
///   shortcut's; `ResnetBlock`);
/// - the mid-block attention on `C = top` channels: `6·P·C` (input, normalised, q, k, v,
///   output) plus `Attention.scratchBytes` (its K/V copy and per-worker tiles);
/// - an upsampler with `C` channels: `2·P'·C` at the upsampled size `P' = 4P` (the upsampled
///   image and the conv's output; its input is released first);
/// - `conv_norm_out` (in place) and `conv_out`: `P·(bottom + out)`.
/// For FLUX.1 at 1024² (latents 128²) the peak is the last block's first resnet, 256 → 128
/// channels at 1024²: 640 floats a pixel, 2.5 GiB.
extension AutoencoderKLConfiguration {
    /// Peak bytes of the activations of one `decode(latents:)` of `batch` latents of
    /// `latentHeight × latentWidth`, with the attention's scratch for `workers` threads.
    public func decodeActivationBytes(batch: Int, latentHeight: Int, latentWidth: Int,
                                      workers: Int = Threads.count) -> Int {
        var pixels = latentHeight * latentWidth
        let top = blockOutChannels.last!, latent = latentChannels
        func resnet(_ cin: Int, _ cout: Int) -> Int { pixels * (cin + cout + max(cin, cout)) }
        // 1. The item's latents, post_quant_conv, conv_in.
        var peak = max(usePostQuantConv ? 2 * pixels * latent : 0, pixels * (latent + top))
        // 2. Mid block: resnet, attention, resnet.
        peak = max(peak, resnet(top, top))
        if midBlockAddAttention {
            let scratch = Attention.scratchBytes(keys: pixels, heads: 1, headDim: top, workers: workers)
            peak = max(peak, 6 * pixels * top + scratch / MemoryLayout<Float>.size)
        }
        // 3. Up blocks.
        for block in upBlockLayouts {
            peak = max(peak, resnet(block.inChannels, block.outChannels), resnet(block.outChannels, block.outChannels))
            guard block.upsamples else { continue }
            pixels *= 4
            peak = max(peak, 2 * pixels * block.outChannels)
        }
        // 4. conv_norm_out, conv_out; the batch's output is held throughout.
        peak = max(peak, pixels * (blockOutChannels[0] + outChannels))
        return (batch * pixels * outChannels + peak) * MemoryLayout<Float>.size
    }
}

extension AutoencoderKLConfiguration {
    /// The Float32 copy a 16-bit conv kernel is widened into while it runs (one layer at a
    /// time, `Conv3dKernel.packed`): the widest conv, a mid-block resnet's 3×3 from `top` to
    /// `top` channels (every other conv's widths are at most `top`). 9 MiB for FLUX.1 (512).
    public var widenedKernelBytes: Int {
        let top = blockOutChannels.last!
        return Conv3dKernel.widenedBytes(inChannels: top, outChannels: top, taps: 3 * 3)
    }

    /// Parameters of the whole `AutoencoderKL` state dict, encoder included (a checkpoint holds
    /// both; the decoder reads only its half), from diffusers `Encoder`/`Decoder` in `vae.py`:
    /// 83.8 M for FLUX.1's VAE.
    public var parameterCount: Int { parameters(kernelsOnly: false) }

    /// The conv kernels' share of `parameterCount`, which the decoder keeps in their stored
    /// precision; the rest (biases, norm weights, the attention's projections) is Float32.
    public var convolutionKernelCount: Int { parameters(kernelsOnly: true) }

    private func parameters(kernelsOnly: Bool) -> Int {
        let vectors = kernelsOnly ? 0 : 1  // counts biases, norms and the attention, or not
        func conv(_ cin: Int, _ cout: Int, _ k: Int = 3) -> Int { k * k * cin * cout + vectors * cout }
        func resnet(_ cin: Int, _ cout: Int) -> Int {
            vectors * (2 * cin + 2 * cout) + conv(cin, cout) + conv(cout, cout) + (cin == cout ? 0 : conv(cin, cout, 1))
        }
        let top = blockOutChannels.last!, bottom = blockOutChannels[0]
        let mid = 2 * resnet(top, top) + (midBlockAddAttention ? vectors * (2 * top + 4 * (top * top + top)) : 0)
        // Encoder: conv_in, down blocks (resnets, a stride-2 conv but in the last), mid,
        // norm, conv_out to mean and log-variance.
        var encoder = conv(inChannels, bottom) + mid + vectors * 2 * top + conv(top, 2 * latentChannels)
        for (i, out) in blockOutChannels.enumerated() {
            let cin = i == 0 ? bottom : blockOutChannels[i - 1]
            encoder += resnet(cin, out) + (layersPerBlock - 1) * resnet(out, out)
                + (i < blockOutChannels.count - 1 ? conv(out, out) : 0)
        }
        // Decoder: conv_in, mid, up blocks (layers + 1 resnets, an upsampling conv), norm, conv_out.
        var decoder = conv(latentChannels, top) + mid + vectors * 2 * bottom + conv(bottom, outChannels)
        for block in upBlockLayouts {
            decoder += resnet(block.inChannels, block.outChannels) + layersPerBlock * resnet(block.outChannels, block.outChannels)
                + (block.upsamples ? conv(block.outChannels, block.outChannels) : 0)
        }
        return encoder + decoder + (useQuantConv ? conv(2 * latentChannels, 2 * latentChannels, 1) : 0)
            + (usePostQuantConv ? conv(latentChannels, latentChannels, 1) : 0)
    }
}
