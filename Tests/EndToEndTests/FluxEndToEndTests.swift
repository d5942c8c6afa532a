import Bottleneck
import Foundation
import Media
import TestSupport
import Testing

/// `bottleneck generate` and `batch` on a FLUX.1 folder (the tiny random-weight pipeline of
/// `Scripts/fixtures/make_flux_pipeline.py`): one PNG of the requested size, under standard
/// sampling and under the paper's FLUX plan, a batch of PNGs, and the refusals before anything
/// loads.
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

    /// `--guidance` on a transformer without a guidance embedder (FLUX.1-schnell: the fixture with
    /// `guidance_embeds` false) is refused by `generate` and `batch` alike, before anything loads
    /// (exit 64), rather than ignored; without the flag the check passes.
    @Test func guidanceOnSchnellIsRefused() throws {
        let dir = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: TestPaths.fixture("flux-pipeline-tiny"), toPath: dir + "/schnell")
        let config = dir + "/schnell/transformer/config.json"
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        object["guidance_embeds"] = false
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: config))
        try Data("{\"prompt\": \"a fox\"}\n".utf8).write(to: URL(fileURLWithPath: dir + "/p.jsonl"))
        let pipeline = ["--pipeline", dir + "/schnell", "--size", "32x32", "--guidance", "2"]
        for (tag, arguments) in [("generate", ["generate", "a fox", "-o", "x.png"]), ("batch", ["batch", "p.jsonl", "-o", "out"])] {
            let result = try CLI.run(arguments + pipeline, in: dir, tag: tag)
            #expect(result.status == 64, "\(tag): \(result.stderr)")
            #expect(result.stderr.contains("--guidance: this FLUX.1 transformer has no guidance embedder"), "\(tag): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out/manifest.jsonl"))
    }

    // MARK: batch

    /// Issue #18: `batch` on a FLUX folder took the video defaults (129 frames), so every line
    /// was skipped. Now it takes the folder's, as `generate` does: one PNG per line named by the
    /// template with `.png`, byte for byte what `generate` writes for the same prompt, seed,
    /// size and steps; a line asking for 9 frames is skipped naming its line; the manifest
    /// records the two done, and a second run (`--resume`) makes nothing again.
    @Test func batchWritesOnePNGPerLineAsGenerateDoes() throws {
        let dir = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            {"prompt": "a red fox"}
            {"prompt": "a blue bird", "seed": 3}
            {"prompt": "a green frog", "frames": 9}

            """.write(toFile: dir + "/p.jsonl", atomically: true, encoding: .utf8)
        let small = ["--size", "32x32", "--steps", "2", "--bottleneck", "off", "--progress", "none"] + Self.pipeline
        let arguments = ["batch", "p.jsonl", "-o", "out", "--seed", "1"] + small
        let first = try CLI.run(arguments, in: dir, tag: "batch")
        #expect(first.status == 1, "line 3 is skipped: \(first.stderr)")
        #expect(first.stderr.contains("p.jsonl:3: frames 9: a FluxPipeline folder makes one image; "
                                      + "leave frames out or give 1 (skipped)"))
        #expect(first.stderr.contains("2 to generate, 0 already done, 1 skipped"))

        // 1. Two PNGs of 32×32, named {index:04}_{seed}_{slug}.png.
        let fox = "0000_\(SeedDerivation.seed(base: 1, index: 0))_a-red-fox.png", bird = "0001_3_a-blue-bird.png"
        let out = dir + "/out"
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
            .filter { !$0.hasPrefix(".") && $0 != BatchFolder.manifestName }
        #expect(Set(files) == [fox, bird])
        var modified: [String: Date] = [:]
        for name in [fox, bird] {
            let bytes = try #require(FileManager.default.contents(atPath: "\(out)/\(name)"))
            #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name) is not a PNG")
            let frames = try VideoReader(path: "\(out)/\(name)").readAll()
            #expect(frames.count == 1 && frames.first?.width == 32 && frames.first?.height == 32)
            let attributes = try FileManager.default.attributesOfItem(atPath: "\(out)/\(name)")
            modified[name] = attributes[.modificationDate] as? Date
        }

        // 2. The manifest: both done under their names, line 3 skipped.
        let manifest = out + "/" + BatchFolder.manifestName
        let records = try ManifestReader.read(path: manifest).records
        #expect(records.filter { $0.status == .done }.compactMap(\.output).sorted() == [fox, bird])
        #expect(records.filter { $0.status == .skipped }.map(\.line) == [3])

        // 3. Resumed: nothing made again, the files untouched, no new record of them.
        let second = try CLI.run(arguments + ["--resume"], in: dir, tag: "resume")
        #expect(second.status == 1)
        #expect(second.stderr.contains("0 to generate, 2 already done, 1 skipped"))
        #expect(second.stderr.contains("done 0, failed 0, skipped 1, already done 2"))
        #expect(try ManifestReader.read(path: manifest).records.filter { $0.status == .done }.count == 2)
        for (name, date) in modified {
            let now = try FileManager.default.attributesOfItem(atPath: "\(out)/\(name)")[.modificationDate] as? Date
            #expect(now == date, "\(name) was rewritten by the resume")
        }

        // 4. `generate` with the item's prompt and seed, under its default name {seed}_{slug}.png.
        let seed = SeedDerivation.seed(base: 1, index: 0)
        try CLI.succeed(["generate", "a red fox", "--seed", "\(seed)"] + small, in: dir, tag: "generate")
        let generated = FileManager.default.contents(atPath: "\(dir)/\(seed)_a-red-fox.png")
        #expect(generated != nil && generated == FileManager.default.contents(atPath: "\(out)/\(fox)"),
                "generate and batch wrote different bytes")
    }
}
