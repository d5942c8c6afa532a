import Foundation
import SafeTensors
import Testing
import Tensor
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
        let source = (fixtureDirectory("vae-tiny") as NSString).appendingPathComponent("vae")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vae-load-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir + "/config.json")
        let archive = try WeightArchive(directory: source, baseName: "diffusion_pytorch_model")
        var tensors = try archive.keys.map { (name: $0, tensor: try archive.tensor($0)) }
        tensors.append((name: "decoder.extra.weight", tensor: Tensor(shape: [2], repeating: 1)))
        try SafeTensorsWriter.write(tensors, to: dir + "/diffusion_pytorch_model.safetensors")
        #expect(throws: SafeTensorsError.self) { try CausalVideoDecoder(directory: dir) }
    }

    @Test func badLatentShapeIsATypedError() throws {
        let f = try VAEFixture("vae-tiny")
        #expect(throws: VAEError.self) { try f.decoder.decode(latents: Tensor(shape: [1, 2, 2, 2, 3])) }
    }
}
