import Diagnostics
import Foundation

/// A request that does not fit this machine: more memory at its peak than the process may take,
/// or larger outputs than their file system has free. Found before any weights load
/// (`ResourceEstimate.check`); `generate` and `decode` exit with `exitStatus`, a batch skips
/// the item.
public typealias ResourceShortage = ContextError<ResourceShortageKind>

extension ContextError where Kind == ResourceShortageKind {
    /// The exit status of `generate` and `decode` when the request does not fit (sysexits.h's
    /// EX_UNAVAILABLE): apart from 1, so a script can tell "too big for this machine, run it on
    /// a larger one or make it smaller" from a failure.
    public static var exitStatus: Int32 { 69 }

    /// The shortage of `kind` for `video`, whose frames and size are the subject.
    public init(_ kind: Kind, video: ResourceEstimate) {
        self.init(kind, subject: "\(video.frames) frames at \(video.width)×\(video.height)")
    }

    /// `212 GiB`, `6.1 GiB`, `540 MiB`: three significant digits at most, binary units.
    public static func bytes(_ count: Int) -> String {
        var value = Double(count)
        var unit = "bytes"
        for next in ["KiB", "MiB", "GiB", "TiB", "PiB"] where value >= 1024 {
            value /= 1024
            unit = next
        }
        if unit == "bytes" { return "\(count) bytes" }
        return (value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)) + " " + unit
    }
}

/// The cases of `ResourceShortage`; the subject is the video (`129 frames at 128×128`).
public enum ResourceShortageKind: ErrorKind {
    /// The peak, the shares that make it up, and what the machine has.
    case memory(needed: Int, shares: [ResourceEstimate.Share], available: AvailableMemory)
    /// The outputs bound for one file system, their total, and its free space.
    case disk(needed: Int, outputs: [ResourceEstimate.Output], free: DiskSpace)

    public func description(subject video: String) -> String {
        let bytes = ResourceShortage.bytes
        switch self {
        case .memory(let needed, let shares, let available):
            let parts = shares.map { "\($0.name) \(bytes($0.bytes))" }.joined(separator: "; ")
            return "\(video) would need about \(bytes(needed)) of memory at its peak (\(parts)); "
                + "this machine has \(bytes(available.bytes)) available (\(available.source)). "
                + "Use a smaller size or fewer frames."
        case .disk(let needed, let outputs, let free):
            let parts = outputs.map { "--\($0.option) \($0.path) \(bytes($0.bytes))" }.joined(separator: "; ")
            return "\(video) would need up to \(bytes(needed)) on the file system of \(free.folder) (\(parts)); "
                + "it has \(bytes(free.freeBytes)) free. Free some space or write elsewhere."
        }
    }
}
