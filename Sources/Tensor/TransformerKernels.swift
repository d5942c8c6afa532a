/// Fused, vectorised row kernels on raw strided buffers for the diffusion transformer's hot
/// path: they let a block keep its activations in a few wide buffers (q|k|v|attn|mlp side by
/// side per token) and avoid copies, permutes and separate modulation passes.
///
/// All buffers are Float32 row-major; "row stride" is the distance in elements between the
/// starts of consecutive token rows. Work is split over `Threads.count` cores by rows.
public enum RowKernels {
    public typealias Vector = SIMD8<Float>

    // MARK: - Linear

    /// `out[r, 0..<out] = x[r, 0..<in] · Wᵀ + bias` for `rows` rows, `[out, in]` = the weight's shape.
    /// - Parameters:
    ///   - x: `[rows, in]` with row stride `xStride`.
    ///   - weight: `[out, in]` (PyTorch `nn.Linear.weight`), in its stored precision.
    ///   - bias: `[out]` or nil.
    ///   - out: `[rows, out]` with row stride `outStride`.
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, xStride: Int, weight: WeightMatrix,
                              bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, outStride: Int) {
        guard rows > 0, weight.rows > 0 else { return }
        if let bias {
            for r in 0..<rows { (out + r * outStride).update(from: bias, count: weight.rows) }
        }
        weight.multiplyTransposed(x, m: rows, lda: xStride, beta: bias == nil ? 0 : 1, c: out, ldc: outStride)
    }

    // MARK: - Norms

    /// Mean and 1/sqrt(var + eps) of `n` floats (biased variance, two passes, Float32).
    @inlinable
    static func moments(_ x: UnsafePointer<Float>, _ n: Int, eps: Float) -> (mean: Float, inv: Float) {
        var acc = Vector(repeating: 0)
        var i = 0
        while i + 8 <= n { acc += Vector(loading: x + i); i += 8 }
        var sum = acc.sum()
        while i < n { sum += x[i]; i += 1 }
        let mean = sum / Float(n)
        let m = Vector(repeating: mean)
        var vacc = Vector(repeating: 0)
        i = 0
        while i + 8 <= n {
            let d = Vector(loading: x + i) - m
            vacc += d * d
            i += 8
        }
        var ss = vacc.sum()
        while i < n { let d = x[i] - mean; ss += d * d; i += 1 }
        let inv = 1 / (ss / Float(n) + eps).squareRoot()
        return (mean, inv)
    }

    /// Adaptive LayerNorm (no affine) with modulation, `y = LN(x)·(1 + scale) + shift`,
    /// HunyuanVideo's AdaLN (diffusers `AdaLayerNormZero`, `AdaLayerNormContinuous`).
    /// - Parameters:
    ///   - x: `[batch, tokens, width]`, token rows with stride `width`, batch item `b` at `x + b * xBatchStride`.
    ///   - scale/shift: per batch item `b`, `width` floats at `scale + b * modStride`.
    ///   - out: `[batch, tokens, width]` rows with stride `outStride`, batch item `b` at `out + b * outBatchStride`.
    public static func adaLayerNorm(_ x: UnsafePointer<Float>, xBatchStride: Int, batch: Int, tokens: Int, width: Int, eps: Float,
                                    scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, modStride: Int,
                                    out: UnsafeMutablePointer<Float>, outStride: Int, outBatchStride: Int) {
        let px = UncheckedPointer(UnsafeMutablePointer(mutating: x)), po = UncheckedPointer(out)
        let psc = UncheckedPointer(UnsafeMutablePointer(mutating: scale))
        let psh = UncheckedPointer(UnsafeMutablePointer(mutating: shift))
        Threads.parallelFor(batch * tokens, costPerItem: width * 3) { range in
            for item in range {
                let b = item / tokens, t = item % tokens
                let row = px.value! + b * xBatchStride + t * width
                let dst = po.value! + b * outBatchStride + t * outStride
                let sc = psc.value! + b * modStride, sh = psh.value! + b * modStride
                let (mean, inv) = moments(row, width, eps: eps)
                let vm = Vector(repeating: mean), vi = Vector(repeating: inv)
                var i = 0
                while i + 8 <= width {
                    let v = Vector(loading: row + i)
                    let s = Vector(loading: sc + i)
                    let h = Vector(loading: sh + i)
                    let y = (v - vm) * vi * (1 + s) + h
                    y.store(to: dst + i)
                    i += 8
                }
                while i < width { dst[i] = (row[i] - mean) * inv * (1 + sc[i]) + sh[i]; i += 1 }
            }
        }
    }

    /// Per-head RMSNorm with a learned weight, then (optionally) interleaved-pair RoPE, in place
    /// (diffusers `RMSNorm` over the head dim, eps in float32, then `apply_rotary_emb`).
    /// - Parameters:
    ///   - x: rows `0..<rows` with stride `rowStride`; each row holds `heads × headDim` at its start.
    ///   - weight: `[headDim]`.
    ///   - rotary: table whose row `firstPosition + r` rotates row `r`, or nil for no rotation.
    public static func headRMSNormRotary(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int,
                                         heads: Int, headDim d: Int, eps: Float, weight: UnsafePointer<Float>,
                                         rotary: RotaryTable?, firstPosition: Int = 0) {
        let px = UncheckedPointer(x), pw = UncheckedPointer(UnsafeMutablePointer(mutating: weight))
        rotary.withTables { cosT, sinT in
            let pc = UncheckedPointer(cosT), ps = UncheckedPointer(sinT)
            Threads.parallelFor(rows, costPerItem: heads * d * 4) { range in
                for r in range {
                    let c = pc.value.map { $0 + (firstPosition + r) * d }
                    let s = ps.value.map { $0 + (firstPosition + r) * d }
                    for h in 0..<heads {
                        let v = px.value! + r * rowStride + h * d
                        let w = pw.value!
                        var acc = Vector(repeating: 0)
                        var i = 0
                        while i + 8 <= d { let x = Vector(loading: v + i); acc = acc.addingProduct(x, x); i += 8 }
                        var ss = acc.sum()
                        while i < d { ss += v[i] * v[i]; i += 1 }
                        let inv = 1 / (ss / Float(d) + eps).squareRoot()
                        // Normalise and rotate 8 lanes (4 pairs) at a time: y = x·cos + swap(x)·(∓sin).
                        i = 0
                        while i + 8 <= d {
                            var x = Vector(loading: v + i) * inv * Vector(loading: w + i)
                            if let c, let s {
                                let swapped = Vector(x[1], x[0], x[3], x[2], x[5], x[4], x[7], x[6])
                                x = (x * Vector(loading: c + i)).addingProduct(swapped, Vector(loading: s + i) * Vector.pairSign)
                            }
                            x.store(to: v + i)
                            i += 8
                        }
                        while i < d { v[i] = v[i] * inv * w[i]; i += 1 }
                        if let c, let s {
                            var j = d - d % 8
                            while j + 1 < d {
                                let x0 = v[j], x1 = v[j + 1]
                                v[j] = x0 * c[j] - x1 * s[j]
                                v[j + 1] = x1 * c[j + 1] + x0 * s[j + 1]
                                j += 2
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: - Activations and residuals

    /// GELU (tanh approximation, torch `approximate="tanh"`) in place on a `[rows, cols]` block
    /// with row stride `stride`: `0.5x(1 + tanh(u)) = x·sigmoid(2u)`, `u = √(2/π)(x + 0.044715x³)`.
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
        mapRows(x, rows: rows, cols: cols, stride: stride, costPerItem: 4) { geluTanh($0) }
    }

    /// SiLU `x·sigmoid(x)` in place on a `[rows, cols]` block with row stride `stride`.
    public static func silu(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
        mapRows(x, rows: rows, cols: cols, stride: stride, costPerItem: 3) { silu($0) }
    }

    /// Applies the vector function `f` in place to every element of a `[rows, cols]` block with
    /// row stride `stride`, eight lanes at a time (the row tail padded with zeros), rows spread
    /// over the cores.
    @inlinable
    static func mapRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int,
                        costPerItem: Int, _ f: @escaping @Sendable (Vector) -> Vector) {
        let p = UncheckedPointer(x)
        Threads.parallelFor(rows, costPerItem: cols * costPerItem) { range in
            for r in range {
                let row = p.value! + r * stride
                var i = 0
                while i + 8 <= cols {
                    let v = Vector(loading: row + i)
                    f(v).store(to: row + i)
                    i += 8
                }
                if i < cols {
                    var t = Vector(repeating: 0)
                    for j in 0..<(cols - i) { t[j] = row[i + j] }
                    let y = f(t)
                    for j in 0..<(cols - i) { row[i + j] = y[j] }
                }
            }
        }
    }

    @inlinable
    public static func geluTanh(_ x: Vector) -> Vector {
        let u = x * (x * x * 0.044715 + 1) * 0.7978845608028654
        return x / (1 + FastMath.exp(-2 * u))
    }

    @inlinable
    public static func silu(_ x: Vector) -> Vector { x / (1 + FastMath.exp(-x)) }

    /// Gated residual `x[b, t, :] += y[b, t, :] · gate[b, :]`.
    /// - Parameters:
    ///   - x: `[batch, tokens, width]`, rows with stride `width`, batch item `b` at `x + b * xBatchStride`.
    ///   - y: `[batch, tokens, width]`, rows with stride `yStride`, batch item `b` at `y + b * yBatchStride`.
    ///   - gate: per batch item, `width` floats at `gate + b * gateStride`.
    public static func addGated(_ x: UnsafeMutablePointer<Float>, xBatchStride: Int,
                                _ y: UnsafePointer<Float>, yStride: Int, yBatchStride: Int,
                                gate: UnsafePointer<Float>, gateStride: Int, batch: Int, tokens: Int, width: Int) {
        let px = UncheckedPointer(x), py = UncheckedPointer(UnsafeMutablePointer(mutating: y))
        let pg = UncheckedPointer(UnsafeMutablePointer(mutating: gate))
        Threads.parallelFor(batch * tokens, costPerItem: width) { range in
            for item in range {
                let b = item / tokens, t = item % tokens
                let dst = px.value! + b * xBatchStride + t * width
                let src = py.value! + b * yBatchStride + t * yStride
                let g = pg.value! + b * gateStride
                var i = 0
                while i + 8 <= width {
                    let a = Vector(loading: dst + i)
                    let v = Vector(loading: src + i)
                    let w = Vector(loading: g + i)
                    (a + v * w).store(to: dst + i)
                    i += 8
                }
                while i < width { dst[i] += src[i] * g[i]; i += 1 }
            }
        }
    }
}

extension SIMD8 where Scalar == Float {
    /// `x0·cos − x1·sin`, `x1·cos + x0·sin`: the sign of the sine term per lane.
    @usableFromInline static let pairSign = SIMD8<Float>(-1, 1, -1, 1, -1, 1, -1, 1)
}

extension Optional where Wrapped == RotaryTable {
    /// Calls `body` with the cos/sin table base pointers, or nils when there is no table.
    @inlinable
    func withTables<R>(_ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> R) -> R {
        guard let t = self else { return body(nil, nil) }
        return t.cos.withUnsafeBufferPointer { c in
            t.sin.withUnsafeBufferPointer { s in
                body(UnsafeMutablePointer(mutating: c.baseAddress), UnsafeMutablePointer(mutating: s.baseAddress))
            }
        }
    }
}
