import Foundation
import Testing
@testable import Tensor

@Suite struct HalfSplitRotaryTests {
    /// Pins the NeoX pairing (i, i + d/2), not the interleaved (2i, 2i+1) one, against a
    /// direct evaluation of `q·cos + rotate_half(q)·sin` in Double.
    @Test func matchesRotateHalfFormula() {
        let (b, n, h, d) = (2, 5, 3, 8)
        let theta: Float = 10_000
        var x = Tensor(shape: [b, n, h, d], data: testValues(b * n * h * d, seed: 11))
        let original = x
        x.applyHalfSplitRotary(HalfSplitRotaryTable(positions: 7, dim: d, theta: theta))
        for bi in 0..<b { for t in 0..<n { for hi in 0..<h {
            let base = ((bi * n + t) * h + hi) * d
            for i in 0..<d {
                let f = 1 / Foundation.pow(Double(theta), Double(2 * (i % (d / 2))) / Double(d))
                let a = Double(t) * f
                let rotated = i < d / 2 ? -Double(original.data[base + i + d / 2]) : Double(original.data[base + i - d / 2])
                let expected = Double(original.data[base + i]) * Foundation.cos(a) + rotated * Foundation.sin(a)
                #expect(abs(Double(x.data[base + i]) - expected) < 1e-5)
            }
        } } }
    }

    /// Position 0 is the identity; rotation preserves each pair's norm.
    @Test func positionZeroIsIdentityAndNormsArePreserved() {
        var x = Tensor(shape: [1, 4, 2, 6], data: testValues(48, seed: 5))
        let original = x
        x.applyHalfSplitRotary(HalfSplitRotaryTable(positions: 4, dim: 6, theta: 500_000))
        #expect(Array(x.data[0..<12]) == Array(original.data[0..<12]))
        for row in 0..<8 {
            for i in 0..<3 {
                let o0 = original.data[row * 6 + i], o1 = original.data[row * 6 + i + 3]
                let r0 = x.data[row * 6 + i], r1 = x.data[row * 6 + i + 3]
                #expect(abs((o0 * o0 + o1 * o1) - (r0 * r0 + r1 * r1)) < 1e-5)
            }
        }
    }
}
