import Foundation
import Testing
@testable import Tensor

/// Deterministic pseudo-random values for kernel tests (SplitMix64 → uniform in [-1, 1)).
func testValues(_ n: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<n).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}

@Suite struct KernelTests {
    @Test func linearMatchesNaiveProduct() {
        let x = Tensor(shape: [3, 5], data: testValues(15, seed: 1))
        let w = Tensor(shape: [4, 5], data: testValues(20, seed: 2))
        let b = Tensor(shape: [4], data: [0.5, -1, 2, 0])
        let y = x.linear(w, bias: b)
        #expect(y.shape == [3, 4])
        for i in 0..<3 {
            for j in 0..<4 {
                var s = b.data[j]
                for k in 0..<5 { s += x.data[i * 5 + k] * w.data[j * 5 + k] }
                #expect(abs(y.data[i * 4 + j] - s) < 1e-5)
            }
        }
    }

    @Test func permuteMovesAxes() {
        let t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        let p = t.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        // p[k, i, j] == t[i, j, k]
        #expect(p.data[1 * 6 + 1 * 3 + 2] == t.data[1 * 12 + 2 * 4 + 1])
    }

    @Test func layerNormAndRMSNorm() {
        let x = Tensor(shape: [2, 4], data: [1, 2, 3, 4, -1, 0, 1, 10])
        let ln = x.layerNorm(eps: 1e-6)
        let row = Array(ln.data[0..<4])
        #expect(abs(row.reduce(0, +)) < 1e-5)
        #expect(abs(row.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-4)
        let rms = x.rmsNorm(eps: 1e-6, weight: Tensor(shape: [4], data: [1, 1, 2, 1]))
        let r = (Float(1 + 4 + 9 + 16) / 4).squareRoot()
        #expect(abs(rms.data[2] - 2 * 3 / r) < 1e-5)
    }

    @Test func softmaxRowsSumToOneAndFastExpIsAccurate() {
        let x = Tensor(shape: [3, 37], data: testValues(111, seed: 3).map { $0 * 20 })
        let s = x.softmax()
        for r in 0..<3 { #expect(abs(s.data[(r * 37)..<((r + 1) * 37)].reduce(0, +) - 1) < 1e-5) }
        for v in stride(from: Float(-80), through: 80, by: 0.37) {
            let e = FastMath.exp(.init(repeating: v))[0]
            #expect(abs(e - Foundation.exp(v)) <= 4e-7 * Foundation.exp(v))
        }
        #expect(FastMath.exp(.init(repeating: -.infinity))[0] == 0)
    }

    @Test func activationsMatchClosedForms() {
        let x = Tensor(shape: [5], data: [-3, -0.5, 0, 0.7, 4])
        let silu = x.silu(), gelu = x.geluTanh()
        for i in 0..<5 {
            let v = x.data[i]
            #expect(abs(silu.data[i] - v / (1 + Foundation.exp(-v))) < 1e-6)
            let g = 0.5 * v * (1 + Foundation.tanh(0.7978845608 * (v + 0.044715 * v * v * v)))
            #expect(abs(gelu.data[i] - g) < 1e-6)
        }
    }

    @Test func halfConversionsRoundTrip() {
        for bits: UInt16 in [0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0x3555] {
            #expect(HalfPrecision.half(fromFloat: HalfPrecision.float(fromHalf: bits)) == bits)
        }
        #expect(HalfPrecision.float(fromHalf: 0x3c00) == 1)
        #expect(HalfPrecision.float(fromHalf: 0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(HalfPrecision.float(fromBFloat16: 0x3f80) == 1)
        #expect(HalfPrecision.half(fromFloat: 65520) == 0x7c00)  // rounds up to infinity
    }
}
