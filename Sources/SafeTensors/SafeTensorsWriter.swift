import Foundation
import Tensor

/// Writes tensors as a `.safetensors` file (F32 or F16 storage).
public enum SafeTensorsWriter {
    /// Writes the file atomically: the data goes to a temporary file in the same folder that is
    /// renamed over `path` only when complete (a link or device at `path` is replaced; outputs
    /// of a run go through Media's `OutputTarget` instead, with `encode`).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to path: String,
                             storage: StorageType = .f32, metadata: [String: String] = [:]) throws {
        let out = try encode(tensors, storage: storage, metadata: metadata)
        do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw SafeTensorsError(.cannotRead(reason: "cannot write: \((error as NSError).localizedDescription)"), file: path)
        }
    }

    /// The bytes of a `.safetensors` file holding `tensors`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], storage: StorageType = .f32,
                              metadata: [String: String] = [:]) throws -> Data {
        precondition(storage != .bf16, "writing BF16 is not supported")
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, t) in tensors {
            let size = t.count * storage.byteSize
            header[name] = ["dtype": storage.rawValue, "shape": t.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces to 8-byte alignment
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in tensors {
            switch storage {
            case .f32: t.data.withUnsafeBytes { out.append(contentsOf: $0) }
            default:
                let halves = t.data.map { HalfPrecision.half(fromFloat: $0).littleEndian }
                halves.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }
}
