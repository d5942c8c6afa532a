/// Everything that can be wrong with a VAE folder, its config or a decode request.
public struct VAEError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case cannotReadConfiguration(reason: String)
        case invalidConfiguration(key: String, reason: String)
        /// Latents of the wrong rank, channel count or size.
        case badLatents(expected: String, found: [Int])
        case badChunkSize(Int)
    }

    public var kind: Kind
    /// The file or input the error is about (a config path, "latents").
    public var file: String

    public init(_ kind: Kind, file: String) {
        self.kind = kind
        self.file = file
    }

    public var description: String {
        switch kind {
        case .cannotReadConfiguration(let reason): "\(file): cannot read VAE config: \(reason)"
        case .invalidConfiguration(let key, let reason): "\(file): invalid '\(key)': \(reason)"
        case .badLatents(let expected, let found): "\(file): latents have shape \(found), expected \(expected)"
        case .badChunkSize(let n): "\(file): streaming chunk of \(n) latent frames; use 1 or more"
        }
    }
}
