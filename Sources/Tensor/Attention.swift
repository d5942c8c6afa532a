import Foundation

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
/// (Dao et al., FlashAttention, Alg. 1), so the `[Nq, Nk]` score matrix is never materialised.
///
/// Work items are (batch, head, query tile); each core takes whole items with its own scratch
/// and calls `BLAS.serialSgemm`, so heads stay batched without any permute of q/k/v.
/// Scratch: per core, `queryTile × keyTile` scores plus `queryTile × headDim` accumulators,
/// independent of the sequence length beyond `maxKeyTile`; per call, a contiguous copy of K and
/// V (`scratchBytes`).
public enum Attention {
    /// Query rows per tile.
    /// 256 amortises OpenBLAS's packing of each K/V tile over more rows than 128; 512 was no
    /// faster on the build machine (tried 128/256/512 × 1024/4096 on the mid bench config).
    public static let queryTile = 256
    /// Largest key tile; the keys are split into equal tiles no wider than this.
    public static let maxKeyTile = 4096
    /// Largest key tile (the name of the first version of this API; equal to `maxKeyTile`).
    public static let keyTile = maxKeyTile

    /// The key tile used for `keys` keys: `keys` split into equal tiles of at most `maxKeyTile`,
    /// rounded up to a multiple of 16.
    public static func keyTile(keys: Int) -> Int {
        let tiles = max(1, (keys + maxKeyTile - 1) / maxKeyTile)
        return min(maxKeyTile, ((keys + tiles - 1) / tiles + 15) / 16 * 16)
    }

    /// Bytes of scratch one attention call allocates for `batch` items of `keys` keys,
    /// `heads × headDim` and `workers` cores.
    public static func scratchBytes(batch: Int = 1, keys: Int, heads: Int, headDim: Int,
                                    workers: Int = Threads.count) -> Int {
        let kt = keyTile(keys: keys)
        let tiles = workers * (queryTile * kt + queryTile * headDim + 3 * queryTile)
        return (tiles + 2 * batch * keys * heads * headDim) * MemoryLayout<Float>.size
    }

    /// - Parameters:
    ///   - q: `[batch, queries, heads, headDim]` (token-major, as linear layers produce it).
    ///   - k: `[batch, keys, heads, headDim]`.
    ///   - v: `[batch, keys, heads, headDim]`.
    ///   - scale: logit scale; default `1/sqrt(headDim)`.
    ///   - bias: additive logit bias `[heads, queries, keys]`, the same for every batch item and
    ///     added after scaling (T5's relative position bias); nil = none.
    /// - Returns: `[batch, queries, heads, headDim]`.
    public static func scaledDotProduct(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask = .none,
                                        scale: Float? = nil, bias: Tensor? = nil) -> Tensor {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention expects rank-4 q/k/v")
        let (batch, nq, heads, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let nk = k.shape[1]
        precondition(k.shape == [batch, nk, heads, d] && v.shape == k.shape,
                     "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
        precondition(bias.map { $0.shape == [heads, nq, nk] } ?? true, "attention: bias \(bias!.shape)")
        var out = Tensor(shape: q.shape, repeating: 0)
        let rowStride = heads * d
        q.data.withUnsafeBufferPointer { qb in
            k.data.withUnsafeBufferPointer { kb in
                v.data.withUnsafeBufferPointer { vb in
                    out.data.withUnsafeMutableBufferPointer { ob in
                        guard let qp = qb.baseAddress, let kp = kb.baseAddress, let vp = vb.baseAddress,
                              let op = ob.baseAddress else { return }
                        let run = { (bp: UnsafePointer<Float>?) in
                            scaledDotProduct(q: qp, queryStride: rowStride, k: kp, v: vp, keyStride: rowStride,
                                             out: op, outStride: rowStride, batch: batch, queries: nq, keys: nk,
                                             heads: heads, headDim: d, mask: mask, scale: scale, bias: bp)
                        }
                        if let bias { bias.data.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                    }
                }
            }
        }
        return out
    }

    /// Strided form: token rows hold `heads × headDim` values at their start (head `h` at
    /// column `h·headDim`), so q, k, v may be column ranges of one wide buffer.
    /// - Parameters:
    ///   - q: batch item `b`, query `i` row at `q + (b·queries + i)·queryStride`.
    ///   - k, v: batch item `b`, key `j` row at `k + (b·keys + j)·keyStride` (same for `v`).
    ///   - out: batch item `b`, query `i` row at `out + (b·queries + i)·outStride`.
    ///   - bias: nil, or `heads × queries × keys` floats added to the scaled logits of every
    ///     batch item (head `h`, query `i`, key `j` at `(h·queries + i)·keys + j`).
    public static func scaledDotProduct(q: UnsafePointer<Float>, queryStride: Int,
                                        k: UnsafePointer<Float>, v: UnsafePointer<Float>, keyStride: Int,
                                        out: UnsafeMutablePointer<Float>, outStride: Int,
                                        batch: Int, queries nq: Int, keys nk: Int, heads: Int, headDim d: Int,
                                        mask: AttentionMask = .none, scale: Float? = nil,
                                        bias: UnsafePointer<Float>? = nil) {
        guard batch > 0, nq > 0, heads > 0 else { return }
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let kt = keyTile(keys: nk)
        let qTiles = (nq + queryTile - 1) / queryTile
        let items = batch * heads * qTiles
        let workers = max(1, min(Threads.count, items))
        // K and V are gathered once into contiguous `[batch, heads, keys, headDim]` blocks: every
        // query tile packs the whole key range again inside sgemm, and reading it from token rows
        // (one 256-byte head slice per row of a few KiB) ran the QKᵀ gemm about a third slower.
        let headBlock = nk * d
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: 2 * batch * heads * headBlock)
        defer { gathered.deallocate() }
        let pk = UncheckedPointer(gathered), pv = UncheckedPointer(gathered + batch * heads * headBlock)
        let srcK = UncheckedPointer(UnsafeMutablePointer(mutating: k))
        let srcV = UncheckedPointer(UnsafeMutablePointer(mutating: v))
        Threads.parallelFor(batch * nk, costPerItem: 2 * heads * d) { range in
            for row in range {
                let b = row / nk, j = row % nk
                for h in 0..<heads {
                    let dst = (b * heads + h) * headBlock + j * d, src = row * keyStride + h * d
                    Tensor.copyFloats(srcK.value! + src, pk.value! + dst, d)
                    Tensor.copyFloats(srcV.value! + src, pv.value! + dst, d)
                }
            }
        }
        let pq = UncheckedPointer(UnsafeMutablePointer(mutating: q))
        let po = UncheckedPointer(out)
        let pb = UncheckedPointer(bias.map { UnsafeMutablePointer(mutating: $0) })
        let body: @Sendable (Int) -> Void = { w in
            var scratch = TileScratch(queryTile: queryTile, keyTile: kt, headDim: d)
            var item = w
            while item < items {
                let t = item % qTiles, h = (item / qTiles) % heads, b = item / (qTiles * heads)
                let i0 = t * queryTile
                let rows = min(queryTile, nq - i0)
                let limits = (0..<rows).map { mask.keyLimit(batch: b, query: i0 + $0, keys: nk) }
                scratch.run(
                    q: pq.value! + (b * nq + i0) * queryStride + h * d, queryStride: queryStride,
                    k: pk.value! + (b * heads + h) * headBlock, v: pv.value! + (b * heads + h) * headBlock,
                    keyStride: d, out: po.value! + (b * nq + i0) * outStride + h * d, outStride: outStride,
                    rows: rows, keys: nk, scale: alpha, limits: limits, keyIsValid: mask.keyIsValid?[b],
                    bias: pb.value.map { UnsafePointer($0 + (h * nq + i0) * nk) })
                item += workers
            }
        }
        if workers == 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: workers, execute: body)
        }
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
    /// `keyIsValid`: optional per-key visibility; `bias`: optional `[rows, keys]` logit bias
    /// (row stride `keys`). Single-threaded.
    mutating func run(q: UnsafePointer<Float>, queryStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      keyStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int, rows: Int, keys: Int,
                      scale: Float, limits: [Int], keyIsValid: [Bool]?, bias: UnsafePointer<Float>? = nil) {
        let d = headDim
        let maxLimit = min(keys, limits.max() ?? 0)
        let kt = keyTile
        scores.withUnsafeMutableBufferPointer { sb in
            accumulator.withUnsafeMutableBufferPointer { ab in
                rowMax.withUnsafeMutableBufferPointer { mb in
                    rowSum.withUnsafeMutableBufferPointer { lb in
                        let s = sb.baseAddress!, acc = ab.baseAddress!
                        for r in 0..<rows { mb[r] = -.infinity; lb[r] = 0 }
                        acc.update(repeating: 0, count: rows * d)
                        var j0 = 0
                        while j0 < maxLimit {
                            let cols = min(kt, maxLimit - j0)
                            // S = scale · Q Kᵀ for this tile: [rows, cols].
                            BLAS.serialSgemm(transB: true, m: rows, n: cols, k: d, alpha: scale,
                                             a: q, lda: queryStride, b: k + j0 * keyStride, ldb: keyStride,
                                             c: s, ldc: kt)
                            for r in 0..<rows {
                                let row = s + r * kt
                                let visible = max(0, min(cols, limits[r] - j0))
                                if let bias {
                                    let add = bias + r * keys + j0
                                    for c in 0..<visible { row[c] += add[c] }
                                }
                                if let valid = keyIsValid {
                                    for c in 0..<visible where !valid[j0 + c] { row[c] = -.infinity }
                                }
                                let m = max(mb[r], FastMath.max(row, visible))
                                if m == -.infinity {
                                    row.update(repeating: 0, count: cols)
                                    continue
                                }
                                let correction: Float = mb[r] == -.infinity
                                    ? 0 : FastMath.exp(.init(repeating: mb[r] - m))[0]
                                let sum = FastMath.expShifted(row, row, visible, shift: m)
                                if visible < cols { (row + visible).update(repeating: 0, count: cols - visible) }
                                lb[r] = lb[r] * correction + sum
                                mb[r] = m
                                if correction != 1 {
                                    let a = acc + r * d
                                    for c in 0..<d { a[c] *= correction }
                                }
                            }
                            // acc += P · V_tile: [rows, cols] · [cols, d].
                            BLAS.serialSgemm(m: rows, n: d, k: cols, a: s, lda: kt, b: v + j0 * keyStride,
                                             ldb: keyStride, beta: 1, c: acc, ldc: d)
                            j0 += cols
                        }
                        for r in 0..<rows {
                            let inv: Float = lb[r] > 0 ? 1 / lb[r] : 0
                            let o = out + r * outStride, a = acc + r * d
                            for c in 0..<d { o[c] = a[c] * inv }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// Copies `n` floats with 8-wide vector moves (short copies, such as one head's slice of a
    /// token row: cheaper than `memmove` calls).
    @inlinable
    static func copyFloats(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            SIMD8<Float>(loading: src + i).store(to: dst + i)
            i += 8
        }
        while i < n { dst[i] = src[i]; i += 1 }
    }
}
