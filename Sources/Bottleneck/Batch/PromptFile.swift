import Diagnostics
import Foundation

/// Per-item settings a batch line may override; `nil` keeps the batch-wide value.
public struct PromptOverrides: Sendable, Equatable {
    public var seed: UInt64?
    public var negativePrompt: String?
    public var frames: Int?
    public var width: Int?
    public var height: Int?
    public var steps: Int?
    public var bottleneck: BottleneckChoice?
    /// Output file name in the batch output folder, without `/` (replaces the name template).
    public var output: String?

    public init() {}

    /// Column/key names accepted in `.jsonl` objects and `.csv` headers.
    public static let keys: [String] = [
        "prompt", "seed", "negative_prompt", "frames", "width", "height", "steps", "bottleneck", "output",
    ]
}

/// One prompt of a batch file.
public struct PromptEntry: Sendable, Equatable {
    /// 0-based ordinal of the entry in the file. Every line that holds an item counts, bad ones
    /// included (txt: non-blank, non-comment lines; jsonl: non-blank lines; csv: data rows),
    /// so fixing or breaking one line never renumbers the others — resume and shards rely on it.
    public var index: Int
    /// 1-based line where the entry starts.
    public var line: Int
    public var prompt: String
    public var overrides: PromptOverrides

    public init(index: Int, line: Int, prompt: String, overrides: PromptOverrides = PromptOverrides()) {
        self.index = index
        self.line = line
        self.prompt = prompt
        self.overrides = overrides
    }
}

/// A bad batch line, reported as `file:line: …` and skipped; the rest of the batch goes on.
/// The subject is the batch file.
public typealias PromptFileIssue = ContextError<PromptFileIssueKind>

extension ContextError where Kind == PromptFileIssueKind {
    /// `problem` of the entry `index` that starts on `line` of `file`.
    public init(_ problem: PromptLineProblem, file: String, line: Int, index: Int) {
        self.init(PromptFileIssueKind(problem, line: line, index: index), file: file)
    }
}

/// The kind of a `PromptFileIssue`: what is wrong with the entry on `entryLine`, and the
/// entry's index, by which the planner keeps the issue to its shard and the manifest records it.
public struct PromptFileIssueKind: FileErrorKind {
    public var problem: PromptLineProblem
    /// 1-based line where the entry starts.
    public var entryLine: Int
    /// The entry index the line has (bad entries are counted too, see `PromptEntry.index`).
    public var index: Int

    public init(_ problem: PromptLineProblem, line: Int, index: Int) {
        self.problem = problem
        self.entryLine = line
        self.index = index
    }

    /// `FileErrorKind`'s line, for the `file:line: ` prefix; an issue always has one.
    public var line: Int? { entryLine }

    public var message: String {
        switch problem {
        case .invalidUTF8: "invalid UTF-8; save the file as UTF-8"
        case .badJSON(let m): "not valid JSON (\(m))"
        case .notAnObject: "expected a JSON object such as {\"prompt\": \"...\"}"
        case .missingPrompt: "missing or empty \"prompt\""
        case .unknownKey(let k): "unknown key '\(k)'; known keys: \(PromptOverrides.keys.joined(separator: ", "))"
        case .wrongType(let k, let expected): "'\(k)' must be \(expected)"
        case .badValue(let k, let m): "'\(k)': \(m)"
        case .columnCount(let e, let f): "expected \(e) fields (as in the header), found \(f)"
        case .invalidRequest(let e): e.description
        case .exceedsMachine(let e): e.description
        }
    }
}

/// What is wrong with one batch entry. Thrown while an entry is read or its item prepared,
/// before its file and line are attached (`PromptFileIssue`).
public enum PromptLineProblem: Error, Sendable, Equatable {
    case invalidUTF8
    case badJSON(String)
    case notAnObject
    case missingPrompt
    case unknownKey(String)
    case wrongType(key: String, expected: String)
    case badValue(key: String, message: String)
    case columnCount(expected: Int, found: Int)
    case invalidRequest(RequestError)
    /// A valid item this machine cannot hold (memory or disk), found before any model loads.
    case exceedsMachine(ResourceShortage)
}

/// The formats a batch file may have, chosen by extension.
public enum PromptFileFormat: String, Sendable, CaseIterable {
    /// One prompt per line; `#` starts a comment line; blank lines are skipped.
    case txt
    /// One JSON object per line with `prompt` and optional overrides.
    case jsonl
    /// A header row naming columns (`prompt` required), then one row per prompt; RFC 4180 quoting.
    case csv

    public init?(path: String) {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        switch ext {
        case "txt", "prompts": self = .txt
        case "jsonl", "ndjson": self = .jsonl
        case "csv": self = .csv
        default: return nil
        }
    }
}

/// A whole-file problem (unreadable, unknown extension, unusable CSV header, a CSV quote that
/// is never closed): the batch does not start.
public typealias PromptFileError = ContextError<PromptFileErrorKind>

/// The cases of `PromptFileError`; the subject is the batch file.
public enum PromptFileErrorKind: FileErrorKind {
    case unknownType
    case unreadable
    /// A CSV quote opened on `line` and never closed.
    case unclosedQuote(line: Int)
    /// The CSV header row on `line` cannot give the columns.
    case header(line: Int, HeaderProblem)

    public enum HeaderProblem: Sendable, Equatable {
        case notCSV
        case invalidUTF8
        case unknownColumn(String)
        case noPromptColumn
    }

    public var message: String {
        switch self {
        case .unknownType: "unknown batch file type; use .txt, .jsonl or .csv"
        case .unreadable: "cannot read the file"
        case .unclosedQuote:
            "this quoted field is never closed, so every row after it would be "
                + "read as part of it; close it (a quote inside a field is written \"\")"
        case .header(_, .notCSV): "the header row is not readable CSV"
        case .header(_, .invalidUTF8): "invalid UTF-8 in the header row"
        case .header(_, .unknownColumn(let name)):
            "unknown column '\(name)'; known columns: \(PromptOverrides.keys.joined(separator: ", "))"
        case .header(_, .noPromptColumn): "the header needs a 'prompt' column"
        }
    }

    public var line: Int? {
        switch self {
        case .unknownType, .unreadable: nil
        case .unclosedQuote(let line), .header(let line, _): line
        }
    }
}

/// A parsed batch file: good entries plus the issues of the lines that were skipped.
public struct PromptFile: Sendable, Equatable {
    public var file: String
    public var entries: [PromptEntry]
    public var issues: [PromptFileIssue]

    /// Reads and parses `path` (format from its extension).
    public static func load(path: String) throws -> PromptFile {
        guard let format = PromptFileFormat(path: path) else {
            throw PromptFileError(.unknownType, file: path)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PromptFileError(.unreadable, file: path)
        }
        return try parse(data, format: format, file: path)
    }

    /// Parses `data`; `file` is used in messages only.
    public static func parse(_ data: Data, format: PromptFileFormat, file: String) throws -> PromptFile {
        var result = PromptFile(file: file, entries: [], issues: [])
        switch format {
        case .txt: result.parseText(Array(data))
        case .jsonl: result.parseJSONLines(Array(data))
        case .csv: try result.parseCSV(Array(data))
        }
        return result
    }

    private mutating func skip(_ problem: PromptLineProblem, line: Int, index: Int) {
        issues.append(PromptFileIssue(problem, file: file, line: line, index: index))
    }

    // MARK: txt

    private mutating func parseText(_ bytes: [UInt8]) {
        var index = 0
        for (n, raw) in splitLines(bytes).enumerated() {
            let line = n + 1
            guard let text = String(validatingUTF8Bytes: raw) else {
                if raw.contains(where: { $0 != 0x20 && $0 != 0x09 }) {
                    skip(.invalidUTF8, line: line, index: index)
                    index += 1
                }
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            entries.append(PromptEntry(index: index, line: line, prompt: trimmed))
            index += 1
        }
    }

    // MARK: jsonl

    private mutating func parseJSONLines(_ bytes: [UInt8]) {
        var index = 0
        for (n, raw) in splitLines(bytes).enumerated() {
            let line = n + 1
            guard let text = String(validatingUTF8Bytes: raw) else {
                skip(.invalidUTF8, line: line, index: index)
                index += 1
                continue
            }
            if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            defer { index += 1 }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            } catch {
                let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                skip(.badJSON(detail ?? "expected one JSON object per line"), line: line, index: index)
                continue
            }
            guard let dict = object as? [String: Any] else {
                skip(.notAnObject, line: line, index: index)
                continue
            }
            do {
                let fields = try dict.mapValues { try FieldValue(json: $0, key: "") }
                entries.append(try makeEntry(fields, index: index, line: line))
            } catch let problem as PromptLineProblem {
                skip(problem, line: line, index: index)
            } catch {
                skip(.badJSON("\(error)"), line: line, index: index)
            }
        }
    }

    // MARK: csv

    /// A quote that is never closed stops the whole file (`PromptFileError` at the line where
    /// it opened): every row after it would be read as one field, so there are no rows to skip
    /// it by.
    private mutating func parseCSV(_ bytes: [UInt8]) throws {
        let records: [CSVReader.Record]
        do { records = try CSVReader.records(bytes) } catch {
            throw PromptFileError(.unclosedQuote(line: error.line), file: file)
        }
        guard let header = records.first else { return }
        guard case .fields(let headerFields) = header.content else {
            throw PromptFileError(.header(line: header.line, .notCSV), file: file)
        }
        var columns: [String] = []
        for raw in headerFields {
            guard let name = String(validatingUTF8Bytes: raw)?.trimmingCharacters(in: .whitespaces).lowercased() else {
                throw PromptFileError(.header(line: header.line, .invalidUTF8), file: file)
            }
            guard PromptOverrides.keys.contains(name) else {
                throw PromptFileError(.header(line: header.line, .unknownColumn(name)), file: file)
            }
            columns.append(name)
        }
        guard columns.contains("prompt") else {
            throw PromptFileError(.header(line: header.line, .noPromptColumn), file: file)
        }
        var index = 0
        for record in records.dropFirst() {
            let line = record.line
            let fields: [[UInt8]]
            switch record.content {
            case .blank: continue
            case .fields(let f): fields = f
            }
            defer { index += 1 }
            guard fields.count == columns.count else {
                skip(.columnCount(expected: columns.count, found: fields.count), line: line, index: index)
                continue
            }
            var values: [String: FieldValue] = [:]
            var bad = false
            for (name, raw) in zip(columns, fields) {
                guard let text = String(validatingUTF8Bytes: raw) else {
                    skip(.invalidUTF8, line: line, index: index)
                    bad = true
                    break
                }
                if !text.isEmpty { values[name] = .text(text) }
            }
            if bad { continue }
            do {
                entries.append(try makeEntry(values, index: index, line: line))
            } catch {
                skip(error, line: line, index: index)
            }
        }
    }

    // MARK: Fields

    /// A value from JSON (typed) or CSV (text, converted on use).
    enum FieldValue {
        case text(String)
        /// A JSON number as written (exact for integers of any size; checked where it is used).
        case number(String)
        case null
        case other

        init(json: Any, key: String) throws {
            if json is NSNull { self = .null; return }
            if let s = json as? String { self = .text(s); return }
            if let n = json as? NSNumber {
                self = CFGetTypeIDIsBool(n) ? .other : .number(n.stringValue)
                return
            }
            self = .other
        }
    }

    private func makeEntry(_ fields: [String: FieldValue], index: Int, line: Int) throws(PromptLineProblem) -> PromptEntry {
        for key in fields.keys.sorted() where !PromptOverrides.keys.contains(key) {
            throw .unknownKey(key)
        }
        func string(_ key: String) throws(PromptLineProblem) -> String? {
            switch fields[key] {
            case nil, .null: return nil
            case .text(let s): return s
            default: throw .wrongType(key: key, expected: "a string")
            }
        }
        /// An integer checked against its request bound (`GenerationRequest.Bounds`), so a value
        /// out of bounds, too large for the type or fractional is reported with what would work.
        func integer<Value>(_ key: String, _ bound: IntegerBound<Value>) throws(PromptLineProblem) -> Value? {
            let text: String
            switch fields[key] {
            case nil, .null: return nil
            case .number(let s), .text(let s): text = s.trimmingCharacters(in: .whitespaces)
            case .other: throw .wrongType(key: key, expected: "an integer")
            }
            guard Double(text) != nil else { throw .wrongType(key: key, expected: "an integer") }
            do throws(BoundViolation) { return try bound.parse(text) } catch {
                throw .invalidRequest(RequestError(.outOfBounds(error), field: key))
            }
        }
        guard let prompt = try string("prompt")?.trimmingCharacters(in: .whitespacesAndNewlines),
              !prompt.isEmpty else { throw .missingPrompt }
        typealias Bounds = GenerationRequest.Bounds
        var o = PromptOverrides()
        o.seed = try integer("seed", Bounds.seed)
        o.negativePrompt = try string("negative_prompt")
        o.frames = try integer("frames", Bounds.frames)
        o.width = try integer("width", Bounds.pixelSide)
        o.height = try integer("height", Bounds.pixelSide)
        o.steps = try integer("steps", Bounds.steps)
        if let b = try string("bottleneck") {
            do { o.bottleneck = try BottleneckChoice(parsing: b) } catch {
                throw .badValue(key: "bottleneck", message: String(describing: error))
            }
        }
        if let out = try string("output") {
            if out.isEmpty || out.contains("/") || out == "." || out == ".." {
                throw .badValue(key: "output", message: BatchFolder.nameRule)
            }
            o.output = out
        }
        return PromptEntry(index: index, line: line, prompt: prompt, overrides: o)
    }
}

/// Splits on `\n`, dropping a trailing `\r` from each line (CRLF files).
func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    if lines.last?.isEmpty == true { lines.removeLast() }
    return lines.map { $0.last == 0x0D ? $0.dropLast() : $0 }
}

extension String {
    /// Decodes UTF-8, returning `nil` (instead of repairing) when the bytes are invalid.
    init?<C: Collection>(validatingUTF8Bytes bytes: C) where C.Element == UInt8 {
        var bytes = Array(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // byte-order mark
        guard let s = String(validating: bytes, as: UTF8.self) else { return nil }
        self = s
    }
}

private func CFGetTypeIDIsBool(_ n: NSNumber) -> Bool {
    // JSONSerialization gives Bool as NSNumber; its objCType is "c" (char).
    String(cString: n.objCType) == "c"
}
