import Foundation
import Media

/// Batch-wide settings (from the command line).
public struct BatchSettings: Sendable {
    /// Defaults for every item (its `prompt` and `seed` are ignored; `output` is replaced).
    public var base: GenerationRequest
    /// Folder that receives the videos and `manifest.jsonl`.
    public var outputDirectory: String
    public var nameTemplate: NameTemplate
    /// Seeds of items without one derive from this (`SeedDerivation`).
    public var baseSeed: UInt64
    public var shard: Shard?
    /// Skip items the manifest records as done whose output file exists.
    public var resume: Bool

    public init(base: GenerationRequest, outputDirectory: String, nameTemplate: NameTemplate,
                baseSeed: UInt64, shard: Shard? = nil, resume: Bool = false) {
        self.base = base
        self.outputDirectory = outputDirectory
        self.nameTemplate = nameTemplate
        self.baseSeed = baseSeed
        self.shard = shard
        self.resume = resume
    }

    public var manifestPath: String { (outputDirectory as NSString).appendingPathComponent("manifest.jsonl") }
}

/// A batch item ready to run.
public struct PlannedItem: Sendable, Equatable {
    public var index: Int
    public var line: Int
    /// Validated; `seed` set, `output` the item's file.
    public var request: GenerationRequest
    public var promptHash: String

    public var outputPath: String { request.output.description }
    public var workItem: WorkItem { WorkItem(index: index, request: request) }
}

/// What a batch run will do.
public struct BatchPlan: Sendable, Equatable {
    /// Items to generate, in index order.
    public var toRun: [PlannedItem] = []
    /// Items a previous run finished (manifest says done and the file exists).
    public var alreadyDone: [PlannedItem] = []
    /// Bad lines and invalid items of this shard, skipped.
    public var invalid: [PromptFileIssue] = []
    /// Leftover partial outputs of items to run (from a killed run), to remove first.
    public var stalePartials: [String] = []
}

public enum BatchPlanner {
    /// Plans `file` under `settings`, consulting `manifest` when resuming.
    /// - Parameters:
    ///   - fileExists: injectable for tests; defaults to the file system.
    ///   - folderEntries: file names in a folder (for leftover partial outputs); injectable for
    ///     tests, defaults to the file system (an unreadable folder has none).
    public static func plan(_ file: PromptFile, settings: BatchSettings, manifest: [ManifestRecord],
                            fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
                            folderEntries: (String) -> [String] = {
                                (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? []
                            }) -> BatchPlan {
        var plan = BatchPlan()
        var entriesByFolder: [String: [String]] = [:]
        let inShard = { (i: Int) in settings.shard?.contains(index: i) ?? true }
        plan.invalid = file.issues.filter { $0.index.map(inShard) ?? true }

        var latest: [Int: ManifestRecord] = [:]
        for r in manifest where r.status != .run {
            if let i = r.index { latest[i] = r }
        }
        var outputsTaken: [String: Int] = [:]
        for entry in file.entries where inShard(entry.index) {
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
            let path = (settings.outputDirectory as NSString).appendingPathComponent(name)
            r.output = .file(path)
            do { try r.validate() } catch let e as RequestError {
                plan.invalid.append(PromptFileIssue(file: file.file, line: entry.line, index: entry.index,
                                                    kind: .invalidRequest(e)))
                continue
            } catch {
                continue
            }
            if let other = outputsTaken[path] {
                plan.invalid.append(PromptFileIssue(
                    file: file.file, line: entry.line, index: entry.index,
                    kind: .badValue(key: "output", message: "'\(name)' is also the output of item \(other); "
                                    + "add {index} to the name template")))
                continue
            }
            outputsTaken[path] = entry.index
            let item = PlannedItem(index: entry.index, line: entry.line, request: r,
                                   promptHash: NameTemplate.promptHash(entry.prompt))
            if settings.resume, let rec = latest[entry.index], rec.status == .done,
               rec.promptHash == item.promptHash, rec.output == path, rec.seed == r.seed, fileExists(path) {
                plan.alreadyDone.append(item)
                continue
            }
            plan.toRun.append(item)
            let folder = (path as NSString).deletingLastPathComponent
            let entries = entriesByFolder[folder] ?? folderEntries(folder)
            entriesByFolder[folder] = entries
            let outputName = (path as NSString).lastPathComponent
            plan.stalePartials += entries.filter { TemporaryOutputName.isTemporary($0, of: outputName) }.sorted()
                .map { (folder as NSString).appendingPathComponent($0) }
        }
        plan.invalid.sort { ($0.index ?? -1, $0.line) < ($1.index ?? -1, $1.line) }
        return plan
    }

    /// The base seed recorded by the latest `run` header, for `--resume` without `--seed`.
    public static func recordedBaseSeed(in manifest: [ManifestRecord]) -> UInt64? {
        manifest.last(where: { $0.status == .run && $0.baseSeed != nil })?.baseSeed
    }
}
