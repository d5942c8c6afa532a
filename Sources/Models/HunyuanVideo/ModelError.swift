/// Everything that can be wrong when loading or calling a model in `Models`.
/// Each case carries its context; `file` names the file or input concerned.
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
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
    }

    public var kind: Kind
    public var file: String

    public init(_ kind: Kind, file: String) {
        self.kind = kind
        self.file = file
    }

    public var description: String {
        switch kind {
        case .cannotRead(let reason): "\(file): cannot read: \(reason)"
        case .badConfiguration(let reason): "\(file): bad configuration: \(reason)"
        case .inputShape(let name, let expected, let found): "\(file): input '\(name)' has shape \(found), expected \(expected)"
        case .notDivisible(let name, let extent, let patch):
            "\(file): latent \(name) \(extent) is not a multiple of the patch size \(patch)"
        case .batchMismatch(let name, let expected, let found):
            "\(file): '\(name)' has \(found) entries for a batch of \(expected)"
        case .badTextMask(let b, let reason): "\(file): text mask of batch item \(b): \(reason)"
        case .guidance(let reason): "\(file): guidance: \(reason)"
        }
    }
}
