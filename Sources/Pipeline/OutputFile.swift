import Foundation

/// A file written under a temporary name next to its destination and renamed into place only
/// when complete, so the final name never holds a truncated video. Sinks use it to implement
/// `VideoSink.finish` (commit) and `VideoSink.cancel` (discard).
///
/// The temporary name is `.<name>.partial` in the destination's folder (same file system, so
/// the rename is atomic). `bottleneck batch --resume` removes leftovers with that pattern.
public struct OutputFile: Sendable, Equatable {
    /// Final path.
    public let path: String
    /// Where bytes are written until `commit()`.
    public let temporaryPath: String

    public init(path: String) {
        self.path = path
        self.temporaryPath = Self.temporaryPath(for: path)
    }

    /// The temporary path used for `path`.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        return (dir as NSString).appendingPathComponent(".\(url.lastPathComponent).partial")
    }

    /// Moves the temporary file over `path` (replacing an old file) and syncs it.
    /// - Throws: `PipelineError.output` with the OS reason.
    public func commit() throws {
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            throw PipelineError(.output(path: path, reason: "cannot move \(temporaryPath) into place: \(reason)"))
        }
    }

    /// Removes the temporary file if present. Never throws.
    public func discard() {
        _ = unlink(temporaryPath)
    }
}
