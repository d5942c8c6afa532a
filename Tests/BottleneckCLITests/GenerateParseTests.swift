import ArgumentParser
import Foundation
import Testing
@testable import BottleneckCLI
@testable import Pipeline
import Sampling

/// Command-line parsing: option groups → `GenerationRequest`, aliases, presets, and the
/// validation messages users see.
@Suite struct GenerateParseTests {
    func request(_ args: [String]) throws -> GenerationRequest {
        try Bottleneck.Generate.parse(args).request()
    }

    /// The message a user would see for `args`, or nil if they parse.
    func failure(_ args: [String], _ command: any ParsableCommand.Type = Bottleneck.self) -> String? {
        do {
            _ = try command.parseAsRoot(args)
            return nil
        } catch {
            return command.message(for: error)
        }
    }

    // MARK: Defaults and aliases

    @Test func defaultsAndGeneratedName() throws {
        let r = try request(["a red fox"])
        #expect(r.frames == 129 && r.width == 128 && r.height == 128 && r.steps == 50)
        #expect(r.bottleneck == .x2 && r.fps == 24 && r.crf == 18)
        let seed = try #require(r.seed)
        #expect(r.output == .file("\(seed)_a-red-fox.mp4"))
    }

    @Test func officialCLIAliases() throws {
        let r = try request(["fox", "--video-length", "33", "--infer-steps", "12", "--guidance-scale", "4.5",
                             "--neg-prompt", "blur", "--base-seed", "9", "--save-path", "f.mkv"])
        #expect(r.frames == 33 && r.steps == 12 && r.cfgScale == 4.5 && r.negativePrompt == "blur" && r.seed == 9)
        #expect(r.output == .file("f.mkv"))
        let w = try request(["fox", "--frame-num", "17", "--sample-steps", "8", "--sample-guide-scale", "3", "-o", "a.mp4"])
        #expect(w.frames == 17 && w.steps == 8 && w.cfgScale == 3)
    }

    @Test func sizeAndStdout() throws {
        let r = try request(["fox", "--size", "64x48", "-o", "-", "--format", "y4m", "--crf", "20", "--fps", "12"])
        #expect(r.width == 64 && r.height == 48)
        #expect(r.output == .stdout && r.format == .y4m && r.crf == 20 && r.fps == 12)
    }

    /// A preset fills steps and bottleneck; explicit flags win over it.
    @Test func presetThenExplicitFlags() throws {
        let draft = try request(["fox", "--preset", "draft", "-o", "a.mp4"])
        #expect(draft.steps == 30 && draft.bottleneck == .x3)
        let mixed = try request(["fox", "--preset", "draft", "--steps", "40", "--bottleneck", "off", "-o", "a.mp4"])
        #expect(mixed.steps == 40 && mixed.bottleneck == .off)
        let plan = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: plan) }
        try BottleneckPlan.standard(steps: 10, shift: 7).write(to: plan)
        let file = try request(["fox", "--bottleneck", plan.path, "-o", "a.mp4"])
        #expect(file.bottleneck == .file(plan.path))
    }

    /// A plan file that is missing or not a plan fails while parsing, naming the file, before
    /// any model loads.
    @Test func badPlanFileFailsUpFront() throws {
        let missing = "/nonexistent/plan-\(UUID().uuidString).json"
        let message = try #require(failure(["generate", "fox", "--bottleneck", missing]))
        #expect(message.contains("--bottleneck") && message.contains(missing))
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: bad) }
        try Data("{\"stages\": 3}".utf8).write(to: bad)
        let badMessage = try #require(failure(["batch", "prompts.txt", "-o", "out", "--bottleneck", bad.path]))
        #expect(badMessage.contains(bad.path))
    }

    /// Issue #16: the name generated when -o is not given is checked against the side outputs
    /// too (`{seed}_{slug}.mp4`), so `--save-latents` cannot silently take the video's file.
    @Test func generatedNameMayNotBeASideOutput() throws {
        let message = try #require(failure(["generate", "a fox", "--seed", "7", "--save-latents", "7_a-fox.mp4"]))
        #expect(message.contains("--output and --save-latents both write 7_a-fox.mp4"), "\(message)")
    }

    @Test func sideOutputs() throws {
        let r = try request(["fox", "-o", "a.mp4", "--save-latents", "a.safetensors", "--preview", "p.png", "--preview-every", "3", "--threads", "2"])
        #expect(r.saveLatentsPath == "a.safetensors")
        #expect(r.preview == PreviewSettings(path: "p.png", every: 3))
        #expect(r.threads == 2)
    }

    // MARK: Validation messages

    @Test func validationErrorsSayWhatToChange() {
        #expect(failure(["generate", "fox", "--frames", "130"])?.contains("use 129 or 133") == true)
        #expect(failure(["generate", "fox", "--width", "100"])?.contains("use 96 or 112") == true)
        #expect(failure(["generate", "fox", "-o", "-"])?.contains("--format") == true)
        #expect(failure(["generate", "fox", "-o", "a.avi"])?.contains("cannot tell the container") == true)
        #expect(failure(["generate", "fox", "--bottleneck", "x4"])?.contains("x2.5") == true)
        #expect(failure(["generate", "fox", "--size", "64"])?.contains("WIDTHxHEIGHT") == true)
        #expect(failure(["generate", "fox", "--size", "64x64", "--width", "64"])?.contains("either --size") == true)
        #expect(failure(["generate", "fox", "--preview-every", "2"])?.contains("--preview FILE") == true)
        #expect(failure(["generate", "fox", "-q", "-v"])?.contains("exclude") == true)
        #expect(failure(["generate", "fox", "--threads", "0"])?.contains("--threads") == true)
        #expect(failure(["generate", "fox", "--preset", "fast"]) != nil)
        #expect(failure(["generate", "fox", "--steps", "2"])?.contains("at least 3 steps") == true)
        #expect(failure(["generate", "fox", "--progress", "json", "--steps", "2", "--bottleneck", "off", "-o", "a.mp4"]) == nil)
    }

    // MARK: Batch

    @Test func batchOptions() throws {
        let b = try Bottleneck.Batch.parse(["p.txt", "-o", "out", "--resume", "--shard", "2/3", "--seed", "5",
                                            "--name-template", "{hash}_{index}.webm", "--queue-capacity", "4"])
        #expect(b.shard == (try Shard(number: 2, count: 3)))
        #expect(b.resume && b.queueCapacity == 4)
        #expect(try b.baseRequest().output == .file("\(NameTemplate.promptHash("probe").prefix(8))_0.webm"))
    }

    @Test func batchValidation() {
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "0/3", "--seed", "1"], Bottleneck.self)?.contains("1-based") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "1/3"], Bottleneck.self)?.contains("--seed") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--name-template", "{what}.mp4"], Bottleneck.self)?.contains("unknown token") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--name-template", "same.mp4"], Bottleneck.self)?.contains("same name") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--queue-capacity", "0"], Bottleneck.self)?.contains("queue-capacity") == true)
        #expect(failure(["batch", "p.txt"], Bottleneck.self) != nil)
    }

    /// `bench batch` forwards only the settings that were given, to both kinds of child, and
    /// rejects settings a child would reject before running anything.
    @Test func benchBatchOptions() throws {
        let b = try Bottleneck.Bench.Batch.parse(["--count", "3", "--short-batch", "2", "--frames", "9", "--steps", "4",
                                                  "--bottleneck", "off"])
        #expect(b.sharedArguments == ["--progress", "none", "--quiet", "--frames", "9", "--steps", "4",
                                      "--bottleneck", "off"])
        #expect(try b.request(prompt: "x").frames == 9)
        #expect(failure(["bench", "batch", "--count", "2", "--short-batch", "2"])?.contains("--short-batch") == true)
        #expect(failure(["bench", "batch", "--frames", "10"])?.contains("4k+1") == true)
        #expect(failure(["bench", "batch", "--bottleneck", "x4"])?.contains("x2.5") == true)
    }

    // MARK: Rendering and folders

    @Test func jsonProgressLines() throws {
        let step = GenerationEvent.step(item: 2, StepProgress(index: 4, count: 50, stage: 1, latentSize: [33, 8, 8], sigma: 0.5, seconds: 1.25))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ProgressRenderer.json(step).utf8)) as? [String: Any])
        #expect(object["event"] as? String == "step")
        #expect(object["item"] as? Int == 2)
        #expect(object["index"] as? Int == 4)
        #expect(object["latent_size"] as? [Int] == [33, 8, 8])
        #expect(object["sigma"] as? Double == 0.5)
        let done = ProgressRenderer.json(.finished(item: 0, output: OutputSummary(destination: "a.mp4", bytes: 10, frames: 9),
                                                   timings: StageTimings(encode: 1, denoise: 2, decode: 3, total: 6)))
        #expect(done.contains("\"event\":\"finished\"") && done.contains("\"bytes\":10"))
        #expect(!done.contains("\n"))
    }

    @Test func pipelineFolderSearchOrder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)").path
        let embedded = "\(root)/pipelines/shapes"
        try FileManager.default.createDirectory(atPath: embedded, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(root)/bin", withIntermediateDirectories: true)
        // Next to the executable (one level up from bin/).
        let found = try PipelineFolder.locate(explicit: nil, environment: [:], executable: "\(root)/bin/bottleneck",
                                              currentDirectory: "/nonexistent")
        #expect(found.path.hasSuffix("pipelines/shapes"))
        // The environment wins over the executable's neighbourhood.
        let env = try PipelineFolder.locate(explicit: nil, environment: ["BOTTLENECK_PIPELINE": root],
                                            executable: "\(root)/bin/bottleneck", currentDirectory: "/")
        #expect(env.path == root)
        #expect(throws: PipelineFolderError.self) { try PipelineFolder.locate(explicit: "\(root)/nope") }
        #expect(throws: PipelineFolderError.self) {
            try PipelineFolder.locate(explicit: nil, environment: [:], executable: "/x/y/z", currentDirectory: "/")
        }
    }
}
