import Foundation
import Media
import Testing
@testable import Pipeline

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

    func promptFile(_ n: Int) -> PromptFile {
        PromptFile(file: "p.txt", entries: (0..<n).map { PromptEntry(index: $0, line: $0 + 1, prompt: "prompt \($0)") }, issues: [])
    }

    /// Shards plan disjoint item sets whose union is the whole list, with the same seeds as an
    /// unsharded plan.
    @Test func shardedPlansCoverTheListWithSameSeeds() throws {
        let file = promptFile(23)
        let all = BatchPlanner.plan(file, settings: try settings("/out"), manifest: [])
        var union: [PlannedItem] = []
        for k in 1...4 {
            union += BatchPlanner.plan(file, settings: try settings("/out", shard: Shard(number: k, count: 4)), manifest: []).toRun
        }
        #expect(union.count == 23)
        #expect(union.sorted { $0.index < $1.index } == all.toRun)
    }

    @Test func overridesAndValidationPerItem() throws {
        var file = promptFile(3)
        file.entries[1].overrides.frames = 10  // not 4k+1
        file.entries[2].overrides.seed = 5
        file.entries[2].overrides.output = "custom.rgb"
        let plan = BatchPlanner.plan(file, settings: try settings("/out"), manifest: [])
        #expect(plan.toRun.map(\.index) == [0, 2])
        #expect(plan.invalid.count == 1)
        #expect(plan.invalid[0].line == 2)
        #expect(plan.invalid[0].description.contains("frames must be 4k+1"))
        #expect(plan.toRun[1].request.seed == 5)
        #expect(plan.toRun[1].outputPath == "/out/custom.rgb")
        #expect(plan.toRun[0].outputPath == "/out/000_\(SeedDerivation.seed(base: 1000, index: 0))_prompt-0.rgb")
    }

    @Test func collidingOutputNamesAreRejected() throws {
        var file = promptFile(2)
        file.entries[0].overrides.output = "same.rgb"
        file.entries[1].overrides.output = "same.rgb"
        let plan = BatchPlanner.plan(file, settings: try settings("/out"), manifest: [])
        #expect(plan.toRun.map(\.index) == [0])
        #expect(plan.invalid.map(\.index) == [1])
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
        try writer.append(header)
        for item in first.toRun.prefix(3) {
            var r = ManifestRecord(status: item.index == 2 ? .failed : .done)
            r.index = item.index
            r.promptHash = item.promptHash
            r.seed = item.request.seed
            r.output = item.outputPath
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
        #expect(BatchPlanner.recordedBaseSeed(in: records) == 1000)

        let plan = BatchPlanner.plan(file, settings: s, manifest: records)
        #expect(plan.alreadyDone.map(\.index) == [0])
        #expect(plan.toRun.map(\.index) == [1, 2, 3, 4])
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
        var r = ManifestRecord(status: .done)
        r.index = 0
        r.promptHash = item.promptHash
        r.seed = item.request.seed
        r.output = item.outputPath
        let exists: (String) -> Bool = { $0 == item.outputPath }
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: true), manifest: [r], fileExists: exists).toRun.isEmpty)
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: false), manifest: [r], fileExists: exists).toRun.count == 1)
        r.promptHash = NameTemplate.promptHash("something else")
        #expect(BatchPlanner.plan(file, settings: try settings(dir, resume: true), manifest: [r], fileExists: exists).toRun.count == 1)
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
        let log = ActivityLog()
        let stages = PipelineStages(textEncoder: TestTextEncoder(log: log), generator: TestGenerator(log: log),
                                    decoder: TestDecoder(log: log), sinks: TestSinkFactory())
        let runner = StageRunner(stages: stages)
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
