import CBLAS

/// Thin, typed access to OpenBLAS `cblas_sgemm` (Float32, row-major).
public enum BLAS {
    /// Sets OpenBLAS's thread count (global to the process).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

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

    /// Runs `body` with OpenBLAS limited to one thread, then restores `Threads.count`: for
    /// regions where each core issues its own small gemms (blockwise attention).
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        setThreads(1)
        defer { setThreads(Threads.count) }
        return try body()
    }

    /// `C = alpha * op(A) * op(B) + beta * C`, all row-major.
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
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }
}
