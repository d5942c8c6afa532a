import Diagnostics
import Foundation
import Tensor

/// Element types this reader accepts; all are converted to Float32 on load.
public enum StorageType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// One memory-mapped `.safetensors` file (format: 8-byte little-endian header length, JSON
/// header `{name: {dtype, shape, data_offsets}}`, raw little-endian row-major data).
/// The header is validated completely on open, so later reads cannot go out of bounds.
public struct SafeTensorsFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public var dtype: StorageType
        public var shape: [Int]
        /// Byte range inside the data section.
        public var range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let bytes: Data
    private let dataStart: Int

    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(.cannotRead(reason: (error as NSError).localizedDescription), file: path)
        }
        try self.init(path: path, data: data)
    }

    /// Parses an in-memory file (tests, and the mapped path above).
    public init(path: String, data: Data) throws {
        self.path = path
        self.bytes = data
        guard data.count >= 8 else { throw SafeTensorsError(.truncated(fileSize: data.count), file: path) }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard length <= UInt64(data.count - 8) else {
            throw SafeTensorsError(.headerBeyondFile(headerLength: length, fileSize: data.count), file: path)
        }
        let headerStart = data.startIndex + 8
        let header = data[headerStart..<(headerStart + Int(length))]
        dataStart = 8 + Int(length)
        let dataSize = data.count - dataStart
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: header) } catch {
            // The place as a file offset: the header starts after the 8-byte length.
            let problem = JSONSyntaxProblem(data: header)
            let place = problem?.byteOffset.map { " at byte \(8 + $0)" } ?? ""
            throw SafeTensorsError(.badHeader(reason: "not valid JSON\(place)\(problem.map { ": \($0.reason)" } ?? "")"),
                                   file: path)
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsError(.badHeader(reason: "top level is not an object"), file: path)
        }
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw SafeTensorsError(.badHeader(reason: "__metadata__ is not an object"), file: path)
                }
                for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            entries[name] = try Self.parseEntry(name, value, dataSize: dataSize, path: path)
        }
        // Offsets must not overlap (sorted by start, each must begin at or after the last end).
        let sorted = entries.sorted { ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key) }
        for (a, b) in zip(sorted, sorted.dropFirst())
        where !a.value.range.isEmpty && !b.value.range.isEmpty && b.value.range.lowerBound < a.value.range.upperBound {
            throw SafeTensorsError(.overlapping(tensor: b.key, other: a.key), file: path)
        }
        self.entries = entries
        self.metadata = metadata
    }

    private static func parseEntry(_ name: String, _ value: Any, dataSize: Int, path: String) throws -> Entry {
        guard let e = value as? [String: Any] else {
            throw SafeTensorsError(.badEntry(tensor: name, reason: "entry is not an object"), file: path)
        }
        guard let dtypeName = e["dtype"] as? String else {
            throw SafeTensorsError(.badEntry(tensor: name, reason: "missing dtype"), file: path)
        }
        guard let dtype = StorageType(rawValue: dtypeName) else {
            throw SafeTensorsError(.unknownDType(tensor: name, dtype: dtypeName), file: path)
        }
        guard let shapeAny = e["shape"] as? [Any], let shape = Self.integers(shapeAny), shape.allSatisfy({ $0 >= 0 })
        else { throw SafeTensorsError(.badEntry(tensor: name, reason: "shape is not a list of non-negative integers"), file: path) }
        guard let offAny = e["data_offsets"] as? [Any], let off = Self.integers(offAny), off.count == 2 else {
            throw SafeTensorsError(.badEntry(tensor: name, reason: "data_offsets is not two integers"), file: path)
        }
        guard off[0] >= 0, off[0] <= off[1], off[1] <= dataSize else {
            throw SafeTensorsError(.offsetsOutOfRange(tensor: name, begin: off[0], end: off[1], dataSize: dataSize), file: path)
        }
        let (elements, overflow) = shape.reduce((1, false)) { acc, x in
            let (p, o) = acc.0.multipliedReportingOverflow(by: x)
            return (p, acc.1 || o)
        }
        guard !overflow, elements.multipliedReportingOverflow(by: dtype.byteSize).overflow == false,
              elements * dtype.byteSize == off[1] - off[0] else {
            throw SafeTensorsError(.byteCountMismatch(tensor: name, shape: shape, dtype: dtypeName, bytes: off[1] - off[0]), file: path)
        }
        return Entry(dtype: dtype, shape: shape, range: off[0]..<off[1])
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        for v in values {
            guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded() else { return nil }
            guard n.doubleValue >= -1e15 && n.doubleValue <= 1e15 else { return nil }
            out.append(n.intValue)
        }
        return out
    }

    /// Tensor names in the file, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// Reads a tensor, converted to Float32, with its stored shape.
    /// - Throws: `SafeTensorsError` naming the file and the tensor: `missingTensor`, or
    ///   `nonFinite` when it holds a NaN or an infinity (one vectorised pass over the converted
    ///   values; a NaN weight or latent would otherwise end as an all-black video).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafeTensorsError(.missingTensor(key: name), file: path) }
        let tensor = converted(entry)
        if let values = tensor.nonFiniteValues {
            throw SafeTensorsError(.nonFinite(tensor: name, shape: entry.shape, values: values), file: path)
        }
        return tensor
    }

    /// The stored values of `entry` as Float32.
    private func converted(_ entry: Entry) -> Tensor {
        let n = entry.shape.reduce(1, *)
        let base = bytes.startIndex + dataStart + entry.range.lowerBound
        return bytes.withUnsafeBytes { raw in
            let src = UnsafeRawBufferPointer(rebasing: raw[(base - bytes.startIndex)..<(base - bytes.startIndex + entry.range.count)])
            return Tensor(shape: entry.shape) { dst in
                switch entry.dtype {
                case .f32:
                    for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16:
                    for i in 0..<n { dst[i] = HalfPrecision.float(fromHalf: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bf16:
                    for i in 0..<n { dst[i] = HalfPrecision.float(fromBFloat16: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                }
            }
        }
    }
}
