import Bottleneck
import Foundation
import Media
import Testing

/// Issue #16, as a user meets it: checks that used to come after the expensive work (after
/// denoising, for a batch after every item) now come before any model loads, and a batch
/// folder is written by one batch at a time and resumed only with outputs that still match.
@Suite(.serialized) struct BatchIntegrityEndToEndTests {
    /// Runs `bottleneck args…` (with the small settings) in a fresh folder holding `plan.json`,
    /// a plan that ends at half resolution in `half.json`, and `files`.
    func run(_ args: [String], files: [String: String] = [:], tag: String) throws -> (CLI.Result, folder: String) {
        let folder = try CLI.makeFolder()
        try #"{"base_shift": 7, "stages": [{"scale": 1, "shift": 7, "steps": 1, "strength": 1}, "#
            .appending(#"{"scale": 0.5, "shift": 7, "steps": 1, "strength": 0.8}]}"#)
            .write(toFile: folder + "/half.json", atomically: true, encoding: .utf8)
        for (name, text) in files { try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8) }
        return (try CLI.run(args + ["--progress", "json"] + CLI.small, in: folder, tag: tag), folder)
    }

    // MARK: Before the models load

    /// `-o` into a folder that does not exist: exit 64 naming the option and the folder.
    /// Before: the run denoised and decoded, then failed in the muxer with exit 1.
    @Test func generateIntoAMissingFolder() throws {
        let (r, folder) = try run(["generate", "a red ball", "-o", "missing/out.mp4", "--steps", "2",
                                   "--bottleneck", "off"], tag: "missing")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(r.status == 64)
        #expect(r.stderr.contains("--output: missing/out.mp4: cannot write output: the folder missing does not exist"),
                "\(r.stderr)")
        #expect(!r.stderr.contains("prompt_encoded"), "it failed after the models loaded")
    }

    /// A plan file whose last stage is at half resolution: exit 64 saying to end it at scale 1.
    /// Before: "frame 0 is 16x16 but the stream is 32x32" from the muxer, after denoising.
    @Test func generateWithAPlanEndingBelowFullSize() throws {
        let (r, folder) = try run(["generate", "a red ball", "-o", "out.mp4", "--bottleneck", "half.json"], tag: "half")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(r.status == 64)
        #expect(r.stderr.contains("--bottleneck half.json at 9 frames of 32×32, 2 steps: the last stage (1) runs at "
                                  + "3×2×2 latent cells, not the full 3×4×4"), "\(r.stderr)")
        #expect(!r.stderr.contains("prompt_encoded"), "it failed after the models loaded")
    }

    /// A name template with a subfolder: exit 64 while the command line is read. Before: every
    /// item failed in the muxer after being denoised.
    @Test func batchTemplateWithASubfolder() throws {
        let (r, folder) = try run(["batch", "p.txt", "-o", "out", "--name-template", "sub/{index}.mp4", "--steps", "2",
                                   "--bottleneck", "off"], files: ["p.txt": "a red ball\n"], tag: "template")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(r.status == 64)
        #expect(r.stderr.contains("names are files directly in the output folder (no '/')"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))
    }

    /// Items whose plan cannot serve their size, or ends below full size, or that this machine
    /// cannot hold (the largest size accepted), are skipped (and recorded so) before any model
    /// loads. Before: each failed at its denoise stage, the last with "failed to allocate",
    /// which killed the batch (exit 134).
    @Test func batchItemsWhosePlanCannotRun() throws {
        let lines = #"{"prompt": "a red ball", "steps": 3, "bottleneck": "x2"}"# + "\n"
            + #"{"prompt": "a blue cube", "bottleneck": "half.json"}"# + "\n"
            + #"{"prompt": "a huge sky", "frames": 1033, "width": 4096, "height": 4096, "bottleneck": "off"}"# + "\n"
        let (r, folder) = try run(["batch", "p.jsonl", "-o", "out", "--seed", "1"], files: ["p.jsonl": lines], tag: "items")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(r.status == 1)
        #expect(r.stderr.contains("p.jsonl:1: bottleneck x2 at 9 frames of 32×32, 3 steps"), "\(r.stderr)")
        #expect(r.stderr.contains("p.jsonl:2: bottleneck half.json at 9 frames of 32×32, 2 steps: the last stage"))
        #expect(r.stderr.contains("p.jsonl:3: 1033 frames at 4096×4096 would need about"), "\(r.stderr)")
        #expect(!r.stderr.contains("prompt_encoded"), "the models were loaded")
        let records = try ManifestReader.read(path: folder + "/out/manifest.jsonl").records
        #expect(records.filter { $0.status == .skipped }.compactMap(\.line) == [1, 2, 3])
    }

    /// `--verbose` states each item's memory estimate before any model loads, as `generate` does
    /// for its one request (it printed none before).
    @Test func batchVerboseStatesEachItemsEstimate() throws {
        let (r, folder) = try run(["batch", "p.txt", "-o", "out", "--seed", "1", "--steps", "2", "--bottleneck", "off", "--verbose"],
                                  files: ["p.txt": "a red ball\na blue cube\n"], tag: "verbose")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(r.status == 0, "\(r.stderr)")
        for line in [1, 2] {
            #expect(r.stderr.contains("line \(line): estimated peak memory "), "\(r.stderr)")
        }
    }

    /// A second batch on a folder another batch holds is refused at once, naming the folder and
    /// the holder's pid (this test process holds it). Before: both ran, and a `--resume` of
    /// the second deleted the first one's partial file.
    @Test func batchOnAFolderInUse() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: false)
        try "a red ball\n".write(toFile: folder + "/p.txt", atomically: true, encoding: .utf8)
        let lock = try BatchFolderLock(folder: folder + "/out")
        let r = try CLI.run(["batch", "p.txt", "-o", "out", "--resume", "--steps", "2", "--bottleneck", "off"] + CLI.small,
                            in: folder, tag: "busy")
        withExtendedLifetime(lock) {}
        #expect(r.status == 1)
        #expect(r.stderr == "bottleneck: error: out: another batch is writing to this folder (pid \(getpid())); "
                + "let it finish (then --resume), or give this one another output folder\n", "\(r.stderr)")
    }

    // MARK: Resume

    /// A finished video cut short afterwards is made again by `--resume` (with a warning that
    /// says why), and the one after that finds it done. Before: it was kept as done.
    @Test func resumeRedoesATruncatedVideo() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "a red ball\n".write(toFile: folder + "/p.txt", atomically: true, encoding: .utf8)
        let arguments = ["batch", "p.txt", "-o", "out", "--seed", "4", "--steps", "2", "--bottleneck", "off",
                         "--progress", "none"] + CLI.small
        try CLI.succeed(arguments, in: folder, tag: "first")
        let done = try #require(try ManifestReader.read(path: folder + "/out/manifest.jsonl").records.last)
        let name = try #require(done.output)
        #expect(!name.contains("/"), "the manifest records the file name")
        let path = "\(folder)/out/\(name)"
        let bytes = try #require(done.bytes)
        try #require(truncate(path, off_t(bytes / 2)) == 0)

        let resumed = try CLI.succeed(arguments + ["--resume"], in: folder, tag: "resumed")
        #expect(resumed.stderr.contains("bottleneck: warning: item 0: \(name) is recorded done but the file has "
                                        + "\(bytes / 2) bytes, the manifest recorded \(bytes)"), "\(resumed.stderr)")
        #expect(try decodeAll(path).count == 9)
        let again = try CLI.succeed(arguments + ["--resume"], in: folder, tag: "again")
        #expect(again.stderr.contains("0 to generate, 1 already done"), "\(again.stderr)")
    }
}
