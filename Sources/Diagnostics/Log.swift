import Foundation

/// Diagnostics on stderr (fd 2), never stdout: stdout carries media (`-o -`) or the machine
/// output of `info`/`plan`/`bottleneck-bench --json`. Levels come from `--quiet` / `--verbose`.
public struct Log: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case error = 0, warning, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public var level: Level

    public init(level: Level = .info) { self.level = level }

    public func error(_ message: @autoclosure () -> String) { write(.error, "bottleneck: error: \(message())") }
    public func warning(_ message: @autoclosure () -> String) { write(.warning, "bottleneck: warning: \(message())") }
    public func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    public func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }

    private func write(_ at: Level, _ text: @autoclosure () -> String) {
        guard at <= level else { return }
        Log.writeStderr(text() + "\n")
    }

    /// Writes raw text to stderr (also used by the progress bar).
    public static func writeStderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Whether stderr is a terminal (the progress bar is drawn only then).
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
