import CommandLineTool
import Foundation
import Testing
@testable import BottleneckCLI

/// `FileErrorText`: Foundation's file errors in words.
@Suite struct FileErrorTextTests {
    /// Issue #16: `batch -o` under a regular file printed
    /// `Error Domain=NSCocoaErrorDomain Code=512 "(null)" UserInfo={…}`.
    @Test func foundationFileErrorsReadAsPathAndReason() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let error = #expect(throws: (any Error).self) {
            try FileManager.default.createDirectory(atPath: dir + "/file/sub", withIntermediateDirectories: true)
        }
        let thrown = try #require(error)
        #expect(FileErrorText.reason(thrown) == "Not a directory")
        #expect(FileErrorText.message(thrown) == "\(dir)/file/sub: Not a directory")
        #expect(Bottleneck.userMessage(for: thrown) == "\(dir)/file/sub: Not a directory")
        #expect(FileErrorText.message(CancellationError()) == nil)
    }
}
