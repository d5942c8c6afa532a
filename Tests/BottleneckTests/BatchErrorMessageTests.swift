import Foundation
import TestSupport
import Testing
@testable import Bottleneck

/// The batch inputs' errors took the module's `ContextError` shape (issue #17): the subject is
/// the file, template or `--shard` value, the kind writes the message. These pin the messages,
/// which stayed word for word what the earlier message-carrying structs printed.
@Suite struct BatchErrorMessageTests {
    /// Each CSV header problem names the file and the header's line.
    @Test func csvHeaderMessages() {
        let cases: [(text: String, message: String)] = [
            ("prompt,colour\na\n", "p.csv:1: unknown column 'colour'; known columns: "
                + PromptOverrides.keys.joined(separator: ", ")),
            ("seed\n1\n", "p.csv:1: the header needs a 'prompt' column"),
        ]
        for c in cases {
            let error = #expect(throws: PromptFileError.self) {
                try PromptFile.parse(Data(c.text.utf8), format: .csv, file: "p.csv")
            }
            #expect(error?.file == "p.csv")
            #expect(error?.line == 1)
            #expect(error?.description == c.message)
        }
    }

    /// A file of unknown type has no line in its message.
    @Test func unknownBatchFileType() {
        let error = #expect(throws: PromptFileError.self) { try PromptFile.load(path: "/nonexistent/list.md") }
        #expect(error?.line == nil)
        #expect(error?.description == "/nonexistent/list.md: unknown batch file type; use .txt, .jsonl or .csv")
    }

    /// A manifest line that does not decode is skipped and reported with its line.
    @Test func unreadableManifestRecord() throws {
        let path = try makeTemporaryDirectory() + "/manifest.jsonl"
        try Data("not json\n".utf8).write(to: URL(fileURLWithPath: path))
        let (records, problems) = try ManifestReader.read(path: path)
        #expect(records.isEmpty)
        #expect(problems.map(\.description) == ["\(path):1: unreadable record skipped (an interrupted write?)"])
    }

    @Test func nameTemplateMessages() {
        let cases: [(template: String, message: String)] = [
            ("a}", "unmatched '}'"),
            ("{index", "unclosed '{'"),
            ("{index:x}", "'{index:x}' needs a number in 0...12 after ':'"),
            ("{seed:2}", "'{seed}' takes no format"),
            ("{date}", "unknown token '{date}'; use {index}, {index:04}, {seed}, {slug}, {hash}"),
            ("same.mp4", "every item would get the same name; include {index}, {seed}, {slug} or {hash}"),
        ]
        for c in cases {
            let error = #expect(throws: NameTemplateError.self) { try NameTemplate(c.template) }
            #expect(error?.description == "name template '\(c.template)': \(c.message)")
        }
    }

    @Test func shardMessages() {
        let error = #expect(throws: ShardError.self) { try Shard(parsing: "one/4") }
        #expect(error?.description == "shard 'one/4': use I/N with 1 <= I <= N <= 10000, e.g. 1/4")
        let auto = #expect(throws: ShardError.self) { try ShardChoice(parsing: "auto/x") }
        #expect(auto?.description == "shard 'auto/x': use auto/N with N the number of shards, e.g. auto/4")
        let number = #expect(throws: ShardError.self) { try Shard(number: 5, count: 4) }
        #expect(number?.description.hasPrefix("shard '5/4': I must be an integer between 1 and 4") == true)
    }
}
