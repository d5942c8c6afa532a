import Foundation
import Testing
@testable import Benchmarks

@Suite struct ChildProcessTests {
    /// The exit status, redirected output and the child's own peak RSS come back; a child that
    /// allocates 64 MiB reports at least that, independent of the parent's memory.
    @Test func reportsStatusOutputAndChildRSS() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.txt").path, err = dir.appendingPathComponent("err.txt").path
        let r = try ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "echo hi; echo oops >&2; exit 3"],
                                     standardOutput: out, standardError: err)
        #expect(r.exitStatus == 3)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "hi\n")
        #expect(try String(contentsOfFile: err, encoding: .utf8) == "oops\n")
        #expect(r.wallSeconds > 0)

        // `head -c` through `tail` makes tail hold the whole 64 MiB line in memory.
        let big = try ChildProcess.run(executable: "/bin/sh",
                                       arguments: ["-c", "head -c 67108864 /dev/zero | tail -c 67108864 > /dev/null"])
        #expect(big.exitStatus == 0)
        #expect(big.peakRSSBytes >= 64 << 20)
    }

    /// A killed child reports 128 + the signal; a missing program is a typed error.
    @Test func signalsAndSpawnFailures() throws {
        let r = try ChildProcess.run(executable: "/bin/sh", arguments: ["-c", "kill -TERM $$"])
        #expect(r.exitStatus == 128 + 15)
        #expect(throws: BenchmarkError.self) {
            try ChildProcess.run(executable: "/nonexistent/program", arguments: [])
        }
    }
}
