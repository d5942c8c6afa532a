import Foundation
import TestSupport
import Testing

/// `bottleneck-bench` reports errors as `bottleneck` does: `bottleneck-bench: error: …` on
/// stderr and a non-zero status (issue #17: it printed ArgumentParser's `Error: …`).
@Suite struct BenchEndToEndTests {
    /// Names in the temporary directory starting with `prefix` (the random weights a bench writes there).
    static func temporaryFolders(prefix: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix(prefix) })
    }

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
        func weightFolders() throws -> Set<String> { try Self.temporaryFolders(prefix: "bottleneck-bench-weights-") }
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

    /// `flux --config` (the per-block FLUX.1 timing in Docs/benchmarks.md) on the tiny FLUX
    /// fixture: one time per block of the config, the step projected from their means at the
    /// asked depth, the packed token count of the size, and the temporary weights removed.
    @Test func fluxBlocksAndProjectedStep() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = TestPaths.fixture("flux-pipeline-tiny/transformer/config.json")
        func weightFolders() throws -> Set<String> { try Self.temporaryFolders(prefix: "bottleneck-bench-flux-") }
        let before = try weightFolders()
        let run = try CLI.run(["flux", "--config", config, "--size", "64x48", "--text-tokens", "8", "--project", "3,5",
                               "--warmup", "0", "--iterations", "1", "--json"],
                              in: folder, tag: "flux", program: "bottleneck-bench")
        #expect(run.status == 0, "\(run.stderr)")
        let r = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let double = try #require(r["doubleBlockSeconds"] as? [Double])
        let single = try #require(r["singleBlockSeconds"] as? [Double])
        #expect(double.count == r["doubleBlocks"] as? Int && single.count == r["singleBlocks"] as? Int)
        #expect(r["imageTokens"] as? Int == (48 / 16) * (64 / 16))
        let embedding = try #require(r["embeddingSeconds"] as? Double), final = try #require(r["finalSeconds"] as? Double)
        let projected = embedding + 3 * double.reduce(0, +) / Double(double.count) + 5 * single.reduce(0, +) / Double(single.count) + final
        #expect(abs((r["projectedStepSeconds"] as? Double ?? -1) - projected) <= 1e-9 * max(1, projected))
        #expect(try weightFolders().isSubset(of: before))
        let badSize = try CLI.run(["flux", "--config", config, "--size", "100x64"], in: folder, tag: "size", program: "bottleneck-bench")
        #expect(badSize.status == 64 && badSize.stderr.contains("--size '100x64' must be WIDTHxHEIGHT"), "\(badSize.stderr)")
    }
}
