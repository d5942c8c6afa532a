/// Read-only bytes that stay valid and unchanged for as long as the object lives: a weight file
/// mapped by `SafeTensors`, or 16-bit values made in memory (`WeightMatrix(rows:columns:precision:bits:)`).
public protocol StableBytes: AnyObject, Sendable {
    var baseAddress: UnsafeRawPointer { get }
    var byteCount: Int { get }
}

/// A weight matrix in the precision it was stored in: the one type for weights that go through a
/// matrix product, from the file reader (`SafeTensors`) through the layers (`Models`) to the
/// product (`RowKernels.linear`).
///
/// Layout: `[rows, columns]` row-major (PyTorch `nn.Linear.weight`: `[out, in]`).
/// - Float32: one contiguous `[Float]`, multiplied by one `BLAS.sgemm` (Float32 checkpoints, and
///   16-bit ones loaded with everything expanded).
/// - Float16 / bfloat16: the stored little-endian 16-bit values, in one or more consecutive
///   blocks of whole rows, each a view of `StableBytes` (the mapped file itself: the weights'
///   resident bytes are their bytes on disk; a fused q|k|v is three blocks, not a copy). Products
///   widen them to Float32 a panel of rows at a time into a per-thread scratch
///   (`multiplyTransposed`), never the whole matrix.
public struct WeightMatrix: Sendable {
    /// The element type of stored weights (safetensors `F32`, `F16`, `BF16`).
    public enum Precision: String, Sendable, CaseIterable {
        case float32, float16, bfloat16
        public var bytesPerElement: Int { self == .float32 ? 4 : 2 }
    }

    /// Consecutive 16-bit rows: `rows × columns` values of `precision` from `byteOffset` in `bytes`.
    struct Block: Sendable {
        let bytes: any StableBytes
        let byteOffset: Int
        let rows: Int
        var base: UnsafeRawPointer { bytes.baseAddress + byteOffset }
    }

    enum Storage: Sendable {
        case float32([Float])
        case packed(Precision, [Block])
    }

    public let rows: Int
    public let columns: Int
    let storage: Storage

    /// Float32 values `[rows, columns]` (moved in, not copied).
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns,
                     "\(values.count) values for a [\(rows), \(columns)] matrix")
        self.rows = rows
        self.columns = columns
        storage = .float32(values)
    }

    /// A rank-2 tensor `[rows, columns]` as a Float32 matrix.
    public init(_ tensor: Tensor) {
        precondition(tensor.rank == 2, "a weight matrix is rank 2, got \(tensor.shape)")
        self.init(rows: tensor.shape[0], columns: tensor.shape[1], values: tensor.data)
    }

    /// A view of `rows × columns` 16-bit values of `precision` at `byteOffset` in `bytes`, which
    /// the matrix keeps alive. The range must lie inside `bytes` (the caller has checked the file).
    public init(rows: Int, columns: Int, precision: Precision, bytes: any StableBytes, byteOffset: Int) {
        precondition(precision != .float32, "Float32 weights are held as [Float]")
        precondition(rows >= 0 && columns >= 0 && byteOffset >= 0
                     && byteOffset + rows * columns * 2 <= bytes.byteCount, "16-bit rows outside their bytes")
        self.rows = rows
        self.columns = columns
        storage = .packed(precision, [Block(bytes: bytes, byteOffset: byteOffset, rows: rows)])
    }

    /// `rows × columns` 16-bit values of `precision` (bit patterns) held in memory.
    public init(rows: Int, columns: Int, precision: Precision, bits: [UInt16]) {
        precondition(bits.count == rows * columns, "\(bits.count) values for a [\(rows), \(columns)] matrix")
        self.init(rows: rows, columns: columns, precision: precision, bytes: OwnedBytes(bits), byteOffset: 0)
    }

    /// The rows of `parts` one after another (same column count), e.g. `to_q | to_k | to_v` as
    /// one product. 16-bit parts of one precision stay 16-bit (their blocks, no copy); parts of
    /// differing precisions are widened to one Float32 matrix.
    public init(stacking parts: [WeightMatrix]) {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.columns == parts[0].columns }, "stacked rows differ in width")
        rows = parts.reduce(0) { $0 + $1.rows }
        columns = parts[0].columns
        let blocks = parts.compactMap { part -> (Precision, [Block])? in
            if case .packed(let p, let b) = part.storage { return (p, b) } else { return nil }
        }
        if blocks.count == parts.count, blocks.allSatisfy({ $0.0 == blocks[0].0 }) {
            storage = .packed(blocks[0].0, blocks.flatMap(\.1))
        } else {
            storage = .float32(parts.flatMap { $0.widened() })
        }
    }

    public var precision: Precision {
        switch storage {
        case .float32: .float32
        case .packed(let p, _): p
        }
    }

    /// Bytes the values occupy where they are held (the file mapping for 16-bit views).
    public var storedBytes: Int { rows * columns * precision.bytesPerElement }

    /// All values as Float32, row-major (tests, and stacking mixed precisions).
    public func widened() -> [Float] {
        switch storage {
        case .float32(let values): return values
        case .packed:
            return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
                if let base = buffer.baseAddress { widen(rows: 0..<rows, into: base) }
                count = rows * columns
            }
        }
    }

    /// Rows `indices` (each in `0..<rows`) as Float32 `[indices.count, columns]`, row-major: an
    /// embedding lookup, which widens only the rows it reads.
    public func gatheredRows(_ indices: [Int]) -> [Float] {
        [Float](unsafeUninitializedCapacity: indices.count * columns) { buffer, count in
            for (r, i) in indices.enumerated() {
                precondition(i >= 0 && i < rows, "row \(i) of a \(rows)-row matrix")
                widen(rows: i..<(i + 1), into: buffer.baseAddress! + r * columns)
            }
            count = indices.count * columns
        }
    }

    /// The matrix's NaN and infinite values, or nil when all are finite (one pass over the bits).
    public var nonFiniteValues: NonFiniteValues? {
        switch storage {
        case .float32(let values): return values.withUnsafeBufferPointer { NonFiniteValues.find(in: $0) }
        case .packed(let p, let blocks):
            var first = 0
            for block in blocks {
                if var found = NonFiniteValues.find(p, block.base, count: block.rows * columns) {
                    found.firstIndex += first
                    return found
                }
                first += block.rows * columns
            }
            return nil
        }
    }

    /// Where row `r`'s 16-bit values start (a 16-bit matrix's rows, e.g. to repack them).
    func bits(row r: Int) -> UnsafeRawPointer {
        guard case .packed(_, let blocks) = storage else { preconditionFailure("a Float32 matrix has no 16-bit rows") }
        precondition(r >= 0 && r < rows, "row \(r) of a \(rows)-row matrix")
        var first = 0
        for block in blocks {
            if r < first + block.rows { return block.base + (r - first) * columns * 2 }
            first += block.rows
        }
        preconditionFailure("blocks hold fewer than \(rows) rows")
    }

    /// Writes rows `range` as Float32 `[range.count, columns]` to `destination`.
    func widen(rows range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        switch storage {
        case .float32(let values):
            values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress! + range.lowerBound * columns, count: range.count * columns) }
        case .packed(let p, let blocks):
            var blockStart = 0
            for block in blocks {
                let lo = max(range.lowerBound, blockStart), hi = min(range.upperBound, blockStart + block.rows)
                if lo < hi {
                    HalfPrecision.widen(p, block.base + (lo - blockStart) * columns * 2, count: (hi - lo) * columns,
                                        into: destination + (lo - range.lowerBound) * columns)
                }
                blockStart += block.rows
            }
        }
    }
}

/// 16-bit values copied into an allocation of their own (seeded weights, tests).
final class OwnedBytes: StableBytes, @unchecked Sendable {
    // Unchecked: written once in init, only read afterwards, freed in deinit.
    let baseAddress: UnsafeRawPointer
    let byteCount: Int

    init(_ bits: [UInt16]) {
        let count = bits.count * 2
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        bits.withUnsafeBytes { if let source = $0.baseAddress { buffer.copyMemory(from: source, byteCount: count) } }
        byteCount = count
        baseAddress = UnsafeRawPointer(buffer)
    }

    deinit { UnsafeMutableRawPointer(mutating: baseAddress).deallocate() }
}
