import Foundation

/// Where and why a document is not JSON, as Foundation's parser reports it, so a message can
/// name the place. (`JSONDecoder` on Linux reports only "The given data was not valid JSON.",
/// with no location, for every syntax error.)
public struct JSONSyntaxProblem: Sendable, Equatable {
    /// The parser's reason without its location, e.g. `Invalid value`,
    /// `Too many nested arrays or dictionaries`, `Unexpected end of file during JSON parse`.
    public var reason: String
    /// 0-based byte offset into the document, when the parser gives one.
    public var byteOffset: Int?
    /// 1-based line and column (in bytes) of `byteOffset`.
    public var line: Int?
    public var column: Int?

    /// Parses `data`; nil when it is valid JSON (a fragment counts).
    public init?(data: Data) {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            var text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "not valid JSON"
            if text.hasSuffix(".") { text.removeLast() }
            // Foundation's form: "<reason> around character <offset>" (0-based byte offset); an
            // unfinished document is reported without one, and its place is the end.
            if let range = text.range(of: " around character "), let offset = Int(text[range.upperBound...]) {
                reason = String(text[..<range.lowerBound])
                byteOffset = offset
            } else {
                reason = text
                byteOffset = text.contains("end of file") ? data.count : nil
                // "Number 1e400 is not representable in Swift": the place is where it is written.
                if text.hasPrefix("Number "), let end = text.range(of: " is not") {
                    let number = Data(text[text.index(text.startIndex, offsetBy: 7)..<end.lowerBound].utf8)
                    byteOffset = data.firstRange(of: number).map { $0.lowerBound - data.startIndex }
                }
            }
            if let offset = byteOffset {
                let before = data.prefix(offset)
                line = before.count(where: { $0 == 0x0A }) + 1
                column = offset - (before.lastIndex(of: 0x0A).map { $0 - data.startIndex + 1 } ?? 0) + 1
            }
        }
    }

    /// `Invalid value at line 3, column 7`, or the reason alone when there is no location
    /// (`Unexpected end of file during JSON parse`).
    public var description: String {
        guard let line, let column else { return reason }
        return "\(reason) at line \(line), column \(column)"
    }
}
