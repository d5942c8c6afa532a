import Diagnostics

/// Everything that can be wrong with a VAE folder, its config or a decode request.
/// `file` names the file or input the error is about (a config path, "latents").
public typealias VAEError = ContextError<VAEErrorKind>

/// The cases of `VAEError`.
public enum VAEErrorKind: FileErrorKind {
    case cannotReadConfiguration(reason: String)
    case invalidConfiguration(key: String, reason: String)
    /// Latents of the wrong rank, channel count or size.
    case badLatents(expected: String, found: [Int])
    case badChunkSize(Int)

    public var message: String {
        switch self {
        case .cannotReadConfiguration(let reason): "cannot read VAE config: \(reason)"
        case .invalidConfiguration(let key, let reason): "invalid '\(key)': \(reason)"
        case .badLatents(let expected, let found): "latents have shape \(found), expected \(expected)"
        case .badChunkSize(let n): "streaming chunk of \(n) latent frames; use 1 or more"
        }
    }
}
