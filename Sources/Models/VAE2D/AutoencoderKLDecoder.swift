import Foundation
import SafeTensors
import Tensor

/// The decoder half of diffusers 0.42.1 `AutoencoderKL` (FLUX.1's image VAE): `post_quant_conv`
/// when the config uses it, then `Decoder` (`src/diffusers/models/autoencoders/vae.py`):
/// `conv_in`, `UNetMidBlock2D` (resnet, attention, resnet), `UpDecoderBlock2D`s,
/// `conv_norm_out` → SiLU → `conv_out`. Tiling and slicing are off, as `vae.decode` defaults.
///
/// The resnet blocks, the mid-block attention and the GroupNorm(+SiLU) layers are the ones of
/// HunyuanVideo's causal decoder (`ResnetBlock` over `Conv2d` instead of `CausalConv3d`,
/// `MidBlockAttention` on one frame, `GroupNormLayer` with local statistics), so a decode runs
/// with a `DecodeState` whose norms are `.local` and that keeps no caches.
///
/// Activation layout: channels-last `[1, H, W, C]` per image. Public entry points take latents
/// `[B, h, w, C]` and return images `[B, r·h, r·w, 3]` (diffusers: `[B, C, h, w]` and
/// `[B, 3, H, W]`; only the parity tests permute). Loaded weights are immutable.
public final class AutoencoderKLDecoder: Sendable {
    public let configuration: AutoencoderKLConfiguration
    let postQuantConv: Conv2d?
    let convIn: Conv2d
    let midResnets: [ResnetBlock2D]
    let midAttention: MidBlockAttention?
    let upBlocks: [UpDecoderBlock2D]
    let convNormOut: GroupNormLayer
    let convOut: Conv2d
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "diffusion_pytorch_model"

    /// Loads `directory/config.json` and `directory/diffusion_pytorch_model.safetensors`
    /// (a diffusers `vae/` folder). Encoder tensors (`encoder.*`, `quant_conv.*`) are ignored;
    /// any other unread, missing or mis-shaped tensor is an error naming its key. 16-bit conv
    /// kernels stay 16-bit unless `matrices` is `.float32` (`Conv3dKernel.packed`).
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let config = try AutoencoderKLConfiguration.load(
            contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        let reader = WeightReader(try WeightArchive(directory: directory, baseName: Self.weightsName), matrices: matrices)
        try self.init(configuration: config, weights: reader)
    }

    /// Builds the decoder from `weights` (scope: the root of the VAE state dict) and checks
    /// that every decoder tensor was read. Conv kernels keep the precision `weights` gives their
    /// matrices (`CausalVideoDecoder.readsAsMatrix`); the other tensors (biases, norms, the
    /// attention's projections) are widened to Float32 at load.
    public convenience init(configuration: AutoencoderKLConfiguration, weights: WeightReader) throws {
        try configuration.validate()
        try self.init(configuration: configuration, source: weights)
        try weights.finish(ignoringPrefixes: ["encoder.", "quant_conv."])
    }

    init(configuration c: AutoencoderKLConfiguration, source p: any ParameterSource) throws {
        configuration = c
        var normIndex = 0
        let latent = c.latentChannels, groups = c.normNumGroups
        let top = c.blockOutChannels.last!
        // post_quant_conv: a 1×1 Conv2d at the root (autoencoder_kl.py, `use_post_quant_conv`).
        postQuantConv = c.usePostQuantConv
            ? try Conv2d(p.scoped("post_quant_conv"), in: latent, out: latent, kernelSize: 1) : nil
        let d = p.scoped("decoder")
        convIn = try Conv2d(d.scoped("conv_in"), in: latent, out: top, kernelSize: 3)
        // mid block: resnet, (attention, one head of width `top`), resnet
        let mid = d.scoped("mid_block")
        var resnets = [try ResnetBlock2D(mid.scoped("resnets.0"), in: top, out: top, groups: groups,
                                         normIndex: &normIndex)]
        midAttention = c.midBlockAddAttention
            ? try MidBlockAttention(mid.scoped("attentions.0"), channels: top, groups: groups, normIndex: &normIndex)
            : nil
        resnets.append(try ResnetBlock2D(mid.scoped("resnets.1"), in: top, out: top, groups: groups,
                                         normIndex: &normIndex))
        midResnets = resnets
        // up blocks
        var blocks: [UpDecoderBlock2D] = []
        for (i, layout) in c.upBlockLayouts.enumerated() {
            let b = d.scoped("up_blocks.\(i)")
            var rs: [ResnetBlock2D] = []
            for j in 0...c.layersPerBlock {
                rs.append(try ResnetBlock2D(b.scoped("resnets.\(j)"), in: j == 0 ? layout.inChannels : layout.outChannels,
                                            out: layout.outChannels, groups: groups, normIndex: &normIndex))
            }
            let upsampler = layout.upsamples
                ? Upsample2D(conv: try Conv2d(b.scoped("upsamplers.0.conv"), in: layout.outChannels,
                                              out: layout.outChannels, kernelSize: 3))
                : nil
            blocks.append(UpDecoderBlock2D(resnets: rs, upsampler: upsampler))
        }
        upBlocks = blocks
        let bottom = c.blockOutChannels[0]
        convNormOut = try GroupNormLayer(d.scoped("conv_norm_out"), channels: bottom, groups: groups, index: &normIndex)
        convOut = try Conv2d(d.scoped("conv_out"), in: bottom, out: c.outChannels, kernelSize: 3)
    }

    // MARK: - Forward

    /// `post_quant_conv` + `Decoder.forward` on one item's unscaled latents `[1, h, w, C]` →
    /// image `[1, H, W, outChannels]`. Each layer's input is released as soon as the next
    /// activation exists (`consume`); nil only if a GroupNorm stopped a statistics pass.
    func forward(_ z: consuming Tensor, state: inout DecodeState) -> Tensor? {
        // 1. post_quant_conv (when used), conv_in
        var h = consume z
        if let postQuantConv { h = postQuantConv(h, state: &state) }
        h = convIn(h, state: &state)
        // 2. mid block
        guard let m0 = midResnets[0](h, state: &state) else { return nil }
        h = consume m0
        if let midAttention {
            guard let a = midAttention(h, state: &state) else { return nil }
            h = consume a
        }
        guard let m1 = midResnets[1](h, state: &state) else { return nil }
        h = consume m1
        // 3. up blocks
        for block in upBlocks {
            guard let next = block(consume h, state: &state) else { return nil }
            h = consume next
        }
        // 4. conv_norm_out → SiLU (in place) → conv_out
        guard convNormOut.normalize(&h, silu: true, state: &state) else { return nil }
        return convOut(h, state: &state)
    }

    /// diffusers `AutoencoderKL.decode(z).sample` (tiling off), one batch item at a time:
    /// GroupNorm statistics are per image, and each image is copied into the output as soon
    /// as it is decoded (`AutoencoderKLConfiguration.decodeActivationBytes` sizes the peak).
    /// - Parameter latents: `[B, h, w, latentChannels]`, channels last, already **unscaled**
    ///   (`configuration.unscaledLatents` of what the transformer emits).
    /// - Returns: `[B, r·h, r·w, outChannels]` with `r = configuration.spatialCompressionRatio`
    ///   (8 for FLUX.1), Float32 in about [−1, 1] (not clamped).
    public func decode(latents: Tensor) throws -> Tensor {
        guard latents.rank == 4, latents.shape[3] == configuration.latentChannels,
              latents.shape[0] > 0, latents.shape[1] > 0, latents.shape[2] > 0
        else {
            throw VAEError(.badLatents(expected: "[B, h, w, \(configuration.latentChannels)] with all extents > 0",
                                       found: latents.shape), file: "latents")
        }
        let r = configuration.spatialCompressionRatio
        let shape = [latents.shape[0], latents.shape[1] * r, latents.shape[2] * r, configuration.outChannels]
        let imageSize = shape.dropFirst().reduce(1, *)
        var images = Tensor(shape: shape)
        for b in 0..<shape[0] {
            // Local statistics: no GroupNorm stops the pass, so `forward` returns an image.
            var state = DecodeState(norms: .local, streaming: false)
            let image = forward(latents.slice(rows: b..<(b + 1)), state: &state)!
            images.data.replaceSubrange((b * imageSize)..<((b + 1) * imageSize), with: image.data)
        }
        return images
    }
}
