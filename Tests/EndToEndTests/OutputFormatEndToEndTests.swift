import Foundation
import Media
import Testing

/// Every output form `generate --help` lists, written by the built `bottleneck` and read back:
/// each container to a file and, where a pipe can carry it, to stdout; PNG frames to a folder;
/// the file name spelling of PNG frames refused with the accepted one (issue #17).
@Suite(.serialized) struct OutputFormatEndToEndTests {
    /// 9 frames of 32×32, two full-resolution steps: the output, not the sampling, is under test.
    func generate(_ folder: String, _ arguments: [String], tag: String) throws -> CLI.Result {
        try CLI.run(["generate", "a red ball bouncing on a black background", "--seed", "3", "--steps", "2",
                     "--bottleneck", "off", "--progress", "none"] + arguments + CLI.small, in: folder, tag: tag)
    }

    /// Checks that `path` holds the 9-frame 32×32 video in `container` (libavformat's name).
    func expectVideo(_ path: String, container: String) throws {
        let reader = try VideoReader(path: path)
        #expect(reader.info.formatName.split(separator: ",").contains { $0 == container }, "\(reader.info.formatName)")
        #expect((reader.info.width, reader.info.height) == (32, 32))
        #expect(try reader.readAll().count == 9)
    }

    /// The container libavformat reports for each file name the help lists.
    static let files: [(name: String, container: String)] = [
        ("v.mp4", "mp4"), ("v.m4v", "mp4"), ("v.webm", "webm"), ("v.mkv", "matroska"),
        ("v.y4m", "yuv4mpegpipe"), ("v.nut", "nut"),
    ]

    // MARK: Files

    @Test(arguments: files.map(\.name)) func containerToAFile(name: String) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, ["-o", name], tag: "file")
        #expect(result.status == 0, "\(result.stderr)")
        let container = try #require(Self.files.first { $0.name == name }?.container)
        try expectVideo(folder + "/" + name, container: container)
    }

    /// Raw video has no header: exactly 9 frames of 32×32 RGB24, whatever the extension says.
    @Test(arguments: ["v.rgb", "v.raw"]) func rawVideoToAFile(name: String) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, ["-o", name], tag: "raw")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.contents(atPath: folder + "/" + name)?.count == 9 * 32 * 32 * 3)
    }

    // MARK: Standard output

    /// Every streamable format reaches stdout as one readable stream (MP4 fragmented).
    @Test(arguments: [("mp4", "mp4"), ("webm", "webm"), ("mkv", "matroska"), ("y4m", "yuv4mpegpipe"), ("nut", "nut")])
    func containerToStdout(format: String, container: String) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, ["-o", "-", "--format", format], tag: "pipe")
        #expect(result.status == 0, "\(result.stderr)")
        let copy = folder + "/stdout." + format
        try result.stdout.write(to: URL(fileURLWithPath: copy))
        try expectVideo(copy, container: container)
    }

    @Test func rawVideoToStdout() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, ["-o", "-", "--format", "rawvideo"], tag: "rawpipe")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count == 9 * 32 * 32 * 3)
    }

    // MARK: PNG frames

    /// `-o DIR/` and `-o DIR --format png` both write DIR/frames_0001.png … frames_0009.png.
    @Test(arguments: [["-o", "frames/"], ["-o", "frames", "--format", "png"]])
    func pngFramesIntoAFolder(arguments: [String]) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, arguments, tag: "png")
        #expect(result.status == 0, "\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/frames").sorted()
        #expect(names == (1...9).map { String(format: "frames_%04d.png", $0) })
        let first = try VideoReader(path: folder + "/frames/frames_0001.png")
        #expect(first.info.codecName == "png")
        #expect((first.info.width, first.info.height) == (32, 32))
    }

    /// A file name pattern (the other spelling) is refused before anything loads, with the
    /// folder spelling in the message; so is PNG to a pipe. Issue #17: the pattern used to fail
    /// in the muxer ("writing packet failed") after the whole denoising.
    @Test(arguments: [["-o", "frames_%04d.png"], ["-o", "frames_%04d.png", "--format", "png"], ["-o", "still.png"]])
    func pngFileNamesAreRefused(arguments: [String]) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, arguments, tag: "pattern")
        #expect(result.status == 64)
        #expect(result.stderr.contains("bottleneck: error:") && result.stderr.contains("-o frames/"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".png") } == [])
    }

    @Test func pngToStdoutIsRefused() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try generate(folder, ["-o", "-", "--format", "png"], tag: "pngpipe")
        #expect(result.status == 64)
        #expect(result.stderr.contains("png cannot go to stdout"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
