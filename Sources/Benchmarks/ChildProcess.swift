import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one child process cost, measured by the parent: wall time around spawn → `wait4`, and the
/// child's own `rusage` from `wait4` (user and system CPU, peak resident set). Measuring in the
/// parent keeps each run's peak RSS separate: a method run in-process would inherit the peak of
/// everything that ran before it.
public struct ChildProcessReport: Sendable, Equatable, Codable {
    /// Exit status, or 128 + signal number when the child was killed by a signal.
    public var exitStatus: Int32
    public var wallSeconds: Double
    public var userSeconds: Double
    public var systemSeconds: Double
    /// `ru_maxrss` of the child (Linux reports KiB; converted to bytes).
    public var peakRSSBytes: Int

    enum CodingKeys: String, CodingKey {
        case exitStatus = "exit_status", wallSeconds = "wall_seconds", userSeconds = "user_seconds"
        case systemSeconds = "system_seconds", peakRSSBytes = "peak_rss_bytes"
    }
}

/// Runs a program to completion with stdout and stderr redirected to files.
public enum ChildProcess {
    /// Runs `executable arguments --json` (a `bottleneck-bench` case measuring in its own
    /// process, so its peak RSS is its own) and decodes the result it prints.
    /// - Throws: `BenchmarkError.measurementRunFailed` naming `what`, with the child's output,
    ///   when it exits non-zero or prints no result.
    public static func measurement<R: Decodable>(_ type: R.Type, what: String, executable: String,
                                                 arguments: [String]) throws -> R {
        let output = FileManager.default.temporaryDirectory.path
            + "/bottleneck-bench-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let report = try run(executable: executable, arguments: arguments + ["--json"], standardOutput: output)
        let data = FileManager.default.contents(atPath: output) ?? Data()
        guard report.exitStatus == 0, let decoded = try? JSONDecoder().decode(R.self, from: data) else {
            throw BenchmarkError(.measurementRunFailed(what: what, status: report.exitStatus,
                                                       output: String(decoding: data.prefix(2000), as: UTF8.self)))
        }
        return decoded
    }

    /// - Parameters:
    ///   - executable: absolute path of the program.
    ///   - arguments: argv[1...]; stdin is /dev/null.
    ///   - standardOutput, standardError: files created (truncated) for the child's output;
    ///     nil keeps the parent's descriptor; the same path for both gives one interleaved log.
    /// - Throws: `BenchmarkError` when the program cannot be started or waited for. A non-zero
    ///   exit status is not an error here; it is in the report.
    public static func run(executable: String, arguments: [String], standardOutput: String? = nil,
                           standardError: String? = nil) throws -> ChildProcessReport {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let standardOutput {
            posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        if let standardError, standardError == standardOutput {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        // The child starts with no blocked signals and default handlers, whatever the parent's
        // runtime set up, so Ctrl-C and kill reach it as they would from a shell.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let start = DispatchTime.now().uptimeNanoseconds
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], environ)
        guard spawned == 0 else {
            throw BenchmarkError(.spawnFailed(executable: executable, reason: String(cString: strerror(spawned))))
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else {
                throw BenchmarkError(.waitFailed(pid: Int(pid), reason: String(cString: strerror(errno))))
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        let exit = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return ChildProcessReport(exitStatus: exit, wallSeconds: wall, userSeconds: seconds(usage.ru_utime),
                                  systemSeconds: seconds(usage.ru_stime), peakRSSBytes: Int(usage.ru_maxrss) * 1024)
    }
}

extension ChildProcess {
    /// The path of the running executable (`/proc/self/exe`), to start copies of this program.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
    }
}

/// Errors of the `Benchmarks` module and of `bottleneck-bench` (its one error type), with the
/// context needed to act on them.
public struct BenchmarkError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// `posix_spawn` failed (missing executable, no permission, …).
        case spawnFailed(executable: String, reason: String)
        /// `wait4` failed for a child we started.
        case waitFailed(pid: Int, reason: String)
        /// An unknown comparison method name (`bottleneck-bench generate --methods`).
        case unknownMethod(name: String, known: [String])
        /// A `bottleneck generate` run by `bottleneck-bench generate` exited non-zero; `log` is its stderr.
        case childFailed(method: String, line: Int, status: Int32, log: String)
        /// A child's log without the `finished` progress event that carries the stage timings.
        case noTimings(log: String)
        /// `--rescore` without an earlier record of a method and prompt in the `runs` file.
        case missingRun(method: String, line: Int, runs: String)
        /// A measurement run in its own process (`transformer --precision both`, `flux --config`)
        /// exited non-zero or printed no result; `what` names the run.
        case measurementRunFailed(what: String, status: Int32, output: String)
    }

    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case let .spawnFailed(executable, reason): "cannot start \(executable): \(reason)"
        case let .waitFailed(pid, reason): "cannot wait for child process \(pid): \(reason)"
        case let .unknownMethod(name, known): "unknown method '\(name)'; known: \(known.joined(separator: ", "))"
        case let .childFailed(method, line, status, log):
            "method \(method), prompt line \(line): bottleneck generate exited with status \(status); see \(log)"
        case let .measurementRunFailed(what, status, output):
            "the \(what) run exited with status \(status)\(output.isEmpty ? "" : ": \(output)")"
        case let .noTimings(log): "\(log): no \"finished\" progress event with timings"
        case let .missingRun(method, line, runs):
            "\(runs): no record of method \(method) for prompt line \(line) to re-score; generate it first (without --rescore)"
        }
    }
}
