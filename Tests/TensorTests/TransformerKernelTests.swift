import Foundation
import Testing
@testable import Tensor

@Suite struct TransformerKernelTests {
    // MARK: - Attention tiling

    /// More keys than `maxKeyTile` forces several key tiles, exercising the online-softmax
    /// rescale, and more queries than `queryTile` several query tiles.
    @Test func severalKeyTilesMatchNaive() {
        let (b, nq, nk, h, d) = (1, Attention.queryTile + 3, Attention.maxKeyTile + 300, 2, 8)
        let q = Tensor(shape: [b, nq, h, d], data: testValues(b * nq * h * d, seed: 31).map { $0 * 4 })
        let k = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 32).map { $0 * 4 })
        let v = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 33))
        let valid = [nk - 7]
        let fast = Attention.scaledDotProduct(q: q, k: k, v: v, mask: AttentionMask(validKeyCount: valid))
        let slow = naiveAttention(q: q, k: k, v: v) { _, _, j in j < valid[0] }
        #expect(Attention.keyTile(keys: nk) < nk)
        #expect(fast.maxAbsDifference(slow) < 2e-5)
    }

    /// The strided form reads q/k/v as column ranges of one wide row and writes into another range.
    @Test func stridedAttentionMatchesPacked() {
        let (b, n, h, d) = (2, 37, 2, 8)
        let width = h * d, stride = 4 * width
        let wide = testValues(b * n * stride, seed: 41)
        func take(_ offset: Int) -> Tensor {
            var data: [Float] = []
            for r in 0..<(b * n) {
                let start = r * stride + offset
                data.append(contentsOf: wide[start..<(start + width)])
            }
            return Tensor(shape: [b, n, h, d], data: data)
        }
        let mask = AttentionMask(validKeyCount: [n, 20])
        let expected = Attention.scaledDotProduct(q: take(0), k: take(width), v: take(2 * width), mask: mask)
        var buffer = wide
        buffer.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            Attention.scaledDotProduct(q: base, queryStride: stride, k: base + width, v: base + 2 * width, keyStride: stride,
                                       out: base + 3 * width, outStride: stride, batch: b, queries: n, keys: n, heads: h,
                                       headDim: d, mask: mask)
        }
        var gotData: [Float] = []
        for r in 0..<(b * n) {
            let start = r * stride + 3 * width
            gotData.append(contentsOf: buffer[start..<(start + width)])
        }
        let got = Tensor(shape: [b, n, h, d], data: gotData)
        #expect(got.maxAbsDifference(expected) < 1e-6)
    }

    // MARK: - Row kernels

    @Test(arguments: [-100, -20, -1, 0, 0.5, 3, 20, 80] as [Float])
    func fastExpIsAccurate(x: Float) {
        let y = FastMath.exp(.init(repeating: x))[0]
        #expect(abs(y - Foundation.exp(x)) <= 4e-7 * Foundation.exp(x) + 1e-38)
    }

    @Test func activationsMatchScalarFormulas() {
        let x = Tensor(shape: [3, 13], data: testValues(39, seed: 51).map { $0 * 8 })
        let gelu = x.geluTanh(), silu = x.silu()
        for i in 0..<x.count {
            let v = Double(x.data[i])
            let g = 0.5 * v * (1 + Foundation.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            #expect(abs(Double(gelu.data[i]) - g) < 1e-5)
            #expect(abs(Double(silu.data[i]) - v / (1 + Foundation.exp(-v))) < 1e-5)
        }
    }

    /// AdaLN with per-batch modulation equals LayerNorm then `x·(1 + scale) + shift`.
    @Test func adaLayerNormMatchesComposition() {
        let (b, n, d) = (2, 5, 19)
        let x = Tensor(shape: [b, n, d], data: testValues(b * n * d, seed: 61).map { $0 * 3 + 1 })
        let mod = testValues(b * 2 * d, seed: 62)  // per batch: scale | shift
        var out = [Float](repeating: 0, count: b * n * d)
        x.data.withUnsafeBufferPointer { xp in
            mod.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    RowKernels.adaLayerNorm(xp.baseAddress!, xBatchStride: n * d, batch: b, tokens: n, width: d, eps: 1e-6,
                                            scale: m.baseAddress!, shift: m.baseAddress! + d, modStride: 2 * d,
                                            out: o.baseAddress!, outStride: d, outBatchStride: n * d)
                }
            }
        }
        let ln = x.layerNorm(eps: 1e-6)
        for bi in 0..<b {
            for t in 0..<n {
                for j in 0..<d {
                    let i = (bi * n + t) * d + j
                    let expected = ln.data[i] * (1 + mod[bi * 2 * d + j]) + mod[bi * 2 * d + d + j]
                    #expect(abs(out[i] - expected) < 1e-5)
                }
            }
        }
    }
}
