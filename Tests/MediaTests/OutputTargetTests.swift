import Foundation
import Testing

@testable import Media

/// `OutputTarget`: what an output path names decides how it is written. Regular files are
/// replaced atomically; links are followed; FIFOs, devices and sockets are written through.
/// Each writer (`VideoWriter`, `PNGImage`) is checked on a node that a rename would replace.
@Suite struct OutputTargetTests {
    init() { MediaOutput.ignoreBrokenPipeSignal() }

    // MARK: Symbolic links

    /// Issue #16: a video written to a symbolic link replaced the link with a regular file.
    /// Now the link stays and the file it points to (through a relative link) holds the video.
    @Test func videoThroughALinkWritesTheFileItPointsTo() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/real", withIntermediateDirectories: false)
        try Data("old".utf8).write(to: URL(fileURLWithPath: folder + "/real/clip.mp4"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.mp4", withDestinationPath: "real/clip.mp4")

        let frames = try syntheticFrames(count: 4, width: 32, height: 32)
        let writer = try VideoWriter(destination: .file(folder + "/link.mp4"),
                                     options: VideoOptions(width: 32, height: 32, fps: try FrameRate(24)))
        try await writer.append(frames)
        let summary = try await writer.finish()

        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/link.mp4") == "real/clip.mp4")
        #expect(try VideoReader(path: folder + "/real/clip.mp4").readAll().count == 4)
        let size = try FileManager.default.attributesOfItem(atPath: folder + "/real/clip.mp4")[.size] as? Int64
        #expect(summary.bytes == size)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["link.mp4", "real"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/real") == ["clip.mp4"])
    }

    /// A preview written to a link whose file does not exist yet creates that file; the link stays.
    @Test func previewThroughADanglingLinkCreatesItsFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/latest.png", withDestinationPath: folder + "/shown.png")
        try PNGImage.write(try syntheticFrames(count: 1, width: 16, height: 16)[0], to: folder + "/latest.png")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/latest.png") == folder + "/shown.png")
        #expect(FileManager.default.contents(atPath: folder + "/shown.png")?.starts(with: Self.pngSignature) == true)
    }

    // MARK: FIFOs, sockets and directories

    /// Issue #16: a FIFO named as the output was replaced by a regular file, and its reader got
    /// nothing. Now the bytes go into the FIFO (MP4 fragmented, as on any pipe) and it stays a
    /// FIFO. The read end is opened first, non-blocking, so the writer's open does not wait; the
    /// clip fits the pipe buffer, so the writer never waits for the read either.
    @Test(arguments: [MediaFormat.y4m, .mp4]) func videoIntoAFIFO(format: MediaFormat) async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/out.\(format.rawValue)"
        try #require(mkfifo(fifo, 0o600) == 0)
        let readEnd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(readEnd >= 0)
        defer { close(readEnd) }

        let writer = try VideoWriter(destination: .file(fifo),
                                     options: VideoOptions(width: 32, height: 32, fps: try FrameRate(24)))
        try await writer.append(try syntheticFrames(count: 4, width: 32, height: 32))
        let summary = try await writer.finish()

        let bytes = Self.readAvailable(readEnd)
        #expect(Self.fileType(fifo) == S_IFIFO)
        #expect(summary.stream.fragmented == (format == .mp4))
        #expect(summary.bytes == Int64(bytes.count))
        try bytes.write(to: URL(fileURLWithPath: folder + "/copy.\(format.rawValue)"))
        #expect(try VideoReader(path: folder + "/copy.\(format.rawValue)").readAll().count == 4)
    }

    /// A preview written to a Unix-domain socket goes to whoever listens there; the socket file
    /// stays. The connection waits in the listen backlog and is accepted after the write.
    @Test func previewIntoASocket() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/preview.png"
        let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(server >= 0)
        defer { close(server) }
        var address = try #require(OutputTarget.socketAddress(path))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0 && listen(server, 1) == 0)
        _ = fcntl(server, F_SETFL, O_NONBLOCK)  // accept returns at once when nobody connected

        try PNGImage.write(try syntheticFrames(count: 1, width: 16, height: 16)[0], to: path)

        let connection = accept(server, nil, nil)
        #expect(connection >= 0, "the writer never connected")
        if connection >= 0 {
            defer { close(connection) }
            #expect(Self.readAvailable(connection).starts(with: Self.pngSignature))
        }
        #expect(Self.fileType(path) == S_IFSOCK)
    }

    /// A directory, named directly or through a link, is an error naming the path.
    @Test func aDirectoryIsRefused() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/clip.mp4", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.png", withDestinationPath: "clip.mp4")
        #expect(throws: MediaError(.isDirectory(resolvedPath: nil), path: folder + "/clip.mp4")) {
            try VideoWriter(destination: .file(folder + "/clip.mp4"),
                            options: VideoOptions(width: 32, height: 32, fps: try FrameRate(24)))
        }
        #expect(throws: MediaError(.isDirectory(resolvedPath: folder + "/clip.mp4"), path: folder + "/link.png")) {
            try PNGImage.write(try syntheticFrames(count: 1, width: 16, height: 16)[0], to: folder + "/link.png")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/clip.mp4").isEmpty)
    }

    // MARK: Resolution

    /// One file however it is spelled: through a link, `./`, or a hard link once it exists.
    @Test func sameFileThroughLinksPathsAndInodes() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: "a.mp4")
        let a = try OutputTarget(resolving: folder + "/a.mp4")
        #expect(a.kind == .file && a.resolvedPath == folder + "/a.mp4")
        #expect(a.isSameFile(as: try OutputTarget(resolving: folder + "/./a.mp4")))
        #expect(a.isSameFile(as: try OutputTarget(resolving: folder + "/link")))
        #expect(!a.isSameFile(as: try OutputTarget(resolving: folder + "/b.mp4")))

        try Data().write(to: URL(fileURLWithPath: folder + "/a.mp4"))
        try FileManager.default.linkItem(atPath: folder + "/a.mp4", toPath: folder + "/hard.mp4")
        let existing = try OutputTarget(resolving: folder + "/a.mp4")
        #expect(existing.isSameFile(as: try OutputTarget(resolving: folder + "/link")))
        #expect(existing.isSameFile(as: try OutputTarget(resolving: folder + "/hard.mp4")))
        #expect(try OutputTarget(resolving: "/dev/null").kind == .characterDevice)
    }

    /// Issue #16: `-o missing/x.mp4` was accepted and failed in the muxer after the whole
    /// denoising. A new file's folder is looked at with the rest of the path, so the request
    /// is refused before anything runs; so is a dangling link into a missing folder.
    @Test func aNewFileInAMissingFolderIsAnError() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let error = try #require(throws: MediaError.self) { try OutputTarget(resolving: folder + "/missing/x.mp4") }
        #expect(error.description == "\(folder)/missing/x.mp4: cannot write output: the folder \(folder)/missing "
                + "does not exist; create it first")
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.mp4", withDestinationPath: "gone/x.mp4")
        let linked = try #require(throws: MediaError.self) { try OutputTarget(resolving: folder + "/link.mp4") }
        #expect(linked.description.contains("the folder \(folder)/gone (where the link \(folder)/link.mp4 points)"))
        #expect(try OutputTarget(resolving: folder + "/x.mp4").kind == .file)
    }

    /// A link loop is reported, naming the path, instead of being followed forever.
    @Test func aLinkLoopIsAnError() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/a", withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: folder + "/b", withDestinationPath: "a")
        let error = try #require(throws: MediaError.self) { try OutputTarget(resolving: folder + "/a") }
        #expect(error.path == folder + "/a")
        #expect(error.description.contains("symbolic links"))
    }

    // MARK: Helpers

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// `S_IFMT` bits of what is at `path` (not following a link).
    static func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    /// Everything readable from `fd` now: until end of file, or until a non-blocking read
    /// finds nothing more.
    static func readAvailable(_ fd: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return data }
            data.append(contentsOf: buffer[0..<n])
        }
    }
}
