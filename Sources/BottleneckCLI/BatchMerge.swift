import ArgumentParser
import Bottleneck
import Diagnostics
import Foundation

extension Bottleneck {
    /// `bottleneck batch-merge PROMPTS DIR…`: one report on the shards of a batch.
    struct BatchMerge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch-merge",
            abstract: "Report on the shards of a batch: every line of the prompt list done, failed or missing.",
            discussion: """
            Reads DIR/manifest.jsonl of each output folder (shards that shared a folder need it once; \
            shards with folders of their own are all given). A line is done when a done record's file is still \
            there with the recorded size; lines done more than once are listed as duplicates. Exit status 1 when \
            a line failed or is missing (run the batch again with --resume to make those), 0 otherwise.
            """)

        @Argument(help: "The prompt file the shards ran (.txt, .jsonl or .csv).")
        var prompts: String

        @Argument(help: ArgumentHelp("The shards' output folders.", valueName: "dir"))
        var folders: [String]

        @Flag(help: "Write the report as JSON to stdout instead of text.")
        var json = false

        func validate() throws {
            for folder in folders {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw ValidationError("\(folder): no such output folder")
                }
            }
        }

        func run() throws {
            let log = Log()
            let file = try PromptFile.load(path: prompts)
            var manifests: [BatchMergeReport.Folder] = []
            for folder in folders {
                let path = (folder as NSString).appendingPathComponent(BatchFolder.manifestName)
                if !FileManager.default.fileExists(atPath: path) { log.warning("\(folder): no \(BatchFolder.manifestName)") }
                let (records, problems) = try ManifestReader.read(path: path)
                for p in problems { log.warning("\(p)") }
                manifests.append(.init(path: folder, records: records))
            }
            let report = BatchMergeReport(file, folders: manifests)
            FileHandle.standardOutput.write(Data(try Self.render(report, json: json).utf8))
            if !report.isComplete { throw ExitCode.failure }
        }

        /// The report as pretty JSON, or as text: a summary line, then one line per item that
        /// failed, is missing or was made more than once.
        static func render(_ report: BatchMergeReport, json: Bool) throws -> String {
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
            }
            let file = report.promptFile
            var text = "\(file): \(report.items.count) items in \(report.folders.count) folder"
                + "\(report.folders.count == 1 ? "" : "s"): done \(report.done), failed \(report.failed), "
                + "missing \(report.missing), duplicates \(report.duplicates.count)\n"
            for item in report.items where item.status != .done || item.doneRecords > 1 {
                let place = "\(file):\(item.line) (item \(item.index))"
                switch item.status {
                case .failed: text += "failed    \(place): \(item.error ?? "")\n"
                case .missing: text += "missing   \(place)\(item.error.map { ": \($0)" } ?? "")\n"
                case .done: break
                }
                if item.doneRecords > 1 { text += "duplicate \(place): done \(item.doneRecords) times\n" }
            }
            if !report.shards.isEmpty { text += "shards seen: \(report.shards.joined(separator: ", "))\n" }
            if report.unmatchedRecords > 0 {
                text += "\(report.unmatchedRecords) records belong to no line of \(file) (another list in the folder?)\n"
            }
            return text
        }
    }
}
