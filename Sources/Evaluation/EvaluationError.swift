import Diagnostics

/// Everything that can be wrong with an evaluation input: the world spec, a manifest line, a clip.
/// Each case carries its context; `file` names the file (spec, manifest or video).
public typealias EvaluationError = ContextError<EvaluationErrorKind>

/// The cases of `EvaluationError`.
public enum EvaluationErrorKind: FileErrorKind {
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

    public var line: Int? {
        switch self {
        case .badManifestLine(let line, _), .unknownName(let line, _, _): line
        default: nil
        }
    }

    public var message: String {
        switch self {
        case .badSpec(let reason): "bad world spec: \(reason)"
        case .badManifestLine(_, let reason): reason
        case .unknownName(_, let field, let value): "\(field) '\(value)' is not in the world spec"
        case .badClip(let reason): "bad clip: \(reason)"
        case .cannotRead(let reason): "cannot read: \(reason)"
        case .incomparable(let reason): "cannot compare: \(reason)"
        }
    }
}
