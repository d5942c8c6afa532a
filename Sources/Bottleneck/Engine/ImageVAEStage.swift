import Media
import Models
import Tensor

/// FLUX.1's image VAE (`AutoencoderKLDecoder`) as the decode stage and the preview: the one
/// latent frame `[1, 1, h, w, C]` is unscaled (`latents / scaling_factor + shift_factor`, as
/// `FluxPipeline.__call__` before `vae.decode`) and decoded whole to `[1, 8h, 8w, 3]`.
struct ImageVAEStage: FrameDecoding, PreviewRendering {
    let decoder: AutoencoderKLDecoder

    /// - Parameter latents: `[1, frames, h, w, C]`; each latent frame is one image.
    func image(_ latents: Latents) throws -> Tensor {
        let (f, h, w, c) = (latents.frames, latents.height, latents.width, latents.channels)
        let images = latents.tensor.slice(rows: 0..<1).reshaped([f, h, w, c])
        return try decoder.decode(latents: decoder.configuration.unscaledLatents(images))  // [f, 8h, 8w, 3]
    }

    func decode(_ latents: Latents, request: GenerationRequest,
                emit: @Sendable (FrameBatch) async throws -> Void) async throws {
        try Task.checkCancellation()
        try await emit(FrameBatch(firstFrame: 0, pixels: try image(latents)))
    }

    /// The clean estimate x̂₀ decoded exactly as the final image will be, at the stage's size.
    func writePreview(_ latents: Latents, request: GenerationRequest, to path: String) throws {
        guard let frame = try FrameBatch(firstFrame: 0, pixels: image(latents)).videoFrames().first else { return }
        try PNGImage.write(frame, to: path)
    }
}
