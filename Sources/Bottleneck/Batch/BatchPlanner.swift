import Foundation
import Media

/// Batch-wide settings (from the command line).
public struct BatchSettings: Sendable {
    /// Defaults for every item (its `prompt` and `seed` are ignored; `output` is replaced):
    /// `kind`'s, as `GenerationRequest(prompt:kind:)` gives them, with the flags applied.
    public var base: GenerationRequest
    /// What the pipeline makes; every item is validated for it (`validate(for:)`: one frame
    /// for FLUX.1), so a line asking for more is skipped with the kind's message.
    public var kind: PipelineKind
    /// Folder that receives the videos and `manifest.jsonl` (`BatchFolder`).
    public var outputDirectory: String
    public var nameTemplate: NameTemplate
    /// Seeds of items without one derive from this (`SeedDerivation`).
    public var baseSeed: UInt64
    public var shard: Shard?
    /// Where `--shard auto` found `shard` (`ShardAssignment.source`), recorded in the manifest.
    public var shardSource: String?
    /// Skip items the manifest records as done whose file is still what the record says.
    public var resume: Bool
    /// Names the models that generate the items (the pipeline folder's name); part of every
    /// item's fingerprint, so `--resume` redoes what another pipeline made.
    public var pipeline: String?

    public init(base: GenerationRequest, outputDirectory: String, nameTemplate: NameTemplate,
                baseSeed: UInt64, shard: Shard? = nil, shardSource: String? = nil, resume: Bool = false,
                pipeline: String? = nil, kind: PipelineKind = .hunyuanVideo) {
        self.base = base
        self.kind = kind
        self.outputDirectory = outputDirectory
        self.nameTemplate = nameTemplate
        self.baseSeed = baseSeed
        self.shard = shard
        self.shardSource = shardSource
        self.resume = resume
        self.pipeline = pipeline
    }

    public var manifestPath: String {
        (outputDirectory as NSString).appendingPathComponent(BatchFolder.manifestName)
    }
}

/// A batch item ready to run.
public struct PlannedItem: Sendable, Equatable {
    public var index: Int
    public var line: Int
    /// Validated; `seed` set, `output` the item's file.
    public var request: GenerationRequest
    public var promptHash: String
    /// The item's file name in the output folder, as the manifest records it.
    public var name: String
    /// `ItemFingerprint` of what decides the video, recorded when it is done.
    public var fingerprint: String

    public var outputPath: String { request.output.description }
    public var workItem: WorkItem { WorkItem(index: index, request: request) }
}

/// An item the manifest records as done that `--resume` makes again, and why.
public struct RedoneItem: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Its file is gone.
        case missing
        /// Its file does not have the size recorded when it was finished (cut short, or replaced).
        case size(recorded: Int, found: Int)
        /// It would be made differently now: `key old → new` per setting, `prompt`, `seed …`,
        /// or the plan file's contents or the pipeline (seen through the fingerprint only).
        case changed([String])
    }

    public var index: Int
    public var name: String
    public var reason: Reason

    public var description: String {
        let why = switch reason {
        case .missing: "the file is gone"
        case .size(let recorded, let found): "the file has \(found) bytes, the manifest recorded \(recorded)"
        case .changed(let changes): "made with other settings (\(changes.joined(separator: ", ")))"
        }
        return "item \(index): \(name) is recorded done but \(why); generating it again"
    }
}

/// What a batch run will do.
public struct BatchPlan: Sendable, Equatable {
    /// Items to generate, in index order.
    public var toRun: [PlannedItem] = []
    /// Items a previous run finished whose file is still what the manifest records.
    public var alreadyDone: [PlannedItem] = []
    /// Items recorded done whose file or settings no longer match the record (also in `toRun`).
    public var redone: [RedoneItem] = []
    /// Bad lines and invalid items of this shard, skipped.
    public var invalid: [PromptFileIssue] = []
    /// Leftover partial outputs of items to run, whose writer is gone, to remove first.
    public var stalePartials: [String] = []
    /// Partial outputs of items to run that a running process is writing (a `generate` into
    /// the folder): left alone.
    public var livePartials: [String] = []
}

public enum BatchPlanner {
    /// What the caller checks or completes on an item's validated request before its
    /// fingerprint is taken (the CLI: steps from a plan file, the plan against the pipeline's
    /// configs), so that every item that cannot run is found before any model loads. A thrown
    /// problem makes the item invalid: reported with its line, recorded skipped.
    public typealias Preparation = (inout GenerationRequest, PromptEntry) throws(PromptLineProblem) -> Void

    /// Plans `file` under `settings`, consulting `manifest` when resuming.
    ///
    /// Resume looks items up by file name, in the latest `done` record for that name: the file
    /// a name holds is the one that record describes (a later failure leaves it as it was). An
    /// item is kept if that file exists with the recorded size and was made with the same
    /// prompt, seed, settings, plan and pipeline (`ItemFingerprint`); otherwise it is run
    /// again and listed in `redone`. Not keyed by index or prompt list, so two lists sharing
    /// a folder do not undo each other, and a moved folder keeps its items.
    /// - Parameters:
    ///   - fileSize: size of the regular file at a path, nil if none; injectable for tests.
    ///   - folderEntries: file names in a folder (for leftover partial outputs); injectable for
    ///     tests, defaults to the file system (an unreadable folder has none).
    public static func plan(_ file: PromptFile, settings: BatchSettings, manifest: [ManifestRecord],
                            prepare: Preparation = { _, _ in },
                            fileSize: (String) -> Int? = BatchPlanner.fileSize(atPath:),
                            folderEntries: (String) -> [String] = {
                                (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? []
                            }) -> BatchPlan {
        var plan = BatchPlan()
        let inShard = { (i: Int) in settings.shard?.contains(index: i) ?? true }
        plan.invalid = file.issues.filter { inShard($0.kind.index) }

        var done: [String: ManifestRecord] = [:]
        for r in manifest where r.status == .done {
            if let name = r.outputName { done[name] = r }
        }
        let folder = settings.outputDirectory
        let entries = folderEntries(folder)
        var namesTaken: [String: Int] = [:]
        for entry in file.entries where inShard(entry.index) {
            let item: PlannedItem
            do throws(PromptLineProblem) {
                item = try makeItem(entry, settings: settings, prepare: prepare)
                if let other = namesTaken[item.name] {
                    throw .badValue(key: "output", message: "'\(item.name)' is also the output of item \(other); "
                                    + "add {index} to the name template")
                }
            } catch {
                plan.invalid.append(PromptFileIssue(error, file: file.file, line: entry.line, index: entry.index))
                continue
            }
            namesTaken[item.name] = entry.index
            if settings.resume, let record = done[item.name] {
                guard let reason = redoReason(record, item, size: fileSize(item.outputPath)) else {
                    plan.alreadyDone.append(item)
                    continue
                }
                plan.redone.append(RedoneItem(index: item.index, name: item.name, reason: reason))
            }
            plan.toRun.append(item)
            for name in entries.filter({ TemporaryOutputName.isTemporary($0, of: item.name) }).sorted() {
                let path = (folder as NSString).appendingPathComponent(name)
                if writerIsRunning(TemporaryOutputName.writer(of: name, of: item.name)) {
                    plan.livePartials.append(path)
                } else {
                    plan.stalePartials.append(path)
                }
            }
        }
        plan.invalid.sort { ($0.kind.index, $0.kind.entryLine) < ($1.kind.index, $1.kind.entryLine) }
        return plan
    }

    /// The entry's request (batch defaults, then the line's overrides), validated and prepared.
    private static func makeItem(_ entry: PromptEntry, settings: BatchSettings,
                                 prepare: Preparation) throws(PromptLineProblem) -> PlannedItem {
        var r = settings.base
        r.prompt = entry.prompt
        let o = entry.overrides
        r.seed = o.seed ?? SeedDerivation.seed(base: settings.baseSeed, index: entry.index)
        if let v = o.negativePrompt { r.negativePrompt = v }
        if let v = o.frames { r.frames = v }
        if let v = o.width { r.width = v }
        if let v = o.height { r.height = v }
        if let v = o.steps { r.steps = v }
        if let v = o.bottleneck { r.bottleneck = v }
        let name = o.output ?? settings.nameTemplate.render(index: entry.index, seed: r.seed!, prompt: entry.prompt)
        r.output = .file((settings.outputDirectory as NSString).appendingPathComponent(name))
        do { try r.validate(for: settings.kind) } catch let e as RequestError { throw .invalidRequest(e) } catch {
            throw .badValue(key: "output", message: String(describing: error))
        }
        try prepare(&r, entry)
        let hash = NameTemplate.promptHash(entry.prompt)
        return PlannedItem(index: entry.index, line: entry.line, request: r, promptHash: hash, name: name,
                           fingerprint: ItemFingerprint.of(r, promptHash: hash, pipeline: settings.pipeline))
    }

    /// Why the file `record` describes cannot stand for `item`, or nil when it can: missing,
    /// another size, or other settings. Records written before fingerprints existed are
    /// compared on their prompt hash, seed and settings.
    static func redoReason(_ record: ManifestRecord, _ item: PlannedItem, size: Int?) -> RedoneItem.Reason? {
        guard let size else { return .missing }
        if let recorded = record.bytes, recorded != size { return .size(recorded: recorded, found: size) }
        var changes: [String] = []
        if record.promptHash != item.promptHash { changes.append("prompt") }
        if record.seed != item.request.seed {
            let (old, new) = (record.seed.map(String.init) ?? "-", item.request.seed.map(String.init) ?? "-")
            changes.append("seed \(old) → \(new)")
        }
        if let old = record.settings {
            changes += old.differences(to: ManifestRecord.Settings(item.request))
        } else {
            changes.append("settings not recorded")
        }
        if changes.isEmpty, let fingerprint = record.fingerprint, fingerprint != item.fingerprint {
            changes.append("plan file contents or pipeline")
        }
        return changes.isEmpty ? nil : .changed(changes)
    }

    /// Whether the process writing a partial file is still running. This process has not
    /// started writing when it plans, so a partial file carrying its own pid was left by an
    /// earlier process that had the same pid (pids repeat, in containers from 1 each time);
    /// a name without a pid is left over too.
    static func writerIsRunning(_ pid: pid_t?) -> Bool {
        guard let pid, pid != getpid() else { return false }
        return ProcessState.exists(pid)
    }

    /// Size of the regular file at `path` (links followed), nil when there is none.
    public static func fileSize(atPath path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// The base seed the latest `run` header for a prompt file of this name recorded, for
    /// `--resume` without `--seed`. Matched by file name, so the lists sharing a folder each
    /// get their own seeds back (and a moved folder or list still finds them).
    public static func recordedBaseSeed(in manifest: [ManifestRecord], promptFile: String) -> UInt64? {
        let name = (promptFile as NSString).lastPathComponent
        return manifest.last {
            $0.status == .run && $0.baseSeed != nil && $0.promptFile.map { ($0 as NSString).lastPathComponent } == name
        }?.baseSeed
    }
}
