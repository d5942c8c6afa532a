import Tensor

/// How much memory a decode's activations take, from the configuration alone (no weights), for
/// the check that refuses a video the machine cannot hold before anything loads.
///
/// Counted per layer as the tensors alive while it runs (`CausalVideoDecoder.forward`); the peak
/// is the largest layer. A resnet is counted with its input, the normalised input, the first
/// conv's output, the second norm and conv outputs, and the shortcut when the width changes
/// (`2·Cin + 3·Cout (+ Cout)` per pixel), as it was measured; since `ResnetBlock` is shared with
/// the 2-D decoder it releases the normalised input after conv1 and normalises conv1's output
/// in place (`Cin + Cout + max(Cin, Cout)`), so that term is an upper bound (not re-measured
/// since). An upsampler holds its input and the upsampled frames three times over (first frame,
/// the rest, their concatenation, then the conv's output). Docs/benchmarks.md ("Resource estimate") compares the estimate with
/// measured peak RSS.
extension VAEConfiguration {
    /// Peak bytes of the activations of one decode of latents `latentFrames × latentHeight ×
    /// latentWidth`: untiled when `chunkFrames` is nil (every frame of every layer at once, plus
    /// the copy `decode(latents:)` makes of its output), else streamed `chunkFrames` latent
    /// frames at a time (`StreamingVideoDecoder`: one chunk's activations, plus the causal
    /// caches: two input frames per 3-frame conv and the mid-block attention's keys and values of
    /// every latent frame).
    public func decodeActivationBytes(latentFrames: Int, latentHeight: Int, latentWidth: Int,
                                      chunkFrames: Int?) -> Int {
        let chunk = min(chunkFrames ?? latentFrames, latentFrames)
        // A later chunk of a stream doubles its frames at each temporal upsampling; the first
        // chunk (or an untiled decode) keeps its first frame single.
        let atStart = chunk == latentFrames
        var frames = chunk, height = latentHeight, width = latentWidth
        var pixels: Int { frames * height * width }
        let top = blockOutChannels.last!, latent = latentChannels
        var peak = 0, cache = 0
        /// Two input frames of a 3×3×3 causal conv with `channels` inputs at the current size.
        func convCache(_ channels: Int) -> Int { 2 * height * width * channels }
        func resnet(_ cin: Int, _ cout: Int) -> Int {
            pixels * (2 * cin + 3 * cout + (cin == cout ? 0 : cout))
        }
        // 1. Scaled copy, post_quant_conv, conv_in.
        peak = pixels * (2 * latent + top)
        cache += convCache(latent)
        // 2. Mid block: resnet, attention (input, norm, q, k, v, output, its K/V copy, result), resnet.
        peak = max(peak, resnet(top, top), 8 * pixels * top)
        cache += 4 * convCache(top) + 2 * latentFrames * latentHeight * latentWidth * top
        // 3. Up blocks.
        for block in upBlockLayouts {
            peak = max(peak, resnet(block.inChannels, block.outChannels), resnet(block.outChannels, block.outChannels))
            cache += 2 * (layersPerBlock + 1) * convCache(block.outChannels)
                + convCache(block.inChannels) - convCache(block.outChannels)
            guard block.upsamples else { continue }
            let input = pixels
            if block.temporalUpsample { frames = atStart ? 1 + 2 * (frames - 1) : 2 * frames }
            if block.spatialUpsample { (height, width) = (2 * height, 2 * width) }
            peak = max(peak, block.outChannels * (input + 3 * pixels))
            cache += convCache(block.outChannels)
        }
        // 4. conv_norm_out, conv_out; an untiled decode then copies its output once.
        let bottom = blockOutChannels[0]
        peak = max(peak, pixels * (2 * bottom + outChannels), (chunkFrames == nil ? 2 : 1) * pixels * outChannels)
        cache += convCache(bottom)
        return (peak + (chunkFrames == nil ? 0 : cache)) * MemoryLayout<Float>.size
    }

    /// The Float32 copy a 16-bit conv kernel is widened into while it runs (one layer at a
    /// time, `Conv3dKernel.packed`; not part of the activations above): the widest conv, a
    /// mid-block resnet's 3×3×3 from `top` to `top` channels (every other conv's widths are at
    /// most `top`).
    public var widenedKernelBytes: Int {
        let top = blockOutChannels.last!
        return Conv3dKernel.widenedBytes(inChannels: top, outChannels: top, taps: 3 * 3 * 3)
    }
}
