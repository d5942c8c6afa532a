import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

/// Element types this reader accepts. Tensors are read as Float32; weight matrices of a 16-bit
/// type can stay as stored (`matrix(_:precision:)`).
public enum StorageType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    public var byteSize: Int { self == .f32 ? 4 : 2 }
    /// The same element type as a weight matrix holds it.
    public var precision: WeightMatrix.Precision {
        switch self {
        case .f32: .float32
        case .f16: .float16
        case .bf16: .bfloat16
        }
    }
}

/// What a load does with weight matrices stored in 16 bits (F16, BF16).
public enum MatrixPrecision: String, Sendable, CaseIterable, Codable {
    /// Keep them as stored, views of the mapped file widened a panel at a time in products:
    /// resident weights cost their bytes on disk.
    case stored
    /// Convert them to Float32 while loading (twice their bytes on disk), as every tensor was
    /// before 16-bit weights were kept. Float32 files load this way whatever is asked.
    case float32
}

/// One memory-mapped `.safetensors` file (format: 8-byte little-endian header length, JSON
/// header `{name: {dtype, shape, data_offsets}}`, raw little-endian row-major data).
/// The header is validated completely on open, so later reads cannot go out of bounds. The
/// mapping lasts while this value or a 16-bit `WeightMatrix` read from it lives.
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
    private let bytes: any StableBytes
    private let dataStart: Int

    public init(path: String) throws {
        try self.init(path: path, bytes: try MappedFile.contents(of: path))
    }

    /// Parses an in-memory file (tests, fuzzing).
    public init(path: String, data: Data) throws {
        try self.init(path: path, bytes: MappedFile(copying: data))
    }

    private init(path: String, bytes: any StableBytes) throws {
        self.path = path
        self.bytes = bytes
        let size = bytes.byteCount
        guard size >= 8 else { throw SafeTensorsError(.truncated(fileSize: size), file: path) }
        let length = UInt64(littleEndian: bytes.baseAddress.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(size - 8) else {
            throw SafeTensorsError(.headerBeyondFile(headerLength: length, fileSize: size), file: path)
        }
        let header = Data(bytes: bytes.baseAddress + 8, count: Int(length))
        dataStart = 8 + Int(length)
        let dataSize = size - dataStart
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
        let entry = try self.entry(name)
        let tensor = Tensor(shape: entry.shape) { dst in
            guard let out = dst.baseAddress else { return }
            HalfPrecision.widen(entry.dtype.precision, start(of: entry), count: dst.count, into: out)
        }
        try check(tensor.nonFiniteValues, name, entry)
        return tensor
    }

    /// Reads a tensor as a weight matrix `[shape[0], product of the other extents]` (a conv
    /// kernel `[out, in, kt, kh, kw]` is `[out, in·kt·kh·kw]`): F16 and BF16 as stored (a view of
    /// the mapping) unless `precision` is `.float32`, F32 as Float32.
    /// - Throws: as `tensor(_:)`, `nonFinite` checked on the stored bits.
    public func matrix(_ name: String, precision: MatrixPrecision) throws -> WeightMatrix {
        let entry = try self.entry(name)
        let rows = entry.shape.first ?? 1
        let columns = entry.shape.dropFirst().reduce(1, *)
        guard entry.dtype != .f32, precision == .stored else {
            return WeightMatrix(rows: rows, columns: columns, values: try tensor(name).data)
        }
        let matrix = WeightMatrix(rows: rows, columns: columns, precision: entry.dtype.precision, bytes: bytes,
                                  byteOffset: dataStart + entry.range.lowerBound)
        try check(matrix.nonFiniteValues, name, entry)
        return matrix
    }

    private func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else { throw SafeTensorsError(.missingTensor(key: name), file: path) }
        return entry
    }

    private func start(of entry: Entry) -> UnsafeRawPointer { bytes.baseAddress + dataStart + entry.range.lowerBound }

    private func check(_ values: NonFiniteValues?, _ name: String, _ entry: Entry) throws {
        if let values { throw SafeTensorsError(.nonFinite(tensor: name, shape: entry.shape, values: values), file: path) }
    }
}

/// The bytes of one safetensors file: a regular file mapped read-only and private (pages come
/// from the page cache, so 16-bit weights viewed in place cost no memory of their own and can be
/// dropped and read again under memory pressure); anything that cannot be mapped (an empty
/// file, a device) read as Foundation reads it, and data given in memory, copied.
final class MappedFile: StableBytes, @unchecked Sendable {
    // Unchecked: the bytes are never written after init (a PROT_READ mapping or a copy made
    // there) and are released only in deinit, when nothing can read them.
    let baseAddress: UnsafeRawPointer
    let byteCount: Int
    private let mapped: Bool

    /// Maps `path` when it is a regular file that is not empty, else reads it.
    static func contents(of path: String) throws -> MappedFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error(path) }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else {
            do { return MappedFile(copying: try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw SafeTensorsError(.cannotRead(reason: (error as NSError).localizedDescription), file: path)
            }
        }
        guard let p = mmap(nil, Int(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else { throw error(path) }
        return MappedFile(mapping: UnsafeRawPointer(p), byteCount: Int(info.st_size))
    }

    private init(mapping: UnsafeRawPointer, byteCount: Int) {
        (baseAddress, self.byteCount, mapped) = (mapping, byteCount, true)
    }

    init(copying data: Data) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.copyBytes(to: buffer.assumingMemoryBound(to: UInt8.self), count: data.count)
        (baseAddress, byteCount, mapped) = (UnsafeRawPointer(buffer), data.count, false)
    }

    deinit {
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: baseAddress), byteCount)
        } else {
            UnsafeMutableRawPointer(mutating: baseAddress).deallocate()
        }
    }

    private static func error(_ path: String) -> SafeTensorsError {
        SafeTensorsError(.cannotRead(reason: String(cString: strerror(errno))), file: path)
    }
}
