import Bottleneck
import Foundation
import PropertyBased
import TestSupport
import Testing

/// The batch file readers (`PromptFile.parse`: txt, jsonl, csv) on mutated sample files and
/// hostile lines. A bad line becomes an issue naming `file:line` and the batch goes on; only a
/// whole-file problem (an unclosed CSV quote, a bad header) throws, and it names the line too.
@Suite(.fuzzTimeLimit) struct PromptFileFuzzTests {
    static let samples = URL(fileURLWithPath: TestPaths.path("samples"))

    /// The repository's sample batch file of `format`, plus a hand-written one using every key.
    static func corpus(_ format: PromptFileFormat) throws -> [[UInt8]] {
        let sample = Array(try Data(contentsOf: samples.appendingPathComponent("prompts.\(format.rawValue)")))
        let extra = switch format {
        case .txt: "# comment\r\n  a fox \r\n\n\u{FEFF}snow\n"
        case .jsonl: #"{"prompt":"a","seed":18446744073709551615,"frames":33,"width":64,"height":48,"steps":4,"bottleneck":"x2","output":"a.mp4","negative_prompt":null}"# + "\n[1]\n\"x\"\n"
        case .csv: "prompt,seed,frames,width,height,steps,bottleneck,output,negative_prompt\r\n\"a, \"\"b\"\"\",1,33,64,48,4,off,a.mp4,\n"
        }
        return [sample, Array(extra.utf8)]
    }

    /// Parses `bytes` as `format` and checks that every entry and issue points at a line of the
    /// file, that issues and thrown errors begin with `file:line:`, and that no two items share
    /// an index (resume and shards key on it).
    static func check(_ bytes: [UInt8], _ format: PromptFileFormat, _ label: String) {
        let file = "fuzz/prompts.\(format.rawValue)"
        let lines = bytes.count(where: { $0 == 0x0A }) + 1
        do {
            let parsed = try PromptFile.parse(Data(bytes), format: format, file: file)
            for entry in parsed.entries {
                #expect((1...lines).contains(entry.line), "\(label): entry at line \(entry.line) of \(lines)")
            }
            for issue in parsed.issues {
                #expect((1...lines).contains(issue.kind.entryLine), "\(label): \(issue)")
                #expect(issue.description.hasPrefix("\(file):\(issue.kind.entryLine): "), "\(label): \(issue)")
            }
            let indices = parsed.entries.map(\.index) + parsed.issues.map(\.kind.index)
            #expect(Set(indices).count == indices.count, "\(label): indices \(indices)")
        } catch let error as PromptFileError {
            #expect(error.line.map { (1...lines).contains($0) } == true, "\(label): \(error)")
            #expect(error.description.hasPrefix("\(file):\(error.line ?? 0): "), "\(label): \(error)")
        } catch {
            Issue.record("\(label): untyped error \(error)")
        }
    }

    // MARK: Random and mutated files

    @Test(arguments: PromptFileFormat.allCases)
    func mutatedFilesGiveIssuesWithFileAndLine(format: PromptFileFormat) throws {
        let seedBase: UInt64 = switch format { case .txt: 0x7A7; case .jsonl: 0x150; case .csv: 0xC5F }
        let n = try fuzz(corpus: Self.corpus(format), seedBase: seedBase) { Self.check($0, format, $1) }
        #expect(n >= 50)
    }

    @Test(arguments: PromptFileFormat.allCases)
    func everyTruncationParses(format: PromptFileFormat) throws {
        for input in try Self.corpus(format) {
            for cut in truncations(of: input) { Self.check(cut, format, "cut to \(cut.count)") }
        }
    }

    @Test(arguments: PromptFileFormat.allCases)
    func randomBytesParse(format: PromptFileFormat) {
        var seed = FuzzSeed(0xB0B + UInt64(format.rawValue.count))
        let generator = Gen.uint8().array(of: 0...600)
        for i in 0..<300 { Self.check(seed.next(generator), format, "random \(i)") }
    }

    // MARK: Hostile lines

    /// Numbers past every integer type (and past Double) in each numeric key are issues naming
    /// the key and line, never a trap in a conversion.
    @Test(arguments: Mutation.hostileNumbers)
    func hostileNumbersAreLineIssues(number: String) throws {
        for key in ["seed", "frames", "width", "height", "steps"] {
            let jsonl = #"{"prompt":"a","\#(key)":\#(number)}"# + "\n" + #"{"prompt":"b","\#(key)":"\#(number)"}"#
            Self.check(Array(jsonl.utf8), .jsonl, "jsonl \(key)=\(number)")
            Self.check(Array("prompt,\(key)\na,\(number)\n".utf8), .csv, "csv \(key)=\(number)")
        }
    }

    /// Foundation limits JSON nesting to 512, so a deeply nested line is one bad line.
    @Test(arguments: [600, 100_000])
    func deeplyNestedLinesAreLineIssues(depth: Int) throws {
        let text = "{\"prompt\":\"a\"}\n" + deeplyNestedJSON(depth: depth) + "\n{\"prompt\":\"b\",\"seed\":"
            + deeplyNestedJSON(depth: depth) + "}\n"
        let parsed = try PromptFile.parse(Data(text.utf8), format: .jsonl, file: "n.jsonl")
        #expect(parsed.entries.map(\.prompt) == ["a"])
        #expect(parsed.issues.map(\.line) == [2, 3])
    }

    /// A long line, a long quoted CSV field and an unclosed quote on a large file stay linear.
    @Test func longLinesAndAnUnclosedQuoteAreHandledInTime() throws {
        let long = String(repeating: "a", count: 200_000)
        for (text, format) in [
            (long + "\n", PromptFileFormat.txt), ("{\"prompt\":\"\(long)\"}\n", .jsonl),
            ("prompt\n\"\(long)\"\"\n", .csv), ("prompt\n\"" + String(repeating: "x,\n", count: 50_000), .csv),
        ] {
            expectInTime("\(format), \(text.utf8.count) bytes") { Self.check(Array(text.utf8), format, "long") }
        }
    }
}
