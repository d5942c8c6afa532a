import Bottleneck
import Foundation
import Tensor
import TestSupport
import Testing

/// Issue #16: requests the machine cannot hold, and NaN values, as a user meets them. Each run
/// here ends before any weights load (or, for `decode`, before its VAE decodes), so they are quick.
@Suite struct ResourceEndToEndTests {
    /// The settings of a `generate` that loads nothing it does not need: this pipeline, 2 threads.
    static let pipeline = ["--pipeline", TestPaths.shapesPipeline, "--threads", "2", "--progress", "json"]

    /// The largest size the CLI accepts is refused up front with exit 69, naming the estimate
    /// and what the machine has. Before: it loaded the models, then aborted with "Fatal error:
    /// failed to allocate" (exit 134).
    @Test func largestAcceptedSizeIsRefusedBeforeLoading() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try CLI.run(["generate", "a red ball", "-o", "out.mp4", "--seed", "1", "--frames", "1033",
                             "--size", "4096x4096", "--steps", "2", "--bottleneck", "off"] + Self.pipeline,
                            in: folder, tag: "huge")
        #expect(r.status == ResourceShortage.exitStatus, "\(r.stderr)")
        #expect(r.stderr.contains("bottleneck: error: 1033 frames at 4096×4096 would need about "), "\(r.stderr)")
        #expect(r.stderr.contains(" GiB of memory at its peak (weights and runtime "), "\(r.stderr)")
        #expect(r.stderr.contains("transformer at stage 0 (2 passes of 16973856 tokens)"), "\(r.stderr)")
        #expect(r.stderr.contains("; this machine has "), "\(r.stderr)")
        let limit = try #require(try AvailableMemory.current(environment: [:]))
        #expect(r.stderr.hasSuffix(" available (\(limit.source)). Use a smaller size or fewer frames.\n"), "\(r.stderr)")
        #expect(!r.stderr.contains("prompt_encoded"), "the models were loaded")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out.mp4"))
    }

    /// A normal request under a small `BOTTLENECK_MEMORY_LIMIT` is refused the same way.
    @Test func normalRequestRefusedUnderAMemoryLimit() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try CLI.run(["generate", "a red ball", "-o", "out.mp4", "--seed", "1", "--steps", "2",
                             "--bottleneck", "off"] + CLI.small, in: folder, tag: "limit",
                            environment: [AvailableMemory.environmentKey: "64M"])
        #expect(r.status == ResourceShortage.exitStatus, "\(r.stderr)")
        #expect(r.stderr.contains("bottleneck: error: 9 frames at 32×32 would need about "), "\(r.stderr)")
        #expect(r.stderr.contains("this machine has 64.0 MiB available (BOTTLENECK_MEMORY_LIMIT)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out.mp4"))
        let bad = try CLI.run(["generate", "a red ball", "-o", "out.mp4", "--steps", "2", "--bottleneck", "off"]
                              + CLI.small, in: folder, tag: "bad", environment: [AvailableMemory.environmentKey: "lots"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("BOTTLENECK_MEMORY_LIMIT=lots: not a size in bytes, e.g. 8589934592 or 8G"))
    }

    /// Under an address-space cap (`ulimit -v`) that cannot hold the run, it is refused with
    /// exit 69 naming the limit. Before: "failed to allocate" mid-run (exit 134), which left
    /// the runtime's backtrace helpers behind. Under this cap about 170 MiB of address space is
    /// left once the process has started (threads and mappings take the rest); 33 frames at 128²
    /// need about 330 MiB, twice that, so the refusal does not hang on the estimate's last MiB
    /// (9 frames at 32², about 170 MiB, went either way).
    @Test func addressSpaceLimitIsRespected() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let command = (["ulimit -v 900000;", "exec", try CLI.executable(), "generate", "'a red ball'", "-o", "out.mp4",
                        "--seed", "1", "--steps", "2", "--bottleneck", "off", "--frames", "33", "--width", "128",
                        "--height", "128", "--pipeline", TestPaths.shapesPipeline, "--threads", "2"]).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " 2> err.txt"]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        try process.run()
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: folder + "/err.txt", encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == ResourceShortage.exitStatus, "\(stderr)")
        #expect(stderr.contains("available (the RLIMIT_AS limit (ulimit))"), "\(stderr)")
    }

    /// Latents holding a NaN given to `decode`: exit 1 naming the file and the tensor, and no
    /// output. Before: an all-black video and exit 0.
    @Test func nanLatentsFailDecodeWithoutOutput() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var request = GenerationRequest(prompt: "a red ball")
        (request.frames, request.width, request.height, request.seed) = (9, 32, 32, 3)
        var latents = Tensor(shape: [1, 3, 4, 4, 16], repeating: 0.1)
        latents.data[100] = .nan
        try LatentFile.write(Latents(latents), request: request, to: folder + "/nan.safetensors")
        let r = try CLI.run(["decode", "nan.safetensors", "-o", "out.mp4", "--pipeline", TestPaths.shapesPipeline],
                            in: folder, tag: "decode")
        #expect(r.status == 1)
        #expect(r.stderr.contains("bottleneck: error: nan.safetensors: tensor 'latents' [1, 3, 4, 4, 16] holds 1 NaN "
                                  + "value, the first at element 100"), "\(r.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!left.contains { $0.contains("out.mp4") }, "left: \(left)")
    }
}
