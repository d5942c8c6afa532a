import Foundation
import Tensor
import TestSupport
import Testing
@testable import Models

/// `StreamingVideoDecoder`: chunk-by-chunk decode equals the untiled whole-video decode.
@Suite struct VAEStreamingTests {
    /// Streams one video and concatenates the emitted frames; checks each chunk's frame count.
    func streamed(_ decoder: CausalVideoDecoder, _ latents: Tensor, chunk: Int) throws
        -> (Tensor, StreamingVideoDecoder)
    {
        var parts: [Tensor] = []
        var consumed = 0
        let session = try decoder.decodeStreaming(latents: latents, chunkFrames: chunk) { frames in
            let t = min(chunk, latents.shape[0] - consumed)
            #expect(frames.shape[0] == (consumed == 0 ? 4 * (t - 1) + 1 : 4 * t))
            consumed += t
            parts.append(frames)
        }
        return (Tensor.concatenate(rows: parts), session)
    }

    // MARK: Equality with the untiled decode

    @Test(arguments: [1, 2, 4, 9])
    func streamingEqualsUntiledDecode(chunk: Int) throws {
        let f = try VAEFixture("vae-c16")
        let latents = try f.latents(frames: 9)
        let whole = try f.decoder.decode(latents: latents)
        let (frames, _) = try streamed(f.decoder, latents.reshaped(Array(latents.shape.dropFirst())), chunk: chunk)
        expectClose(frames.reshaped([1] + frames.shape), whole, tolerance: VAETolerance.streaming)
        // and therefore diffusers' untiled decode
        expectClose(frames.reshaped([1] + frames.shape), try #require(try f.expected("full", frames: 9)),
                    tolerance: VAETolerance.parity)
    }

    /// 129 frames (33 latent frames), streamed 4 latent frames at a time.
    @Test func streaming129FramesEqualsDiffusersUntiled() throws {
        let f = try VAEFixture("vae-tiny")
        let latents = try f.latents(frames: 33)
        let (frames, _) = try streamed(f.decoder, latents.reshaped(Array(latents.shape.dropFirst())), chunk: 4)
        expectClose(frames.reshaped([1] + frames.shape), try #require(try f.expected("full", frames: 33)),
                    tolerance: VAETolerance.parity)
    }

    // MARK: Memory

    /// With a fixed chunk size, the largest activation does not depend on the video length, and
    /// the caches grow only by the latent-resolution attention keys/values.
    @Test func peakActivationIsIndependentOfVideoLength() throws {
        let f = try VAEFixture("vae-tiny")
        let long = try f.latents(frames: 33)
        let longVideo = long.reshaped(Array(long.shape.dropFirst()))
        let shortVideo = longVideo.slice(rows: 0..<9)
        let (_, short) = try streamed(f.decoder, shortVideo, chunk: 2)
        let (_, full) = try streamed(f.decoder, longVideo, chunk: 2)
        #expect(short.peakActivationBytes == full.peakActivationBytes)
        let channels = f.decoder.configuration.blockOutChannels.last!
        let kvBytesPerLatentFrame = 2 * 2 * 2 * channels * 4  // keys + values, 2×2 latent tokens
        #expect(full.cacheBytes - short.cacheBytes == (33 - 9) * kvBytesPerLatentFrame)
        // whereas the untiled decode's largest activation holds all frames
        var state = DecodeState(norms: .local, streaming: false)
        _ = f.decoder.forward(longVideo, state: &state)
        #expect(state.peakActivationFloats * 4 > 10 * full.peakActivationBytes)
    }

    @Test func zeroChunkIsATypedError() throws {
        let f = try VAEFixture("vae-tiny")
        let l = try f.latents(frames: 1)
        #expect(throws: VAEError(.badChunkSize(0), file: "latents")) {
            try f.decoder.decodeStreaming(latents: l.reshaped(Array(l.shape.dropFirst())), chunkFrames: 0) { _ in }
        }
    }
}
