import Foundation
import SafeTensors
import Tensor

/// Port of diffusers 0.42.1 `HunyuanVideoTransformer3DModel`
/// (`src/diffusers/models/transformers/transformer_hunyuan_video.py`), text-to-video only,
/// computed in float32 on the CPU (16-bit weights are widened inside each product). Property names follow the diffusers module tree (state-dict prefixes).
///
/// Latent layout is ours, channels-last `[B, T, H, W, C]`; the loader keeps diffusers' weights
/// as stored (the conv patch kernel is flattened in its (c, kt, kh, kw) order).
public final class HunyuanVideoTransformer: Sendable {
    public let configuration: TransformerConfiguration
    /// `x_embedder`.
    public let xEmbedder: PatchEmbed
    /// `time_text_embed`.
    public let timeTextEmbed: TimeTextEmbedding
    /// `context_embedder`.
    public let contextEmbedder: TokenRefiner
    /// `transformer_blocks.{i}`.
    public let transformerBlocks: [DoubleStreamBlock]
    /// `single_transformer_blocks.{i}`.
    public let singleTransformerBlocks: [SingleStreamBlock]
    /// `norm_out` + `proj_out`.
    public let finalLayer: FinalLayer
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "diffusion_pytorch_model"
    /// Whether the loader reads a stored tensor of `shape` as a weight matrix (every linear
    /// layer's weight and the patch embedding's kernel, i.e. every tensor of rank 2 or more; the
    /// rest are vectors), so that its resident bytes can be counted before it loads
    /// (`WeightArchive.residentBytes`).
    public static func readsAsMatrix(_ shape: [Int]) -> Bool { shape.count >= 2 }

    /// Builds the model from `parameters` (keys as in diffusers' state dict).
    public init(configuration c: TransformerConfiguration, parameters w: any ParameterSource) throws {
        try c.validate()
        configuration = c
        xEmbedder = try PatchEmbed(w.scoped("x_embedder"), c)
        timeTextEmbed = try TimeTextEmbedding(w.scoped("time_text_embed"), width: c.innerDim,
                                              pooledWidth: c.pooledProjectionDim, guidance: c.guidanceEmbeds)
        contextEmbedder = try TokenRefiner(w.scoped("context_embedder"), c)
        let dims = c.blockDimensions
        transformerBlocks = try (0..<c.numLayers).map { try DoubleStreamBlock(w.scoped("transformer_blocks.\($0)"), dims) }
        singleTransformerBlocks = try (0..<c.numSingleLayers).map {
            try SingleStreamBlock(w.scoped("single_transformer_blocks.\($0)"), dims)
        }
        finalLayer = try FinalLayer(w, width: c.innerDim, outFeatures: c.patchFeaturesOut)
    }

    /// Loads a diffusers `transformer/` folder: `config.json` plus
    /// `diffusion_pytorch_model.safetensors` (single or sharded). Every stored tensor must be
    /// read with its expected shape; missing, misshapen or unexpected tensors throw
    /// `SafeTensorsError` naming the key. F16/BF16 weight matrices (every linear layer and the
    /// patch embedding) stay as stored, views of the mapped files, unless `matrices` is
    /// `.float32`; vectors (biases, norm weights) are converted to Float32.
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let config = try TransformerConfiguration(contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        let archive = try WeightArchive(directory: directory, baseName: Self.weightsName)
        let reader = WeightReader(archive, matrices: matrices)
        try self.init(configuration: config, parameters: reader)
        try reader.finish()
    }

    /// Predicts the flow-matching velocity.
    /// - Parameters:
    ///   - latents: `[B, T, H, W, C_in]`, channels-last, Float32.
    ///   - timestep: per batch item, 1000·σ (e.g. 1000, 997.09…).
    ///   - text: LLM states `[B, L, text_embed_dim]`.
    ///   - textMask: `[B][L]`, right-padded (valid tokens first), at least one valid token each.
    ///   - pooled: `[B, pooled_projection_dim]`.
    ///   - guidance: per batch item, embedded guidance · 1000; required iff `guidance_embeds`.
    /// - Returns: velocity `[B, T, H, W, C_out]`.
    public func callAsFunction(latents: Tensor, timestep: [Float], text: Tensor, textMask: [[Bool]],
                               pooled: Tensor, guidance: [Float]?) throws -> Tensor {
        let c = configuration
        let validCounts = try validate(latents: latents, timestep: timestep, text: text, textMask: textMask,
                                       pooled: pooled, guidance: guidance)
        let (b, t, h, w) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3])
        let (tp, hp, wp) = (t / c.patchSizeT, h / c.patchSize, w / c.patchSize)
        let ni = tp * hp * wp, l = text.shape[1], n = ni + l, d = c.innerDim
        // 1. RoPE tables for the image grid.
        let rotary = RotaryTable(frames: tp, height: hp, width: wp, axesDim: c.ropeAxesDim, theta: Float(c.ropeTheta))
        // 2. Conditional embeddings.
        let temb = timeTextEmbed(timestep: timestep, pooled: pooled, guidance: guidance)  // [B, D]
        let tembActivated = temb.silu()
        let image = xEmbedder.proj(xEmbedder.patches(latents))  // [B, Ni, D]
        let refined = contextEmbedder(text, validCounts: validCounts, timestep: timestep)  // [B, L, D]
        // 3. Joint stream [B, N, D] = [img; txt] per batch item, and the prefix key mask.
        let stream = Scratch(b * n * d)
        defer { stream.deallocate() }
        let x = JointStream(pointer: stream.pointer, batch: b, imageTokens: ni, textTokens: l, width: d)
        image.data.withUnsafeBufferPointer { ip in
            refined.data.withUnsafeBufferPointer { tp in
                for bi in 0..<b {
                    x.image(bi).update(from: ip.baseAddress! + bi * ni * d, count: ni * d)
                    x.text(bi).update(from: tp.baseAddress! + bi * l * d, count: l * d)
                }
            }
        }
        let workspace = BlockWorkspace(rows: b * n, width: d, mlpWidth: c.mlpWidth)
        defer { workspace.deallocate() }
        let ctx = BlockContext(tembActivated: tembActivated, imageRotary: rotary, textRotary: nil,
                               mask: AttentionMask(validKeyCount: validCounts.map { ni + $0 }), workspace: workspace)
        // 4. Transformer blocks.
        for block in transformerBlocks { block.forward(x, ctx) }
        for block in singleTransformerBlocks { block.forward(x, ctx) }
        // 5. Output norm, projection and unpatchify.
        return unpatchify(finalLayer.forward(x, tembActivated: tembActivated), frames: t, height: h, width: w)
    }

    /// Scatters the final layer's patch features back to the latent grid: feature
    /// c·(pt·p·p) + kt·p·p + kh·p + kw of token (tp, hp, wp) → `[b, t, h, w, c]`.
    /// - Parameter tokens: `[B, Ni, C_out·pt·p·p]`, tokens in (t, h, w) row-major order.
    /// - Returns: `[B, T, H, W, C_out]`.
    func unpatchify(_ tokens: Tensor, frames t: Int, height h: Int, width w: Int) -> Tensor {
        let c = configuration
        let b = tokens.shape[0]
        let (p, pt, co) = (c.patchSize, c.patchSizeT, c.outChannels)
        let (tp, hp, wp) = (t / pt, h / p, w / p)
        let features = c.patchFeaturesOut
        let src = tokens.data
        return Tensor(shape: [b, t, h, w, co]) { dst in
            for bi in 0..<b { for ti in 0..<tp { for hi in 0..<hp { for wi in 0..<wp {
                let token = ((bi * tp + ti) * hp + hi) * wp + wi
                for ci in 0..<co { for kt in 0..<pt { for kh in 0..<p { for kw in 0..<p {
                    let f = ((ci * pt + kt) * p + kh) * p + kw
                    dst[((((bi * t) + ti * pt + kt) * h + hi * p + kh) * w + wi * p + kw) * co + ci] = src[token * features + f]
                } } } }
            } } } }
        }
    }

    /// Checks every input against the configuration; returns the valid text-token counts.
    func validate(latents: Tensor, timestep: [Float], text: Tensor, textMask: [[Bool]], pooled: Tensor,
                  guidance: [Float]?) throws -> [Int] {
        let c = configuration
        let file = "transformer input"
        guard latents.rank == 5, latents.shape[0] >= 1, latents.shape[4] == c.inChannels,
              latents.shape[1] > 0, latents.shape[2] > 0, latents.shape[3] > 0 else {
            throw ModelError(.inputShape(name: "latents", expected: "[B >= 1, T, H, W, \(c.inChannels)]", found: latents.shape), file: file)
        }
        let b = latents.shape[0]
        for (name, extent, patch) in [("frames", latents.shape[1], c.patchSizeT), ("height", latents.shape[2], c.patchSize),
                                      ("width", latents.shape[3], c.patchSize)] where extent % patch != 0 {
            throw ModelError(.notDivisible(name: name, extent: extent, patch: patch), file: file)
        }
        guard text.rank == 3, text.shape[0] == b, text.shape[1] >= 1, text.shape[2] == c.textEmbedDim else {
            throw ModelError(.inputShape(name: "text", expected: "[\(b), L >= 1, \(c.textEmbedDim)]", found: text.shape), file: file)
        }
        guard pooled.shape == [b, c.pooledProjectionDim] else {
            throw ModelError(.inputShape(name: "pooled", expected: "[\(b), \(c.pooledProjectionDim)]", found: pooled.shape), file: file)
        }
        guard timestep.count == b else { throw ModelError(.batchMismatch(name: "timestep", expected: b, found: timestep.count), file: file) }
        guard textMask.count == b else { throw ModelError(.batchMismatch(name: "textMask", expected: b, found: textMask.count), file: file) }
        switch (c.guidanceEmbeds, guidance) {
        case (true, nil): throw ModelError(.guidance(reason: "the model embeds guidance (guidance_embeds true); pass one value per batch item"), file: file)
        case (false, .some): throw ModelError(.guidance(reason: "the model has no guidance embedder (guidance_embeds false); pass nil"), file: file)
        case (true, .some(let g)) where g.count != b: throw ModelError(.batchMismatch(name: "guidance", expected: b, found: g.count), file: file)
        default: break
        }
        let l = text.shape[1]
        return try textMask.enumerated().map { bi, row in
            guard row.count == l else { throw ModelError(.batchMismatch(name: "textMask[\(bi)]", expected: l, found: row.count), file: file) }
            let count = row.prefix { $0 }.count
            guard count > 0 else { throw ModelError(.badTextMask(batchItem: bi, reason: "no valid token"), file: file) }
            guard !row[count...].contains(true) else {
                throw ModelError(.badTextMask(batchItem: bi, reason: "not right-padded (valid token after padding at \(count))"), file: file)
            }
            return count
        }
    }
}

// MARK: - Cost model

/// Floating-point operations of one forward (multiply-add = 2 FLOPs).
public struct TransformerFLOPs: Sendable, Equatable {
    /// Linear layers of the double and single blocks: `(8 + 4r)·N·D²` per block (24·N·D² at r = 4).
    public var blockLinear: Double
    /// Attention in the blocks: `4·N²·D` per block (QKᵀ and PV).
    public var attention: Double
    /// Patch embedding, token refiner and final projection (small).
    public var other: Double
    public var total: Double { blockLinear + attention + other }
}

extension TransformerConfiguration {
    /// Counted FLOPs of one forward for a latent `frames × height × width` (before patching)
    /// and `textTokens` text tokens, batch 1 (hunyuan-video.md §7).
    public func flops(latentFrames: Int, latentHeight: Int, latentWidth: Int, textTokens: Int) -> TransformerFLOPs {
        let ni = Double((latentFrames / patchSizeT) * (latentHeight / patchSize) * (latentWidth / patchSize))
        let l = Double(textTokens), n = ni + l, d = Double(innerDim), f = Double(mlpWidth)
        let blocks = Double(numLayers + numSingleLayers)
        let perBlockLinear = 2 * n * (4 * d * d + 2 * d * f)
        let perBlockAttention = 4 * n * n * d
        let refiner = Double(numRefinerLayers) * (2 * l * (4 * d * d + 2 * d * f) + 4 * l * l * d)
            + 2 * l * Double(textEmbedDim) * d
        let io = 2 * ni * d * Double(patchFeaturesIn + patchFeaturesOut)
        return TransformerFLOPs(blockLinear: blocks * perBlockLinear, attention: blocks * perBlockAttention,
                                other: refiner + io)
    }
}
