import CBLAS
import Dispatch

/// Thin, typed access to OpenBLAS `cblas_sgemm` (Float32, row-major).
///
/// **Threading.** OpenBLAS's thread count is one setting for the whole process, so changing it
/// at run time races: with decode and denoise overlapping in a batch, one task could switch the
/// other's gemms mid-call. OpenBLAS is therefore pinned to one thread, once, before the first
/// gemm (`sgemm` goes through `singleThreaded`), and nothing changes it afterwards. Multi-core
/// products use `parallelSgemm`, which splits the output over `Threads.count` workers that each
/// run a single-threaded gemm; kernels that already parallelise over tiles (attention, conv3d)
/// call `sgemm` from their workers.
public enum BLAS {
    /// Pins OpenBLAS to one thread. A lazily initialised global: runs exactly once, before the
    /// first gemm, and concurrent first callers wait for it.
    @usableFromInline
    static let singleThreaded: Void = { openblas_set_num_threads(1) }()

    /// OpenBLAS's own thread count: 1 once any gemm has run (see `singleThreaded`).
    public static var libraryThreads: Int { Int(openblas_get_num_threads()) }

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

    /// Single-threaded `C = alpha * op(A) * op(B) + beta * C`, all row-major.
    /// `A` is `[m, k]` (or `[k, m]` when `transA`), `B` is `[k, n]` (or `[n, k]` when `transB`),
    /// `C` is `[m, n]`; `lda`, `ldb`, `ldc` are row strides in elements.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// Products below this many multiply-adds (`m·n·k`) run on the calling thread: OpenBLAS's
    /// own threshold for going multi-threaded (`SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD`
    /// = 65536 · 4 in `interface/gemm.c`).
    public static let parallelThreshold = 262_144

    /// Split points of `parallelSgemm` are multiples of this many rows or columns, a multiple
    /// of every OpenBLAS sgemm register tile (at most 16 × 8): each block then ends on a tile
    /// boundary and only the last block has a partial tile, exactly where a single call has
    /// it. (Unaligned splits changed the last bits of elements next to a split in testing.)
    public static let splitAlignment = 64

    /// `sgemm` on up to `Threads.count` cores: `C` is split into contiguous blocks of rows
    /// (or of columns, when it has fewer rows than columns) at multiples of `splitAlignment`,
    /// each computed by one worker with a single-threaded gemm. Every element is then computed
    /// by the same kernel in the same order as in one single-threaded call, so the result is
    /// bit for bit that call's, whatever the thread count. Same layouts as `sgemm`.
    public static func parallelSgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let byRows = m >= n
        let extent = byRows ? m : n
        let share = (extent + Threads.count - 1) / Threads.count
        let chunk = (share + splitAlignment - 1) / splitAlignment * splitAlignment
        guard chunk < extent, m * n * k >= parallelThreshold else {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let workers = (extent + chunk - 1) / chunk
        let pa = UncheckedPointer(UnsafeMutablePointer(mutating: a))
        let pb = UncheckedPointer(UnsafeMutablePointer(mutating: b))
        let pc = UncheckedPointer(c)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk, hi = Swift.min(extent, lo + chunk)
            guard lo < hi, let a = pa.value, let b = pb.value, let c = pc.value else { return }
            if byRows {
                // Rows lo..<hi of op(A) and of C.
                sgemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                      a: a + (transA ? lo : lo * lda), lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // Columns lo..<hi of op(B) and of C.
                sgemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha,
                      a: a, lda: lda, b: b + (transB ? lo * ldb : lo), ldb: ldb,
                      beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }
}
