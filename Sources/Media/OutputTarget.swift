import CFFmpeg
import Foundation

/// What an output path names, looked up before anything is written, and so how its bytes get
/// there. The one rule for every output of a run (video, `--save-latents`, `--preview`):
///
/// - nothing there, or a regular file: written under a temporary name next to it
///   (`TemporaryOutputName`) and renamed over it when complete, so the name never holds a
///   partial file;
/// - a character or block device, a FIFO or a socket: written through (opened and streamed
///   into, like standard output), never replaced by a regular file;
/// - a symbolic link: followed, and the rules above apply to the file it points to; the link
///   itself stays;
/// - a directory: an error naming the path.
///
/// ```swift
/// let target = try OutputTarget(resolving: "latest.png")  // a link to previews/run3.png
/// try target.write(pngBytes)  // previews/run3.png replaced atomically, the link kept
/// ```
public struct OutputTarget: Sendable, Equatable {
    /// What is at the resolved path.
    public enum Kind: String, Sendable, Equatable {
        /// A regular file, or nothing yet.
        case file = "file"
        case characterDevice = "character device"
        case blockDevice = "block device"
        case fifo = "FIFO"
        case socket = "socket"

        /// Whether bytes are streamed into the existing node rather than renamed into place.
        public var isWrittenThrough: Bool { self != .file }
    }

    /// The path as given, which names the output in messages.
    public let path: String
    /// Where the bytes go: `path` with symbolic links followed (relative paths stay relative).
    public let resolvedPath: String
    public let kind: Kind
    /// Device and inode of an existing node, else the canonical path it will be created at.
    private let identity: Identity

    private enum Identity: Hashable, Sendable {
        case node(device: UInt64, inode: UInt64)
        case path(String)
    }

    /// Links followed before giving up (the kernel's own limit, `MAXSYMLINKS`, is 40).
    private static let maxLinks = 40

    /// Follows `path` through symbolic links and looks at what it names.
    /// - Throws: `MediaError` naming `path`: `.isDirectory`, or `.cannotOpenOutput` for a link
    ///   loop, a path that cannot be looked up (a folder in it not readable, or not a folder), or
    ///   a new file whose folder does not exist.
    public init(resolving path: String) throws {
        self.path = path
        var current = path
        var info = stat()
        var links = 0
        while true {
            guard lstat(current, &info) == 0 else {
                let e = errno
                guard e == ENOENT else { throw Self.lookupError(e, at: current, of: path) }
                // A link the kernel follows although its text names no file: /dev/stdout →
                // /proc/self/fd/1 → "pipe:[…]". The node is used through `path` itself.
                if current != path, stat(path, &info) == 0 {
                    current = path
                    break
                }
                // Nothing there (a new file, or a dangling link): created at `current`, so its
                // folder must exist now, not only when the file is written after the run.
                try Self.checkFolder(of: current, for: path)
                resolvedPath = current
                kind = .file
                identity = .path(Self.canonicalPath(ofMissing: current))
                return
            }
            guard info.st_mode & S_IFMT == S_IFLNK else { break }
            links += 1
            guard links <= Self.maxLinks else {
                throw Self.lookupError(ELOOP, at: current, of: path)
            }
            let destination: String
            do {
                destination = try FileManager.default.destinationOfSymbolicLink(atPath: current)
            } catch {
                throw MediaError(
                    .cannotOpenOutput(
                        message: "reading the link \(current): \(EncoderSession.describe(error))"),
                    path: path)
            }
            // A relative link is relative to the folder holding it.
            let folder = (current as NSString).deletingLastPathComponent
            current =
                destination.hasPrefix("/") || folder.isEmpty
                ? destination : (folder as NSString).appendingPathComponent(destination)
        }
        resolvedPath = current
        identity = .node(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFCHR: kind = .characterDevice
        case S_IFBLK: kind = .blockDevice
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        case S_IFDIR:
            let linked = current == path ? nil : current
            throw MediaError(.isDirectory(resolvedPath: linked), path: path)
        default: throw Self.lookupError(EINVAL, at: current, of: path)
        }
    }

    /// Whether both name the same file: the same device and inode when it exists (through
    /// links, or hard links), else the same canonical path.
    public func isSameFile(as other: OutputTarget) -> Bool { identity == other.identity }

    // MARK: Writing

    /// Puts `bytes` at the output: streamed into a device, FIFO or socket; for a file, written
    /// under a temporary name next to the resolved path and renamed over it when complete.
    /// - Throws: `MediaError` naming `path` (`cannotOpenOutput`, `diskFull`, `brokenPipe`).
    public func write(_ bytes: Data) throws {
        if kind.isWrittenThrough {
            let fd = try openForWriting()
            defer { close(fd) }
            let e = bytes.withUnsafeBytes {
                DescriptorOutput.writeAll(fd, $0.baseAddress, count: $0.count)
            }
            if e != 0 { throw LibAV.error(bn_averror(e), operation: "writing", path: path) }
            return
        }
        let temporary = TemporaryOutputName.path(for: resolvedPath)
        do {
            do { try bytes.write(to: URL(fileURLWithPath: temporary)) } catch {
                throw MediaError(
                    .cannotOpenOutput(message: EncoderSession.describe(error)), path: path)
            }
            try publish(temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// Renames a complete temporary file over the resolved path (atomic within one folder).
    func publish(_ temporary: String) throws {
        try Self.rename(temporary, to: resolvedPath, naming: path)
    }

    /// Moves a finished temporary output to its final name; `display` names it in errors.
    static func rename(_ temporary: String, to final: String, naming display: String) throws {
        if Glibc.rename(temporary, final) != 0 {
            let reason = String(cString: strerror(errno))
            throw MediaError(
                .cannotOpenOutput(message: "renaming \(temporary): \(reason)"), path: display)
        }
    }

    /// Opens a written-through output: a device or FIFO for writing (a FIFO waits here until
    /// a reader opens it, as a shell redirection does), a socket by connecting to it. Nothing
    /// is created: a node removed since it was resolved is an error, not a new regular file.
    /// The caller closes the descriptor.
    func openForWriting() throws -> Int32 {
        if kind == .socket { return try connect() }
        while true {
            let fd = open(resolvedPath, O_WRONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            let e = errno
            if e != EINTR { throw openError(e, doing: "opening") }
        }
    }

    /// A stream connection to the Unix-domain socket at `resolvedPath`.
    private func connect() throws -> Int32 {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw openError(errno, doing: "creating a socket for") }
        guard var address = Self.socketAddress(resolvedPath) else {
            close(fd)
            throw openError(ENAMETOOLONG, doing: "connecting to")
        }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw openError(e, doing: "connecting to")
        }
        return fd
    }

    /// The Unix-domain address of the socket file at `path`, or nil when the path is too long
    /// for `sun_path`.
    static func socketAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array(path.utf8)
        let fits = withUnsafeMutableBytes(of: &address.sun_path) { field in
            guard name.count < field.count else { return false }  // room for the terminating NUL
            field.copyBytes(from: name)
            return true
        }
        return fits ? address : nil
    }

    private func openError(_ code: Int32, doing action: String) -> MediaError {
        let reason = String(cString: strerror(code))
        return MediaError(
            .cannotOpenOutput(message: "\(action) the \(kind.rawValue) \(resolvedPath): \(reason)"),
            path: path)
    }

    // MARK: Lookup

    private static func lookupError(_ code: Int32, at current: String, of path: String)
        -> MediaError
    {
        let place = current == path ? "" : " (at \(current))"
        let reason = String(cString: strerror(code))
        return MediaError(
            .cannotOpenOutput(message: "cannot look it up\(place): \(reason)"), path: path)
    }

    /// Throws unless the folder a new file at `current` would be created in exists (a missing
    /// folder makes `lstat` of the file fail with ENOENT, like a missing file).
    private static func checkFolder(of current: String, for path: String) throws {
        let folder = (current as NSString).deletingLastPathComponent
        var info = stat()
        guard !folder.isEmpty, stat(folder, &info) != 0 else { return }
        let place = current == path ? "" : " (where the link \(path) points)"
        throw MediaError(
            .cannotOpenOutput(message: "the folder \(folder)\(place) does not exist; create it first"),
            path: path)
    }

    /// The absolute path a missing file will have: its folder with links resolved (when the
    /// folder exists) plus its name, so two spellings of one new file compare equal.
    private static func canonicalPath(ofMissing path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let current = FileManager.default.currentDirectoryPath as NSString
        let absolute = folder.hasPrefix("/") ? folder : current.appendingPathComponent(folder)
        guard let real = realpath(absolute, nil) else {
            return (absolute as NSString).appendingPathComponent(name)
        }
        defer { free(real) }
        return (String(cString: real) as NSString).appendingPathComponent(name)
    }
}
