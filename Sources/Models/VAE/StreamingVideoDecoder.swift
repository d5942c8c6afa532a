import Tensor

/// Streaming decode: latent frames go in chunk by chunk, in order, and each chunk's pixel frames
/// come out as soon as they are final, equal (to float rounding) to the untiled
/// `CausalVideoDecoder.decode(latents:)`.
///
/// What is carried between chunks, and why it is exact:
/// - every causal conv keeps its last `k − 1` input frames (the replicate padding at the start
///   of the video is the first chunk's own first frame);
/// - upsamplers treat only the video's first frame specially;
/// - the mid-block attention is frame-causal, so keys/values of earlier frames are kept
///   (`[T_lat·h·w, C]` each, at latent resolution: the one cache that grows with the video);
/// - GroupNorm is not causal: the untiled decode normalises with statistics over all frames.
///   The session therefore takes those statistics up front (`groupNormStatistics`).
///
/// Cost trade-off of exact statistics: layer k's statistics depend on the outputs of layers
/// before it, which depend on the statistics of all earlier GroupNorm layers. They are gathered
/// with one streamed pass per GroupNorm layer, each running the network prefix up to that layer
/// with the statistics already known (`groupNormCount` passes, then the emitting pass). Peak
/// memory stays bounded by the chunk size and frame size (plus the latent-resolution attention
/// cache), but compute is about Σₖ cost(prefix k): for the benchmark config (16/32/64/64,
/// 1 layer) about 7× an untiled decode, dominated by the full-resolution layers of the last
/// blocks. Decoding the whole video untiled instead costs 1× but holds every frame of every
/// activation; diffusers' temporal tiling costs 5/3× with bounded memory but is not equal to
/// either.
public struct StreamingVideoDecoder: Sendable {
    public let decoder: CausalVideoDecoder
    var state: DecodeState
    /// Latent frames consumed so far.
    public private(set) var latentFramesConsumed = 0

    /// - Parameter statistics: per GroupNorm layer, the statistics of the whole video
    ///   (from `CausalVideoDecoder.groupNormStatistics(latents:chunkFrames:)`).
    public init(decoder: CausalVideoDecoder, statistics: [GroupNormStatistics]) {
        precondition(statistics.count == decoder.groupNormCount,
                     "\(statistics.count) statistics for \(decoder.groupNormCount) GroupNorm layers")
        self.decoder = decoder
        state = DecodeState(norms: .global(statistics), streaming: true)
    }

    /// Decodes the next chunk of scaled latents `[t, h, w, C]` (one video, no batch axis).
    /// - Returns: the chunk's final frames `[f, 8h, 8w, 3]`: `4·(t − 1) + 1` frames for the first
    ///   chunk, `4·t` for later ones.
    public mutating func decode(chunk latents: Tensor) throws -> Tensor {
        let c = decoder.configuration
        guard latents.rank == 4, latents.shape[3] == c.latentChannels, latents.shape[0] > 0 else {
            throw VAEError(.badLatents(expected: "[t, h, w, \(c.latentChannels)]", found: latents.shape),
                           file: "latents")
        }
        var z = latents
        z.scale(by: 1 / c.scalingFactor)
        let frames = decoder.forward(z, state: &state)!
        state.atStart = false
        latentFramesConsumed += latents.shape[0]
        return frames
    }

    /// Largest activation tensor produced so far, in bytes (the memory-scaling probe).
    public var peakActivationBytes: Int { state.peakActivationFloats * MemoryLayout<Float>.size }
    /// Bytes held in causal caches now (conv frames and attention keys/values).
    public var cacheBytes: Int { state.cacheFloats * MemoryLayout<Float>.size }
}

extension CausalVideoDecoder {
    /// The statistics of every GroupNorm layer over the whole video, as the untiled decode sees
    /// them, gathered in `groupNormCount` streamed passes of `chunkFrames` latent frames (pass k
    /// runs the decoder up to GroupNorm layer k with layers < k already fixed).
    /// - Parameter latents: `[T, h, w, C]` scaled latents of one video.
    public func groupNormStatistics(latents: Tensor, chunkFrames: Int) throws -> [GroupNormStatistics] {
        guard chunkFrames > 0 else { throw VAEError(.badChunkSize(chunkFrames), file: "latents") }
        guard latents.rank == 4, latents.shape[3] == configuration.latentChannels, latents.shape[0] > 0 else {
            throw VAEError(.badLatents(expected: "[t, h, w, \(configuration.latentChannels)]", found: latents.shape),
                           file: "latents")
        }
        var z = latents
        z.scale(by: 1 / configuration.scalingFactor)
        let frames = z.shape[0]
        var known: [GroupNormStatistics] = []
        for layer in 0..<groupNormCount {
            let groups = configuration.normNumGroups
            var state = DecodeState(
                norms: .gather(index: layer, known: known, gathered: GroupNormStatistics(groups: groups)),
                streaming: true)
            for start in stride(from: 0, to: frames, by: chunkFrames) {
                let out = forward(z.slice(rows: start..<min(frames, start + chunkFrames)), state: &state)
                precondition(out == nil, "statistics pass \(layer) ran past its GroupNorm")
                state.atStart = false
            }
            guard case .gather(_, _, let gathered) = state.norms else { preconditionFailure("lost gather state") }
            known.append(gathered)
        }
        return known
    }

    /// Exact streaming decode of one video: gathers the GroupNorm statistics, then decodes
    /// `chunkFrames` latent frames at a time and hands each chunk's frames to `emit` in order.
    /// - Parameters:
    ///   - latents: `[T, h, w, C]` scaled latents of one video.
    ///   - emit: receives frames `[f, 8h, 8w, 3]`; all emitted chunks concatenate to
    ///     `decode(latents:)` of the same video.
    /// - Returns: the session (for its memory probes).
    @discardableResult
    public func decodeStreaming(latents: Tensor, chunkFrames: Int,
                                emit: (Tensor) throws -> Void) throws -> StreamingVideoDecoder {
        let stats = try groupNormStatistics(latents: latents, chunkFrames: chunkFrames)
        var session = StreamingVideoDecoder(decoder: self, statistics: stats)
        let frames = latents.shape[0]
        for start in stride(from: 0, to: frames, by: chunkFrames) {
            try emit(try session.decode(chunk: latents.slice(rows: start..<min(frames, start + chunkFrames))))
        }
        return session
    }
}
