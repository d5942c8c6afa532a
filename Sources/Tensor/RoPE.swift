import Foundation

/// Rotary position tables for the interleaved-pair ("GPT-J") convention used by HunyuanVideo and
/// FLUX: pairs `(2i, 2i+1)` rotate by one angle, each angle repeated twice in the tables (diffusers
/// `get_1d_rotary_pos_embed(use_real=True, repeat_interleave_real=True)` per axis, concatenated).
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
    /// Frequencies and angles are float32, as diffusers 0.42.1 `HunyuanVideoRotaryPosEmbed`
    /// computes them (hunyuan-video.md §2.4).
    public init(frames: Int, height: Int, width: Int, axesDim: [Int], theta: Float) {
        precondition(axesDim.count == 3 && axesDim.allSatisfy { $0 % 2 == 0 }, "bad rope axes \(axesDim)")
        let freqs: [[Float]] = axesDim.map { a in
            (0..<(a / 2)).map { j in 1 / Float(Foundation.pow(Double(theta), Double(Float(2 * j) / Float(a)))) }
        }
        self.init(positions: frames * height * width, axesDim: axesDim) { token, axis, j in
            let pos = axis == 0 ? token / (height * width) : axis == 1 ? token / width % height : token % width
            let angle = Float(pos) * freqs[axis][j]
            return (Foundation.cos(angle), Foundation.sin(angle))
        }
    }

    /// Tables for explicit positions: `ids` is `[positions, axesDim.count]` row-major, token `t`
    /// at coordinate `ids[t·axes + a]` on axis `a`, which rotates `axesDim[a]` dims.
    /// Frequencies `1/theta^(2j/a)`, angles and their cos/sin are float64, rounded to float32 at
    /// the end, as diffusers 0.42.1 `FluxPosEmbed` computes them (`freqs_dtype=torch.float64`).
    public init(ids: [Float], axesDim: [Int], theta: Double) {
        precondition(axesDim.allSatisfy { $0 % 2 == 0 } && ids.count % axesDim.count == 0,
                     "bad rope axes \(axesDim) for \(ids.count) ids")
        let freqs: [[Double]] = axesDim.map { a in
            (0..<(a / 2)).map { j in 1 / Foundation.pow(theta, Double(2 * j) / Double(a)) }
        }
        let axes = axesDim.count
        self.init(positions: ids.count / axes, axesDim: axesDim) { token, axis, j in
            let angle = Double(ids[token * axes + axis]) * freqs[axis][j]
            return (Float(Foundation.cos(angle)), Float(Foundation.sin(angle)))
        }
    }

    /// Fills the tables from `rotation(token, axis, j)`: cos and sin of pair `j` of `axis`.
    private init(positions n: Int, axesDim: [Int], rotation: (Int, Int, Int) -> (cos: Float, sin: Float)) {
        let dim = axesDim.reduce(0, +)
        var cosT = [Float](repeating: 0, count: n * dim)
        var sinT = [Float](repeating: 0, count: n * dim)
        for token in 0..<n {
            var col = token * dim
            for (axis, a) in axesDim.enumerated() {
                for j in 0..<(a / 2) {
                    let (c, s) = rotation(token, axis, j)
                    cosT[col] = c; cosT[col + 1] = c
                    sinT[col] = s; sinT[col + 1] = s
                    col += 2
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
