import Dispatch
import Synchronization

/// Work splitting for element-wise and row kernels.
///
/// `Threads.count` bounds the chunks here and the blocks `BLAS.sgemm` splits a product into
/// (OpenBLAS itself always runs single-threaded), so the two never oversubscribe the cores.
public enum Threads {
    private static let storedCount = Atomic<Int>(2)
    /// Number of worker threads for kernels and gemms. Set once at start-up, before any work.
    public static var count: Int { storedCount.load(ordering: .relaxed) }

    /// Sets the kernel and gemm thread count. Call once at start-up, before any other work.
    public static func configure(_ n: Int) {
        storedCount.store(max(1, n), ordering: .relaxed)
    }
}

extension Threads {
    /// Runs `body(range)` over `0..<count` split into at most `Threads.count` contiguous
    /// chunks. Small workloads (`count * costPerItem < 32_768`) run on the calling thread.
    @inlinable
    public static func parallelFor(_ count: Int, costPerItem: Int = 1,
                                   _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = Swift.min(Threads.count, count)
        if workers <= 1 || count * costPerItem < 32_768 {
            body(0..<count)
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk
            let hi = Swift.min(count, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }
}
