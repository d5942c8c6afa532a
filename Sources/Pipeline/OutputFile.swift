import Foundation

/// A file written under a temporary name next to its destination and renamed into place only
/// when complete, so the final name never holds a truncated video. Sinks use it to implement
/// `VideoSink.finish` (commit) and `VideoSink.cancel` (discard).
///
/// The temporary name is `.<name>.partial` in the destination's folder (same file system, so
/// the rename is atomic); Media's `VideoWriter` appends `-<pid>-<tag>` to it. `bottleneck batch
/// --resume` removes leftovers of both forms (`isTemporaryName`).
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

    /// Whether `name` (a file name, no folder) is a temporary name of the output named
    /// `outputName`: `.<outputName>.partial`, or that followed by `-` and a writer's suffix.
    public static func isTemporaryName(_ name: String, of outputName: String) -> Bool {
        let stem = ".\(outputName).partial"
        return name == stem || name.hasPrefix(stem + "-")
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
