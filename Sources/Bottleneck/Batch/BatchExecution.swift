import Foundation
import Synchronization

/// Counts at the end of a batch.
public struct BatchSummary: Sendable, Equatable {
    public var done = 0
    public var failed = 0
    /// Invalid lines/items skipped in this run.
    public var skipped = 0
    /// Items a previous run had finished.
    public var alreadyDone = 0

    public init() {}
}

/// Runs a `BatchPlan` through a `StageRunner` and keeps the manifest: a `run` header, a
/// `skipped` record per invalid item, then `done`/`failed` per item as soon as it ends.
/// Items still in flight when the run is cancelled get no record, so `--resume` redoes them.
/// The caller holds the output folder's lock (`BatchFolderLock`) for the whole run.
public enum BatchExecution {
    /// - Parameters:
    ///   - runner: the loaded stages; nil when `plan` has nothing to run (no model is needed
    ///     to record the header and the skipped items).
    ///   - onEvent: every pipeline event, for progress rendering.
    /// - Returns: the summary; cancellation is rethrown after the records written so far.
    public static func run(_ plan: BatchPlan, settings: BatchSettings, promptFile: String,
                           runner: StageRunner?, manifest: ManifestWriter,
                           onEvent: @escaping @Sendable (GenerationEvent) -> Void = { _ in }) async throws -> BatchSummary {
        var summary = BatchSummary()
        summary.alreadyDone = plan.alreadyDone.count
        var header = ManifestRecord(status: .run)
        header.baseSeed = settings.baseSeed
        header.shard = settings.shard?.description
        header.shardSource = settings.shardSource
        header.promptFile = promptFile
        try manifest.append(header)
        for issue in plan.invalid {
            var r = ManifestRecord(status: .skipped)
            r.index = issue.kind.index
            r.line = issue.line
            r.error = issue.description
            try manifest.append(r)
            summary.skipped += 1
        }
        for partial in plan.stalePartials { _ = unlink(partial) }

        let byIndex = Dictionary(uniqueKeysWithValues: plan.toRun.map { ($0.index, $0) })
        struct Progress {
            var summary: BatchSummary
            var ended = Set<Int>()
            var manifestError: (any Error)?
        }
        let progress = Mutex(Progress(summary: summary))
        let work = plan.toRun.map(\.workItem)
        guard let runner else {
            precondition(work.isEmpty, "BatchExecution.run: items to run but no runner")
            return summary
        }
        try await runner.execute(work) { event in
            onEvent(event)
            let record: ManifestRecord?
            switch event {
            case .finished(let index, let output, let timings):
                guard let item = byIndex[index] else { return }
                var r = ManifestRecord(.done, for: item)
                r.bytes = output.bytes
                r.timings = timings
                record = r
            case .failed(let index, let stage, let error) where event.failsItem:
                guard let item = byIndex[index] else { return }
                var r = ManifestRecord(.failed, for: item)
                r.error = "\(stage.rawValue): \(error)"
                record = r
            default:
                record = nil
            }
            guard let record, let index = record.index else { return }
            progress.withLock { p in
                guard !p.ended.contains(index) else { return }
                p.ended.insert(index)
                if record.status == .done { p.summary.done += 1 } else { p.summary.failed += 1 }
                do { try manifest.append(record) } catch { p.manifestError = p.manifestError ?? error }
            }
        }
        return try progress.withLock { p in
            if let e = p.manifestError { throw e }
            return p.summary
        }
    }
}

extension ManifestRecord {
    /// The record of `item` ending with `status`: what it is (index, line, prompt and its hash,
    /// seed, settings, fingerprint) and its file name in the output folder.
    public init(_ status: Status, for item: PlannedItem) {
        self.init(status: status)
        index = item.index
        line = item.line
        prompt = item.request.prompt
        promptHash = item.promptHash
        seed = item.request.seed
        output = item.name
        settings = Settings(item.request)
        fingerprint = item.fingerprint
    }
}
