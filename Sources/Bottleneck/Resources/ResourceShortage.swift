import Foundation

/// A request that does not fit this machine: more memory at its peak than the process may take,
/// or larger outputs than their file system has free. Found before any weights load
/// (`ResourceEstimate.check`); `generate` and `decode` exit with `exitStatus`, a batch skips
/// the item.
public struct ResourceShortage: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The peak, the shares that make it up, and what the machine has.
        case memory(needed: Int, shares: [ResourceEstimate.Share], available: AvailableMemory)
        /// The outputs bound for one file system, their total, and its free space.
        case disk(needed: Int, outputs: [ResourceEstimate.Output], free: DiskSpace)
    }

    /// The exit status of `generate` and `decode` when the request does not fit (sysexits.h's
    /// EX_UNAVAILABLE): apart from 1, so a script can tell "too big for this machine, run it on
    /// a larger one or make it smaller" from a failure.
    public static let exitStatus: Int32 = 69

    public var kind: Kind
    /// Frames and size of the video, for the message.
    public var frames: Int, width: Int, height: Int

    public init(_ kind: Kind, video: ResourceEstimate) {
        self.kind = kind
        (frames, width, height) = (video.frames, video.width, video.height)
    }

    public var description: String {
        let video = "\(frames) frames at \(width)×\(height)"
        switch kind {
        case .memory(let needed, let shares, let available):
            let parts = shares.map { "\($0.name) \(Self.bytes($0.bytes))" }.joined(separator: "; ")
            return "\(video) would need about \(Self.bytes(needed)) of memory at its peak (\(parts)); "
                + "this machine has \(Self.bytes(available.bytes)) available (\(available.source)). "
                + "Use a smaller size or fewer frames."
        case .disk(let needed, let outputs, let free):
            let parts = outputs.map { "--\($0.option) \($0.path) \(Self.bytes($0.bytes))" }.joined(separator: "; ")
            return "\(video) would need up to \(Self.bytes(needed)) on the file system of \(free.folder) (\(parts)); "
                + "it has \(Self.bytes(free.freeBytes)) free. Free some space or write elsewhere."
        }
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
