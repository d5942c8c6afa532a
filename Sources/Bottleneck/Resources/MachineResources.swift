import Foundation
import Media

/// The memory this process may still take, and which limit says so.
public struct AvailableMemory: Sendable, Equatable {
    public var bytes: Int
    /// Where the figure comes from, for messages (`MemAvailable in /proc/meminfo`).
    public var source: String

    /// Replaces what the machine reports (bytes, or with a K, M, G or T suffix, powers of 1024):
    /// for tests that need a normal request not to fit, or to count swap that MemAvailable leaves out.
    public static let environmentKey = "BOTTLENECK_MEMORY_LIMIT"

    /// Address space a run takes beyond the memory it touches, which a `ulimit -v` or `-d`
    /// also counts: the stacks of the threads it starts later (8 MiB each: GCD's workers, the
    /// stage threads, the encoder's). A `generate` of 129 frames of 128² reached 1.43 GiB of
    /// address space for 756 MiB of peak RSS, 0.43 GiB of it mapped before the check; this
    /// reserve keeps the check conservative under such a limit.
    public static let addressSpaceReserve = 256 << 20

    /// The least of: MemAvailable (/proc/meminfo); the cgroup's memory limit less what the
    /// group already uses (cgroup v2 `memory.max` − `memory.current`, v1 `memory.limit_in_bytes`
    /// − `memory.usage_in_bytes`, not counting inactive file pages, which the kernel reclaims);
    /// `RLIMIT_AS` less the address space in use (VmSize) and `RLIMIT_DATA` less the data
    /// segment (VmData), each less `addressSpaceReserve`. `BOTTLENECK_MEMORY_LIMIT`, when set,
    /// replaces them all.
    /// - Returns: nil where none of these can be read (not Linux): memory is then not checked.
    /// - Throws: `PipelineError.badEnvironment` for a `BOTTLENECK_MEMORY_LIMIT` that is not a size.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(PipelineError) -> AvailableMemory? {
        if let text = environment[environmentKey], !text.isEmpty {
            guard let bytes = parseSize(text) else {
                throw PipelineError(.badEnvironment(value: text, reason: "not a size in bytes, e.g. 8589934592 or 8G"),
                                    subject: environmentKey)
            }
            return AvailableMemory(bytes: bytes, source: environmentKey)
        }
        let status = read("/proc/self/status") ?? ""
        var limits: [AvailableMemory] = []
        if let meminfo = read("/proc/meminfo"), let kib = field("MemAvailable", in: meminfo) {
            limits.append(AvailableMemory(bytes: kib * 1024, source: "MemAvailable in /proc/meminfo"))
        }
        if let cgroup = cgroupHeadroom() { limits.append(cgroup) }
        for (resource, name, used) in [(RLIMIT_AS, "RLIMIT_AS", "VmSize"), (RLIMIT_DATA, "RLIMIT_DATA", "VmData")] {
            if let limit = softLimit(resource), let kib = field(used, in: status) {
                limits.append(AvailableMemory(bytes: max(0, limit - kib * 1024 - addressSpaceReserve),
                                              source: "the \(name) limit (ulimit)"))
            }
        }
        return limits.min { $0.bytes < $1.bytes }
    }

    /// `8589934592`, `8G`, `512M`, `1.5T` (powers of 1024); nil for anything else.
    public static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var number = Substring(t), scale = 1.0
        if let unit = t.last, let s = units[unit] {
            number = t.dropLast()
            scale = s
        } else if t.last == "B", let unit = t.dropLast().last, let s = units[unit] {
            number = t.dropLast(2)
            scale = s
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < 0x1p62 else { return nil }
        return Int(value * scale)
    }

    /// The `key:` line of a `/proc` status-style file, in its unit (kB for these files).
    static func field(_ key: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
                .flatMap { Int($0) }
        }
        return nil
    }

    /// The memory cgroup's limit less its working set, from the process's own group
    /// (`/proc/self/cgroup`) or the root of the mount (a container's namespace).
    static func cgroupHeadroom() -> AvailableMemory? {
        let groups = read("/proc/self/cgroup") ?? ""
        // v2: "0::/path"; v1: "4:memory:/path" (the controller may share its line: "cpu,memory").
        var v2 = "", v1 = ""
        for line in groups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0", parts[1].isEmpty { v2 = String(parts[2]) }
            if parts[1].split(separator: ",").contains("memory") { v1 = String(parts[2]) }
        }
        let layouts = [
            (root: "/sys/fs/cgroup", path: v2, limit: "memory.max", usage: "memory.current", inactive: "inactive_file"),
            (root: "/sys/fs/cgroup/memory", path: v1, limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes",
             inactive: "total_inactive_file"),
        ]
        for layout in layouts {
            for folder in [layout.root + layout.path, layout.root] {
                guard let limitText = read(folder + "/" + layout.limit) else { continue }
                // "max" (v2) or a number near 2^63 (v1) means no limit.
                guard let limit = Int(limitText.trimmingCharacters(in: .whitespacesAndNewlines)), limit < 1 << 60 else {
                    break
                }
                let usage = read(folder + "/" + layout.usage)
                    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
                let inactive = read(folder + "/memory.stat").flatMap { stat -> Int? in
                    stat.split(separator: "\n").first { $0.hasPrefix(layout.inactive + " ") }
                        .flatMap { Int($0.split(separator: " ").last ?? "") }
                } ?? 0
                return AvailableMemory(bytes: max(0, limit - max(0, usage - inactive)),
                                       source: "the cgroup's memory limit (\(folder)/\(layout.limit))")
            }
        }
        return nil
    }

    /// The soft limit of `resource`, nil when unlimited.
    private static func softLimit(_ resource: __rlimit_resource) -> Int? {
        var limit = rlimit()
        // RLIM_INFINITY is all ones (its macro does not import into Swift).
        guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur < 1 << 62 else {
            return nil
        }
        return Int(limit.rlim_cur)
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}

/// The free space of the file system an output goes to.
public struct DiskSpace: Sendable, Equatable {
    /// The existing folder that was measured (the output's, or the nearest one above it).
    public var folder: String
    /// The file system's id (outputs on one file system share its free space).
    public var device: UInt64
    /// Bytes an unprivileged process may still write there.
    public var freeBytes: Int

    /// `statvfs` of the folder `path` will be written in (links followed), or of the nearest
    /// existing folder above it; nil for outputs that are written through (devices, FIFOs,
    /// sockets: their bytes do not land on a file system here) or cannot be looked up.
    public static func available(forOutputAt path: String) -> DiskSpace? {
        guard let target = try? OutputTarget(resolving: path), !target.kind.isWrittenThrough else { return nil }
        var folder = (target.resolvedPath as NSString).deletingLastPathComponent
        if folder.isEmpty { folder = "." }
        var info = stat()
        while stat(folder, &info) != 0 {
            let parent = (folder as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != folder else { return nil }
            folder = parent
        }
        var fs = statvfs()
        guard statvfs(folder, &fs) == 0 else { return nil }
        return DiskSpace(folder: folder, device: UInt64(info.st_dev), freeBytes: Int(fs.f_bavail) * Int(fs.f_frsize))
    }
}
