import Foundation

/// What the shards of one prompt list made, read from the manifests of their output folders
/// (`bottleneck batch-merge`): every item of the list is done, failed or missing, and an item
/// done more than once is a duplicate. Shards usually share one folder (and its manifest);
/// shards that wrote to folders of their own are merged the same way.
///
/// A record belongs to an item when it has the item's index and prompt hash (a `skipped`
/// record, which has no hash, its index and line), so records of another list sharing a
/// folder are counted as `unmatchedRecords` and otherwise ignored.
public struct BatchMergeReport: Sendable, Equatable, Encodable {
    public enum Status: String, Sendable, Encodable {
        /// A `done` record whose file is still in its folder with the recorded size.
        case done
        /// `failed` or `skipped` records only (a bad line is recorded skipped).
        case failed
        /// No record, or only `done` records whose file is gone or has another size.
        case missing
    }

    /// One item of the prompt list.
    public struct Item: Sendable, Equatable, Encodable {
        public var index: Int
        /// 1-based line in the prompt file.
        public var line: Int
        public var status: Status
        /// The folder holding the file, for a done item (the last done record's).
        public var folder: String?
        public var output: String?
        /// Why it failed (the latest failure), or why a recorded file does not count.
        public var error: String?
        /// `done` records for this item over every folder: more than one is a duplicate.
        public var doneRecords: Int

        enum CodingKeys: String, CodingKey {
            case index, line, status, folder, output, error
            case doneRecords = "done_records"
        }
    }

    /// One output folder's manifest.
    public struct Folder: Sendable {
        public var path: String
        public var records: [ManifestRecord]

        public init(path: String, records: [ManifestRecord]) {
            self.path = path
            self.records = records
        }
    }

    public var promptFile: String
    public var folders: [String]
    /// Every item of the list (good and bad lines), in index order.
    public var items: [Item]
    public var done: Int
    public var failed: Int
    public var missing: Int
    /// Indices of items with more than one `done` record.
    public var duplicates: [Int]
    /// Shards whose `run` header names this prompt file (`I/N`, sorted, each once).
    public var shards: [String]
    /// Item records that belong to no item of this list.
    public var unmatchedRecords: Int

    /// No item failed or missing.
    public var isComplete: Bool { failed == 0 && missing == 0 }

    enum CodingKeys: String, CodingKey {
        case folders, items, done, failed, missing, duplicates, shards
        case promptFile = "prompt_file"
        case unmatchedRecords = "unmatched_records"
    }

    /// - Parameters:
    ///   - fileSize: size of the regular file at a path, nil if none; injectable for tests.
    public init(_ file: PromptFile, folders: [Folder],
                fileSize: (String) -> Int? = BatchPlanner.fileSize(atPath:)) {
        var list: [(index: Int, line: Int, hash: String?)] = file.entries.map {
            ($0.index, $0.line, NameTemplate.promptHash($0.prompt))
        }
        list += file.issues.map { ($0.kind.index, $0.kind.entryLine, nil) }
        list.sort { $0.index < $1.index }
        let byIndex = Dictionary(list.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })

        var matched: [Int: [(folder: String, record: ManifestRecord)]] = [:]
        var unmatched = 0
        var shards = Set<String>()
        let listName = (file.file as NSString).lastPathComponent
        for folder in folders {
            for record in folder.records {
                if record.status == .run {
                    if let shard = record.shard, record.promptFile.map({ ($0 as NSString).lastPathComponent }) == listName {
                        shards.insert(shard)
                    }
                    continue
                }
                guard let index = record.index, let item = byIndex[index],
                      record.promptHash.map({ $0 == item.hash }) ?? (record.line == item.line) else {
                    unmatched += 1
                    continue
                }
                matched[index, default: []].append((folder.path, record))
            }
        }

        items = list.map { entry in
            let records = matched[entry.index] ?? []
            let doneRecords = records.filter { $0.record.status == .done }
            var item = Item(index: entry.index, line: entry.line, status: .missing, doneRecords: doneRecords.count)
            for (folder, record) in doneRecords.reversed() {
                guard let name = record.outputName else { continue }
                let size = fileSize((folder as NSString).appendingPathComponent(name))
                if let size, record.bytes.map({ $0 == size }) ?? true {
                    (item.status, item.folder, item.output, item.error) = (.done, folder, name, nil)
                    break
                }
                item.error = size.map { "\(folder)/\(name) has \($0) bytes, the manifest recorded \(record.bytes ?? 0)" }
                    ?? "\(folder)/\(name) is recorded done but the file is gone"
            }
            if item.status == .missing, doneRecords.isEmpty, let last = records.last {
                item.status = .failed
                item.error = last.record.error ?? last.record.status.rawValue
            }
            return item
        }
        promptFile = file.file
        self.folders = folders.map(\.path)
        done = items.count { $0.status == .done }
        failed = items.count { $0.status == .failed }
        missing = items.count { $0.status == .missing }
        duplicates = items.filter { $0.doneRecords > 1 }.map(\.index)
        self.shards = shards.sorted { a, b in
            let (x, y) = ((try? Shard(parsing: a)), (try? Shard(parsing: b)))
            return (x?.count ?? 0, x?.number ?? 0, a) < (y?.count ?? 0, y?.number ?? 0, b)
        }
        unmatchedRecords = unmatched
    }
}
