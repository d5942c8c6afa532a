import Tensor
import Testing

/// The largest absolute difference over the values two arrays both have, and its index; a NaN
/// difference counts as the largest. (Compare lengths or shapes separately: `expectClose`.)
public func maxAbsError(_ a: [Float], _ b: [Float]) -> (error: Float, index: Int) {
    var worst: (error: Float, index: Int) = (0, 0)
    for i in 0..<min(a.count, b.count) {
        let e = abs(a[i] - b[i])
        if !(e <= worst.error) { worst = (e, i) }
    }
    return worst
}

/// The largest absolute difference between two tensors of one shape, at a flat index.
public func maxAbsError(_ a: Tensor, _ b: Tensor) -> (error: Float, index: Int) {
    maxAbsError(a.data, b.data)
}

/// Expects `actual` to have `expected`'s shape and every value within `tolerance` of it; a
/// failure names the largest difference, its flat index and both values there.
public func expectClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let (error, index) = maxAbsError(actual, expected)
    #expect(error <= tolerance,
            "max abs diff \(error) at index \(index) (actual \(actual.data[index]), expected \(expected.data[index]))",
            sourceLocation: sourceLocation)
}

/// Whether OpenBLAS runs kernels whose products split at `BLAS.splitAlignment` are bit-identical
/// to one call: its SkylakeX and Cooperlake ones (AVX-512 machines), measured; not its Haswell
/// and Zen ones (AVX2-only machines), whose split products differ in the last bits.
public let blasSplitIsBitIdentical = ["skylakex", "cooperlake"].contains(BLAS.coreName.lowercased())
