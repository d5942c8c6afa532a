import Diagnostics

/// Everything that can be wrong when loading or calling a model in `Models`.
/// Each case carries its context; `file` names the file or input concerned.
public typealias ModelError = ContextError<ModelErrorKind>

/// The cases of `ModelError`.
public enum ModelErrorKind: FileErrorKind {
    case cannotRead(reason: String)
    case badConfiguration(reason: String)
    /// An input tensor has the wrong rank or extents.
    case inputShape(name: String, expected: String, found: [Int])
    /// A latent extent is not a multiple of the patch size.
    case notDivisible(name: String, extent: Int, patch: Int)
    /// A per-batch input has the wrong number of entries.
    case batchMismatch(name: String, expected: Int, found: Int)
    /// Text mask not right-padded, or without any valid token.
    case badTextMask(batchItem: Int, reason: String)
    /// `guidance` given to a model without a guidance embedder, or missing for one with it.
    case guidance(reason: String)

    public var message: String {
        switch self {
        case .cannotRead(let reason): "cannot read: \(reason)"
        case .badConfiguration(let reason): "bad configuration: \(reason)"
        case .inputShape(let name, let expected, let found): "input '\(name)' has shape \(found), expected \(expected)"
        case .notDivisible(let name, let extent, let patch):
            "latent \(name) \(extent) is not a multiple of the patch size \(patch)"
        case .batchMismatch(let name, let expected, let found):
            "'\(name)' has \(found) entries for a batch of \(expected)"
        case .badTextMask(let b, let reason): "text mask of batch item \(b): \(reason)"
        case .guidance(let reason): "guidance: \(reason)"
        }
    }
}
