import Diagnostics
import Foundation

/// One line of a batch manifest (`manifest.jsonl` in the output folder).
///
/// `status` is `run` for the header a batch writes when it starts (base seed, shard and where
/// `--shard auto` found it, prompt file) and `done`, `failed` or `skipped` for items. A later record for the same index
/// supersedes an earlier one. Keys are snake_case JSON.
public struct ManifestRecord: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case run, done, failed, skipped
    }

    /// Settings an item ran with.
    public struct Settings: Codable, Sendable, Equatable {
        public var frames: Int
        public var width: Int
        public var height: Int
        public var steps: Int
        public var bottleneck: String
        public var cfg: Float
        public var fps: Int
        public var crf: Int
        public var format: String?
        public var negativePrompt: String?

        enum CodingKeys: String, CodingKey {
            case frames, width, height, steps, bottleneck, cfg, fps, crf, format
            case negativePrompt = "negative_prompt"
        }

        public init(_ r: GenerationRequest) {
            frames = r.frames
            width = r.width
            height = r.height
            steps = r.steps
            bottleneck = r.bottleneck.description
            cfg = r.cfgScale
            fps = r.fps
            crf = r.crf
            format = (try? r.resolvedFormat())?.rawValue
            negativePrompt = r.negativePrompt
        }

        /// What differs from `new`, one `key old → new` per field (the negative prompt by name
        /// only), for the log line of an item `--resume` makes again.
        public func differences(to new: Settings) -> [String] {
            let fields: [(key: String, old: String, new: String)] = [
                ("frames", "\(frames)", "\(new.frames)"), ("width", "\(width)", "\(new.width)"),
                ("height", "\(height)", "\(new.height)"), ("steps", "\(steps)", "\(new.steps)"),
                ("bottleneck", bottleneck, new.bottleneck), ("cfg", "\(cfg)", "\(new.cfg)"),
                ("fps", "\(fps)", "\(new.fps)"), ("crf", "\(crf)", "\(new.crf)"),
                ("format", format ?? "-", new.format ?? "-"),
            ]
            var changed = fields.filter { $0.old != $0.new }.map { "\($0.key) \($0.old) → \($0.new)" }
            if negativePrompt != new.negativePrompt { changed.append("negative_prompt") }
            return changed
        }
    }

    public var status: Status
    public var index: Int?
    /// 1-based line in the prompt file.
    public var line: Int?
    public var prompt: String?
    /// `NameTemplate.promptHash(prompt)`.
    public var promptHash: String?
    public var seed: UInt64?
    /// The item's file name in the output folder, so a moved or copied folder resumes where
    /// it stopped. Manifests written before held the path given to the sink (absolute, or
    /// relative to the working directory); `outputName` reads both.
    public var output: String?
    /// Size of the finished file; `--resume` redoes an item whose file no longer has it.
    public var bytes: Int?
    public var settings: Settings?
    /// `ItemFingerprint` of what made the video (absent in older manifests, whose items are
    /// checked against `promptHash`, `seed` and `settings` alone).
    public var fingerprint: String?
    public var timings: StageTimings?
    /// Why an item failed or was skipped.
    public var error: String?
    /// ISO 8601 time the record was written.
    public var time: String?
    // Header (`run`) fields.
    public var baseSeed: UInt64?
    public var shard: String?
    /// Where `--shard auto` found the shard (`ShardAssignment.source`); absent for `--shard I/N`.
    public var shardSource: String?
    public var promptFile: String?

    enum CodingKeys: String, CodingKey {
        case status, index, line, prompt, seed, output, bytes, settings, fingerprint, timings, error, time, shard
        case promptHash = "prompt_hash"
        case baseSeed = "base_seed"
        case promptFile = "prompt_file"
        case shardSource = "shard_source"
    }

    public init(status: Status) { self.status = status }

    /// The output's file name (`BatchFolder.itemName(ofRecorded:)`), whatever form it was
    /// recorded in.
    public var outputName: String? { output.map(BatchFolder.itemName(ofRecorded:)) }
}

/// Appends manifest records, one JSON line per `write(2)` on an `O_APPEND` descriptor, then
/// `fsync`, so a record is either fully on disk or absent after a crash (a torn last line is
/// skipped by `ManifestReader` and a newline is added before the next append).
public final class ManifestWriter: Sendable {
    public let path: String
    private let fd: Int32

    /// Opens (creating) `path` for appending.
    /// - Throws: `ManifestError` with the OS reason.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ManifestError(.system(reason: String(cString: strerror(errno))), file: path) }
        self.fd = fd
        // A run killed mid-append can leave a last line without its newline: terminate it.
        var size = stat()
        if fstat(fd, &size) == 0, size.st_size > 0, let h = FileHandle(forReadingAtPath: path) {
            defer { try? h.close() }
            try? h.seek(toOffset: UInt64(size.st_size - 1))
            if let last = try? h.read(upToCount: 1), last != Data([0x0A]) {
                try writeAll(Data([0x0A]))
            }
        }
    }

    deinit { close(fd) }

    /// Appends `record` (with `time` filled in when absent) and syncs it to disk.
    public func append(_ record: ManifestRecord) throws {
        var record = record
        if record.time == nil { record.time = ISO8601DateFormatter().string(from: Date()) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(record)
        data.append(0x0A)
        try writeAll(data)
        guard fsync(fd) == 0 else {
            throw ManifestError(.system(reason: "fsync: \(String(cString: strerror(errno)))"), file: path)
        }
    }

    private func writeAll(_ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ManifestError(.system(reason: String(cString: strerror(errno))), file: path)
                }
                offset += n
            }
        }
    }
}

/// Reads a manifest, skipping (and reporting) lines that do not decode.
public enum ManifestReader {
    public static func read(path: String) throws -> (records: [ManifestRecord], problems: [ManifestError]) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], []) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(.unreadable, file: path)
        }
        var records: [ManifestRecord] = []
        var problems: [ManifestError] = []
        let decoder = JSONDecoder()
        for (n, raw) in splitLines(Array(data)).enumerated() where !raw.isEmpty {
            do {
                records.append(try decoder.decode(ManifestRecord.self, from: Data(raw)))
            } catch {
                problems.append(ManifestError(.skippedRecord(line: n + 1), file: path))
            }
        }
        return (records, problems)
    }
}

/// A batch manifest that cannot be written or read, or one of its records that is skipped;
/// the subject is the manifest's path.
public typealias ManifestError = ContextError<ManifestErrorKind>

/// The cases of `ManifestError`.
public enum ManifestErrorKind: FileErrorKind {
    /// Opening, writing or syncing failed; `reason` is the OS's (with the call, for fsync).
    case system(reason: String)
    case unreadable
    /// A line that does not decode as a record (an interrupted write); reading goes on.
    case skippedRecord(line: Int)

    public var message: String {
        switch self {
        case .system(let reason): reason
        case .unreadable: "cannot read the manifest"
        case .skippedRecord: "unreadable record skipped (an interrupted write?)"
        }
    }

    public var line: Int? {
        if case .skippedRecord(let line) = self { line } else { nil }
    }
}
