import Models
import Sampling

/// VAE decode, emitted to the muxer in batches of frames.
///
/// Small videos (at most `untiledPixelBudget` pixels over all frames) are decoded untiled in one
/// pass: the exact streaming decode equals it but runs one statistics pass per GroupNorm layer
/// (about 6× the compute, `StreamingVideoDecoder`). Larger videos use the exact streaming decode,
/// whose memory depends on the chunk and frame size, not on the number of frames.
struct VAEStage: FrameDecoding {
    let decoder: CausalVideoDecoder
    /// Latent frames per decoded chunk (4 latent frames = 16 pixel frames).
    static let chunkFrames = 4
    /// Pixel frames per emitted batch, on either path.
    static let framesPerBatch = 4 * chunkFrames
    /// 129 frames of 256×256 (the shipped VAE's activations: about 2 GiB,
    /// `VAEConfiguration.decodeActivationBytes`).
    static let untiledPixelBudget = 129 * 256 * 256

    /// How latents of `size` are decoded: nil for untiled, else the streaming decode's chunk in
    /// latent frames. The one place the choice is made (the decode and the resource estimate).
    static func streamingChunk(for size: LatentSize, _ c: VAEConfiguration) -> Int? {
        let pixels = c.pixelFrames(latentFrames: size.frames) * size.height * size.width
            * c.spatialCompressionRatio * c.spatialCompressionRatio
        return pixels <= untiledPixelBudget ? nil : chunkFrames
    }

    func decode(_ latents: Latents, request: GenerationRequest,
                emit: @Sendable (FrameBatch) async throws -> Void) async throws {
        let c = decoder.configuration
        let first = latents.tensor.slice(rows: 0..<1)
        let size = LatentSize(frames: latents.frames, height: latents.height, width: latents.width)
        guard let chunkFrames = Self.streamingChunk(for: size, c) else {
            let all = try decoder.decode(latents: first)
            let frames = all.reshaped(Array(all.shape.dropFirst()))
            for start in stride(from: 0, to: frames.shape[0], by: Self.framesPerBatch) {
                try Task.checkCancellation()
                let end = min(frames.shape[0], start + Self.framesPerBatch)
                try await emit(FrameBatch(firstFrame: start, pixels: frames.slice(rows: start..<end)))
            }
            return
        }
        let video = first.reshaped(Array(first.shape.dropFirst()))  // [T, h, w, C]
        let stats = try decoder.groupNormStatistics(latents: video, chunkFrames: chunkFrames)
        var session = StreamingVideoDecoder(decoder: decoder, statistics: stats)
        var next = 0
        for start in stride(from: 0, to: latents.frames, by: chunkFrames) {
            try Task.checkCancellation()
            let frames = try session.decode(chunk: video.slice(rows: start..<min(latents.frames, start + chunkFrames)))
            try await emit(FrameBatch(firstFrame: next, pixels: frames))
            next += frames.shape[0]
        }
    }
}
