import Foundation
import Media
import TestSupport
import Testing

/// `bottleneck generate` on a FLUX.1 folder (the tiny random-weight pipeline of
/// `Scripts/fixtures/make_flux_pipeline.py`): one PNG of the requested size, under standard
/// sampling and under the paper's FLUX plan, and the refusals before anything loads.
@Suite struct FluxEndToEndTests {
    static let pipeline = ["--pipeline", TestPaths.fixture("flux-pipeline-tiny"), "--threads", "2"]

    /// The image decodes back at the requested size, for standard sampling (64×48) and for
    /// `--bottleneck flux` (paper Table 4: 6 + 20 + 8 steps, 1024 → 512 → 1024 scaled to 64 → 32
    /// → 64 pixels, latents 8 → 4 → 8, even for packing).
    @Test(arguments: [(["--size", "64x48", "--steps", "3", "--bottleneck", "off"], 64, 48),
                      (["--size", "64x64", "--bottleneck", "flux"], 64, 64)])
    func generateWritesOnePNG(options: [String], width: Int, height: Int) throws {
        let dir = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CLI.succeed(["generate", "a red fox", "-o", "fox.png", "--seed", "3"] + options + Self.pipeline,
                        in: dir, tag: "flux")
        let frames = try VideoReader(path: dir + "/fox.png").readAll()
        #expect(frames.count == 1 && frames[0].width == width && frames[0].height == height)
    }

    /// A size that is not a multiple of 16 is refused naming the option (exit 64).
    @Test func sizeNotDivisibleBy16IsRefused() throws {
        let dir = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["generate", "a fox", "-o", "x.png", "--width", "40", "--height", "48"] + Self.pipeline,
                                 in: dir, tag: "size")
        #expect(result.status == 64)
        #expect(result.stderr.contains("'--width <px>': must be a multiple of 16"))
    }

    /// A FLUX folder without its `vae/` is refused naming model_index.json and the component.
    @Test func missingComponentFolderIsRefused() throws {
        let dir = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: TestPaths.fixture("flux-pipeline-tiny"), toPath: dir + "/flux")
        try FileManager.default.removeItem(atPath: dir + "/flux/vae")
        let result = try CLI.run(["generate", "a fox", "-o", "x.png", "--size", "64x64", "--pipeline", dir + "/flux"],
                                 in: dir, tag: "missing")
        #expect(result.status != 0)
        #expect(result.stderr.contains("flux/model_index.json: component \"vae\": folder"))
    }
}
