import Synchronization
import Tensor

/// Scoped, checked access to a `WeightArchive`: each layer reads its own tensors by exact
/// diffusers key (`scope("transformer_blocks.0").scope("attn")` reads `…attn.to_q.weight`),
/// shapes are verified, and `finish()` reports tensors nobody read.
public final class WeightReader: Sendable {
    public let archive: WeightArchive
    public let prefix: String
    /// How `matrix` returns 16-bit weight matrices.
    public let matrixPrecision: MatrixPrecision
    private let used: SharedKeySet

    public init(_ archive: WeightArchive, matrices: MatrixPrecision = .stored) {
        self.archive = archive
        self.prefix = ""
        self.matrixPrecision = matrices
        self.used = SharedKeySet()
    }

    private init(archive: WeightArchive, prefix: String, matrices: MatrixPrecision, used: SharedKeySet) {
        self.archive = archive
        self.prefix = prefix
        self.matrixPrecision = matrices
        self.used = used
    }

    /// A reader whose keys are prefixed by `name.` (nested scopes join with dots).
    public func scope(_ name: String) -> WeightReader {
        WeightReader(archive: archive, prefix: prefix.isEmpty ? name : "\(prefix).\(name)", matrices: matrixPrecision,
                     used: used)
    }

    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// Whether `name` exists in this scope (for optional layers such as `conv_shortcut`).
    public func contains(_ name: String) -> Bool { archive.shape(of: key(name)) != nil }

    /// Reads `name` as Float32 and checks its shape.
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        try archive.tensor(checkedKey(name, shape: expected))
    }

    /// Reads `name`, of shape `expected` (`[rows, …]`), as a weight matrix
    /// `[expected[0], product of the rest]` at `matrixPrecision`.
    public func matrix(_ name: String, shape expected: [Int]) throws -> WeightMatrix {
        try archive.matrix(checkedKey(name, shape: expected), precision: matrixPrecision)
    }

    /// The full key of `name`, after checking its shape and marking it read.
    private func checkedKey(_ name: String, shape expected: [Int]) throws -> String {
        let k = key(name)
        guard let found = archive.shape(of: k) else {
            throw SafeTensorsError(.missingTensor(key: k), file: archive.directory)
        }
        guard found == expected else {
            throw SafeTensorsError(.shapeMismatch(key: k, expected: expected, found: found), file: archive.directory)
        }
        used.insert(k)
        return k
    }

    /// Throws `unexpectedTensors` listing every stored tensor that was not read, unless its
    /// key starts with one of `ignoringPrefixes` (e.g. `encoder.` for a decoder-only load).
    public func finish(ignoringPrefixes: [String] = []) throws {
        let unread = archive.keys.filter { k in !used.contains(k) && !ignoringPrefixes.contains { k.hasPrefix($0) } }
        if !unread.isEmpty { throw SafeTensorsError(.unexpectedTensors(keys: unread), file: archive.directory) }
    }
}

/// The set of keys read so far, shared by all scopes of one load.
final class SharedKeySet: Sendable {
    private let keys = Mutex<Set<String>>([])
    func insert(_ k: String) { keys.withLock { _ = $0.insert(k) } }
    func contains(_ k: String) -> Bool { keys.withLock { $0.contains(k) } }
}
