import Media
import Models
import Tensor

/// `--preview FILE --preview-every N`: the first latent frame of the sampler's clean estimate
/// x̂₀, decoded alone by the causal VAE and written as a PNG that is renamed into place, so an
/// image viewer can reload `FILE` at any time.
///
/// The first frame because the VAE is causal: latent frame 0 encodes pixel frame 0 by itself
/// (an image latent) and decodes alone to that frame, while a later latent frame only means
/// something after its predecessors (decoded alone it gives a smeared image).
///
/// The image has the resolution of the current bottleneck stage (a stage at half the latent
/// size gives a half-size preview), and costs one single-frame VAE decode per preview. It is an
/// approximation of the video's first frame: the VAE's GroupNorm layers take their statistics
/// from this one frame instead of the whole video, which shifts colour and contrast (exact for
/// a one-latent-frame video; the exact frame would need a statistics pass over all frames).
struct VAEPreview: PreviewRendering {
    let decoder: CausalVideoDecoder

    /// - Parameter latents: x̂₀ of the current stage, layout `[1, frames, height, width, channels]`.
    func writePreview(_ latents: Latents, request: GenerationRequest, to path: String) throws {
        let (h, w, c) = (latents.height, latents.width, latents.channels)
        // [1, T, h, w, C] → [T, h, w, C] → frame 0 as [1, 1, h, w, C].
        let frame = latents.tensor.reshaped([latents.frames, h, w, c])
            .slice(rows: 0..<1).reshaped([1, 1, h, w, c])
        let pixels = try decoder.decode(latents: frame)  // [1, 1, 8h, 8w, 3] in [-1, 1]
        let image = try pixels.data.withUnsafeBufferPointer {
            try VideoFrame(width: pixels.shape[3], height: pixels.shape[2], floatRGB: $0)
        }
        try PNGImage.write(image, to: path)
    }
}
