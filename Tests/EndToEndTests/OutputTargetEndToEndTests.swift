import Bottleneck
import Foundation
import Media
import Synchronization
import Testing

/// Issue #16, as a user meets it: what `-o`, `--save-latents` and `--preview` name decides how
/// `bottleneck generate` writes them. Devices and FIFOs are written through, links are followed,
/// and two outputs of one run that are one file are refused before anything runs.
@Suite(.serialized) struct OutputTargetEndToEndTests {
    static let prompt = "a red ball bouncing on a black background"

    /// A small full-resolution run (no bottleneck plan needed) with `extra` flags.
    func generate(_ folder: String, _ extra: [String], tag: String) throws -> CLI.Result {
        try CLI.run(["generate", Self.prompt, "--seed", "5", "--steps", "2", "--bottleneck", "off",
                     "--progress", "json"] + CLI.small + extra, in: folder, tag: tag)
    }

    // MARK: Written through

    /// A FIFO given as `-o` gets the video (fragmented MP4, since a FIFO cannot seek) while a
    /// reader thread drains it, and is still a FIFO afterwards. Before: it was replaced by a
    /// regular file and its reader waited forever.
    @Test func videoIntoAFIFOWithAReader() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/out.mp4"
        try #require(mkfifo(fifo, 0o600) == 0)
        let reader = try FIFOReader(path: fifo)
        let result = try generate(folder, ["-o", "out.mp4"], tag: "fifo")
        let bytes = reader.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(fileType(fifo) == S_IFIFO)
        try bytes.write(to: URL(fileURLWithPath: folder + "/copy.mp4"))
        #expect(try decodeAll(folder + "/copy.mp4").count == 9)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).allSatisfy { !$0.contains(".partial") })
    }

    /// A character device given as `-o` stays one: a copy of /dev/null takes the video and the
    /// run succeeds; a copy of /dev/full fails with "no space left", naming the output. Before:
    /// both became regular files holding the video, and both runs exited 0.
    @Test(arguments: ["null", "full"]) func videoIntoACharacterDevice(device: String) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = characterDevice(copying: "/dev/" + device, in: folder)
        let result = try generate(folder, ["-o", path, "--format", "mp4"], tag: device)
        #expect(fileType(path) == S_IFCHR)
        if device == "null" {
            #expect(result.status == 0, "\(result.stderr)")
        } else {
            #expect(result.status == 1)
            let messages = result.stderr.replacingOccurrences(of: "\\/", with: "/")  // JSON escapes "/"
            #expect(messages.contains("\(path): no space left on device"), "\(result.stderr)")
        }
        let folders = [folder, (path as NSString).deletingLastPathComponent]
        #expect(try folders.allSatisfy { try FileManager.default.contentsOfDirectory(atPath: $0).allSatisfy { !$0.contains(".partial") } })
    }

    // MARK: Links

    /// `-o`, `--save-latents` and `--preview` given as symbolic links (to an existing file and
    /// to files not there yet) write the files they point to; the links stay links. Before:
    /// each link was replaced by a regular file.
    @Test func linksAreFollowed() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/real", withIntermediateDirectories: false)
        try Data("old".utf8).write(to: URL(fileURLWithPath: folder + "/real/clip.mp4"))
        let links = ["video.mp4": "real/clip.mp4", "latents.safetensors": "real/latents.safetensors",
                     "preview.png": folder + "/real/preview.png"]
        for (link, destination) in links { try fm.createSymbolicLink(atPath: folder + "/" + link, withDestinationPath: destination) }
        let result = try generate(folder, ["-o", "video.mp4", "--save-latents", "latents.safetensors",
                                           "--preview", "preview.png", "--preview-every", "1"], tag: "links")
        #expect(result.status == 0, "\(result.stderr)")
        for (link, destination) in links {
            #expect((try? fm.destinationOfSymbolicLink(atPath: folder + "/" + link)) == destination, "\(link)")
        }
        #expect(try decodeAll(folder + "/real/clip.mp4").count == 9)
        #expect(try LatentFile.read(from: folder + "/real/latents.safetensors").request.seed == 5)
        #expect(try VideoReader(path: folder + "/real/preview.png").info.codecName == "png")
        #expect(try fm.contentsOfDirectory(atPath: folder + "/real").sorted()
                == ["clip.mp4", "latents.safetensors", "preview.png"])
    }

    // MARK: Shared paths

    /// Two outputs of one run that are one file (the same path, or a link to it) fail before
    /// anything runs: exit 64, both options named, nothing written. Before: the run went on,
    /// the video overwrote the latents, and both were reported written.
    @Test(arguments: [
        (["-o", "out.mp4", "--save-latents", "out.mp4"], "--output and --save-latents"),
        (["-o", "out.mp4", "--save-latents", "link"], "--output and --save-latents"),
        (["-o", "out.mp4", "--save-latents", "l.safetensors", "--preview", "l.safetensors"], "--save-latents and --preview"),
    ])
    func outputsThatAreOneFileFailUpFront(arguments: [String], options: String) throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: "out.mp4")
        let result = try generate(folder, arguments, tag: "shared")
        #expect(result.status == 64)
        #expect(result.stderr.contains("bottleneck: error: \(options)"), "\(result.stderr)")
        #expect(!result.stderr.contains("\"event\""), "it started generating")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(left == ["link", "plan.json", "shared.stderr", "shared.stdout"])
    }
}

/// `S_IFMT` bits of what is at `path` (not following a link).
func fileType(_ path: String) -> mode_t {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
}

/// A character device to write to: a copy of `device` (same device number) made in `folder`
/// when this process may create one (root), so a writer that replaced it would replace only the
/// copy; otherwise `device` itself, which an unprivileged writer cannot replace.
func characterDevice(copying device: String, in folder: String) -> String {
    var info = stat()
    guard stat(device, &info) == 0 else { return device }
    let copy = folder + "/" + (device as NSString).lastPathComponent
    return mknod(copy, S_IFCHR | 0o666, info.st_rdev) == 0 ? copy : device
}

/// Drains a FIFO on a thread of its own, as a consumer process would. It holds a write end of
/// its own until `finish()`, so a writer that never comes (the FIFO replaced by a rename) ends
/// the read there instead of leaving it blocked, and a writer that does come never waits in
/// `open`. Descriptors are close-on-exec, so no child process keeps the FIFO open.
final class FIFOReader: Sendable {
    private let readEnd: Int32
    private let keeper: Int32
    private let received = Mutex(Data())
    private let done = DispatchSemaphore(value: 0)

    init(path: String) throws {
        readEnd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)  // does not wait for a writer
        keeper = open(path, O_WRONLY | O_CLOEXEC)
        guard readEnd >= 0, keeper >= 0 else {
            throw CLI.CLIError(message: "cannot open the FIFO \(path): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) & ~O_NONBLOCK)  // reads wait for data
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(readEnd, &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                received.withLock { $0.append(contentsOf: buffer[0..<n]) }
            }
            done.signal()
        }
    }

    /// Everything read, once every writer has closed the FIFO.
    func finish() -> Data {
        close(keeper)
        done.wait()
        close(readEnd)
        return received.withLock { $0 }
    }
}
