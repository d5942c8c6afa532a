import Foundation

/// An advisory lock (flock(2)) on a batch output folder, held for the whole run, so that two
/// batches never write one folder at once: the second is refused at once, with the folder and
/// the holder's pid, instead of deleting the first one's partial files and redoing its items.
///
/// - A batch of the whole list locks `.bottleneck-batch.lock` exclusively.
/// - A shard (`--shard I/N`) locks it shared, so the shards of one list run side by side into
///   one folder (each manifest record is one atomic append), and locks
///   `.bottleneck-batch-shard-I-of-N.lock` exclusively, so one shard does not run twice.
///   Shards of different counts (`1/2` and `1/4`) are not checked against each other.
///
/// A holder writes its pid into the file it locks exclusively (a shard clears the shared
/// file's). The kernel drops a lock when its process ends, however it ends (SIGKILL included),
/// so nothing stale is left to clean up; the files stay (removing a lock file while another
/// process has it open would let two processes hold "the" lock). Processes that do not take
/// the lock (a `generate` writing into the folder) are protected by the partial-file rule
/// instead: `BatchPlanner` removes a partial file only when its writer is gone.
public final class BatchFolderLock: Sendable {
    public static let fileName = ".bottleneck-batch.lock"

    /// `.bottleneck-batch-shard-I-of-N.lock`.
    static func shardFileName(_ shard: Shard) -> String {
        "\(shardFilePrefix)\(shard.number)-of-\(shard.count)\(shardFileSuffix)"
    }
    private static let shardFilePrefix = ".bottleneck-batch-shard-"
    private static let shardFileSuffix = ".lock"

    public let folder: String
    /// Open lock files; closing them (deinit) releases the locks.
    private let descriptors: [Int32]

    /// Locks `folder` (which must exist) for a batch of the whole list, or for `shard`.
    /// - Throws: `PipelineError.outputFolderInUse` naming the folder and the holders, or
    ///   `.outputFolderLock` when the lock file cannot be created or locked.
    public init(folder: String, shard: Shard? = nil) throws(PipelineError) {
        self.folder = folder
        let main = try Self.open(folder, Self.fileName)
        guard let shard else {
            try Self.lock(main, exclusive: true, in: folder) { Self.holders(of: main, in: folder) }
            Self.record(getpid(), in: main)
            descriptors = [main]
            return
        }
        try Self.lock(main, exclusive: false, in: folder) { Self.holders(of: main, in: folder) }
        // A pid left in the shared file is a killed exclusive holder's (`holders(of:in:)`
        // reads it as the holder's when it is not empty).
        Self.record(nil, in: main)
        let own: Int32
        do throws(PipelineError) {
            own = try Self.open(folder, Self.shardFileName(shard))
        } catch {
            close(main)
            throw error
        }
        do throws(PipelineError) {
            try Self.lock(own, exclusive: true, in: folder) {
                ["shard \(shard)" + (Self.recordedPID(own).map { ", pid \($0)" } ?? "")]
            }
        } catch {
            close(main)
            throw error
        }
        Self.record(getpid(), in: own)
        descriptors = [main, own]
    }

    deinit { for fd in descriptors { close(fd) } }

    // MARK: Lock files

    private static func open(_ folder: String, _ name: String) throws(PipelineError) -> Int32 {
        let path = (folder as NSString).appendingPathComponent(name)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PipelineError(.outputFolderLock(reason: "\(name): \(String(cString: strerror(errno)))"), subject: folder)
        }
        return fd
    }

    /// Takes the lock without waiting; on failure closes `fd` and throws, naming the holders
    /// when another process has the lock.
    private static func lock(_ fd: Int32, exclusive: Bool, in folder: String,
                             holders: () -> [String]) throws(PipelineError) {
        while flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            let error = e == EWOULDBLOCK
                ? PipelineError(.outputFolderInUse(holders: holders()), subject: folder)
                : PipelineError(.outputFolderLock(reason: String(cString: strerror(e))), subject: folder)
            close(fd)
            throw error
        }
    }

    /// Replaces the file's contents with `pid` (nothing for nil). Best effort: the pid only
    /// improves the message another process gets.
    private static func record(_ pid: pid_t?, in fd: Int32) {
        _ = ftruncate(fd, 0)
        guard let pid else { return }
        let text = Array("\(pid)\n".utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    private static func recordedPID(_ fd: Int32) -> pid_t? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return pid_t(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Who holds the folder's lock: the pid an exclusive holder wrote into the shared file, else
    /// the running shards (their files' pids, kept if that process exists: the files are not
    /// probed with a lock, which would refuse a shard starting at that moment).
    private static func holders(of main: Int32, in folder: String) -> [String] {
        if let pid = recordedPID(main) { return ["pid \(pid)"] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap { name -> String? in
            guard name.hasPrefix(shardFilePrefix), name.hasSuffix(shardFileSuffix) else { return nil }
            let fd = Glibc.open((folder as NSString).appendingPathComponent(name), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            guard let pid = recordedPID(fd), ProcessState.exists(pid) else { return nil }
            let shard = name.dropFirst(shardFilePrefix.count).dropLast(shardFileSuffix.count)
                .replacingOccurrences(of: "-of-", with: "/")
            return "shard \(shard), pid \(pid)"
        }
    }
}

/// Whether a process exists, from `kill(pid, 0)`: it does unless the kernel says ESRCH (EPERM
/// means it exists but belongs to someone else).
enum ProcessState {
    static func exists(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)
    }
}
