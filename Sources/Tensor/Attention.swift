/// Which keys each query may see. Rules combine: a key is visible when every rule allows it.
public struct AttentionMask: Sendable, Equatable {
    /// Causal structure over positions.
    public enum Causality: Sendable, Equatable {
        /// Every query sees every key.
        case none
        /// Query `i` sees keys `j <= i` (CLIP, Llama).
        case token
        /// Positions are grouped in consecutive blocks of `blockSize` (a frame's tokens): query in
        /// block `b` sees keys in blocks `<= b` (HunyuanVideo VAE mid-block attention).
        case block(blockSize: Int)
    }

    /// Per batch item, the number of leading keys that are valid (right padding); nil = all.
    public var validKeyCount: [Int]?
    /// Per batch item, a visibility flag per key; nil = all.
    public var keyIsValid: [[Bool]]?
    public var causality: Causality
    /// HunyuanVideo token refiner rule: a query at a padded position (per `keyIsValid`) sees
    /// key 0 only, so its softmax is never empty (diffusers `HunyuanVideoTokenRefiner`).
    public var paddedQueriesSeeFirstKeyOnly: Bool

    public init(validKeyCount: [Int]? = nil, keyIsValid: [[Bool]]? = nil,
                causality: Causality = .none, paddedQueriesSeeFirstKeyOnly: Bool = false) {
        self.validKeyCount = validKeyCount
        self.keyIsValid = keyIsValid
        self.causality = causality
        self.paddedQueriesSeeFirstKeyOnly = paddedQueriesSeeFirstKeyOnly
    }

    public static let none = AttentionMask()

    /// Exclusive upper bound of visible keys for query `i` of batch item `b`.
    @inlinable
    func keyLimit(batch b: Int, query i: Int, keys: Int) -> Int {
        var limit = keys
        if let v = validKeyCount { limit = min(limit, v[b]) }
        switch causality {
        case .none: break
        case .token: limit = min(limit, i + 1)
        case .block(let size): limit = min(limit, (i / size + 1) * size)
        }
        if paddedQueriesSeeFirstKeyOnly, let valid = keyIsValid, i < valid[b].count, !valid[b][i] {
            limit = min(limit, 1)
        }
        return limit
    }
}

/// Scaled dot-product attention computed tile by tile with an online softmax
/// (Dao et al., FlashAttention, Alg. 1), so the `[Nq, Nk]` score matrix is never materialised:
/// scratch is `queryTile × keyTile` scores plus `queryTile × headDim` accumulators.
public enum Attention {
    /// Query rows per tile.
    public static let queryTile = 256
    /// Key columns per tile.
    public static let keyTile = 1024

    /// - Parameters:
    ///   - q: `[batch, queries, heads, headDim]` (token-major, as linear layers produce it).
    ///   - k: `[batch, keys, heads, headDim]`.
    ///   - v: `[batch, keys, heads, headDim]`.
    ///   - scale: logit scale; default `1/sqrt(headDim)`.
    /// - Returns: `[batch, queries, heads, headDim]`.
    public static func scaledDotProduct(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask = .none,
                                        scale: Float? = nil) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention expects rank-4 q/k/v")
        let (batch, nq, heads, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let nk = k.shape[1]
        precondition(k.shape == [batch, nk, heads, d] && v.shape == k.shape,
                     "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
        let alpha = scale ?? 1 / Float(d).squareRoot()
        var out = Tensor(shape: q.shape, repeating: 0)
        let rowStride = heads * d
        let qTiles = (nq + queryTile - 1) / queryTile
        q.data.withUnsafeBufferPointer { qb in
            k.data.withUnsafeBufferPointer { kb in
                v.data.withUnsafeBufferPointer { vb in
                    out.data.withUnsafeMutableBufferPointer { ob in
                        var scratch = TileScratch(queryTile: queryTile, keyTile: keyTile, headDim: d)
                        for b in 0..<batch {
                            for h in 0..<heads {
                                for t in 0..<qTiles {
                                    let i0 = t * queryTile
                                    let rows = min(queryTile, nq - i0)
                                    let headOffset = h * d
                                    scratch.run(
                                        q: qb.baseAddress! + (b * nq + i0) * rowStride + headOffset,
                                        k: kb.baseAddress! + b * nk * rowStride + headOffset,
                                        v: vb.baseAddress! + b * nk * rowStride + headOffset,
                                        out: ob.baseAddress! + (b * nq + i0) * rowStride + headOffset,
                                        rows: rows, keys: nk, stride: rowStride, scale: alpha,
                                        limits: (0..<rows).map {
                                            mask.keyLimit(batch: b, query: i0 + $0, keys: nk)
                                        },
                                        keyIsValid: mask.keyIsValid?[b])
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Per-tile buffers and the online-softmax update for one (batch, head, query tile).
struct TileScratch {
    let queryTile: Int, keyTile: Int, headDim: Int
    var scores: [Float]
    var accumulator: [Float]
    var rowMax: [Float]
    var rowSum: [Float]

    init(queryTile: Int, keyTile: Int, headDim: Int) {
        self.queryTile = queryTile
        self.keyTile = keyTile
        self.headDim = headDim
        scores = [Float](repeating: 0, count: queryTile * keyTile)
        accumulator = [Float](repeating: 0, count: queryTile * headDim)
        rowMax = [Float](repeating: 0, count: queryTile)
        rowSum = [Float](repeating: 0, count: queryTile)
    }

    /// `limits[r]`: keys `>= limits[r]` are invisible to query row `r`;
    /// `keyIsValid`: optional per-key visibility.
    mutating func run(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      out: UnsafeMutablePointer<Float>, rows: Int, keys: Int, stride: Int,
                      scale: Float, limits: [Int], keyIsValid: [Bool]?) {
        let d = headDim
        let maxLimit = limits.max() ?? 0
        let kt = keyTile
        for r in 0..<rows { rowMax[r] = -.infinity; rowSum[r] = 0 }
        scores.withUnsafeMutableBufferPointer { sb in
            accumulator.withUnsafeMutableBufferPointer { ab in
                rowMax.withUnsafeMutableBufferPointer { mb in
                    rowSum.withUnsafeMutableBufferPointer { lb in
                        let s = sb.baseAddress!, acc = ab.baseAddress!
                        for i in 0..<(rows * d) { acc[i] = 0 }
                        var j0 = 0
                        while j0 < min(keys, maxLimit) {
                            let cols = min(kt, keys - j0)
                            // S = scale · Q Kᵀ for this tile: [rows, cols].
                            BLAS.sgemm(transB: true, m: rows, n: cols, k: d, alpha: scale,
                                       a: q, lda: stride, b: k + j0 * stride, ldb: stride,
                                       c: s, ldc: kt)
                            let ps = UncheckedPointer(s), pa = UncheckedPointer(acc)
                            let pm = UncheckedPointer(mb.baseAddress), pl = UncheckedPointer(lb.baseAddress)
                            let lim = limits, start = j0
                            Threads.parallelFor(rows, costPerItem: cols * 4) { range in
                                for r in range {
                                    let row = ps.value! + r * kt
                                    let visible = max(0, min(cols, lim[r] - start))
                                    for c in visible..<cols { row[c] = -.infinity }
                                    if let valid = keyIsValid {
                                        for c in 0..<visible where !valid[start + c] { row[c] = -.infinity }
                                    }
                                    var m = pm.value![r]
                                    for c in 0..<visible { m = max(m, row[c]) }
                                    if m == -.infinity {
                                        for c in 0..<cols { row[c] = 0 }
                                        continue
                                    }
                                    let correction = pm.value![r] == -.infinity
                                        ? 0 : FastMath.exp(.init(repeating: pm.value![r] - m))[0]
                                    let sum = FastMath.expShifted(row, row, cols, shift: m)
                                    pl.value![r] = pl.value![r] * correction + sum
                                    pm.value![r] = m
                                    let a = pa.value! + r * d
                                    for c in 0..<d { a[c] *= correction }
                                }
                            }
                            // acc += P · V_tile: [rows, cols] · [cols, d].
                            BLAS.sgemm(m: rows, n: d, k: cols, a: s, lda: kt, b: v + j0 * stride,
                                       ldb: stride, beta: 1, c: acc, ldc: d)
                            j0 += cols
                        }
                        for r in 0..<rows {
                            let inv: Float = lb[r] > 0 ? 1 / lb[r] : 0
                            for c in 0..<d { out[r * stride + c] = acc[r * d + c] * inv }
                        }
                    }
                }
            }
        }
    }
}
