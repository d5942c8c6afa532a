import Foundation
import Testing
@testable import Tensor

/// Reference attention that materialises the whole score matrix, for comparison only.
/// `bias(head, query, key)` is added to the scaled logits.
func naiveAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float? = nil, bias: ((Int, Int, Int) -> Float)? = nil,
                    visible: (Int, Int, Int) -> Bool) -> Tensor {
    let (b, nq, h, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let nk = k.shape[1]
    var out = Tensor(shape: q.shape, repeating: 0)
    for bi in 0..<b {
        for hi in 0..<h {
            for i in 0..<nq {
                var scores = [Float](repeating: -.infinity, count: nk)
                for j in 0..<nk where visible(bi, i, j) {
                    var s: Float = 0
                    for c in 0..<d { s += q.data[((bi * nq + i) * h + hi) * d + c] * k.data[((bi * nk + j) * h + hi) * d + c] }
                    scores[j] = s * (scale ?? 1 / Float(d).squareRoot()) + (bias?(hi, i, j) ?? 0)
                }
                let m = scores.max()!
                let e = scores.map { m == -.infinity ? 0 : Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<d {
                    var acc: Float = 0
                    for j in 0..<nk { acc += e[j] * v.data[((bi * nk + j) * h + hi) * d + c] }
                    out.data[((bi * nq + i) * h + hi) * d + c] = z > 0 ? acc / z : 0
                }
            }
        }
    }
    return out
}

@Suite struct AttentionTests {
    /// Sizes that cross the 256-query and 1024-key tile edges exercise the online softmax.
    @Test(arguments: [(5, 7), (300, 1100), (257, 40)])
    func blockwiseMatchesNaive(nq: Int, nk: Int) {
        let (b, h, d) = (2, 2, 8)
        let q = Tensor(shape: [b, nq, h, d], data: testValues(b * nq * h * d, seed: 11).map { $0 * 3 })
        let k = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 12).map { $0 * 3 })
        let v = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 13))
        let valid = [nk, max(1, nk / 3)]
        let fast = Attention.scaledDotProduct(q: q, k: k, v: v, mask: AttentionMask(validKeyCount: valid))
        let slow = naiveAttention(q: q, k: k, v: v) { bi, _, j in j < valid[bi] }
        #expect(fast.maxAbsDifference(slow) < 2e-5)
    }

    /// A `[heads, queries, keys]` logit bias (T5's relative position bias) is added after the
    /// scale for every batch item, in every query tile, and padded keys stay invisible.
    @Test func additiveBiasMatchesNaive() {
        let (b, nq, nk, h, d) = (2, 300, 40, 2, 8)
        let q = Tensor(shape: [b, nq, h, d], data: testValues(b * nq * h * d, seed: 31))
        let k = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 32))
        let v = Tensor(shape: [b, nk, h, d], data: testValues(b * nk * h * d, seed: 33))
        let bias = Tensor(shape: [h, nq, nk], data: testValues(h * nq * nk, seed: 34).map { $0 * 4 })
        let valid = [nk, 13]
        let fast = Attention.scaledDotProduct(q: q, k: k, v: v, mask: AttentionMask(validKeyCount: valid), scale: 1,
                                              bias: bias)
        let slow = naiveAttention(q: q, k: k, v: v, scale: 1, bias: { bias.data[($0 * nq + $1) * nk + $2] }) {
            bi, _, j in j < valid[bi]
        }
        let unbiased = naiveAttention(q: q, k: k, v: v, scale: 1) { bi, _, j in j < valid[bi] }
        #expect(fast.maxAbsDifference(slow) < 1e-5)
        #expect(fast.maxAbsDifference(unbiased) > 0.1)
    }

    @Test func causalAndRefinerMasks() {
        let (b, n, h, d) = (1, 9, 1, 4)
        let q = Tensor(shape: [b, n, h, d], data: testValues(36, seed: 21))
        let k = Tensor(shape: [b, n, h, d], data: testValues(36, seed: 22))
        let v = Tensor(shape: [b, n, h, d], data: testValues(36, seed: 23))
        let causal = Attention.scaledDotProduct(q: q, k: k, v: v, mask: AttentionMask(causality: .token))
        #expect(causal.maxAbsDifference(naiveAttention(q: q, k: k, v: v) { _, i, j in j <= i }) < 1e-5)
        let frames = Attention.scaledDotProduct(q: q, k: k, v: v, mask: AttentionMask(causality: .block(blockSize: 3)))
        #expect(frames.maxAbsDifference(naiveAttention(q: q, k: k, v: v) { _, i, j in j / 3 <= i / 3 }) < 1e-5)
        let valid = [true, true, true, true, true, false, false, false, false]
        let refiner = Attention.scaledDotProduct(
            q: q, k: k, v: v,
            mask: AttentionMask(keyIsValid: [valid], paddedQueriesSeeFirstKeyOnly: true))
        let expected = naiveAttention(q: q, k: k, v: v) { _, i, j in valid[i] ? valid[j] : j == 0 }
        #expect(refiner.maxAbsDifference(expected) < 1e-5)
    }

    @Test func rotaryRotatesPairsAndKeepsNorms() {
        let table = RotaryTable(frames: 2, height: 2, width: 3, axesDim: [2, 2, 4], theta: 256)
        var x = Tensor(shape: [1, 14, 1, 8], data: testValues(112, seed: 5))
        let before = x
        x.applyRotary(table)
        // Token 0 sits at the origin: no rotation. Text tokens (12, 13) are untouched.
        #expect(Array(x.data[0..<8]) == Array(before.data[0..<8]))
        #expect(Array(x.data[96...]) == Array(before.data[96...]))
        // Token 1 is (t 0, h 0, w 1): the w-axis pairs rotate by 1·θ^(-2j/4).
        let angle: Float = 1
        let (x0, x1) = (before.data[8 + 4], before.data[8 + 5])
        #expect(abs(x.data[8 + 4] - (x0 * cos(angle) - x1 * sin(angle))) < 1e-6)
        #expect(abs(x.data[8 + 5] - (x1 * cos(angle) + x0 * sin(angle))) < 1e-6)
    }
}
