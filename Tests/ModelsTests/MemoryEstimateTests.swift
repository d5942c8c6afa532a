import Foundation
import Testing
@testable import Models

/// The working-set formulas behind the up-front resource check (issue #16: 4096×4096×1033 died
/// with "failed to allocate"), on the configs of the GPU-trained shapes pipeline (shipped until
/// 2026-12-07; its transformer is the benchmarks' `samples/bench/transformer-mid.json`), against
/// figures worked out by hand from the buffers the code allocates.
@Suite struct MemoryEstimateTests {
    /// `samples/bench/transformer-mid.json`: 4 heads × 64 = 256 wide, FFN 1024, patch 1×2×2.
    static let transformer: TransformerConfiguration = {
        var c = TransformerConfiguration()
        (c.numAttentionHeads, c.attentionHeadDim, c.numLayers, c.numSingleLayers) = (4, 64, 4, 8)
        (c.textEmbedDim, c.pooledProjectionDim, c.ropeAxesDim, c.guidanceEmbeds) = (384, 384, [16, 24, 24], false)
        return c
    }()

    /// The shapes VAE: channels 8/16/32/64, one layer per block, 16 latent channels (4 GroupNorm
    /// groups in the GPU run's, 1 in the shipped one; the working set does not depend on them).
    static let vae: VAEConfiguration = {
        var c = VAEConfiguration()
        (c.blockOutChannels, c.layersPerBlock, c.normNumGroups) = ([8, 16, 32, 64], 1, 4)
        return c
    }()

    /// 129 frames of 128² (latent 33×16×16 → 2112 image tokens) and MiniLM's 32 text tokens,
    /// N = 2144, D = 256, on 2 cores, in floats:
    /// stream + normed + projected rows 3·N·D = 1,646,592; wide rows N·(4D + F) = 4,390,912;
    /// RoPE 2·2112·64 = 270,336; patches and their embedding 2112·(64 + 256) = 675,840;
    /// then attention's scratch, larger than the final layer's 2112·(256 + 2·64) = 811,008:
    /// K/V copy 2·N·D = 1,097,728 and per core 256·2144 scores + 256·64 accumulators + 768
    /// = 566,016, twice = 1,132,032. Total 9,213,440 floats.
    @Test func transformerPassAtTheDefaultSize() {
        #expect(Self.transformer.forwardBytes(imageTokens: 2112, textTokens: 32, workers: 2) == 9_213_440 * 4)
    }

    /// Untiled, 33 latent frames of 16² → 129 frames of 128² (P = 2,113,536 pixels): the peak
    /// is the last block's first resnet, 16 → 8 channels at full size, holding its input and
    /// the normalised input (2·16), the conv, norm and conv outputs (3·8) and the shortcut (8):
    /// 64·P = 135,266,304 floats (516 MiB; peak RSS of this `generate` less that of a 9-frame
    /// 32² one was 504 MiB, release build).
    @Test func untiledDecodeAtTheDefaultSize() {
        #expect(Self.vae.decodeActivationBytes(latentFrames: 33, latentHeight: 16, latentWidth: 16,
                                               chunkFrames: nil) == 135_266_304 * 4)
    }

    /// Streamed 4 latent frames at a time, 34 latent frames of 32² → 133 frames of 256²: a later
    /// chunk doubles its frames at both temporal upsamplings, so the peak is the same resnet on
    /// 16 frames of 256²: 64·16·65,536 = 67,108,864 floats. The caches add 19,431,424 floats:
    /// the mid-block attention's keys and values of all 34 latent frames (2·34·32²·64 =
    /// 4,456,448) and two input frames per 3-frame conv (32,768 conv_in; 524,288 mid block;
    /// 524,288 + 1,310,720 + 2,621,440 + 5,242,880 up blocks 0–3; 524,288 + 1,048,576 +
    /// 2,097,152 upsamplers; 1,048,576 conv_out).
    @Test func streamingDecodeHoldsAChunkAndTheCaches() {
        #expect(Self.vae.decodeActivationBytes(latentFrames: 34, latentHeight: 32, latentWidth: 32,
                                               chunkFrames: 4) == (67_108_864 + 19_431_424) * 4)
        // Four times the frames: the untiled decode grows with them, a stream only by its cache.
        let long = Self.vae.decodeActivationBytes(latentFrames: 136, latentHeight: 32, latentWidth: 32, chunkFrames: 4)
        #expect(long - (67_108_864 + 19_431_424) * 4 == 3 * 4_456_448 * 4)
    }

    /// The decoder is built from the same layout the estimate reads.
    @Test func upBlockLayoutFollowsDiffusers() {
        let layouts = Self.vae.upBlockLayouts
        #expect(layouts.map(\.inChannels) == [64, 64, 32, 16])
        #expect(layouts.map(\.outChannels) == [64, 32, 16, 8])
        #expect(layouts.map(\.spatialUpsample) == [true, true, true, false])
        #expect(layouts.map(\.temporalUpsample) == [false, true, true, false])
    }
}
