import Foundation
import SafeTensors
import Tensor

/// The decoder half of HunyuanVideo's causal 3-D VAE: `post_quant_conv` + `decoder` of
/// diffusers 0.42.1 `AutoencoderKLHunyuanVideo` (`HunyuanVideoDecoder3D`,
/// `src/diffusers/models/autoencoders/autoencoder_kl_hunyuan_video.py`).
///
/// Activation layout: every activation is channels-last `[T, H, W, C]` for one video, so a
/// causal conv reads each pixel's input channels contiguously (`Tensor.causalConv3d`). Public entry
/// points take latents `[B, T, h, w, C]` (channels last, scaled as the DiT emits them) and
/// return frames `[B, F, H, W, 3]`, Float32 in about [−1, 1] (not clamped), with
/// `F = 4·(T − 1) + 1`, `H = 8·h`, `W = 8·w`. diffusers' layout is `[B, C, T, H, W]`; only the
/// parity tests permute.
///
/// Loaded weights are immutable; decode state lives in the calls (`DecodeState`) or in a
/// `StreamingVideoDecoder` owned by one task.
public final class CausalVideoDecoder: Sendable {
    public let configuration: VAEConfiguration
    let postQuantConv: CausalConv3d
    let convIn: CausalConv3d
    let midResnets: [ResnetBlockCausal3D]
    let midAttention: MidBlockAttention?
    let upBlocks: [UpBlock3D]
    let convNormOut: GroupNormLayer
    let convOut: CausalConv3d
    /// Number of GroupNorm layers (statistics passes of an exact streaming decode).
    public let groupNormCount: Int
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "diffusion_pytorch_model"

    /// Loads `directory/config.json` and `directory/diffusion_pytorch_model.safetensors`
    /// (a diffusers `vae/` folder). Encoder tensors (`encoder.*`, `quant_conv.*`) are ignored;
    /// any other unread, missing or mis-shaped tensor is an error. 16-bit conv kernels stay
    /// 16-bit unless `matrices` is `.float32` (`Conv3dKernel.packed`).
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let config = try VAEConfiguration.load(
            contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        let reader = WeightReader(try WeightArchive(directory: directory, baseName: Self.weightsName), matrices: matrices)
        try self.init(configuration: config, weights: reader)
    }

    /// Whether this decoder, or `AutoencoderKLDecoder`, reads a stored tensor of `shape` as a
    /// weight matrix: the conv kernels (rank 5, or 4 in the 2-D VAE), repacked in their stored
    /// precision; the rest (biases, norms, the attention's `[C, C]` projections) are widened to
    /// Float32. Counts their resident bytes before a load (`WeightArchive.residentBytes`).
    public static func readsAsMatrix(_ shape: [Int]) -> Bool { shape.count >= 4 }

    /// Builds the decoder from `weights` (scope: the root of the VAE state dict) and checks
    /// that every decoder tensor was read.
    public convenience init(configuration: VAEConfiguration, weights: WeightReader) throws {
        try configuration.validate()
        try self.init(configuration: configuration, source: weights)
        try weights.finish(ignoringPrefixes: ["encoder.", "quant_conv."])
    }

    /// A decoder with deterministic random weights for `configuration` (benchmarks).
    public static func random(configuration: VAEConfiguration, seed: UInt64) throws -> CausalVideoDecoder {
        try configuration.validate()
        return try CausalVideoDecoder(configuration: configuration, source: RandomParameters(seed: seed))
    }

    init(configuration c: VAEConfiguration, source p: any ParameterSource) throws {
        configuration = c
        var convIndex = 0, normIndex = 0
        let latent = c.latentChannels
        let groups = c.normNumGroups
        let top = c.blockOutChannels.last!
        // post_quant_conv is a plain Conv3d(k=1) at the root (no `.conv` level).
        postQuantConv = CausalConv3d(
            index: &convIndex,
            kernel: Conv3dKernel(weight: try p.matrix("post_quant_conv.weight", shape: [latent, latent, 1, 1, 1]),
                                 kernelFrames: 1, kernelHeight: 1, kernelWidth: 1,
                                 bias: try p.tensor("post_quant_conv.bias", shape: [latent])))
        let d = p.scoped("decoder")
        convIn = try CausalConv3d(d.scoped("conv_in"), in: latent, out: top, kernelSize: 3, index: &convIndex)
        // mid block: resnet, (attention, resnet)
        let mid = d.scoped("mid_block")
        var resnets = [try ResnetBlockCausal3D(mid.scoped("resnets.0"), in: top, out: top, groups: groups,
                                               convIndex: &convIndex, normIndex: &normIndex)]
        midAttention = c.midBlockAddAttention
            ? try MidBlockAttention(mid.scoped("attentions.0"), channels: top, groups: groups, normIndex: &normIndex)
            : nil
        resnets.append(try ResnetBlockCausal3D(mid.scoped("resnets.1"), in: top, out: top, groups: groups,
                                               convIndex: &convIndex, normIndex: &normIndex))
        midResnets = resnets
        // up blocks (HunyuanVideoDecoder3D.__init__ rules for time_compression_ratio 4)
        var blocks: [UpBlock3D] = []
        for (i, layout) in c.upBlockLayouts.enumerated() {
            let output = layout.outChannels
            let b = d.scoped("up_blocks.\(i)")
            var rs: [ResnetBlockCausal3D] = []
            for j in 0...c.layersPerBlock {
                rs.append(try ResnetBlockCausal3D(b.scoped("resnets.\(j)"), in: j == 0 ? layout.inChannels : output,
                                                  out: output, groups: groups,
                                                  convIndex: &convIndex, normIndex: &normIndex))
            }
            var upsampler: UpsampleCausal3D?
            if layout.upsamples {
                upsampler = UpsampleCausal3D(
                    conv: try CausalConv3d(b.scoped("upsamplers.0.conv"), in: output, out: output, kernelSize: 3,
                                           index: &convIndex),
                    frameFactor: layout.temporalUpsample ? 2 : 1, spatialFactor: layout.spatialUpsample ? 2 : 1)
            }
            blocks.append(UpBlock3D(resnets: rs, upsampler: upsampler))
        }
        upBlocks = blocks
        let bottom = c.blockOutChannels[0]
        convNormOut = try GroupNormLayer(d.scoped("conv_norm_out"), channels: bottom, groups: groups, index: &normIndex)
        convOut = try CausalConv3d(d.scoped("conv_out"), in: bottom, out: c.outChannels, kernelSize: 3,
                                   index: &convIndex)
        groupNormCount = normIndex
    }

    // MARK: - Forward

    /// `post_quant_conv` + `decoder` on one chunk of unscaled latents `[t, h, w, C]`
    /// → frames `[f, H, W, outChannels]`; nil when a statistics pass stops inside.
    func forward(_ z: Tensor, state: inout DecodeState) -> Tensor? {
        // 1. post_quant_conv, conv_in
        var h = convIn(postQuantConv(z, state: &state), state: &state)
        // 2. mid block
        guard let m0 = midResnets[0](h, state: &state) else { return nil }
        h = m0
        if let attention = midAttention {
            guard let a = attention(h, state: &state) else { return nil }
            h = a
        }
        guard let m1 = midResnets[1](h, state: &state) else { return nil }
        h = m1
        // 3. up blocks
        for block in upBlocks {
            guard let next = block(h, state: &state) else { return nil }
            h = next
        }
        // 4. conv_norm_out → SiLU → conv_out
        guard let n = convNormOut(h, silu: true, state: &state) else { return nil }
        return convOut(n, state: &state)
    }

    /// Checks `[B, T, h, w, latentChannels]` and returns (B, T).
    func checkLatents(_ latents: Tensor) throws -> (batch: Int, frames: Int) {
        guard latents.rank == 5, latents.shape[4] == configuration.latentChannels,
              latents.shape[0] > 0, latents.shape[1] > 0, latents.shape[2] > 0, latents.shape[3] > 0
        else {
            throw VAEError(.badLatents(expected: "[B, T, h, w, \(configuration.latentChannels)] with all extents > 0",
                                       found: latents.shape), file: "latents")
        }
        return (latents.shape[0], latents.shape[1])
    }

    /// Latents `[t, h, w, C]` of batch item `b`, divided by `scaling_factor`.
    func unscaled(_ latents: Tensor, item b: Int) -> Tensor {
        var z = latents.slice(rows: b..<(b + 1)).reshaped(Array(latents.shape.dropFirst()))
        z.scale(by: 1 / configuration.scalingFactor)
        return z
    }

    /// Untiled decode of the whole video at once (diffusers `vae.decode(latents / scaling_factor)`
    /// with `use_framewise_decoding = False` and tiling off): GroupNorm statistics run over all
    /// frames. Memory grows with the number of frames.
    /// - Parameter latents: `[B, T, h, w, C]`, scaled (as the DiT emits them).
    /// - Returns: `[B, 4·(T − 1) + 1, 8h, 8w, 3]`.
    public func decode(latents: Tensor) throws -> Tensor {
        let (batch, _) = try checkLatents(latents)
        var items: [Tensor] = []
        for b in 0..<batch {
            var state = DecodeState(norms: .local, streaming: false)
            items.append(forward(unscaled(latents, item: b), state: &state)!)
        }
        return Tensor.concatenate(rows: items.map { $0.reshaped([1] + $0.shape) })
    }
}
