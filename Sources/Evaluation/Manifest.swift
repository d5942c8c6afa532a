import Foundation

/// One line of an evaluation manifest (JSONL): `{"prompt", "video", "attributes"}`; other keys
/// are ignored. `video` is relative to the manifest's folder unless absolute.
public struct ManifestItem: Sendable, Equatable {
    /// 1-based line number in the manifest.
    public var line: Int
    public var prompt: String
    /// Resolved path of the video.
    public var videoPath: String
    public var attributes: SceneAttributes
}

/// Reads an evaluation manifest. Bad lines do not stop the others: each becomes an
/// `EvaluationError` with its line number.
public enum EvaluationManifest {
    public static func read(path: String, spec: WorldSpec) throws -> [Result<ManifestItem, EvaluationError>] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw EvaluationError(.cannotRead(reason: error.localizedDescription), file: path)
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        return parse(text, file: path, folder: folder, spec: spec)
    }

    /// Parses manifest text; blank lines and lines starting with `#` are skipped.
    public static func parse(_ text: String, file: String, folder: URL, spec: WorldSpec)
        -> [Result<ManifestItem, EvaluationError>]
    {
        var out: [Result<ManifestItem, EvaluationError>] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                out.append(.success(try item(line, number: i + 1, file: file, folder: folder, spec: spec)))
            } catch {
                out.append(.failure(error))
            }
        }
        return out
    }

    private struct Line: Decodable {
        var prompt: String
        var video: String
        var attributes: SceneAttributes
    }

    static func item(_ line: String, number: Int, file: String, folder: URL, spec: WorldSpec)
        throws(EvaluationError) -> ManifestItem
    {
        let l: Line
        do { l = try JSONDecoder().decode(Line.self, from: Data(line.utf8)) } catch {
            throw EvaluationError(.badManifestLine(line: number, reason: Self.describe(error)), file: file)
        }
        func check(_ field: String, _ value: String, _ known: Bool) throws(EvaluationError) {
            if !known { throw EvaluationError(.unknownName(line: number, field: field, value: value), file: file) }
        }
        let a = l.attributes
        try check("background", a.background, spec.backgrounds[a.background] != nil)
        guard !a.objects.isEmpty else {
            throw EvaluationError(.badManifestLine(line: number, reason: "attributes.objects is empty"), file: file)
        }
        for o in a.objects {
            try check("color", o.color, spec.colors[o.color] != nil)
            try check("shape", o.shape, spec.shapes.contains(o.shape))
            try check("motion", o.motion, spec.motions.contains(o.motion))
        }
        guard !l.video.isEmpty else {
            throw EvaluationError(.badManifestLine(line: number, reason: "video is empty"), file: file)
        }
        let path = l.video.hasPrefix("/") ? l.video : folder.appendingPathComponent(l.video).path
        return ManifestItem(line: number, prompt: l.prompt, videoPath: path, attributes: a)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            let path = (ctx.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "missing key '\(path)'"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at '\(path)': \(ctx.debugDescription)"
        case DecodingError.dataCorrupted(let ctx):
            return "not valid JSON: \(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
