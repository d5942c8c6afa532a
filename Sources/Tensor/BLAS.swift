import CBLAS
import Dispatch

/// Thin, typed access to OpenBLAS `cblas_sgemm` (Float32, row-major).
///
/// OpenBLAS runs single-threaded for the whole process (set once, before the first gemm):
/// `openblas_set_num_threads` is process-global, so switching it around parallel regions at
/// run time races with any other task's gemm. Parallelism is ours instead: `sgemm` splits the
/// output over `Threads.count` workers, each running a single-threaded OpenBLAS call, and
/// kernels that already spread their own work items (attention, conv3d) call `serialSgemm`.
public enum BLAS {
    /// Evaluated once (Swift globals are initialised under a lock) before any OpenBLAS call.
    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// The kernel family OpenBLAS selected, e.g. "Haswell" (depends on `OPENBLAS_CORETYPE`).
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// The OpenBLAS build configuration string.
    public static var configuration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS's own thread count: 1 once any gemm has run (see `singleThreaded`).
    public static var libraryThreads: Int { Int(openblas_get_num_threads()) }

    /// Below this many multiply-adds a gemm runs on the calling thread (a split costs more).
    static let parallelThreshold = 1 << 21

    /// Split points are multiples of this many rows or columns, a multiple of every OpenBLAS
    /// sgemm register tile (at most 16 × 8): each block ends on a tile boundary and only the last
    /// block has a partial tile, where a single call has it too. With OpenBLAS's SkylakeX and
    /// Cooperlake kernels (AVX-512 machines) that makes the result bit for bit a single call's
    /// whatever the thread count, as long as no block is only a few rows: m = 130 on two workers
    /// leaves a 2-row block that differs from one call in the last bits (measured), so nothing
    /// may rely on bit-identity across thread counts. With its Haswell and Zen kernels (AVX2-only machines) a block
    /// of rows is not computed as the same rows inside a larger call: a split product differs
    /// from one call in the last bits (m = n = 160, k = 96: 8 % of the elements, by up to
    /// 2.9e-6), at any alignment. `BLASThreadingTests` checks both.
    static let splitAlignment = 64

    /// One worker's share of `extent` rows or columns, rounded up to `splitAlignment`: where
    /// `sgemm` and `WeightMatrix`'s panels cut a product, so their pieces meet the same kernels.
    static func alignedShare(_ extent: Int, workers: Int) -> Int {
        ((extent + workers - 1) / workers + splitAlignment - 1) / splitAlignment * splitAlignment
    }

    /// `C = alpha * op(A) * op(B) + beta * C`, all row-major, on `Threads.count` cores.
    /// `A` is `[m, k]` (or `[k, m]` when `transA`), `B` is `[k, n]` (or `[n, k]` when `transB`),
    /// `C` is `[m, n]`; `lda`, `ldb`, `ldc` are row strides in elements.
    ///
    /// The rows of `C` are split into one contiguous block per worker (columns when there are
    /// too few rows), each a single-threaded gemm on disjoint output, cut at `splitAlignment`.
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        let workers = Threads.count
        guard workers > 1, m * n * k >= parallelThreshold else {
            return serialSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                               b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        let splitRows = m >= splitAlignment * workers || m >= n
        let extent = splitRows ? m : n
        let block = alignedShare(extent, workers: workers)
        let pa = UncheckedPointer(UnsafeMutablePointer(mutating: a))
        let pb = UncheckedPointer(UnsafeMutablePointer(mutating: b)), pc = UncheckedPointer(c)
        DispatchQueue.concurrentPerform(iterations: (extent + block - 1) / block) { w in
            let lo = w * block, count = min(block, extent - lo)
            // Rows lo..<lo+count of op(A) and C, or columns lo..<lo+count of op(B) and C.
            let aOffset = splitRows ? lo * (transA ? 1 : lda) : 0
            let bOffset = splitRows ? 0 : lo * (transB ? ldb : 1)
            serialSgemm(transA: transA, transB: transB, m: splitRows ? count : m, n: splitRows ? n : count, k: k,
                        alpha: alpha, a: pa.value! + aOffset, lda: lda, b: pb.value! + bOffset, ldb: ldb,
                        beta: beta, c: pc.value! + (splitRows ? lo * ldc : lo), ldc: ldc)
        }
    }

    /// The same product on the calling thread only: for kernels that run their own work items
    /// on every core and issue one gemm per item.
    @inlinable
    public static func serialSgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        ensureSingleThreaded()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// Sets OpenBLAS to one thread the first time it is called, before any gemm runs.
    @usableFromInline
    static func ensureSingleThreaded() { singleThreaded }
}
