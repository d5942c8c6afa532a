import Diagnostics
import Tensor

/// Everything that can be wrong with a safetensors file, an index or a weight load.
/// Each case names the tensor or key; `file` names the file.
public typealias SafeTensorsError = ContextError<SafeTensorsErrorKind>

/// The cases of `SafeTensorsError`.
public enum SafeTensorsErrorKind: FileErrorKind {
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
    /// A tensor holding NaN or infinite values (checked as every tensor is read).
    case nonFinite(tensor: String, shape: [Int], values: NonFiniteValues)

    public var message: String {
        switch self {
        case .cannotRead(let reason): "cannot read: \(reason)"
        case .truncated(let size): "truncated safetensors file (\(size) bytes, header length needs 8)"
        case .headerBeyondFile(let length, let size):
            "header length \(length) runs past the end of the file (\(size) bytes)"
        case .badHeader(let reason): "bad safetensors header: \(reason)"
        case .unknownDType(let t, let d): "tensor '\(t)' has unsupported dtype '\(d)' (F32, F16, BF16 are supported)"
        case .badEntry(let t, let reason): "tensor '\(t)': \(reason)"
        case .offsetsOutOfRange(let t, let b, let e, let size):
            "tensor '\(t)' data offsets [\(b), \(e)) outside the data section (\(size) bytes)"
        case .overlapping(let t, let o): "tensors '\(t)' and '\(o)' overlap"
        case .byteCountMismatch(let t, let shape, let dtype, let bytes):
            "tensor '\(t)' has shape \(shape) of \(dtype) but \(bytes) bytes"
        case .badIndex(let reason): "bad shard index: \(reason)"
        case .missingTensor(let key): "missing tensor '\(key)'"
        case .shapeMismatch(let key, let expected, let found):
            "tensor '\(key)' has shape \(found), expected \(expected)"
        case .unexpectedTensors(let keys):
            "\(keys.count) unexpected tensor(s): \(keys.prefix(8).joined(separator: ", "))\(keys.count > 8 ? ", …" : "")"
        case .nonFinite(let t, let shape, let values):
            "tensor '\(t)' \(shape) holds \(values); nothing computed from it would be finite "
                + "(a damaged file, or one saved from a run or training that diverged)"
        }
    }
}
