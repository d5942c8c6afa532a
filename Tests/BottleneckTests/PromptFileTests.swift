import Foundation
import TestSupport
import Testing
@testable import Bottleneck

/// Batch files: txt, jsonl, csv, bad lines with line numbers, invalid UTF-8.
@Suite struct PromptFileTests {
    func parse(_ text: String, _ format: PromptFileFormat) throws -> PromptFile {
        try PromptFile.parse(Data(text.utf8), format: format, file: "p.\(format.rawValue)")
    }

    // MARK: txt

    @Test func textSkipsCommentsAndBlankLines() throws {
        let f = try parse("# header\n\na red fox\r\n   \n  # indented comment\nsnow falls  \n", .txt)
        #expect(f.entries.map(\.prompt) == ["a red fox", "snow falls"])
        #expect(f.entries.map(\.line) == [3, 6])
        #expect(f.entries.map(\.index) == [0, 1])
        #expect(f.issues.isEmpty)
    }

    /// An invalid UTF-8 line is reported with its line number, keeps its index slot, and the
    /// lines after it are still read.
    @Test func textInvalidUTF8IsReportedAndSkipped() throws {
        var bytes = Array("first\n".utf8)
        bytes += [0x62, 0x61, 0x64, 0xFF, 0xFE, 0x0A]  // "bad\xFF\xFE\n"
        bytes += Array("third\n".utf8)
        let f = try PromptFile.parse(Data(bytes), format: .txt, file: "x.txt")
        #expect(f.entries.map(\.prompt) == ["first", "third"])
        #expect(f.entries.map(\.index) == [0, 2])
        #expect(f.issues == [PromptFileIssue(.invalidUTF8, file: "x.txt", line: 2, index: 1)])
        #expect(f.issues[0].description.hasPrefix("x.txt:2: invalid UTF-8"))
    }

    // MARK: jsonl

    @Test func jsonLinesReadOverrides() throws {
        let text = """
        {"prompt": "a fox", "seed": 42, "frames": 33, "width": 64, "height": 48, "bottleneck": "x2.5", "output": "fox.mp4", "negative_prompt": "blur"}

        {"prompt": "plain"}
        """
        let f = try parse(text, .jsonl)
        #expect(f.issues.isEmpty)
        #expect(f.entries.count == 2)
        let o = f.entries[0].overrides
        #expect(o.seed == 42 && o.frames == 33 && o.width == 64 && o.height == 48)
        #expect(o.bottleneck == .preset(.x2_5) && o.output == "fox.mp4" && o.negativePrompt == "blur")
        #expect(f.entries[1].line == 3 && f.entries[1].index == 1)
        #expect(f.entries[1].overrides == PromptOverrides())
    }

    @Test func jsonLinesBadLinesCarryLineNumbers() throws {
        let text = """
        {"prompt": "ok"}
        {"prompt": "broken"
        ["not", "object"]
        {"seed": 3}
        {"prompt": "x", "seeed": 3}
        {"prompt": "x", "frames": "many"}
        {"prompt": "x", "seed": -1}
        {"prompt": "x", "output": "../escape.mp4"}
        {"prompt": "x", "frames": true}
        {"prompt": "last"}
        """
        let f = try parse(text, .jsonl)
        #expect(f.entries.map(\.prompt) == ["ok", "last"])
        #expect(f.entries.map(\.index) == [0, 9])
        #expect(f.issues.map(\.line) == [2, 3, 4, 5, 6, 7, 8, 9])
        #expect(f.issues[1].kind.problem == .notAnObject)
        #expect(f.issues[2].kind.problem == .missingPrompt)
        #expect(f.issues[3].kind.problem == .unknownKey("seeed"))
        #expect(f.issues[4].kind.problem == .wrongType(key: "frames", expected: "an integer"))
        #expect(f.issues[7].kind.problem == .wrongType(key: "frames", expected: "an integer"))
        #expect(f.issues[3].description.contains("p.jsonl:5:"))
    }

    /// Issue #16: a line's `output` in a subfolder failed in the muxer after the item was
    /// denoised (the subfolder did not exist). It is refused while the file is read.
    @Test func outputIsAFileNameInTheFolder() throws {
        let f = try parse(#"{"prompt": "x", "output": "sub/x.mp4"}"# + "\n", .jsonl)
        #expect(f.entries.isEmpty)
        #expect(f.issues.map(\.description) == ["p.jsonl:1: 'output': names are files directly in the output folder "
                                                + "(no '/'); to write into a subfolder, give it to -o"])
    }

    /// Issue #16: every number of a batch line is checked against the request's bounds while
    /// the file is read, with file, line, key and a suggestion inside the bounds; numbers too
    /// large for an integer were "must be an integer", and seeds above 2^63 were refused.
    @Test func numbersAreCheckedAgainstTheRequestBounds() throws {
        let text = """
        {"prompt": "a", "frames": 99999999999999999999}
        {"prompt": "b", "steps": 1e12}
        {"prompt": "c", "seed": -1}
        {"prompt": "d", "width": 100000, "height": 64}
        {"prompt": "e", "frames": 9.0, "seed": 18446744073709551615}
        """
        let f = try parse(text, .jsonl)
        #expect(f.issues.map(\.description) == [
            "p.jsonl:1: frames must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); "
                + "got 99999999999999999999, use 1033",
            "p.jsonl:2: steps must be an integer between 1 and 1000; got 1000000000000, use 1000",
            "p.jsonl:3: seed must be an integer between 0 and 18446744073709551615; got -1, use 0",
            "p.jsonl:4: width must be a multiple of 16 between 16 and 4096 (VAE factor 8 × patch 2); got 100000, use 4096",
        ])
        #expect(f.entries.map(\.prompt) == ["e"])
        #expect(f.entries[0].overrides.frames == 9 && f.entries[0].overrides.seed == UInt64.max)
        let csv = try parse("prompt,frames\nx,-5\n", .csv)
        #expect(csv.issues.map(\.description) == [
            "p.csv:2: frames must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); got -5, use 1",
        ])
    }

    // MARK: csv

    @Test func csvQuotedFieldsAndOverrides() throws {
        let text = "prompt,seed,frames,negative_prompt\n"
            + "\"a fox, running\",5,17,\n"
            + "\"she said \"\"hi\"\"\",,,\"blurry\"\n"
            + "\n"
            + "\"two\nlines\",1,,\n"
            + "plain,2,9,x\n"
        let f = try parse(text, .csv)
        #expect(f.issues.isEmpty)
        #expect(f.entries.map(\.prompt) == ["a fox, running", "she said \"hi\"", "two\nlines", "plain"])
        #expect(f.entries.map(\.line) == [2, 3, 5, 7])
        #expect(f.entries[0].overrides.seed == 5 && f.entries[0].overrides.frames == 17)
        #expect(f.entries[0].overrides.negativePrompt == nil)
        #expect(f.entries[1].overrides.negativePrompt == "blurry")
        #expect(f.entries[3].index == 3)
    }

    @Test func csvBadRowsAreSkippedWithLineNumbers() throws {
        var bytes = Array("prompt,seed\nok,1\ntoo,many,fields\n".utf8)
        bytes += Array("bad".utf8) + [0xC3, 0x28] + Array(",2\nseedless,abc\nfine,3\n".utf8)
        let f = try PromptFile.parse(Data(bytes), format: .csv, file: "b.csv")
        #expect(f.entries.map(\.prompt) == ["ok", "fine"])
        #expect(f.issues.map(\.line) == [3, 4, 5])
        #expect(f.issues[0].kind.problem == .columnCount(expected: 2, found: 3))
        #expect(f.issues[1].kind.problem == .invalidUTF8)
        #expect(f.issues[2].kind.problem == .wrongType(key: "seed", expected: "an integer"))
    }

    @Test func csvHeaderMustNamePromptAndKnownColumns() {
        #expect(throws: PromptFileError.self) { try parse("text,seed\na,1\n", .csv) }
        #expect(throws: PromptFileError.self) { try parse("prompt,colour\na,red\n", .csv) }
    }

    /// Issue #16: an unclosed quote swallowed every following row into one field, reported as
    /// one skipped line. It stops the file, naming the line where the quote opened (here the
    /// second field of a row that starts on line 3).
    @Test func csvUnclosedQuoteStopsTheFile() throws {
        let text = "prompt,negative_prompt\nok,\n\"two\nlines\",\"never closed\nmore,rows\nand,more\n"
        let error = #expect(throws: PromptFileError.self) { try PromptFile.parse(Data(text.utf8), format: .csv, file: "p.csv") }
        #expect(error?.line == 4)
        #expect(error?.description.hasPrefix("p.csv:4: this quoted field is never closed") == true)
    }

    @Test func formatFromExtension() {
        #expect(PromptFileFormat(path: "a/b.TXT") == .txt)
        #expect(PromptFileFormat(path: "b.jsonl") == .jsonl)
        #expect(PromptFileFormat(path: "b.csv") == .csv)
        #expect(PromptFileFormat(path: "b.json") == nil)
    }
}

/// The example batch files in `samples/` parse without issues.
@Suite struct SampleBatchFileTests {
    @Test(arguments: ["prompts.txt", "prompts.jsonl", "prompts.csv"])
    func samplesParse(_ name: String) throws {
        let f = try PromptFile.load(path: TestPaths.path("samples/\(name)"))
        #expect(f.issues.isEmpty)
        #expect(f.entries.count >= 2)
    }
}
