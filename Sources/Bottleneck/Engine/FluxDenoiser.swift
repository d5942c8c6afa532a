import Models
import Sampling
import Tensor

/// FLUX.1's transformer as the sampler's `Denoiser`, one pass per step as `FluxPipeline.__call__`
/// runs it (diffusers 0.42.1 `pipelines/flux/pipeline_flux.py`): the sampler's latents
/// `[1, 1, h, w, 16]` are packed into 2 × 2 tokens (`FluxTransformer.pack`), positioned by their
/// packed grid (`img_ids`; text ids are zeros), the timestep passed as `t / 1000` (the model
/// scales it by 1000 again), the T5 states without a mask, and the velocity unpacked. The grid
/// changes between bottleneck stages, so the ids are rebuilt on every call.
struct FluxDenoiser: Denoiser {
    let transformer: FluxTransformer
    let text: TextEmbeddings
    /// FLUX.1-dev's distilled guidance (`guidance_scale`), nil for -schnell.
    let guidance: Float?

    func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry, conditional: Bool) throws -> Tensor {
        let (b, f, h, w, c) = (latents.shape[0], latents.shape[1], latents.shape[2], latents.shape[3], latents.shape[4])
        let textTokens = text.states.shape[1]
        let velocity = try transformer(
            latents: FluxTransformer.pack(latents.reshaped([b * f, h, w, c])), timestep: [timestep / 1000],
            text: text.states, textMask: nil, pooled: text.pooled, guidance: guidance.map { [$0] },
            imageIDs: FluxTransformer.imageIDs(latentHeight: h, latentWidth: w),
            textIDs: Tensor(shape: [textTokens, transformer.configuration.axesDimsRope.count]))
        return FluxTransformer.unpack(velocity, height: h, width: w).reshaped(latents.shape)
    }
}
