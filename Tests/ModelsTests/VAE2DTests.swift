import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// A fixture image VAE and its recorded diffusers decodes (`Scripts/fixtures/make_vae2d_fixtures.py`).
struct VAE2DFixture {
    let decoder: AutoencoderKLDecoder
    let cases: SafeTensorsFile

    init(_ name: String) throws {
        let dir = TestPaths.fixture(name)
        decoder = try AutoencoderKLDecoder(directory: (dir as NSString).appendingPathComponent("vae"))
        cases = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent("cases.safetensors"))
    }

    /// `latents`, `unscaled` or `decoded` of case `index`, permuted from diffusers' channels-first
    /// `[B, C, H, W]` to ours `[B, H, W, C]`.
    func tensor(_ kind: String, case index: Int) throws -> Tensor {
        try cases.tensor("\(kind)_\(index)").permuted([0, 2, 3, 1])
    }
}

/// Tolerances for the 2-D VAE fixtures (outputs |x| ≲ 3, so absolute and relative agree).
enum VAE2DTolerance {
    /// Float32 Swift vs float32 diffusers (both on the same, possibly bf16-rounded, weights):
    /// the 3-D VAE's parity bar (`VAETolerance.parity`); what differs is only the summation
    /// order of convs (direct kernel vs oneDNN), GroupNorm (Float64 sums vs torch's Welford) and
    /// attention (online softmax), a few float32 ulps at each of some 30 layers. Measured up to
    /// 3.0e-6 (`decodeMatchesDiffusers`); replicate instead of zero padding errs by 1.3–2.9.
    static let parity: Float = 1e-4
    /// `latents / scaling_factor + shift_factor`: the same two float32 operations as PyTorch,
    /// so equal up to nothing; 1e-6 leaves room for a compiler contracting them into an FMA.
    static let unscale: Float = 1e-6
}

/// Parity of `AutoencoderKLDecoder` with diffusers 0.42.1 `AutoencoderKL.decode(z).sample`.
@Suite struct VAE2DTests {
    // MARK: Decode

    /// vae2d-flux: FLUX.1's layout (16 latent channels, 4 blocks, 2 layers, mid attention,
    /// conv_shortcut 16 → 8) on 6×5 and 3×4 latents; vae2d-pq-bf16: post_quant_conv, no mid
    /// attention, batch 2 (GroupNorm statistics per image), bfloat16 weights widened at load.
    /// Measured max abs error (x86-64, OpenBLAS, 2 threads): 3.0e-6 (flux 6×5), 2.8e-6 (flux 3×4),
    /// 1.1e-6 (pq-bf16), against outputs up to 3.9 in magnitude.
    @Test(arguments: [("vae2d-flux", 0), ("vae2d-flux", 1), ("vae2d-pq-bf16", 0)])
    func decodeMatchesDiffusers(fixture: String, index: Int) throws {
        let f = try VAE2DFixture(fixture)
        let out = try f.decoder.decode(latents: try f.tensor("unscaled", case: index))
        expectClose(out, try f.tensor("decoded", case: index), tolerance: VAE2DTolerance.parity)
    }

    /// FLUX.1's `latents / scaling_factor + shift_factor` (vae2d-flux, 0.3611 and 0.1159) and
    /// the plain `latents / scaling_factor` without a shift (vae2d-pq-bf16), as the pipeline
    /// applies them before `vae.decode`.
    @Test(arguments: ["vae2d-flux", "vae2d-pq-bf16"])
    func unscaledLatentsMatchThePipeline(fixture: String) throws {
        let f = try VAE2DFixture(fixture)
        let latents = try f.tensor("latents", case: 0)
        let unscaled = f.decoder.configuration.unscaledLatents(latents)
        expectClose(unscaled, try f.tensor("unscaled", case: 0), tolerance: VAE2DTolerance.unscale)
        #expect(latents.maxAbsDifference(unscaled) > 1)  // the fixture values move, so a no-op fails
    }

    @Test func badLatentShapeIsATypedError() throws {
        let f = try VAE2DFixture("vae2d-pq-bf16")
        #expect(throws: VAEError(.badLatents(expected: "[B, h, w, 4] with all extents > 0", found: [1, 2, 2, 16]),
                                 file: "latents")) {
            try f.decoder.decode(latents: Tensor(shape: [1, 2, 2, 16]))
        }
    }

    // MARK: Configuration and loading

    @Test func configurationTakesDiffusersDefaultsForAbsentKeys() throws {
        let c = try JSONDecoder().decode(AutoencoderKLConfiguration.self,
                                         from: Data(#"{"latent_channels": 16, "shift_factor": null}"#.utf8))
        #expect(c.latentChannels == 16 && c.blockOutChannels == [64] && c.layersPerBlock == 1)
        #expect(c.normNumGroups == 32 && c.scalingFactor == 0.18215 && c.shiftFactor == nil)
        #expect(c.useQuantConv && c.usePostQuantConv && c.midBlockAddAttention)
        #expect(c.upBlockTypes == ["UpDecoderBlock2D"] && c.spatialCompressionRatio == 1)
    }

    /// The fixture's config.json as diffusers wrote it (FLUX.1's keys, tiny widths).
    @Test func configurationReadsTheFluxKeys() throws {
        let c = try VAE2DFixture("vae2d-flux").decoder.configuration
        #expect(c.latentChannels == 16 && c.blockOutChannels == [8, 16, 16, 16] && c.layersPerBlock == 2)
        #expect(c.scalingFactor == 0.3611 && c.shiftFactor == 0.1159)
        #expect(!c.useQuantConv && !c.usePostQuantConv && c.spatialCompressionRatio == 8)
        #expect(c.upBlockLayouts == [.init(inChannels: 16, outChannels: 16, upsamples: true),
                                     .init(inChannels: 16, outChannels: 16, upsamples: true),
                                     .init(inChannels: 16, outChannels: 16, upsamples: true),
                                     .init(inChannels: 16, outChannels: 8, upsamples: false)])
    }

    @Test func invalidConfigurationNamesTheKey() throws {
        var c = AutoencoderKLConfiguration()
        c.upBlockTypes = ["AttnUpDecoderBlock2D"]
        #expect(throws: VAEError(.invalidConfiguration(key: "up_block_types",
                                                       reason: "unsupported block 'AttnUpDecoderBlock2D' (only UpDecoderBlock2D)"),
                                 file: "x.json")) { try c.validate(file: "x.json") }
    }

    @Test func missingTensorIsNamed() throws {
        let key = "decoder.up_blocks.0.upsamplers.0.conv.weight"
        let dir = try editedFixtureVAE("vae2d-flux") { $0.removeAll { $0.name == key } }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: SafeTensorsError(.missingTensor(key: key), file: dir)) {
            try AutoencoderKLDecoder(directory: dir)
        }
    }

    /// A 3×3 `conv_shortcut` where diffusers' `ResnetBlock2D` has a 1×1 one.
    @Test func misShapedTensorIsNamedWithBothShapes() throws {
        let key = "decoder.up_blocks.3.resnets.0.conv_shortcut.weight"
        let dir = try editedFixtureVAE("vae2d-flux") { tensors in
            let i = try #require(tensors.firstIndex { $0.name == key })
            tensors[i].tensor = Tensor(shape: [8, 16, 3, 3], repeating: 0.1)
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: SafeTensorsError(.shapeMismatch(key: key, expected: [8, 16, 1, 1], found: [8, 16, 3, 3]),
                                         file: dir)) {
            try AutoencoderKLDecoder(directory: dir)
        }
    }

    /// A `post_quant_conv` in the file of a config with `use_post_quant_conv` false is not read,
    /// so loading refuses it rather than silently decoding without it.
    @Test func unusedPostQuantConvIsRefused() throws {
        let dir = try editedFixtureVAE("vae2d-flux") { tensors in
            tensors.append((name: "post_quant_conv.weight", tensor: Tensor(shape: [16, 16, 1, 1], repeating: 0)))
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: SafeTensorsError(.unexpectedTensors(keys: ["post_quant_conv.weight"]), file: dir)) {
            try AutoencoderKLDecoder(directory: dir)
        }
    }

    // MARK: Memory estimate

    /// FLUX.1 (`black-forest-labs/FLUX.1-dev` vae/config.json: 16 latent channels, widths
    /// 128/256/512/512, 2 layers per block, no quant convs).
    static let flux: AutoencoderKLConfiguration = {
        var c = AutoencoderKLConfiguration()
        (c.latentChannels, c.blockOutChannels, c.layersPerBlock) = (16, [128, 256, 512, 512], 2)
        (c.upBlockTypes, c.useQuantConv, c.usePostQuantConv) = (Array(repeating: "UpDecoderBlock2D", count: 4), false, false)
        (c.scalingFactor, c.shiftFactor) = (0.3611, 0.1159)
        return c
    }()

    /// 1024² (latents 128², P₀ = 16,384 pixels), in floats per P₀: conv_in 528; mid resnets
    /// 1536; attention 6·512 + its K/V copy 2·512 = 4096 plus 2 workers' tiles
    /// 2·(256·4096 + 256·512 + 768) = 2,360,832; up block 0: resnets 1536, upsampler 2·4·512 =
    /// 4096; block 1 at 4P₀: 6144, 16,384; block 2 at 16P₀: 512 → 256 resnet 16·1280 = 20,480,
    /// upsampler 2·64·256 = 32,768; block 3 at 64P₀: 256 → 128 resnet 64·640 = 40,960 (the
    /// peak: 671,088,640 floats), 128 → 128 resnets 64·384; conv_norm_out/conv_out 64·131.
    /// Plus the output, 3·1024² = 3,145,728. Total 674,234,368 floats, 2.51 GiB.
    @Test func fluxDecodeAt1024() {
        #expect(Self.flux.decodeActivationBytes(batch: 1, latentHeight: 128, latentWidth: 128, workers: 2)
                == 674_234_368 * 4)
    }

    /// FLUX.1's VAE as loaded from its BF16 file (issue #18): of 83,819,683 parameters (encoder
    /// included, as the file holds them), 81,656,576 are conv kernels, kept at 2 bytes a weight;
    /// the other 2,163,107 (two mid-block attentions' projections, 2·4·(512² + 512) = 2,101,248,
    /// biases and norms) are widened to Float32: 167,639,366 + 8,652,428 = 176,291,794 bytes
    /// resident (6 bytes a weight before, 502,918,098). A conv call widens at most one kernel, the
    /// mid block's 512 → 512 3×3: 9 · 512 · 512 floats (9 MiB).
    @Test func fluxKernelsAndTheirWidenedScratch() {
        #expect(Self.flux.parameterCount == 83_819_683)
        #expect(Self.flux.convolutionKernelCount == 81_656_576)
        #expect(Self.flux.widenedKernelBytes == 9 * 512 * 512 * 4)
    }

    /// Items are decoded one at a time, so a second image adds only its output; at a small size
    /// the attention (mid block, 8² latents: 6·64·512 + scratch 65,536 + 2·(256·64 + 256·512 +
    /// 768) = 558,592 floats) stays below the last resnet (640·64² = 2,621,440).
    @Test func batchAddsOnlyItsOutput() {
        let one = Self.flux.decodeActivationBytes(batch: 1, latentHeight: 8, latentWidth: 8, workers: 2)
        let two = Self.flux.decodeActivationBytes(batch: 2, latentHeight: 8, latentWidth: 8, workers: 2)
        #expect(one == (2_621_440 + 3 * 64 * 64) * 4)
        #expect(two - one == 3 * 64 * 64 * 4)
    }
}
