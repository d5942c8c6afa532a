import Testing
@testable import Bottleneck

/// `BatchMergeReport`: the items of a prompt list done, failed or missing over the manifests of
/// the shards' folders, duplicates, and records of other lists.
@Suite struct BatchMergeReportTests {
    /// Four prompts on lines 1…4 and a bad line 5 (index 4).
    let file = PromptFile(
        file: "lists/p.txt", entries: (0..<4).map { PromptEntry(index: $0, line: $0 + 1, prompt: "prompt \($0)") },
        issues: [PromptFileIssue(.missingPrompt, file: "p.txt", line: 5, index: 4)])

    func record(_ status: ManifestRecord.Status, _ index: Int, prompt: String? = nil, bytes: Int = 100,
                error: String? = nil) -> ManifestRecord {
        var r = ManifestRecord(status: status)
        r.index = index
        r.line = index + 1
        if status != .skipped { r.promptHash = NameTemplate.promptHash(prompt ?? "prompt \(index)") }
        if status == .done {
            r.output = "\(index).mp4"
            r.bytes = bytes
        }
        r.error = error
        return r
    }

    func header(_ shard: String, list: String = "p.txt") -> ManifestRecord {
        var r = ManifestRecord(status: .run)
        r.shard = shard
        r.promptFile = list
        return r
    }

    /// Files of 100 bytes, except the ones named in `sizes`.
    func report(_ folders: [BatchMergeReport.Folder], sizes: [String: Int?] = [:]) -> BatchMergeReport {
        BatchMergeReport(file, folders: folders, fileSize: { sizes[$0] ?? 100 })
    }

    // MARK: Complete and incomplete

    /// Two shards in folders of their own: every item done once, the bad line recorded skipped
    /// is failed with its message.
    @Test func twoFoldersCoverTheList() {
        let a = BatchMergeReport.Folder(path: "a", records: [header("1/2"), record(.done, 0), record(.done, 2),
                                                              record(.skipped, 4, error: "p.txt:5: no prompt")])
        let b = BatchMergeReport.Folder(path: "b", records: [header("2/2"), record(.done, 1), record(.done, 3)])
        let r = report([a, b])
        #expect((r.done, r.failed, r.missing) == (4, 1, 0))
        #expect(!r.isComplete)
        #expect(r.items.map(\.folder) == ["a", "b", "a", "b", nil])
        #expect(r.items[4].error == "p.txt:5: no prompt")
        #expect(r.duplicates.isEmpty)
        #expect(r.shards == ["1/2", "2/2"])
    }

    /// A shard that never ran leaves its items missing; a failed item keeps its error; a later
    /// done record wins over an earlier failure.
    @Test func missingAndFailedItems() {
        let r = report([.init(path: "out", records: [
            header("1/3"), record(.done, 0), record(.failed, 3, error: "decode: disk full"),
            record(.failed, 1, error: "denoise: NaN"), record(.done, 1),
        ])])
        #expect(r.items.map(\.status) == [.done, .done, .missing, .failed, .missing])
        #expect(r.items[3].error == "decode: disk full")
        #expect((r.done, r.failed, r.missing) == (2, 1, 2))
    }

    /// A done record whose file is gone, or has another size, does not count.
    @Test func doneButTheFileIsNot() {
        let r = report([.init(path: "out", records: [record(.done, 0), record(.done, 1)])],
                       sizes: ["out/0.mp4": nil, "out/1.mp4": 40])
        #expect(r.items[0].status == .missing)
        #expect(r.items[0].error == "out/0.mp4 is recorded done but the file is gone")
        #expect(r.items[1].error == "out/1.mp4 has 40 bytes, the manifest recorded 100")
    }

    // MARK: Duplicates and other lists

    /// An item done in two folders (overlapping shards) is a duplicate, and still done.
    @Test func itemDoneTwice() {
        let r = report([.init(path: "a", records: [record(.done, 2)]), .init(path: "b", records: [record(.done, 2)])])
        #expect(r.duplicates == [2])
        #expect(r.items[2].status == .done)
        #expect(r.items[2].doneRecords == 2)
    }

    /// Records of another list sharing the folder (another prompt at the index, an index past
    /// the list, a skipped record on another line) belong to no item; its headers name no shard.
    @Test func recordsOfAnotherList() {
        var otherSkipped = record(.skipped, 3)
        otherSkipped.line = 9
        let r = report([.init(path: "out", records: [
            header("1/1", list: "q.txt"), record(.done, 0, prompt: "another prompt"), record(.done, 7),
            otherSkipped,
        ])])
        #expect(r.unmatchedRecords == 3)
        #expect(r.missing == 5)
        #expect(r.shards.isEmpty)
    }
}
