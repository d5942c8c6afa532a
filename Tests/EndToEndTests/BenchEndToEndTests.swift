import Foundation
import TestSupport
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

    /// `transformer --dtype bf16 --precision both` (the side-by-side RSS and speed command in
    /// Docs/benchmarks.md) on a tiny config: writes the weights, runs one child process per
    /// precision and reports both as JSON; the temporary weights folder is removed.
    @Test func transformerPrecisionsSideBySide() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = TestPaths.fixture("transformer-test/config.json")
        func weightFolders() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("bottleneck-bench-weights-") })
        }
        let before = try weightFolders()
        let run = try CLI.run(["transformer", "--config", config, "--dtype", "bf16", "--precision", "both", "--latent", "3x8x8",
                               "--text-tokens", "5", "--warmup", "0", "--iterations", "1", "--json"],
                              in: folder, tag: "precisions", program: "bottleneck-bench")
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: run.stdout) as? [String: [String: Any]]
        #expect(object?["float32"]?["precision"] as? String == "float32")
        #expect(object?["stored"]?["precision"] as? String == "stored")
        #expect((object?["stored"]?["peakResidentBytes"] as? Int ?? 0) > 0)
        #expect(try weightFolders().isSubset(of: before))
        let misuse = try CLI.run(["transformer", "--config", config, "--precision", "both"], in: folder, tag: "misuse",
                                 program: "bottleneck-bench")
        #expect(misuse.status == 64 && misuse.stderr.contains("--precision applies to weights read from a file"))
    }
}
