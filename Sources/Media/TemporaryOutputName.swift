import Foundation

/// The hidden name an output is written under until it is complete, so its final name never
/// holds a truncated file: `/dir/name.mp4` → `/dir/.name.mp4.partial-<pid>-<random>`. Same
/// folder (the final rename is atomic), hidden, without the real extension (it never looks
/// finished), and unique per writer. The one naming rule for partial outputs: `VideoWriter`
/// and `PNGImage` write under it, `bottleneck batch --resume` removes a killed run's leftovers
/// by it (`isTemporary(_:of:)`), once the process it names (`writer(of:of:)`) is gone.
public enum TemporaryOutputName {
    /// A fresh temporary path for the output at `final`.
    public static func path(for final: String) -> String {
        let slash = final.lastIndex(of: "/")
        let folder = slash.map { String(final[...$0]) } ?? ""
        let name = slash.map { String(final[final.index(after: $0)...]) } ?? final
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(folder)\(prefix(of: name))\(getpid())-\(tag)"
    }

    /// Whether `name` (a file name, no folder) is a temporary name of the output named
    /// `outputName`, made by any process.
    public static func isTemporary(_ name: String, of outputName: String) -> Bool {
        name.hasPrefix(prefix(of: outputName))
    }

    /// The process id a temporary name of `outputName` carries (`.name.partial-<pid>-<tag>`):
    /// the process that writes it. `nil` when `name` is not one, or carries no number.
    public static func writer(of name: String, of outputName: String) -> pid_t? {
        guard isTemporary(name, of: outputName) else { return nil }
        let rest = name.dropFirst(prefix(of: outputName).count)
        return rest.split(separator: "-", maxSplits: 1).first.flatMap { pid_t($0) }
    }

    /// What every temporary name of `outputName` starts with.
    private static func prefix(of outputName: String) -> String { ".\(outputName).partial-" }
}
