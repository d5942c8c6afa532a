import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// Parity of `CausalVideoDecoder` with diffusers 0.42.1 `AutoencoderKLHunyuanVideo.decode`.
@Suite struct VAEParityTests {
    static let cases: [(String, Int)] = [
        ("vae-tiny", 1), ("vae-tiny", 3), ("vae-tiny", 9), ("vae-tiny", 33),
        ("vae-c16", 1), ("vae-c16", 3), ("vae-c16", 9), ("vae-c16", 33),
    ]

    // MARK: Decode paths

    /// Untiled decode (`use_framewise_decoding = False`), including batch 2 (vae-tiny T=3).
    @Test(arguments: cases)
    func untiledDecodeMatchesDiffusers(fixture: String, frames: Int) throws {
        let f = try VAEFixture(fixture)
        let out = try f.decoder.decode(latents: try f.latents(frames: frames))
        expectClose(out, try #require(try f.expected("full", frames: frames)), tolerance: VAETolerance.parity)
    }

    /// diffusers' default decode: temporal tiles of 5 latent frames, stride 3, blended (§4.6);
    /// lengths ≤ 4 take the untiled path there too.
    @Test(arguments: cases)
    func tiledDecodeMatchesDiffusersDefault(fixture: String, frames: Int) throws {
        let f = try VAEFixture(fixture)
        let out = try f.decoder.decodeTiled(latents: try f.latents(frames: frames))
        let expected = try f.expected("tiled", frames: frames) ?? f.expected("full", frames: frames)
        expectClose(out, try #require(expected), tolerance: VAETolerance.parity)
    }

    // MARK: Configuration and loading

    @Test func configurationTakesDiffusersDefaultsForAbsentKeys() throws {
        let c = try JSONDecoder().decode(VAEConfiguration.self, from: Data(#"{"latent_channels": 4}"#.utf8))
        #expect(c.latentChannels == 4)
        #expect(c.blockOutChannels == [128, 256, 512, 512])
        #expect(c.layersPerBlock == 2 && c.normNumGroups == 32)
        #expect(c.scalingFactor == 0.476986)
        #expect(c.pixelFrames(latentFrames: 33) == 129)
    }

    @Test func invalidConfigurationNamesTheKey() throws {
        var c = VAEConfiguration()
        c.normNumGroups = 5
        #expect(throws: VAEError(.invalidConfiguration(key: "norm_num_groups",
                                                       reason: "5 groups do not divide 128 channels"),
                                 file: "x.json")) { try c.validate(file: "x.json") }
    }

    /// The loader reads every decoder tensor and rejects tensors it does not know
    /// (only `encoder.*` and `quant_conv.*` are ignored).
    @Test func loaderRejectsUnknownTensors() throws {
        let dir = try editedFixtureVAE("vae-tiny") { tensors in
            tensors.append((name: "decoder.extra.weight", tensor: Tensor(shape: [2], repeating: 1)))
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: SafeTensorsError.self) { try CausalVideoDecoder(directory: dir) }
    }

    /// Issue #16: a NaN weight went unnoticed and the video came out black with exit status 0.
    /// Loading refuses it, naming the file and the tensor (and where in it the NaN is).
    @Test func nonFiniteWeightIsRefusedWithFileAndKey() throws {
        let key = "decoder.up_blocks.1.resnets.0.conv1.conv.weight"
        var shape: [Int] = []
        let dir = try editedFixtureVAE("vae-tiny") { tensors in
            let i = try #require(tensors.firstIndex { $0.name == key })
            tensors[i].tensor.data[7] = .nan
            tensors[i].tensor.data[9] = -.infinity
            shape = tensors[i].tensor.shape
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values = NonFiniteValues(nanCount: 1, infiniteCount: 1, firstIndex: 7)
        #expect(throws: SafeTensorsError(.nonFinite(tensor: key, shape: shape, values: values),
                                         file: dir + "/diffusion_pytorch_model.safetensors")) {
            try CausalVideoDecoder(directory: dir)
        }
    }

    @Test func badLatentShapeIsATypedError() throws {
        let f = try VAEFixture("vae-tiny")
        #expect(throws: VAEError.self) { try f.decoder.decode(latents: Tensor(shape: [1, 2, 2, 2, 3])) }
    }
}
