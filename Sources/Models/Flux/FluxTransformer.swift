import Foundation
import SafeTensors
import Tensor

/// Port of diffusers 0.42.1 `FluxTransformer2DModel`
/// (`src/diffusers/models/transformers/transformer_flux.py`), FLUX.1-dev and -schnell, text to
/// image (no ControlNet or IP-Adapter inputs), computed in float32 on the CPU (16-bit weights are
/// widened inside each product). Property names follow the diffusers module tree (state-dict
/// prefixes).
///
/// Shared with `HunyuanVideoTransformer`, whose layers compute the same thing under the same keys:
/// `TimeTextEmbedding`, `DoubleStreamBlock`, `SingleStreamBlock`, `FinalLayer`. FLUX's own parts:
/// linear `x_embedder` and `context_embedder` (no patch conv, no token refiner), RoPE on image
/// *and* text tokens from explicit ids with float64 angles (`RotaryTable(ids:)`), timestep and
/// guidance scaled by 1000 inside the model, an optional key mask for padded text, and output per
/// packed token (the pipeline unpacks).
public final class FluxTransformer: Sendable {
    public let configuration: FluxConfiguration
    /// `x_embedder`: `in_channels` → D per packed image token.
    public let xEmbedder: Linear
    /// `context_embedder`: `joint_attention_dim` → D per T5 token.
    public let contextEmbedder: Linear
    /// `time_text_embed`: `CombinedTimestepGuidanceTextProjEmbeddings` (-dev) or
    /// `CombinedTimestepTextProjEmbeddings` (-schnell, no guidance embedder).
    public let timeTextEmbed: TimeTextEmbedding
    /// `transformer_blocks.{i}`.
    public let transformerBlocks: [DoubleStreamBlock]
    /// `single_transformer_blocks.{i}`.
    public let singleTransformerBlocks: [SingleStreamBlock]
    /// `norm_out` + `proj_out`.
    public let finalLayer: FinalLayer
    /// The weight file's name without `.safetensors` (or its `.index.json` shards).
    public static let weightsName = "diffusion_pytorch_model"

    /// Builds the model from `parameters` (keys as in diffusers' state dict).
    public init(configuration c: FluxConfiguration, parameters w: any ParameterSource) throws {
        try c.validate()
        configuration = c
        let d = c.innerDim
        xEmbedder = try Linear(w.scoped("x_embedder"), in: c.inChannels, out: d)
        contextEmbedder = try Linear(w.scoped("context_embedder"), in: c.jointAttentionDim, out: d)
        timeTextEmbed = try TimeTextEmbedding(w.scoped("time_text_embed"), width: d,
                                              pooledWidth: c.pooledProjectionDim, guidance: c.guidanceEmbeds)
        let dims = c.blockDimensions
        transformerBlocks = try (0..<c.numLayers).map { try DoubleStreamBlock(w.scoped("transformer_blocks.\($0)"), dims) }
        singleTransformerBlocks = try (0..<c.numSingleLayers).map {
            try SingleStreamBlock(w.scoped("single_transformer_blocks.\($0)"), dims)
        }
        finalLayer = try FinalLayer(w, width: d, outFeatures: c.outFeatures)
    }

    /// Loads a diffusers `transformer/` folder: `config.json` plus
    /// `diffusion_pytorch_model.safetensors` (single or sharded). Every stored tensor must be read
    /// with its expected shape; missing, misshapen or unexpected tensors throw `SafeTensorsError`
    /// naming the key. F16/BF16 weight matrices (every linear layer) stay as stored, views of the
    /// mapped files, unless `matrices` is `.float32`; vectors (biases, norm weights) are converted
    /// to Float32.
    public convenience init(directory: String, matrices: MatrixPrecision = .stored) throws {
        let config = try FluxConfiguration(contentsOf: (directory as NSString).appendingPathComponent("config.json"))
        let archive = try WeightArchive(directory: directory, baseName: Self.weightsName)
        let reader = WeightReader(archive, matrices: matrices)
        try self.init(configuration: config, parameters: reader)
        try reader.finish()
    }

    /// Predicts the flow-matching velocity of packed latents.
    /// - Parameters:
    ///   - latents: `[B, Li, in_channels]`, Float32: image tokens in the pipeline's packed order
    ///     (row-major over the packed grid), each a 2 × 2 latent patch's features.
    ///   - timestep: per batch item, σ in [0, 1] as FluxPipeline passes it (`t / 1000`); the model
    ///     embeds `1000 · σ`.
    ///   - text: T5 states `[B, L, joint_attention_dim]`.
    ///   - textMask: `[B][L]`, true for tokens to attend to; nil attends to every token, as
    ///     FluxPipeline does (padding included). Padded keys are hidden from every query.
    ///   - pooled: CLIP pooled vector `[B, pooled_projection_dim]`.
    ///   - guidance: per batch item, the guidance scale (embedded as `1000 · g`); required iff
    ///     `guidance_embeds`.
    ///   - imageIDs: `[Li, axes]` RoPE positions of the image tokens (`img_ids`: 0, row, column).
    ///   - textIDs: `[L, axes]` RoPE positions of the text tokens (`txt_ids`: zeros in FluxPipeline).
    ///   - clock: when given, times the embedders, every block and the output layer.
    /// - Returns: velocity `[B, Li, patch_size² · out_channels]`, in the order of `latents`.
    public func callAsFunction(latents: Tensor, timestep: [Float], text: Tensor, textMask: [[Bool]]? = nil,
                               pooled: Tensor, guidance: [Float]?, imageIDs: Tensor, textIDs: Tensor,
                               clock: ForwardClock? = nil) throws -> Tensor {
        let c = configuration
        try validate(latents: latents, timestep: timestep, text: text, textMask: textMask, pooled: pooled,
                     guidance: guidance, imageIDs: imageIDs, textIDs: textIDs)
        clock?.start()
        let (b, ni, l, d) = (latents.shape[0], latents.shape[1], text.shape[1], c.innerDim)
        let n = ni + l
        // 1. Conditional embeddings; diffusers scales timestep and guidance by 1000 in float32.
        let temb = timeTextEmbed(timestep: timestep.map { $0 * 1000 }, pooled: pooled,
                                 guidance: guidance?.map { $0 * 1000 })  // [B, D]
        let tembActivated = temb.silu()
        // 2. Joint stream [B, N, D] = [img; txt] per batch item: x_embedder and context_embedder
        //    write their rows in place (diffusers concatenates [txt; img]; attention does not
        //    depend on the order of the keys, only the summation order differs).
        let stream = Scratch(b * n * d)
        defer { stream.deallocate() }
        let x = JointStream(pointer: stream.pointer, batch: b, imageTokens: ni, textTokens: l, width: d)
        let (cin, e) = (c.inChannels, c.jointAttentionDim)
        latents.data.withUnsafeBufferPointer { lp in
            text.data.withUnsafeBufferPointer { tp in
                for bi in 0..<b {
                    xEmbedder.apply(lp.baseAddress! + bi * ni * cin, rows: ni, xStride: cin, out: x.image(bi), outStride: d)
                    contextEmbedder.apply(tp.baseAddress! + bi * l * e, rows: l, xStride: e, out: x.text(bi), outStride: d)
                }
            }
        }
        // 3. RoPE tables from the ids (`pos_embed`), and the key mask over [img; txt].
        let axes = c.axesDimsRope, theta = FluxConfiguration.ropeTheta
        let mask = textMask.map { rows in
            AttentionMask(keyIsValid: rows.map { [Bool](repeating: true, count: ni) + $0 })
        } ?? AttentionMask.none
        let workspace = BlockWorkspace(rows: b * n, width: d, mlpWidth: c.blockDimensions.mlpWidth)
        defer { workspace.deallocate() }
        let ctx = BlockContext(tembActivated: tembActivated,
                               imageRotary: RotaryTable(ids: imageIDs.data, axesDim: axes, theta: theta),
                               textRotary: RotaryTable(ids: textIDs.data, axesDim: axes, theta: theta),
                               mask: mask, workspace: workspace)
        clock?.mark("embedding")
        // 4. Transformer blocks.
        for block in transformerBlocks {
            block.forward(x, ctx)
            clock?.mark("double")
        }
        for block in singleTransformerBlocks {
            block.forward(x, ctx)
            clock?.mark("single")
        }
        // 5. Output norm and projection of the image rows.
        let velocity = finalLayer.forward(x, tembActivated: tembActivated)
        clock?.mark("final")
        return velocity
    }

    /// Checks every input against the configuration and each other.
    func validate(latents: Tensor, timestep: [Float], text: Tensor, textMask: [[Bool]]?, pooled: Tensor,
                  guidance: [Float]?, imageIDs: Tensor, textIDs: Tensor) throws {
        let c = configuration
        let file = "transformer input"
        guard latents.rank == 3, latents.shape[0] >= 1, latents.shape[1] >= 1, latents.shape[2] == c.inChannels else {
            throw ModelError(.inputShape(name: "latents", expected: "[B >= 1, Li >= 1, \(c.inChannels)]", found: latents.shape), file: file)
        }
        let (b, ni) = (latents.shape[0], latents.shape[1])
        guard text.rank == 3, text.shape[0] == b, text.shape[1] >= 1, text.shape[2] == c.jointAttentionDim else {
            throw ModelError(.inputShape(name: "text", expected: "[\(b), L >= 1, \(c.jointAttentionDim)]", found: text.shape), file: file)
        }
        let l = text.shape[1], axes = c.axesDimsRope.count
        guard pooled.shape == [b, c.pooledProjectionDim] else {
            throw ModelError(.inputShape(name: "pooled", expected: "[\(b), \(c.pooledProjectionDim)]", found: pooled.shape), file: file)
        }
        guard imageIDs.shape == [ni, axes] else {
            throw ModelError(.inputShape(name: "imageIDs", expected: "[\(ni), \(axes)]", found: imageIDs.shape), file: file)
        }
        guard textIDs.shape == [l, axes] else {
            throw ModelError(.inputShape(name: "textIDs", expected: "[\(l), \(axes)]", found: textIDs.shape), file: file)
        }
        guard timestep.count == b else { throw ModelError(.batchMismatch(name: "timestep", expected: b, found: timestep.count), file: file) }
        switch (c.guidanceEmbeds, guidance) {
        case (true, nil): throw ModelError(.guidance(reason: "the model embeds guidance (guidance_embeds true); pass one value per batch item"), file: file)
        case (false, .some): throw ModelError(.guidance(reason: "the model has no guidance embedder (guidance_embeds false); pass nil"), file: file)
        case (true, .some(let g)) where g.count != b: throw ModelError(.batchMismatch(name: "guidance", expected: b, found: g.count), file: file)
        default: break
        }
        if let textMask {
            guard textMask.count == b else { throw ModelError(.batchMismatch(name: "textMask", expected: b, found: textMask.count), file: file) }
            for (bi, row) in textMask.enumerated() where row.count != l {
                throw ModelError(.batchMismatch(name: "textMask[\(bi)]", expected: l, found: row.count), file: file)
            }
        }
    }
}
