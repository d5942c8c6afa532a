/// A dense, row-major Float32 tensor with an explicit shape.
///
/// Storage is a Swift array, so copies are copy-on-write and the type is `Sendable` without
/// any unchecked conformance. Every API that takes or returns a `Tensor` documents its layout.
public struct Tensor: Sendable, Equatable {
    /// Extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// Elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// Wraps `data` with `shape`. The element count must match (a programmer error otherwise).
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in \(shape)")
        precondition(shape.reduce(1, *) == data.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose elements are written by `body` into uninitialised storage.
    /// `body` must initialise every element.
    public init(shape: [Int], initializingWith body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        let data = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            body(buffer)
            count = n
        }
        self.init(shape: shape, data: data)
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same elements viewed with another shape; one extent may be `-1` (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        return Tensor(shape: s, data: data)
    }

    /// Row-major strides of `shape`.
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = acc
            acc *= shape[axis]
        }
        return strides
    }

    /// A copy with the axes reordered: result axis `i` is input axis `axes[i]`.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "bad permutation \(axes) for rank \(rank)")
        let outShape = axes.map { shape[$0] }
        let inStrides = Tensor.strides(of: shape)
        let srcStrides = axes.map { inStrides[$0] }
        let inner = outShape.last ?? 1
        let innerStride = srcStrides.last ?? 1
        let outer = count / max(inner, 1)
        return data.withUnsafeBufferPointer { src in
            Tensor(shape: outShape) { dst in
                guard inner > 0 else { return }
                var index = [Int](repeating: 0, count: max(rank - 1, 0))
                for row in 0..<outer {
                    var base = 0
                    for a in 0..<index.count { base += index[a] * srcStrides[a] }
                    let o = row * inner
                    for j in 0..<inner { dst[o + j] = src[base + j * innerStride] }
                    var a = index.count - 1
                    while a >= 0 {
                        index[a] += 1
                        if index[a] < outShape[a] { break }
                        index[a] = 0
                        a -= 1
                    }
                }
            }
        }
    }

    /// Contiguous slice along axis 0: rows `range` of a tensor viewed as `[shape[0], rest]`.
    public func slice(rows range: Range<Int>) -> Tensor {
        let rowSize = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, data: Array(data[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)]))
    }

    /// Concatenation along axis 0 (all other extents equal).
    public static func concatenate(rows parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty, "nothing to concatenate")
        let tail = Array(parts[0].shape.dropFirst())
        precondition(parts.allSatisfy { Array($0.shape.dropFirst()) == tail }, "mismatched shapes")
        var data: [Float] = []
        data.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for p in parts { data.append(contentsOf: p.data) }
        return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + tail, data: data)
    }

    /// Largest absolute difference to `other` (same shape), for tests and parity reports.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<count { m = max(m, abs(data[i] - other.data[i])) }
        return m
    }
}
