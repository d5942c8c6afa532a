/// Everything that can be wrong with an evaluation input: the world spec, a manifest line, a clip.
/// Each case carries its context; `file` names the file (spec, manifest or video).
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The spec file cannot be read or decoded.
        case badSpec(reason: String)
        /// A manifest line is not a JSON object with `prompt`, `video` and `attributes`.
        case badManifestLine(line: Int, reason: String)
        /// Attributes name a background, colour, shape or motion the spec does not define.
        case unknownName(line: Int, field: String, value: String)
        /// A clip with no frames or frames of the wrong byte count.
        case badClip(reason: String)
        /// The manifest cannot be read.
        case cannotRead(reason: String)
        /// Two clips compared frame by frame differ in size or frame count, or are smaller than
        /// the SSIM window.
        case incomparable(reason: String)
    }

    public var kind: Kind
    public var file: String

    public init(_ kind: Kind, file: String) {
        self.kind = kind
        self.file = file
    }

    public var description: String {
        switch kind {
        case .badSpec(let reason): "\(file): bad world spec: \(reason)"
        case .badManifestLine(let line, let reason): "\(file):\(line): \(reason)"
        case .unknownName(let line, let field, let value):
            "\(file):\(line): \(field) '\(value)' is not in the world spec"
        case .badClip(let reason): "\(file): bad clip: \(reason)"
        case .cannotRead(let reason): "\(file): cannot read: \(reason)"
        case .incomparable(let reason): "\(file): cannot compare: \(reason)"
        }
    }
}
