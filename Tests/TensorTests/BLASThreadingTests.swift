import Foundation
import Synchronization
import Testing
@testable import Tensor

/// OpenBLAS's thread count is process-global; the kernels must never change it at run time
/// (two overlapping stages would change each other's gemms mid-call), and the split gemm must
/// give exactly the single-call result.
@Suite struct BLASThreadingTests {
    /// `sgemm` splits by rows (m ≥ n) or by columns (m < n); with and without
    /// transposes every element equals the one-call result bit for bit.
    @Test(arguments: [(m: 300, n: 64, k: 200), (m: 333, n: 100, k: 77), (m: 7, n: 2100, k: 160),
                      (m: 5, n: 1500, k: 300), (m: 160, n: 160, k: 96)])
    func parallelSplitEqualsOneCall(m: Int, n: Int, k: Int) {
        #expect(Threads.count > 1)
        #expect(m * n * k >= BLAS.parallelThreshold, "the product must be large enough to be split")
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = testValues(m * k, seed: 11), b = testValues(k * n, seed: 12)
            let c0 = testValues(m * n, seed: 13)
            var one = c0, split = c0
            let (lda, ldb) = (transA ? m : k, transB ? k : n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    one.withUnsafeMutableBufferPointer { pc in
                        BLAS.serialSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                                         a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                         beta: 1, c: pc.baseAddress!, ldc: n)
                    }
                    split.withUnsafeMutableBufferPointer { pc in
                        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5,
                                   a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                   beta: 1, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            #expect(one == split, "transA \(transA), transB \(transB)")
        }
    }

    /// Pins the fix for the `openblas_set_num_threads` race: attention and conv3d used to set
    /// OpenBLAS to one thread and back around their parallel loops.
    @Test func kernelsLeaveOpenBLASSingleThreaded() {
        let q = Tensor(shape: [1, 300, 2, 16], data: testValues(300 * 32, seed: 1))
        _ = Attention.scaledDotProduct(q: q, k: q, v: q)
        #expect(BLAS.libraryThreads == 1)
        let weight = Tensor(shape: [8, 4, 3, 3, 3], data: testValues(8 * 108, seed: 2))  // [out, in, kT, kH, kW]
        let kernel = Conv3dKernel(weight: weight, bias: nil)
        _ = Tensor(shape: [2, 16, 16, 4], data: testValues(2 * 16 * 16 * 4, seed: 3)).causalConv3d(kernel)
        #expect(BLAS.libraryThreads == 1)
    }
}

/// `Threads.withWorkers` changes the worker count of the calling thread only, for its body.
@Suite struct LocalWorkerCountTests {
    @Test func overridesOnlyTheCallingThreadAndRestores() async {
        let global = Threads.count
        #expect(global >= 2)
        Threads.withWorkers(1) {
            #expect(Threads.count == 1)
            Threads.withWorkers(3) { #expect(Threads.count == 3) }
            #expect(Threads.count == 1)
            // Another thread meanwhile sees the process's count.
            let other = Thread.detachNewThreadAndWait { Threads.count }
            #expect(other == global)
        }
        #expect(Threads.count == global)
    }

    /// A product run with one worker equals the split one bit for bit (the property that lets
    /// classifier-free guidance run its two passes side by side on one core each).
    @Test func oneWorkerGemmEqualsSplitGemm() {
        let (m, n, k) = (300, 200, 96)
        let a = testValues(m * k, seed: 21), b = testValues(k * n, seed: 22)
        func product() -> [Float] {
            var c = [Float](repeating: 0, count: m * n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        BLAS.sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                                   c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            return c
        }
        #expect(Threads.withWorkers(1) { product() } == product())
    }
}

extension Thread {
    /// Runs `body` on a new thread and returns its result.
    static func detachNewThreadAndWait<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            result.withLock { $0 = body() }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}
