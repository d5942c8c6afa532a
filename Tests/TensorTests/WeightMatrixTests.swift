import TestSupport
import Testing
@testable import Tensor

/// `WeightMatrix`: 16-bit weights kept as stored and widened a panel at a time inside the
/// product must give the product of the whole matrix widened first.
@Suite struct WeightMatrixTests {
    /// `count` seeded values rounded to `precision`, as bits and as their exact Float32 values.
    static func halves(_ count: Int, _ precision: WeightMatrix.Precision, seed: UInt64) -> (bits: [UInt16], values: [Float]) {
        let bits = testValues(count, seed: seed).map {
            precision == .float16 ? HalfPrecision.half(fromFloat: $0) : HalfPrecision.bfloat16(fromFloat: $0)
        }
        let values = bits.map { precision == .float16 ? HalfPrecision.float(fromHalf: $0) : HalfPrecision.float(fromBFloat16: $0) }
        return (bits, values)
    }

    // MARK: - Products

    /// Several panels (the last one partial), with and without `beta`, on the caller and split
    /// over two workers: every element within float32 gemm rounding of one sgemm call on the
    /// widened matrix, and equal to it bit for bit where OpenBLAS's split products are (AVX-512
    /// kernels). (`BLAS.sgemm`'s own row split is not always: at m = 130 its 2-row block differs
    /// from one call in the last bits on Cooperlake kernels.)
    @Test(arguments: [(m: 5, n: 450, k: 20000), (m: 130, n: 200, k: 96), (m: 1, n: 70, k: 33)])
    func panelledProductEqualsWidenedProduct(m: Int, n: Int, k: Int) {
        for precision in [WeightMatrix.Precision.float16, .bfloat16] {
            let (bits, values) = Self.halves(n * k, precision, seed: 21)
            let kept = WeightMatrix(rows: n, columns: k, precision: precision, bits: bits)
            let a = testValues(m * k, seed: 22), c0 = testValues(m * n, seed: 23)
            for beta: Float in [0, 1] {
                var expected = c0, actual = c0
                a.withUnsafeBufferPointer { pa in
                    values.withUnsafeBufferPointer { pw in
                        expected.withUnsafeMutableBufferPointer { pc in
                            BLAS.serialSgemm(transB: true, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pw.baseAddress!,
                                             ldb: k, beta: beta, c: pc.baseAddress!, ldc: n)
                        }
                    }
                    actual.withUnsafeMutableBufferPointer { pc in
                        kept.multiplyTransposed(pa.baseAddress!, m: m, lda: k, beta: beta, c: pc.baseAddress!, ldc: n)
                    }
                }
                let outside = elementsBeyondGemmRounding(actual, expected, a: a, b: values, c0: beta == 0 ? [Float](repeating: 0, count: m * n) : c0,
                                                         alpha: 1, m: m, n: n, k: k, transB: true)
                #expect(outside == 0, "\(precision) beta \(beta): \(outside) elements beyond rounding")
                if blasSplitIsBitIdentical {
                    let differing = zip(actual, expected).filter { $0 != $1 }.count
                    #expect(differing == 0, "\(precision) beta \(beta): \(differing) elements differ, kernels \(BLAS.coreName)")
                }
            }
        }
    }

    /// The first case above really spans several panels, split at tile-aligned rows.
    @Test func panelsAreAlignedAndBounded() {
        let rows = WeightMatrix.panelRows(rows: 450, columns: 20000, workers: 2)
        #expect(rows == 192 && rows % BLAS.splitAlignment == 0)
        #expect(rows * 20000 <= WeightMatrix.panelElements)
        // Few rows: one equal share per worker; very wide rows: one aligned tile of rows.
        #expect(WeightMatrix.panelRows(rows: 768, columns: 256, workers: 2) == 384)
        #expect(WeightMatrix.panelRows(rows: 768, columns: 256, workers: 1) == 768)
        #expect(WeightMatrix.panelRows(rows: 3072, columns: 1 << 23, workers: 2) == BLAS.splitAlignment)
    }

    /// `Tensor.linear` with kept weights and a bias gives the Float32 layer's output.
    @Test func linearWithBiasMatchesFloat32Weights() {
        let (bits, values) = Self.halves(96 * 40, .bfloat16, seed: 31)
        let x = Tensor(shape: [2, 3, 40], data: testValues(240, seed: 32))
        let bias = Tensor(shape: [96], data: testValues(96, seed: 33))
        let kept = x.linear(WeightMatrix(rows: 96, columns: 40, precision: .bfloat16, bits: bits), bias: bias)
        let widened = x.linear(Tensor(shape: [96, 40], data: values), bias: bias)
        #expect(kept.shape == [2, 3, 96])
        #expect(kept.maxAbsDifference(widened) <= 1e-5)
    }

    // MARK: - Storage

    /// Stacked 16-bit parts of one precision stay 16-bit (blocks, no copy); mixed ones widen.
    @Test func stackingKeepsOnePrecisionAndWidensMixed() {
        let a = Self.halves(3 * 8, .float16, seed: 1), b = Self.halves(5 * 8, .float16, seed: 2)
        let c = Self.halves(2 * 8, .bfloat16, seed: 3)
        let fa = WeightMatrix(rows: 3, columns: 8, precision: .float16, bits: a.bits)
        let fb = WeightMatrix(rows: 5, columns: 8, precision: .float16, bits: b.bits)
        let stacked = WeightMatrix(stacking: [fa, fb])
        #expect(stacked.precision == .float16 && stacked.rows == 8 && stacked.storedBytes == 8 * 8 * 2)
        #expect(stacked.widened() == a.values + b.values)
        let mixed = WeightMatrix(stacking: [fa, WeightMatrix(rows: 2, columns: 8, precision: .bfloat16, bits: c.bits)])
        #expect(mixed.precision == .float32 && mixed.storedBytes == 5 * 8 * 4)
        #expect(mixed.widened() == a.values + c.values)
        // A panel that crosses the block boundary widens both blocks' rows in order.
        var panel = [Float](repeating: 0, count: 4 * 8)
        panel.withUnsafeMutableBufferPointer { stacked.widen(rows: 2..<6, into: $0.baseAddress!) }
        #expect(panel == Array((a.values + b.values)[16..<48]))
    }

    /// Non-finite 16-bit values are found in any block, counted and placed in the whole matrix.
    @Test func nonFiniteValuesInKeptBlocks() {
        var first = [UInt16](repeating: 0x3c00, count: 40), second = first
        second[17] = 0x7e00  // float16 NaN
        second[33] = 0xfc00  // float16 −∞
        let m = WeightMatrix(stacking: [WeightMatrix(rows: 2, columns: 20, precision: .float16, bits: first),
                                        WeightMatrix(rows: 2, columns: 20, precision: .float16, bits: second)])
        #expect(m.nonFiniteValues == NonFiniteValues(nanCount: 1, infiniteCount: 1, firstIndex: 57))
        first[3] = 0x7f80  // bfloat16 +∞, a NaN as float16; 0x3c00 is finite in both
        #expect(WeightMatrix(rows: 2, columns: 20, precision: .bfloat16, bits: first).nonFiniteValues
                == NonFiniteValues(nanCount: 0, infiniteCount: 1, firstIndex: 3))
        #expect(WeightMatrix(rows: 2, columns: 20, precision: .float16, bits: first).nonFiniteValues
                == NonFiniteValues(nanCount: 1, infiniteCount: 0, firstIndex: 3))
    }

    // MARK: - Conversions

    /// The vector widening equals the scalar conversions for all 65536 bit patterns of both
    /// formats (NaNs stay NaN), at an odd offset so the tail and unaligned loads are used.
    @Test func widenMatchesScalarConversionsForEveryPattern() {
        let patterns = [UInt16](repeating: 0, count: 1) + (0...UInt16.max).map { $0 }
        for (format, scalar) in [(WeightMatrix.Precision.float16, HalfPrecision.float(fromHalf:)),
                                 (.bfloat16, HalfPrecision.float(fromBFloat16:))] {
            var out = [Float](repeating: 0, count: patterns.count - 1)
            patterns.withUnsafeBytes { raw in
                out.withUnsafeMutableBufferPointer { HalfPrecision.widen(format, raw.baseAddress! + 2, count: $0.count, into: $0.baseAddress!) }
            }
            let mismatches = (0...Int(UInt16.max)).filter { i in
                let expected = scalar(UInt16(i))
                return expected.isNaN ? !out[i].isNaN : out[i].bitPattern != expected.bitPattern
            }
            #expect(mismatches.isEmpty, "\(format): \(mismatches.count) patterns differ, first \(mismatches.first ?? 0)")
        }
    }

    /// bfloat16 rounding: every pattern round-trips; halfway cases go to the even neighbour.
    @Test func bfloat16RoundsToNearestEven() {
        let finite = (0...UInt16.max).filter { !HalfPrecision.float(fromBFloat16: $0).isNaN }
        #expect(finite.allSatisfy { HalfPrecision.bfloat16(fromFloat: HalfPrecision.float(fromBFloat16: $0)) == $0 })
        #expect(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: 0x3f80_8000)) == 0x3f80)  // tie, even below
        #expect(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: 0x3f81_8000)) == 0x3f82)  // tie, even above
        #expect(HalfPrecision.bfloat16(fromFloat: Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(HalfPrecision.bfloat16(fromFloat: .greatestFiniteMagnitude) == 0x7f80)  // rounds to infinity
        #expect(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(fromFloat: .nan)).isNaN)
    }
}
