import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Work splitting for element-wise and row kernels.
///
/// `Threads.count` bounds the chunks here and the blocks `BLAS.sgemm` splits a product into
/// (OpenBLAS itself always runs single-threaded), so the two never oversubscribe the cores.
public enum Threads {
    private static let storedCount = Atomic<Int>(2)
    /// Number of worker threads for kernels and gemms: the process's (`configure`), or on a
    /// thread inside `withWorkers`, that call's share.
    public static var count: Int { localCount ?? storedCount.load(ordering: .relaxed) }

    /// Sets the kernel and gemm thread count. Call once at start-up, before any other work.
    public static func configure(_ n: Int) {
        storedCount.store(max(1, n), ordering: .relaxed)
    }

    /// Runs `body` with `Threads.count` equal to `n` on the calling thread only, so two
    /// independent computations can share the cores side by side (each with `n` workers)
    /// instead of one after the other with all of them. Only the time changes, and the last bits
    /// of split products on CPUs whose OpenBLAS kernels round a block of rows differently from
    /// one call (`BLAS.splitAlignment`).
    public static func withWorkers<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(localKey)
        pthread_setspecific(localKey, UnsafeRawPointer(bitPattern: max(1, n)))
        defer { pthread_setspecific(localKey, previous) }
        return try body()
    }

    /// The calling thread's `withWorkers` count, if any (stored as the pointer's bits).
    private static var localCount: Int? {
        pthread_getspecific(localKey).map { Int(bitPattern: $0) }
    }

    private static let localKey: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()
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
