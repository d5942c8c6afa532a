/// Everything that can be wrong with a safetensors file, an index or a weight load.
/// Each case names the tensor or key; `file` names the file.
public struct SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case cannotRead(reason: String)
        case truncated(fileSize: Int)
        case headerBeyondFile(headerLength: UInt64, fileSize: Int)
        case badHeader(reason: String)
        case unknownDType(tensor: String, dtype: String)
        case badEntry(tensor: String, reason: String)
        case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataSize: Int)
        case overlapping(tensor: String, other: String)
        case byteCountMismatch(tensor: String, shape: [Int], dtype: String, bytes: Int)
        case badIndex(reason: String)
        case missingTensor(key: String)
        case shapeMismatch(key: String, expected: [Int], found: [Int])
        case unexpectedTensors(keys: [String])
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
        case .truncated(let size): "\(file): truncated safetensors file (\(size) bytes, header length needs 8)"
        case .headerBeyondFile(let length, let size):
            "\(file): header length \(length) runs past the end of the file (\(size) bytes)"
        case .badHeader(let reason): "\(file): bad safetensors header: \(reason)"
        case .unknownDType(let t, let d): "\(file): tensor '\(t)' has unsupported dtype '\(d)' (F32, F16, BF16 are supported)"
        case .badEntry(let t, let reason): "\(file): tensor '\(t)': \(reason)"
        case .offsetsOutOfRange(let t, let b, let e, let size):
            "\(file): tensor '\(t)' data offsets [\(b), \(e)) outside the data section (\(size) bytes)"
        case .overlapping(let t, let o): "\(file): tensors '\(t)' and '\(o)' overlap"
        case .byteCountMismatch(let t, let shape, let dtype, let bytes):
            "\(file): tensor '\(t)' has shape \(shape) of \(dtype) but \(bytes) bytes"
        case .badIndex(let reason): "\(file): bad shard index: \(reason)"
        case .missingTensor(let key): "\(file): missing tensor '\(key)'"
        case .shapeMismatch(let key, let expected, let found):
            "\(file): tensor '\(key)' has shape \(found), expected \(expected)"
        case .unexpectedTensors(let keys):
            "\(file): \(keys.count) unexpected tensor(s): \(keys.prefix(8).joined(separator: ", "))\(keys.count > 8 ? ", …" : "")"
        }
    }
}
