import TestSupport
import ArgumentParser
import Foundation
import Testing
@testable import BottleneckCLI
@testable import Bottleneck
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
        #expect(r.bottleneck == .preset(.x2) && r.fps == 24 && r.crf == 18)
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
        #expect(draft.steps == 30 && draft.bottleneck == .preset(.x3))
        let mixed = try request(["fox", "--preset", "draft", "--steps", "40", "--bottleneck", "off", "-o", "a.mp4"])
        #expect(mixed.steps == 40 && mixed.bottleneck == .preset(.off))
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

    // MARK: Bounds

    /// Issue #16: "--steps -5" said "Missing value for '--steps <n>'" (ArgumentParser took -5
    /// for a flag) and a number too large for an integer only "is invalid". Every numeric
    /// option of generate, decode, batch and plan is checked while parsing; the message names
    /// the option, its bound and the nearest allowed value.
    @Test(arguments: [
        (["generate", "fox", "--steps", "-5"], "'-5' is invalid for '--steps <n>': must be an integer between 1 and 1000; use 1"),
        (["generate", "fox", "--frames", "-5"], "'--frames <n>': must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); use 1"),
        (["generate", "fox", "--frames", "99999"], "'--frames <n>': must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); use 1033"),
        (["generate", "fox", "--width", "-16"], "'--width <px>': must be a multiple of 16 between 16 and 4096 (VAE factor 8 × patch 2); use 16"),
        (["generate", "fox", "--height", "5000"], "'--height <px>': must be a multiple of 16 between 16 and 4096 (VAE factor 8 × patch 2); use 4096"),
        (["generate", "fox", "--size", "100000x100000"], "width must be a multiple of 16 between 16 and 4096 (VAE factor 8 × patch 2); got 100000, use 4096"),
        (["generate", "fox", "--size", "64x-16"], "height must be a multiple of 16 between 16 and 4096 (VAE factor 8 × patch 2); got -16, use 16"),
        (["generate", "fox", "--cfg", "-1"], "'--cfg <scale>': must be a number between 0 and 100; use 0"),
        (["generate", "fox", "--seed", "-1"], "'--seed <n>': must be an integer between 0 and 18446744073709551615; use 0"),
        (["generate", "fox", "--steps", "99999999999999999999"], "'--steps <n>': must be an integer between 1 and 1000; use 1000"),
        (["generate", "fox", "--fps", "-24"], "'--fps <n>': must be an integer between 1 and 240; use 1"),
        (["generate", "fox", "--crf", "-1"], "'--crf <n>': must be an integer between 0 and 51 (0 is lossless, 18 keeps detail); use 0"),
        (["generate", "fox", "--threads", "-2"], "'--threads <n>': must be an integer between 1 and 256; use 1"),
        (["generate", "fox", "--preview", "p.png", "--preview-every", "-1"], "'--preview-every <n>': must be an integer between 1 and 1000; use 1"),
        (["decode", "l.safetensors", "-o", "a.mp4", "--fps", "-3"], "'--fps <n>': must be an integer between 1 and 240; use 1"),
        (["decode", "l.safetensors", "-o", "a.mp4", "--threads", "999"], "'--threads <n>': must be an integer between 1 and 256; use 256"),
        (["batch", "p.txt", "-o", "o", "--lanes", "-1"], "'--lanes <n>': must be an integer between 1 and 8; use 1"),
        (["batch", "p.txt", "-o", "o", "--queue-capacity", "-1"], "'--queue-capacity <n>': must be an integer between 1 and 64; use 1"),
        (["batch", "p.txt", "-o", "o", "--seed", "1", "--shard", "1/-3"], "N must be an integer between 1 and 10000; got -3, use 1"),
        (["batch", "p.txt", "-o", "o", "--steps", "-5"], "'--steps <n>': must be an integer between 1 and 1000; use 1"),
        (["plan", "--steps", "-3"], "'--steps <steps>': must be an integer between 1 and 1000; use 1"),
        (["plan", "--frames", "-3"], "'--frames <frames>': must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); use 1"),
        (["plan", "--height", "-8"], "'--height <height>': must be a multiple of 8 between 8 and 4096 (VAE factor 8); use 8"),
        (["plan", "--width", "100000"], "'--width <width>': must be a multiple of 8 between 8 and 4096 (VAE factor 8); use 4096"),
        (["plan", "--shift", "-7"], "'--shift <shift>': must be a number above 0 and at most 100; use 1"),
        (["plan", "--text-tokens", "-1"], "'--text-tokens <text-tokens>': must be an integer between 1 and 4096; use 1"),
    ])
    func numericOptionsStateTheirBound(arguments: [String], message: String) throws {
        let text = try #require(failure(arguments))
        #expect(text.contains(message), "\(text)")
        #expect(!text.contains("Missing value"))
    }

    /// Issue #16: a plan file overrode `--steps` while the MP4 metadata recorded the ignored
    /// value. The file's stages set the steps (recorded in the request, hence the metadata);
    /// a `--steps` that disagrees is refused while parsing, naming both.
    @Test func planFileSetsTheSteps() throws {
        let plan = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: plan) }
        try BottleneckPlan(parsing: "2@1,5@0.5,3@1").write(to: plan)
        #expect(try request(["fox", "--bottleneck", plan.path, "-o", "a.mp4"]).steps == 10)
        #expect(try request(["fox", "--bottleneck", plan.path, "--steps", "10", "-o", "a.mp4"]).steps == 10)
        #expect(try request(["fox", "--preset", "draft", "--bottleneck", plan.path, "-o", "a.mp4"]).steps == 10)
        let message = try #require(failure(["generate", "fox", "--bottleneck", plan.path, "--steps", "20"]))
        #expect(message.contains("--steps 20 does not match the plan file \(plan.path), whose stages run 2+5+3 = 10 steps"), "\(message)")
        #expect(failure(["batch", "p.txt", "-o", "o", "--bottleneck", plan.path, "--steps", "20"])?.contains("--steps 20") == true)
    }

    /// Issue #16: a plan stage with 10^12 steps or a 100000² latent aborted with "failed to
    /// allocate" (exit 134) once sampling began; it is refused while parsing.
    @Test func absurdPlanFilesAreRefusedWhileParsing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let steps = dir.appendingPathComponent("steps.json").path
        try Data(#"{"stages": [{"steps": 1000000000000, "shift": 7}]}"#.utf8).write(to: URL(fileURLWithPath: steps))
        let latent = dir.appendingPathComponent("latent.json").path
        try Data(#"{"stages": [{"steps": 2, "shift": 7, "latent": {"frames": 3, "height": 100000, "width": 100000}}]}"#.utf8)
            .write(to: URL(fileURLWithPath: latent))
        #expect(failure(["generate", "fox", "--bottleneck", steps])
            == "--bottleneck: \(steps): stages[0].steps must be an integer between 1 and 1000; got 1000000000000, use 1000")
        #expect(failure(["batch", "p.txt", "-o", "o", "--bottleneck", latent])
            == "--bottleneck: \(latent): stages[0].latent.height must be an integer between 1 and 512; got 100000, use 512")
        // `plan` reads its file when it runs (it loads no model).
        let planError = #expect(throws: ValidationError.self) { try Bottleneck.Plan.parse(["--plan", steps]).run() }
        #expect(planError?.message == "\(steps): stages[0].steps must be an integer between 1 and 1000; got 1000000000000, use 1000")
    }

    /// `plan` shows what `generate` would run: a FLUX folder's default size (one 1024² image),
    /// a refusal of frames it cannot make, and `--steps` / `--shift` as the baseline even over a
    /// plan file's `base_steps` (they were ignored before).
    @Test func planTakesTheFolderDefaultsAndTheGivenBaseline() throws {
        let flux = ["--pipeline", TestPaths.fixture("flux-pipeline-tiny")]
        #expect(try Bottleneck.Plan.parse(flux + ["--preset", "flux"]).report().base == [1, 128, 128])
        #expect(try Bottleneck.Plan.parse(["--preset", "x3"]).report().base == [33, 16, 16])
        let frames = #expect(throws: ValidationError.self) { try Bottleneck.Plan.parse(flux + ["--frames", "5"]).report() }
        #expect(frames?.message.hasPrefix("--frames 5: a FluxPipeline folder makes one image") == true, "\(String(describing: frames))")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"base_steps": 50, "base_shift": 7, "stages": [{"steps": 4, "shift": 7}, {"steps": 10, "shift": 9, "scale": 0.5, "strength": 0.8}, {"steps": 6, "shift": 9, "strength": 0.7}]}"#.utf8)
            .write(to: file)
        let fromFile = try Bottleneck.Plan.parse(["--plan", file.path]).report()
        let given = try Bottleneck.Plan.parse(["--plan", file.path, "--steps", "25", "--shift", "5"]).report()
        #expect(fromFile.plan.baseSteps == 50 && given.plan.baseSteps == 25 && given.plan.baseShift == 5)
        #expect(abs(given.standardGFLOPs * 2 - fromFile.standardGFLOPs) < 1e-6 * fromFile.standardGFLOPs)
        #expect(given.planGFLOPs == fromFile.planGFLOPs)
    }

    // MARK: Batch

    @Test func batchOptions() throws {
        let b = try Bottleneck.Batch.parse(["p.txt", "-o", "out", "--resume", "--shard", "2/3", "--seed", "5",
                                            "--name-template", "{hash}_{index}.webm", "--queue-capacity", "4"])
        #expect(b.shard == .fixed(try Shard(number: 2, count: 3)))
        #expect(b.resume && b.queueCapacity == 4)
        #expect(try b.baseRequest().output == .file("\(NameTemplate.promptHash("probe").prefix(8))_0.webm"))
    }

    /// Issue #18: on a FLUX folder the batch-wide defaults are the folder's, the ones `generate`
    /// takes (one 1024² image at guidance 3.5), and the default names end in `.png`; a template
    /// naming a container keeps it (a one-frame video).
    @Test func batchTakesTheDefaultsOfAFluxFolder() throws {
        let flux = ["--pipeline", TestPaths.fixture("flux-pipeline-tiny")]
        let base = try Bottleneck.Batch.parse(["p.txt", "-o", "out"] + flux).baseRequest()
        let single = try Bottleneck.Generate.parse(["probe"] + flux).request()
        #expect(base.frames == 1 && base.width == 1024 && base.height == 1024 && base.cfgScale == 3.5)
        #expect((base.frames, base.width, base.height, base.cfgScale, base.steps, base.bottleneck)
                == (single.frames, single.width, single.height, single.cfgScale, single.steps, single.bottleneck))
        #expect(base.output == .file("0000_0_probe.png") && base.writesSingleImage)
        let video = try Bottleneck.Batch.parse(["p.txt", "-o", "out", "--name-template", "{index}.mp4"] + flux)
        #expect(try video.baseRequest().output == .file("0.mp4"))
        #expect(try video.baseRequest().frames == 1)
    }

    /// The embedded pipeline's `model_index.json` sets its guidance (`_guidance_scale`, 3: the
    /// scale its held-out score was best at); `generate` and `batch` start from it, a given
    /// `--guidance` wins, and a folder without one keeps the kind's 6.
    @Test func guidanceDefaultsToThePipelineFolders() throws {
        let shapes = ["--pipeline", TestPaths.shapesPipeline]
        #expect(try Bottleneck.Generate.parse(["probe"] + shapes).request().cfgScale == 3)
        #expect(try Bottleneck.Batch.parse(["p.txt", "-o", "out"] + shapes).baseRequest().cfgScale == 3)
        #expect(try Bottleneck.Generate.parse(["probe", "--guidance", "5"] + shapes).request().cfgScale == 5)
        let bare = FileManager.default.temporaryDirectory.appendingPathComponent("bare-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bare) }
        #expect(try Bottleneck.Generate.parse(["probe", "--pipeline", bare]).request().cfgScale == 6)
    }

    /// A `_guidance_scale` outside the scale's bound is refused naming the folder's file and key,
    /// when the request is made (before any model loads).
    @Test func badFolderGuidanceIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guidance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"_class_name": "HunyuanVideoPipeline", "_guidance_scale": 300}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/model_index.json"))
        let error = #expect(throws: PipelineError.self) { try request(["a fox", "--pipeline", dir]) }
        #expect(error?.description
                == dir + "/model_index.json: \"_guidance_scale\" must be a number between 0 and 100; got 300, use 100")
    }

    /// `--frames 9` on a FLUX folder is refused for the model, naming the option, by `generate`
    /// and `batch` alike (batch skipped every line one by one; generate refused its
    /// placeholder.png as PNG frames that need a folder).
    @Test func framesFlagOnAFluxFolderIsRefused() {
        let flux = ["--frames", "9", "--pipeline", TestPaths.fixture("flux-pipeline-tiny")]
        let message = "--frames 9: a FluxPipeline folder makes one image; leave --frames out or give 1"
        #expect(failure(["generate", "a fox"] + flux)?.contains(message) == true)
        #expect(failure(["batch", "p.txt", "-o", "out"] + flux)?.contains(message) == true)
    }

    @Test func batchValidation() {
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "0/3", "--seed", "1"], Bottleneck.self)?.contains("1-based") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "auto/x", "--seed", "1"], Bottleneck.self)?
                    .contains("use auto/N with N the number of shards") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "auto"], Bottleneck.self)?
                    .contains("--shard needs --seed") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--shard", "1/3"], Bottleneck.self)?.contains("--seed") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--name-template", "{what}.mp4"], Bottleneck.self)?.contains("unknown token") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--name-template", "same.mp4"], Bottleneck.self)?.contains("same name") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--name-template", "sub/{index}.mp4"], Bottleneck.self)?
            .contains("give it to -o") == true)
        #expect(failure(["batch", "p.txt", "-o", "o", "--queue-capacity", "0"], Bottleneck.self)?.contains("queue-capacity") == true)
        #expect(failure(["batch", "p.txt"], Bottleneck.self) != nil)
    }

    /// Issue #16, per batch item: an item with a plan file takes its steps from the file (the
    /// manifest and the video's metadata record what ran); one whose `steps` column disagrees
    /// is skipped, naming file, line and key.
    @Test func batchItemsTakeStepsFromTheirPlanFile() throws {
        let (dir, planPath) = try batchFolder(plan: "2@1,5@0.5,3@1")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = """
            {"prompt": "a", "bottleneck": "\(planPath)"}
            {"prompt": "b", "bottleneck": "\(planPath)", "steps": 20}
            {"prompt": "c"}
            """
        let plan = try planBatch(lines, in: dir)
        #expect(plan.toRun.map(\.request.steps) == [10, 50])
        #expect(plan.invalid.map(\.description) == [
            "p.jsonl:2: steps 20 does not match the plan file \(planPath), whose stages run 2+5+3 = 10 steps; "
                + "leave steps out (a plan file sets its own steps) or edit the file",
        ])
    }

    /// Issue #16: in `batch`, an item whose size its plan cannot serve (or whose plan file
    /// ends below full resolution) failed at its denoise stage, after the models had loaded.
    /// Each item's plan is checked against the pipeline's configs while the batch is planned,
    /// as `generate` checks its own, and the item is skipped with its line.
    @Test func batchItemsWhosePlanCannotRunAreSkippedUpFront() throws {
        let (dir, halfPath) = try batchFolder(plan: "2@1,2@0.5")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = """
            {"prompt": "a", "width": 32, "height": 32, "frames": 9, "steps": 3, "bottleneck": "x2"}
            {"prompt": "b", "bottleneck": "\(halfPath)"}
            {"prompt": "c", "width": 32, "height": 32, "frames": 9, "bottleneck": "off"}
            """
        let plan = try planBatch(lines, in: dir)
        #expect(plan.toRun.map(\.index) == [2])
        try #require(plan.invalid.map(\.line) == [1, 2])
        #expect(plan.invalid[0].description.hasPrefix("p.jsonl:1: bottleneck x2 at 9 frames of 32×32, 3 steps: "))
        #expect(plan.invalid[1].description.hasPrefix("p.jsonl:2: bottleneck \(halfPath) at 129 frames of 128×128, 4 steps: "
                                                      + "the last stage (1) runs at 33×8×8 latent cells"))
    }

    /// A fresh folder holding `plan.json`, the plan `plan` (compact syntax); the caller removes it.
    func batchFolder(plan: String) throws -> (dir: String, plan: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try BottleneckPlan(parsing: plan).write(to: URL(fileURLWithPath: dir + "/plan.json"))
        return (dir, dir + "/plan.json")
    }

    /// `lines` (jsonl) planned as `batch` plans them, against the embedded pipeline's configs.
    func planBatch(_ lines: String, in dir: String) throws -> BatchPlan {
        let file = try PromptFile.parse(Data(lines.utf8), format: .jsonl, file: "p.jsonl")
        let settings = BatchSettings(base: GenerationRequest(prompt: "probe"), outputDirectory: dir,
                                     nameTemplate: try NameTemplate(NameTemplate.default), baseSeed: 1)
        let batch = try Bottleneck.Batch.parse(["p.jsonl", "-o", dir])
        let prepare = try batch.itemPreparation(pipeline: PipelineFolder(path: TestPaths.shapesPipeline))
        return BatchPlanner.plan(file, settings: settings, manifest: [], prepare: prepare)
    }

    // MARK: Rendering and folders

    @Test func jsonProgressLines() throws {
        let size = LatentSize(frames: 33, height: 8, width: 8)
        let step = GenerationEvent.step(item: 2, StepEvent(stage: 1, stageStep: 0, stageSteps: 20, index: 4, count: 50, sigma: 0.5,
                                                           sigmaNext: 0.45, timestep: 500, tokens: 512, latentSize: size, seconds: 1.25))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ProgressRenderer.json(step).utf8)) as? [String: Any])
        #expect(object["event"] as? String == "step")
        #expect(object["item"] as? Int == 2)
        #expect(object["index"] as? Int == 4)
        #expect(object["latent_size"] as? [Int] == [33, 8, 8])
        #expect(object["sigma"] as? Double == 0.5)
        let stage = try #require(try JSONSerialization.jsonObject(
            with: Data(ProgressRenderer.json(.stageChanged(item: 2, stage: 1, latentSize: size)).utf8)) as? [String: Any])
        #expect(stage["event"] as? String == "stage")
        #expect(stage["stage"] as? Int == 1)
        #expect(stage["latent_size"] as? [Int] == [33, 8, 8])
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
        #expect { try PipelineFolder.locate(explicit: "\(root)/nope") } throws: {
            $0 as? PipelineError == PipelineError(.pipelineFolderMissing, subject: "\(root)/nope")
        }
        #expect { try PipelineFolder.locate(explicit: nil, environment: [:], executable: "/x/y/z", currentDirectory: "/") } throws: {
            guard case .noPipelineFolder(let tried) = ($0 as? PipelineError)?.kind else { return false }
            return tried.first == "/x/y/pipelines/shapes" && tried.last == "/pipelines/shapes"
        }
    }
}
