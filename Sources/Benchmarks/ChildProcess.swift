import Foundation

/// One finished child process: exit status, wall time and the kernel's resource accounting.
public struct ChildRun: Codable, Sendable, Equatable {
    /// Exit status, or 128 + signal number when a signal ended it (shell convention).
    public var status: Int32
    public var wallSeconds: Double
    /// User + system CPU seconds of the child (all its threads).
    public var cpuSeconds: Double
    /// Peak resident set size of the child (`ru_maxrss` from `wait4`), bytes.
    public var peakRSSBytes: Int
}

/// Why a child process could not be measured.
public struct ChildProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `posix_spawn` failed (`errno` text).
        case spawnFailed(reason: String)
        /// `wait4` failed (`errno` text).
        case waitFailed(reason: String)
    }

    public var kind: Kind
    /// The program that was run.
    public var executable: String

    public var description: String {
        switch kind {
        case .spawnFailed(let reason): "cannot start \(executable): \(reason)"
        case .waitFailed(let reason): "cannot wait for \(executable): \(reason)"
        }
    }
}

/// Runs programs one at a time and measures each with `wait4`, whose `rusage` covers exactly
/// that child (unlike `getrusage(RUSAGE_CHILDREN)`, which keeps the maximum over all children).
public enum ChildProcess {
    /// Runs `executable` with `arguments` to completion, its stdout and stderr appended to
    /// `logPath`, stdin from /dev/null. Blocks the calling thread.
    public static func run(_ executable: String, _ arguments: [String], logPath: String) throws -> ChildRun {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = DispatchTime.now().uptimeNanoseconds
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw ChildProcessError(kind: .spawnFailed(reason: String(cString: strerror(spawned))),
                                    executable: executable)
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else {
                throw ChildProcessError(kind: .waitFailed(reason: String(cString: strerror(errno))),
                                        executable: executable)
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Linux reports ru_maxrss in KiB. WIFEXITED/WTERMSIG are macros: decode by hand.
        let signal = status & 0x7f
        return ChildRun(
            status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, wallSeconds: wall,
            cpuSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            peakRSSBytes: usage.ru_maxrss * 1024)
    }

    /// The path of the running executable (`/proc/self/exe`), to start copies of this program.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    }
}
