import Foundation

/// Rotary position tables for the half-split ("GPT-NeoX", Llama) convention: dimension `i`
/// pairs with `i + dim/2`, both rotated by angle `position · inv_freq[i mod dim/2]`.
/// Port of transformers 5.x `LlamaRotaryEmbedding` (default rope type) and `rotate_half`
/// (`models/llama/modeling_llama.py`); frequencies and angles in float32, as there.
public struct HalfSplitRotaryTable: Sendable, Equatable {
    /// Number of positions (0..<positions).
    public let positions: Int
    /// Rotated width (head dim, even).
    public let dim: Int
    /// `[positions, dim / 2]` row-major: cosine of each angle (the two halves share it).
    public let cos: [Float]
    /// `[positions, dim / 2]` row-major.
    public let sin: [Float]

    /// `inv_freq[i] = 1 / theta^(2i / dim)`, angles `p · inv_freq[i]` for `p` in `0..<positions`.
    public init(positions: Int, dim: Int, theta: Float) {
        precondition(dim % 2 == 0 && dim > 0, "half-split rope needs an even dim, got \(dim)")
        let half = dim / 2
        let invFreq: [Float] = (0..<half).map { i in
            let exponent = Float(2 * i) / Float(dim)
            return 1 / Float(Foundation.pow(Double(theta), Double(exponent)))
        }
        var c = [Float](repeating: 0, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Float(p) * invFreq[i]
                c[p * half + i] = Foundation.cos(angle)
                s[p * half + i] = Foundation.sin(angle)
            }
        }
        self.positions = positions
        self.dim = dim
        self.cos = c
        self.sin = s
    }
}

extension Tensor {
    /// Applies half-split rotary embeddings in place:
    /// `x[i] ← x[i]·cos − x[i+h]·sin`, `x[i+h] ← x[i+h]·cos + x[i]·sin` for `i < h = dim/2`
    /// (`q·cos + rotate_half(q)·sin`). Token `t` uses table row `t`.
    /// Layout: `self` is `[batch, tokens, heads, headDim]`, `headDim == table.dim`,
    /// `tokens <= table.positions`.
    public mutating func applyHalfSplitRotary(_ table: HalfSplitRotaryTable) {
        precondition(rank == 4 && shape[3] == table.dim && shape[1] <= table.positions,
                     "half-split rope: tensor \(shape) vs table \(table.positions)×\(table.dim)")
        let (batch, tokens, heads, d) = (shape[0], shape[1], shape[2], shape[3])
        let half = d / 2
        let cosT = table.cos, sinT = table.sin
        data.withUnsafeMutableBufferPointer { buf in
            let p = UncheckedPointer(buf.baseAddress)
            Threads.parallelFor(batch * tokens, costPerItem: heads * d * 3) { range in
                for item in range {
                    let t = item % tokens
                    let row = t * half
                    for h in 0..<heads {
                        let x = p.value! + (item * heads + h) * d
                        for i in 0..<half {
                            let x0 = x[i], x1 = x[i + half]
                            let c = cosT[row + i], s = sinT[row + i]
                            x[i] = x0 * c - x1 * s
                            x[i + half] = x1 * c + x0 * s
                        }
                    }
                }
            }
        }
    }
}
