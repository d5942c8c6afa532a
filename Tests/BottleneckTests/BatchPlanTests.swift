import Foundation
import Media
import TestSupport
import Testing
@testable import Bottleneck

/// Name template, slug, shards, seed derivation, manifest and resume.
@Suite struct BatchPlanTests {
    // MARK: Names

    @Test func defaultTemplate() throws {
        let t = try NameTemplate(NameTemplate.default)
        #expect(t.render(index: 7, seed: 1234, prompt: "A red fox, in the SNOW!") == "0007_1234_a-red-fox-in-the-snow.mp4")
        #expect(t.render(index: 12345, seed: 0, prompt: "x") == "12345_0_x.mp4")
    }

    @Test func templateTokens() throws {
        let t = try NameTemplate("{hash}-{hash:4}-{slug:9}-{index}.webm")
        let hash = NameTemplate.promptHash("big cat sleeps")
        #expect(hash.count == 16)
        #expect(t.render(index: 3, seed: 1, prompt: "big cat sleeps") == "\(hash.prefix(8))-\(hash.prefix(4))-big-cat-3.webm")
        // FNV-1a 64 of the empty string is its offset basis.
        #expect(NameTemplate.promptHash("") == "cbf29ce484222325")
        #expect(NameTemplate.promptHash("a") == "af63dc4c8601ec8c")
    }

    @Test(arguments: ["{nope}.mp4", "{index.mp4", "x}.mp4", "{index:x}.mp4", "{seed:3}", "fixed.mp4", "../{index}.mp4", "/abs/{index}.mp4"])
    func badTemplatesAreRejected(_ text: String) {
        #expect(throws: NameTemplateError.self) { try NameTemplate(text) }
    }

    /// Issue #16: a template with a subfolder was accepted, and every item failed in the muxer
    /// ("No such file or directory") after it had been denoised. Names are files directly in
    /// the output folder, so the template is refused while the command line is read.
    @Test func subfoldersAreRefusedInTemplates() {
        let error = #expect(throws: NameTemplateError.self) { try NameTemplate("sub/{index}.mp4") }
        #expect(error?.description == "name template 'sub/{index}.mp4': names are files directly in the output "
                + "folder (no '/'); to write into a subfolder, give it to -o")
    }

    @Test func slugRules() {
        #expect(NameTemplate.slug("Café crème: Über-COOL  42!!") == "cafe-creme-uber-cool-42")
        #expect(NameTemplate.slug("日本語") == "untitled")
        #expect(NameTemplate.slug("") == "untitled")
        let long = NameTemplate.slug(String(repeating: "abcdefghij ", count: 10))
        #expect(long.count <= 48)
        #expect(long == "abcdefghij-abcdefghij-abcdefghij-abcdefghij")
        #expect(NameTemplate.slug(String(repeating: "x", count: 60)).count == 48)
    }

    // MARK: Shards and seeds

    /// Every shard count from 1 to 7: the shards are disjoint and together cover every index.
    @Test(arguments: 1...7)
    func shardsPartitionTheList(count: Int) throws {
        let indices = 0..<100
        var seen = [Int: Int]()
        for number in 1...count {
            let shard = try Shard(number: number, count: count)
            for i in indices where shard.contains(index: i) { seen[i, default: 0] += 1 }
        }
        #expect(seen.count == 100)
        #expect(seen.values.allSatisfy { $0 == 1 })
    }

    @Test func shardParsing() throws {
        #expect(try Shard(parsing: "2/4") == Shard(number: 2, count: 4))
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/2/3"] {
            #expect(throws: ShardError.self) { try Shard(parsing: bad) }
        }
    }

    /// Issue #16: shard numbers have bounds, and the message suggests a value inside them.
    @Test func shardBoundsAreStated() {
        func message(_ text: String) -> String {
            do { return "parsed \(try Shard(parsing: text))" } catch { return "\(error)" }
        }
        #expect(message("1/-3") == "shard '1/-3': N must be an integer between 1 and 10000; got -3, use 1")
        #expect(message("1/20000") == "shard '1/20000': N must be an integer between 1 and 10000; got 20000, use 10000")
        #expect(message("5/4") == "shard '5/4': I must be an integer between 1 and 4 (shards are 1-based); got 5, use 4")
    }

    @Test func derivedSeedsAreStableAndDistinct() {
        let seeds = (0..<1000).map { SeedDerivation.seed(base: 42, index: $0) }
        #expect(Set(seeds).count == 1000)
        #expect(SeedDerivation.seed(base: 42, index: 5) == seeds[5])
        #expect(SeedDerivation.seed(base: 43, index: 5) != seeds[5])
    }

    // MARK: Planning

    func settings(_ dir: String, shard: Shard? = nil, resume: Bool = false) throws -> BatchSettings {
        var base = GenerationRequest(prompt: "")
        base.frames = 9
        base.width = 32
        base.height = 32
        base.steps = 4
        return BatchSettings(base: base, outputDirectory: dir, nameTemplate: try NameTemplate("{index:03}_{seed}_{slug}.rgb"),
                             baseSeed: 1000, shard: shard, resume: resume)
    }

    /// The in-test stages (`TestStages.swift`): raw frames written to each item's file.
    func testStages() -> PipelineStages {
        let log = ActivityLog()
        return PipelineStages(textEncoder: TestTextEncoder(log: log), generator: TestGenerator(log: log),
                              decoder: TestDecoder(log: log), sinks: TestSinkFactory())
    }

    func promptFile(_ n: Int) -> PromptFile {
        PromptFile(file: "p.txt", entries: (0..<n).map { PromptEntry(index: $0, line: $0 + 1, prompt: "prompt \($0)") }, issues: [])
    }

    /// Shards plan disjoint item sets whose union is the whole list, with the same seeds as an
    /// unsharded plan.
    @Test func shardedPlansCoverTheListWithSameSeeds() throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(23)
        let all = BatchPlanner.plan(file, settings: try settings(dir), manifest: [])
        var union: [PlannedItem] = []
        for k in 1...4 {
            union += BatchPlanner.plan(file, settings: try settings(dir, shard: Shard(number: k, count: 4)), manifest: []).toRun
        }
        #expect(union.count == 23)
        #expect(union.sorted { $0.index < $1.index } == all.toRun)
    }

    @Test func overridesAndValidationPerItem() throws {
        var file = promptFile(3)
        file.entries[1].overrides.frames = 10  // not 4k+1
        file.entries[2].overrides.seed = 5
        file.entries[2].overrides.output = "custom.rgb"
        let dir = try makeTemporaryDirectory()
        let plan = BatchPlanner.plan(file, settings: try settings(dir), manifest: [])
        #expect(plan.toRun.map(\.index) == [0, 2])
        #expect(plan.invalid.count == 1)
        #expect(plan.invalid[0].line == 2)
        #expect(plan.invalid[0].description.contains("frames must be 4k+1"))
        #expect(plan.toRun[1].request.seed == 5)
        #expect(plan.toRun[1].outputPath == "\(dir)/custom.rgb" && plan.toRun[1].name == "custom.rgb")
        #expect(plan.toRun[0].outputPath == "\(dir)/000_\(SeedDerivation.seed(base: 1000, index: 0))_prompt-0.rgb")
    }

    @Test func collidingOutputNamesAreRejected() throws {
        var file = promptFile(2)
        file.entries[0].overrides.output = "same.rgb"
        file.entries[1].overrides.output = "same.rgb"
        let plan = BatchPlanner.plan(file, settings: try settings(try makeTemporaryDirectory()), manifest: [])
        #expect(plan.toRun.map(\.index) == [0])
        #expect(plan.invalid.map(\.kind.index) == [1])
    }

    // MARK: Manifest and resume

    /// Simulates a killed batch: items 0 and 1 recorded done (1's file deleted since), item 2
    /// failed, items 3 and 4 were being written (no records), and the manifest's last line is
    /// torn. Resume redoes exactly 1, 2, 3, 4 and removes the partials; item 0 is kept. Item 4's
    /// partial is the one a real `VideoWriter` creates, so this fails if resume stops
    /// recognising the names real runs leave (it once matched only its own naming scheme).
    @Test func resumeAfterKilledBatch() async throws {
        let dir = try makeTemporaryDirectory()
        let s = try settings(dir, resume: true)
        let file = promptFile(5)
        let first = BatchPlanner.plan(file, settings: s, manifest: [])
        #expect(first.toRun.count == 5)

        let writer = try ManifestWriter(path: s.manifestPath)
        var header = ManifestRecord(status: .run)
        header.baseSeed = s.baseSeed
        header.promptFile = "p.txt"
        try writer.append(header)
        for item in first.toRun.prefix(3) {
            var r = ManifestRecord(item.index == 2 ? .failed : .done, for: item)
            r.bytes = 3
            try writer.append(r)
            if item.index == 0 { _ = FileManager.default.createFile(atPath: item.outputPath, contents: Data([1, 2, 3])) }
        }
        // Item 3 was mid-write when the process died.
        let partial = TemporaryOutputName.path(for: first.toRun[3].outputPath)
        _ = FileManager.default.createFile(atPath: partial, contents: Data([9]))
        // So was item 4, by Media's writer, still open while the plan is made.
        let video = try VideoWriter(destination: .file(first.toRun[4].outputPath),
                                    options: VideoOptions(width: 16, height: 16, fps: try FrameRate(24)))
        let writerPartials = partials(of: first.toRun[4].outputPath).map { "\(dir)/\($0)" }
        #expect(writerPartials.count == 1)
        // A torn last record.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: s.manifestPath))
        try h.seekToEnd()
        try h.write(contentsOf: Data("{\"status\":\"done\",\"ind".utf8))
        try h.close()

        let (records, problems) = try ManifestReader.read(path: s.manifestPath)
        #expect(records.count == 4)
        #expect(problems.map(\.line) == [5])
        #expect(BatchPlanner.recordedBaseSeed(in: records, promptFile: "lists/p.txt") == 1000)
        #expect(BatchPlanner.recordedBaseSeed(in: records, promptFile: "other.txt") == nil)

        let plan = BatchPlanner.plan(file, settings: s, manifest: records)
        #expect(plan.alreadyDone.map(\.index) == [0])
        #expect(plan.toRun.map(\.index) == [1, 2, 3, 4])
        #expect(plan.redone == [RedoneItem(index: 1, name: first.toRun[1].name, reason: .missing)])
        #expect(plan.stalePartials == [partial] + writerPartials)
        await video.cancel()

        // The next append starts on a fresh line after the torn one.
        let again = try ManifestWriter(path: s.manifestPath)
        var r = ManifestRecord(status: .done)
        r.index = 1
        try again.append(r)
        let (after, afterProblems) = try ManifestReader.read(path: s.manifestPath)
        #expect(after.count == 5)
        #expect(after.last?.index == 1)
        #expect(afterProblems.count == 1)
    }

    /// Without `--resume`, or when the prompt changed, a done item runs again.
    @Test func resumeRequiresSamePromptAndFlag() throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(1)
        let item = BatchPlanner.plan(file, settings: try settings(dir), manifest: []).toRun[0]
        var r = ManifestRecord(.done, for: item)
        r.bytes = 100
        let size: (String) -> Int? = { $0 == item.outputPath ? 100 : nil }
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: true), manifest: [r], fileSize: size).toRun.isEmpty)
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: false), manifest: [r], fileSize: size).toRun.count == 1)
        r.promptHash = NameTemplate.promptHash("something else")
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: true), manifest: [r], fileSize: size).toRun.count == 1)
    }

    /// Issue #16: an output cut short (a copy interrupted, a disk filled) was kept as done
    /// although the manifest records its size. Resume compares the file's size with it.
    @Test func truncatedOutputIsMadeAgain() throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(2)
        let s = try settings(dir, resume: true)
        let items = BatchPlanner.plan(file, settings: s, manifest: []).toRun
        var records: [ManifestRecord] = []
        for item in items {
            var r = ManifestRecord(.done, for: item)
            r.bytes = 1000
            records.append(r)
            try Data(count: item.index == 0 ? 1000 : 400).write(to: URL(fileURLWithPath: item.outputPath))
        }
        let plan = BatchPlanner.plan(file, settings: s, manifest: records)
        #expect(plan.alreadyDone.map(\.index) == [0])
        #expect(plan.toRun.map(\.index) == [1])
        #expect(plan.redone == [RedoneItem(index: 1, name: items[1].name, reason: .size(recorded: 1000, found: 400))])
        #expect(plan.redone.first?.description == "item 1: \(items[1].name) is recorded done but the file has 400 bytes, "
                + "the manifest recorded 1000; generating it again")
    }

    /// Issue #16: resuming with other frames or size kept the old videos silently (the name
    /// template has neither). Every setting, the plan file's contents and the pipeline are in
    /// the item's fingerprint; a change is said per key.
    @Test func changedSettingsMakeTheItemAgain() throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(1)
        let planPath = dir + "/plan.json"
        try Data("2@1,2@1".utf8).write(to: URL(fileURLWithPath: planPath))
        var s = try settings(dir, resume: true)
        s.base.bottleneck = .file(planPath)
        s.pipeline = "shapes"
        let item = BatchPlanner.plan(file, settings: s, manifest: []).toRun[0]
        var record = ManifestRecord(.done, for: item)
        record.bytes = 10
        let size: (String) -> Int? = { _ in 10 }
        func redone(_ s: BatchSettings) -> [RedoneItem.Reason] {
            BatchPlanner.plan(file, settings: s, manifest: [record], fileSize: size).redone.map(\.reason)
        }
        #expect(redone(s) == [])
        var changed = s
        (changed.base.frames, changed.base.width) = (17, 64)
        #expect(redone(changed) == [.changed(["frames 9 → 17", "width 32 → 64"])])
        changed = s
        changed.pipeline = "shapes-retrained"
        #expect(redone(changed) == [.changed(["plan file contents or pipeline"])])
        try Data("3@1,1@1".utf8).write(to: URL(fileURLWithPath: planPath))
        #expect(redone(s) == [.changed(["plan file contents or pipeline"])])
    }

    /// Issue #16: the manifest recorded absolute paths, so a moved output folder started over.
    /// It records file names; a moved folder resumes, and so does an older manifest whose
    /// records hold the old absolute paths.
    @Test func movedFolderResumesFromNamesAndOldAbsolutePaths() async throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(2)
        let s = try settings(dir, resume: true)
        _ = try await BatchExecution.run(BatchPlanner.plan(file, settings: s, manifest: []), settings: s,
                                         promptFile: "p.txt", runner: StageRunner(stages: testStages()),
                                         manifest: try ManifestWriter(path: s.manifestPath))
        let moved = try makeTemporaryDirectory() + "/moved"
        try FileManager.default.moveItem(atPath: dir, toPath: moved)
        let movedSettings = try settings(moved, resume: true)
        var records = try ManifestReader.read(path: movedSettings.manifestPath).records
        let done = records.filter { $0.status == .done }
        #expect(done.compactMap(\.output).sorted() == BatchPlanner.plan(file, settings: movedSettings, manifest: [])
            .toRun.map(\.name))
        #expect(BatchPlanner.plan(file, settings: movedSettings, manifest: records).alreadyDone.map(\.index) == [0, 1])

        for i in records.indices where records[i].status == .done {
            records[i].output = "/somewhere/else/out/" + records[i].output!
            records[i].fingerprint = nil  // written before fingerprints
        }
        #expect(BatchPlanner.plan(file, settings: movedSettings, manifest: records).alreadyDone.map(\.index) == [0, 1])
    }

    /// Issue #16: two prompt lists sharing a folder regenerated each other forever: resume
    /// looked items up by index, and index 0 of one list was recorded over index 0 of the
    /// other. Looked up by name (with prompt, seed and settings checked), each list's resume
    /// finds its own items, and each list gets its own recorded base seed back.
    @Test func twoListsInOneFolderKeepTheirItems() async throws {
        let dir = try makeTemporaryDirectory()
        let lists = [("a.txt", ["a red ball", "a blue cube"]), ("b.txt", ["a green cone", "a grey disc"])]
        let runner = StageRunner(stages: testStages())
        var s = try settings(dir, resume: true)
        for (n, (name, prompts)) in lists.enumerated() {
            s.baseSeed = UInt64(100 + n)
            let file = PromptFile(file: name, entries: prompts.enumerated().map { PromptEntry(index: $0, line: $0 + 1, prompt: $1) },
                                  issues: [])
            let records = try ManifestReader.read(path: s.manifestPath).records
            let plan = BatchPlanner.plan(file, settings: s, manifest: records)
            #expect(plan.toRun.count == 2)
            _ = try await BatchExecution.run(plan, settings: s, promptFile: name, runner: runner,
                                             manifest: try ManifestWriter(path: s.manifestPath))
        }
        let records = try ManifestReader.read(path: s.manifestPath).records
        for (n, (name, prompts)) in lists.enumerated() {
            let seed = try #require(BatchPlanner.recordedBaseSeed(in: records, promptFile: name))
            #expect(seed == UInt64(100 + n))
            s.baseSeed = seed
            let file = PromptFile(file: name, entries: prompts.enumerated().map { PromptEntry(index: $0, line: $0 + 1, prompt: $1) },
                                  issues: [])
            let plan = BatchPlanner.plan(file, settings: s, manifest: records)
            #expect(plan.toRun.isEmpty && plan.alreadyDone.count == 2, "\(name): \(plan.redone)")
        }
    }

    /// Issue #16: `--resume` deleted the partial file of another process writing into the same
    /// folder, and that process's item then failed. A partial file is removed only when the
    /// process its name carries is gone.
    @Test func partialFilesOfRunningWritersAreLeftAlone() throws {
        let dir = try makeTemporaryDirectory()
        let file = promptFile(3)
        let s = try settings(dir)
        let items = BatchPlanner.plan(file, settings: s, manifest: []).toRun
        let running = Process()
        running.executableURL = URL(fileURLWithPath: "/bin/sleep")
        running.arguments = ["60"]
        try running.run()
        defer {
            kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
        }
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let live = "\(dir)/.\(items[0].name).partial-\(running.processIdentifier)-1a"
        let left = "\(dir)/.\(items[1].name).partial-\(ended.processIdentifier)-2b"
        let own = TemporaryOutputName.path(for: items[2].outputPath)  // an earlier process with this pid
        for path in [live, left, own] { _ = FileManager.default.createFile(atPath: path, contents: Data([1])) }

        let plan = BatchPlanner.plan(file, settings: s, manifest: [])
        #expect(plan.livePartials == [live])
        #expect(plan.stalePartials == [left, own])
    }

    /// End to end with the in-test stages: a batch with a failing item and a bad line writes
    /// one record per item; a resumed run redoes only the failed one.
    @Test func batchExecutionWritesManifestAndResumes() async throws {
        let dir = try makeTemporaryDirectory()
        let text = "a fox 0\nFAIL-TEXT 1\n" + String(decoding: [0xFF, 0x0A], as: UTF8.self) + "a cat 3\n"
        var bytes = Array("a fox 0\nFAIL-TEXT 1\n".utf8)
        bytes += [0xFF, 0x0A]
        bytes += Array("a cat 3\n".utf8)
        _ = text
        let file = try PromptFile.parse(Data(bytes), format: .txt, file: "b.txt")
        let runner = StageRunner(stages: testStages())
        let s = try settings(dir, resume: true)
        let plan = BatchPlanner.plan(file, settings: s, manifest: [])
        let summary = try await BatchExecution.run(plan, settings: s, promptFile: "b.txt", runner: runner,
                                                   manifest: try ManifestWriter(path: s.manifestPath))
        #expect(summary.done == 2 && summary.failed == 1 && summary.skipped == 1)
        let (records, _) = try ManifestReader.read(path: s.manifestPath)
        #expect(records.map(\.status) == [.run, .skipped, .done, .failed, .done]
                || records.map(\.status) == [.run, .skipped, .failed, .done, .done])
        let done = records.filter { $0.status == .done }
        #expect(done.allSatisfy { $0.timings != nil && $0.bytes == 9 * 32 * 32 * 3 && $0.settings?.frames == 9 })
        #expect(records.first { $0.status == .skipped }?.line == 3)

        let plan2 = BatchPlanner.plan(file, settings: s, manifest: records)
        #expect(plan2.alreadyDone.map(\.index) == [0, 3])
        #expect(plan2.toRun.map(\.index) == [1])
    }
}
