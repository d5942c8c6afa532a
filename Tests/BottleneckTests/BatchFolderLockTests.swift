import Foundation
import TestSupport
import Testing
@testable import Bottleneck

/// `BatchFolderLock`: one batch writes a folder at a time; the shards of one list share it.
/// flock(2) locks belong to an open file, so two locks taken in this process conflict as two
/// processes' would.
@Suite struct BatchFolderLockTests {
    /// Issue #16: a second batch on the same folder ran alongside the first, and its
    /// `--resume` deleted the first one's partial file. It is refused at once, with the folder
    /// and the holder's pid; once the first lets go, it may start.
    @Test func secondBatchIsRefusedNamingTheHolder() throws {
        let dir = try makeTemporaryDirectory()
        var first: BatchFolderLock? = try BatchFolderLock(folder: dir)
        let error = #expect(throws: PipelineError.self) { try BatchFolderLock(folder: dir) }
        #expect(error == PipelineError(.outputFolderInUse(holders: ["pid \(getpid())"]), subject: dir))
        #expect(error?.description == "\(dir): another batch is writing to this folder (pid \(getpid())); "
                + "let it finish (then --resume), or give this one another output folder")
        #expect(throws: PipelineError.self) { try BatchFolderLock(folder: dir, shard: Shard(number: 1, count: 2)) }
        withExtendedLifetime(first) {}
        first = nil
        #expect(throws: Never.self) { try BatchFolderLock(folder: dir) }
    }

    /// The shards of one list run side by side into one folder; the same shard twice, or the
    /// whole list while shards run, is refused, naming the running shards.
    @Test func shardsShareTheFolderButNotTheirShard() throws {
        let dir = try makeTemporaryDirectory()
        let one = try BatchFolderLock(folder: dir, shard: Shard(number: 1, count: 2))
        let two = try BatchFolderLock(folder: dir, shard: Shard(number: 2, count: 2))
        let again = #expect(throws: PipelineError.self) { try BatchFolderLock(folder: dir, shard: Shard(number: 2, count: 2)) }
        #expect(again == PipelineError(.outputFolderInUse(holders: ["shard 2/2, pid \(getpid())"]), subject: dir))
        let whole = #expect(throws: PipelineError.self) { try BatchFolderLock(folder: dir) }
        #expect(whole == PipelineError(.outputFolderInUse(holders: ["shard 1/2, pid \(getpid())",
                                                                    "shard 2/2, pid \(getpid())"]), subject: dir))
        withExtendedLifetime((one, two)) {}
    }
}
