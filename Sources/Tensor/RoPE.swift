import Foundation

/// Rotary position tables for the interleaved-pair ("GPT-J") convention used by HunyuanVideo:
/// pairs `(2i, 2i+1)` rotate by one angle, each angle repeated twice in the tables.
/// Port of diffusers 0.42.1 `HunyuanVideoRotaryPosEmbed` (see hunyuan-video.md §2.4).
public struct RotaryTable: Sendable, Equatable {
    /// Number of positions (tokens).
    public let positions: Int
    /// Rotated width (head dim).
    public let dim: Int
    /// `[positions, dim]` row-major.
    public let cos: [Float]
    /// `[positions, dim]` row-major.
    public let sin: [Float]

    /// Tables for a 3-D grid of `frames × height × width` integer positions (row-major token
    /// order t, h, w), with the head dim split `axesDim = [dt, dh, dw]` and base `theta`.
    /// Frequencies and angles are float32, as diffusers computes them.
    public init(frames: Int, height: Int, width: Int, axesDim: [Int], theta: Float) {
        precondition(axesDim.count == 3 && axesDim.allSatisfy { $0 % 2 == 0 }, "bad rope axes \(axesDim)")
        let dim = axesDim.reduce(0, +)
        let n = frames * height * width
        var cosT = [Float](repeating: 0, count: n * dim)
        var sinT = [Float](repeating: 0, count: n * dim)
        let freqs: [[Float]] = axesDim.map { a in
            (0..<(a / 2)).map { j in 1 / Float(Foundation.pow(Double(theta), Double(Float(2 * j) / Float(a)))) }
        }
        var token = 0
        for t in 0..<frames {
            for h in 0..<height {
                for w in 0..<width {
                    let pos = [Float(t), Float(h), Float(w)]
                    var col = token * dim
                    for axis in 0..<3 {
                        for f in freqs[axis] {
                            let angle = pos[axis] * f
                            let c = Foundation.cos(angle), s = Foundation.sin(angle)
                            cosT[col] = c; cosT[col + 1] = c
                            sinT[col] = s; sinT[col + 1] = s
                            col += 2
                        }
                    }
                    token += 1
                }
            }
        }
        self.positions = n
        self.dim = dim
        self.cos = cosT
        self.sin = sinT
    }
}

extension Tensor {
    /// Rotates tokens `0..<table.positions` of every batch item and head, in place.
    /// Layout: `self` is `[batch, tokens, heads, headDim]` with `headDim == table.dim`;
    /// tokens at or beyond `table.positions` (text) are left unchanged.
    public mutating func applyRotary(_ table: RotaryTable) {
        precondition(rank == 4 && shape[3] == table.dim && shape[1] >= table.positions,
                     "rope: tensor \(shape) vs table \(table.positions)×\(table.dim)")
        let (batch, tokens, heads, d) = (shape[0], shape[1], shape[2], shape[3])
        let cosT = table.cos, sinT = table.sin
        let n = table.positions
        data.withUnsafeMutableBufferPointer { buf in
            let p = UncheckedPointer(buf.baseAddress)
            Threads.parallelFor(batch * n, costPerItem: heads * d * 3) { range in
                for item in range {
                    let b = item / n, t = item % n
                    let tableRow = t * d
                    for h in 0..<heads {
                        let x = p.value! + ((b * tokens + t) * heads + h) * d
                        var i = 0
                        while i < d {
                            let x0 = x[i], x1 = x[i + 1]
                            x[i] = x0 * cosT[tableRow + i] - x1 * sinT[tableRow + i]
                            x[i + 1] = x1 * cosT[tableRow + i + 1] + x0 * sinT[tableRow + i + 1]
                            i += 2
                        }
                    }
                }
            }
        }
    }
}
