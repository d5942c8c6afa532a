import Foundation
import Tensor

/// Writes tensors as a `.safetensors` file (F32, F16 or BF16 storage, rounded to nearest even).
public enum SafeTensorsWriter {
    /// Writes the file atomically: the data goes to a temporary file in the same folder that is
    /// renamed over `path` only when complete (a link or device at `path` is replaced; outputs
    /// of a run go through Media's `OutputTarget` instead, with `encode`).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to path: String,
                             storage: StorageType = .f32, metadata: [String: String] = [:]) throws {
        try write(names: tensors.map(\.name), shapes: tensors.map(\.tensor.shape), to: path, storage: storage,
                  metadata: metadata) { tensors[$0].tensor }
    }

    /// `write`, with tensor `i` (named `names[i]`, of shape `shapes[i]`) made by `tensor(i)` when
    /// its turn comes, so only one is in memory at a time (weights of a model at real width).
    public static func write(names: [String], shapes: [[Int]], to path: String, storage: StorageType = .f32,
                             metadata: [String: String] = [:], tensor: (Int) throws -> Tensor) throws {
        let temporary = (path as NSString).deletingLastPathComponent + "/." + (path as NSString).lastPathComponent
            + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                  let handle = FileHandle(forWritingAtPath: temporary) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
            }
            defer { try? handle.close() }
            try handle.write(contentsOf: try header(names: names, shapes: shapes, storage: storage, metadata: metadata))
            for i in names.indices {
                let t = try tensor(i)
                precondition(t.shape == shapes[i], "tensor \(names[i]) is \(t.shape), its header says \(shapes[i])")
                try handle.write(contentsOf: bytes(of: t, storage: storage))
            }
            try handle.synchronize()
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch let error as SafeTensorsError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw SafeTensorsError(.cannotRead(reason: "cannot write: \((error as NSError).localizedDescription)"), file: path)
        }
    }

    /// The bytes of a `.safetensors` file holding `tensors`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], storage: StorageType = .f32,
                              metadata: [String: String] = [:]) throws -> Data {
        var out = try header(names: tensors.map(\.name), shapes: tensors.map(\.tensor.shape), storage: storage,
                             metadata: metadata)
        for (_, t) in tensors { out.append(bytes(of: t, storage: storage)) }
        return out
    }

    /// The 8-byte length and the JSON header, padded with spaces to 8-byte alignment.
    private static func header(names: [String], shapes: [[Int]], storage: StorageType,
                               metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, shape) in zip(names, shapes) {
            let size = shape.reduce(1, *) * storage.byteSize
            header[name] = ["dtype": storage.rawValue, "shape": shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// `t`'s values in `storage`, little-endian.
    private static func bytes(of t: Tensor, storage: StorageType) -> Data {
        switch storage {
        case .f32: return t.data.withUnsafeBytes { Data($0) }
        case .f16: return t.data.map { HalfPrecision.half(fromFloat: $0).littleEndian }.withUnsafeBytes { Data($0) }
        case .bf16: return t.data.map { HalfPrecision.bfloat16(fromFloat: $0).littleEndian }.withUnsafeBytes { Data($0) }
        }
    }
}
