import Foundation
import Testing

/// `bottleneck-bench` reports errors as `bottleneck` does: `bottleneck-bench: error: …` on
/// stderr and a non-zero status (issue #17: it printed ArgumentParser's `Error: …`).
@Suite struct BenchEndToEndTests {
    @Test func errorsNameTheTool() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let usage = try CLI.run(["vae", "--latent-frames", "0"], in: folder, tag: "usage", program: "bottleneck-bench")
        #expect(usage.status == 64)
        #expect(usage.stderr.hasPrefix("bottleneck-bench: error: --latent-frames must be at least 1."), "\(usage.stderr)")
        #expect(usage.stderr.contains("see 'bottleneck-bench help' for usage"))
        let missing = try CLI.run(["transformer", "--config", folder + "/none.json"], in: folder, tag: "missing",
                                  program: "bottleneck-bench")
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("bottleneck-bench: error: \(folder)/none.json"), "\(missing.stderr)")
    }
}
