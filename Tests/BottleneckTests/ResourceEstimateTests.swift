import Foundation
import Media
import TestSupport
import Testing
@testable import Bottleneck

/// `ResourceEstimate`: how the shares add up, the refusal and its words, output size bounds, and
/// where the memory limit comes from (issue #16: requests the machine cannot hold died with
/// "failed to allocate", exit 134).
@Suite struct ResourceEstimateTests {
    static let mib = 1 << 20

    static func estimate(lanes: Int = 0, outputs: [ResourceEstimate.Output] = []) -> ResourceEstimate {
        ResourceEstimate(frames: 129, width: 128, height: 128,
                         resident: [.init("weights and runtime", bytes: 300 * mib)],
                         denoise: .init("transformer at stage 0 (2 passes of 2144 tokens)", bytes: 80 * mib),
                         decode: .init("VAE decode (untiled)", bytes: 600 * mib),
                         denoisingBesideDecode: lanes, outputs: outputs)
    }

    // MARK: Memory

    /// One video denoises, then decodes: the larger phase counts. In a batch the decode of one
    /// item runs beside the denoising of the next, on every lane: all of them count.
    @Test func peakAddsThePhasesThatRunTogether() {
        #expect(Self.estimate().peakMemoryBytes == 900 * Self.mib)
        #expect(Self.estimate(lanes: 1).peakMemoryBytes == 980 * Self.mib)
        #expect(Self.estimate(lanes: 2).peakMemoryBytes == 1060 * Self.mib)
        #expect(Self.estimate(lanes: 2).peakShares.map(\.name)
                == ["weights and runtime", "2 × transformer at stage 0 (2 passes of 2144 tokens)", "VAE decode (untiled)"])
    }

    @Test func refusalNamesTheEstimateItsPartsAndTheLimit() throws {
        let limit = AvailableMemory(bytes: 512 * Self.mib, source: "BOTTLENECK_MEMORY_LIMIT")
        let shortage = try #require(throws: ResourceShortage.self) { try Self.estimate().check(memory: limit) }
        #expect(shortage.description == "129 frames at 128×128 would need about 900 MiB of memory at its peak "
                + "(weights and runtime 300 MiB; transformer at stage 0 (2 passes of 2144 tokens) 80.0 MiB; "
                + "VAE decode (untiled) 600 MiB); this machine has 512 MiB available (BOTTLENECK_MEMORY_LIMIT). "
                + "Use a smaller size or fewer frames.")
        try Self.estimate().check(memory: AvailableMemory(bytes: 900 * Self.mib, source: "test"))
        try Self.estimate().check(memory: nil)
    }

    @Test func byteCountsReadAsPeopleWriteThem() {
        #expect(ResourceShortage.bytes(1000) == "1000 bytes")
        #expect(ResourceShortage.bytes(1536) == "1.5 KiB")
        #expect(ResourceShortage.bytes(212 << 30) == "212 GiB")
        #expect(ResourceShortage.bytes(6_549_825_126) == "6.1 GiB")
    }

    // MARK: Disk

    /// Outputs on one file system share its free space; a written-through output (no free
    /// space to measure) is not counted.
    @Test func outputsOnOneFileSystemAddUp() throws {
        let outputs = [ResourceEstimate.Output(option: "output", path: "/a/v.mp4", bytes: 60 * Self.mib),
                       ResourceEstimate.Output(option: "save-latents", path: "/a/l.safetensors", bytes: 50 * Self.mib),
                       ResourceEstimate.Output(option: "preview", path: "/dev/null", bytes: 1 << 30)]
        func space(free: Int) -> (String) -> DiskSpace? {
            { $0.hasPrefix("/dev") ? nil : DiskSpace(folder: "/a", device: 7, freeBytes: free) }
        }
        try Self.estimate(outputs: outputs).check(memory: nil, freeSpace: space(free: 110 * Self.mib))
        let shortage = try #require(throws: ResourceShortage.self) {
            try Self.estimate(outputs: outputs).check(memory: nil, freeSpace: space(free: 100 * Self.mib))
        }
        #expect(shortage.kind == .disk(needed: 110 * Self.mib, outputs: Array(outputs.prefix(2)),
                                       free: DiskSpace(folder: "/a", device: 7, freeBytes: 100 * Self.mib)))
        #expect(shortage.description.contains("would need up to 110 MiB on the file system of /a "
                                              + "(--output /a/v.mp4 60.0 MiB; --save-latents /a/l.safetensors 50.0 MiB)"))
    }

    /// Free space is measured in the folder a file lands in; a device is written through, and
    /// nothing of it lands on a file system.
    @Test func freeSpaceOfTheOutputsFolder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let space = try #require(DiskSpace.available(forOutputAt: dir + "/v.mp4"))
        #expect(space.folder == dir && space.freeBytes > 0)
        #expect(DiskSpace.available(forOutputAt: "/dev/null") == nil)
    }

    /// Uncompressed formats are bounded exactly but for the header: what Media writes for 9
    /// frames of 32² (y4m 4:2:0 with a `FRAME` line each, raw RGB) against the bound.
    @Test(arguments: [MediaFormat.y4m, .rawvideo, .nut])
    func uncompressedBoundsAreExact(format: MediaFormat) async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/v.\(format == .rawvideo ? "rgb" : format.rawValue)"
        let writer = try VideoWriter(destination: .file(path), options: VideoOptions(
            width: 32, height: 32, fps: try FrameRate(24), format: format))
        let grey = try VideoFrame(width: 32, height: 32, pixels: .init(repeating: 90, count: 32 * 32 * 3))
        try await writer.append(Array(repeating: grey, count: 9))
        let written = Int(try await writer.finish().bytes)
        let bound = format.sizeBound(frames: 9, width: 32, height: 32, crf: 18)
        #expect(written <= bound)
        #expect(bound - written <= (format == .nut ? 4096 + 9 * 64 : 128), "\(format): \(written) of \(bound)")
        if format == .rawvideo { #expect(written == bound) }
    }

    /// Compressed video: 1.5 bytes per pixel at CRF 0, halved every 12 steps, plus 64 KiB.
    @Test func compressedBoundHalvesEveryTwelveCRF() {
        let frames = 129, side = 128, pixels = 129 * 128 * 128
        #expect(MediaFormat.mp4.sizeBound(frames: frames, width: side, height: side, crf: 0) == 65536 + pixels * 3 / 2)
        #expect(MediaFormat.webm.sizeBound(frames: frames, width: side, height: side, crf: 24)
                == 65536 + pixels * 3 / 8)
    }

    @Test func requestListsTheFilesItWrites() throws {
        var r = GenerationRequest(prompt: "p")
        (r.frames, r.width, r.height, r.output, r.format) = (9, 32, 32, .file("v.y4m"), nil)
        r.saveLatentsPath = "l.safetensors"
        r.preview = PreviewSettings(path: "p.png", every: 1)
        let sizes = r.outputSizes(latentChannels: 16)
        #expect(sizes.map(\.option) == ["output", "save-latents", "preview"])
        #expect(sizes[0].bytes == MediaFormat.y4m.sizeBound(frames: 9, width: 32, height: 32, crf: r.crf))
        #expect(sizes[1].bytes == 8 + 4096 + 1 + 4 * 3 * 4 * 4 * 16)
        r.output = .stdout
        #expect(r.outputSizes(latentChannels: 16).map(\.option) == ["save-latents", "preview"])
    }

    // MARK: The limit

    @Test func environmentOverrideReplacesTheMachine() throws {
        let key = AvailableMemory.environmentKey
        #expect(try AvailableMemory.current(environment: [key: "64M"]) == AvailableMemory(bytes: 64 << 20, source: key))
        #expect(throws: PipelineError.self) { try AvailableMemory.current(environment: [key: "lots"]) }
        #expect(AvailableMemory.parseSize("8589934592") == 8 << 30)
        #expect(AvailableMemory.parseSize("1.5T") == 3 << 39)
        #expect(AvailableMemory.parseSize("512mb") == 512 << 20)
        #expect(AvailableMemory.parseSize("0") == nil && AvailableMemory.parseSize("-1G") == nil)
        #expect(AvailableMemory.parseSize("8X") == nil && AvailableMemory.parseSize("") == nil)
    }

    /// On Linux the machine reports something, and no more than /proc/meminfo's MemAvailable.
    @Test func machineLimitIsAtMostMemAvailable() throws {
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let available = try #require(AvailableMemory.field("MemAvailable", in: meminfo))
        let machine = try #require(try AvailableMemory.current(environment: [:]))
        #expect(machine.bytes <= available * 1024 + (64 << 20))  // MemAvailable moves between the reads
        #expect(AvailableMemory.field("VmSize", in: "Name:\tx\nVmSize:\t  123456 kB\n") == 123456)
    }
}
