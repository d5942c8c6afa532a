#if canImport(Glibc)
import CMalloc
#endif

/// How the process's allocator treats the large activation buffers of a forward or a decode.
///
/// By default glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
/// `mmap` and unmaps it on `free`, and threads other than the main one allocate from their own
/// arenas, which do the same for anything larger than a 64 MiB heap. A VAE decode of 129 frames of
/// 128×128 allocates activations of 30–540 MiB one after another, so every layer's output is
/// faulted in and zero-filled page by page by the kernel: 0.8 s of system time in a 1.8 s decode
/// (`perf`: `exc_page_fault`, `clear_page_erms`), measured with `bottleneck decode` in
/// Docs/benchmarks.md. Served from one heap that keeps freed memory, the same buffers are reused
/// without faults; the price is fragmentation, a higher peak RSS (also measured there).
public enum AllocatorPolicy {
    /// Free memory above this much at the top of the heap is given back to the system.
    public static let trimThreshold = 256 << 20

    /// Serves large allocations from one reusable heap: one arena for all threads, no `mmap`
    /// per allocation, and only the free memory above `trimThreshold` at the top of the heap
    /// returned to the system. Call once at start-up, before any other thread allocates.
    /// - Returns: false where the C library has no such settings (non-glibc platforms) or
    ///   refused one of them; the defaults then stay in force, which is only slower.
    @discardableResult
    public static func reuseLargeBuffers() -> Bool {
        #if canImport(Glibc)
        // mallopt returns 1 on success, 0 on error.
        return mallopt(M_ARENA_MAX, 1) == 1
            && mallopt(M_MMAP_MAX, 0) == 1
            && mallopt(M_TRIM_THRESHOLD, Int32(trimThreshold)) == 1
        #else
        return false
        #endif
    }
}
