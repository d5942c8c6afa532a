import Foundation
import Synchronization
import TestSupport
import Testing
@testable import Tensor

/// OpenBLAS's thread count is process-global; the kernels must never change it at run time
/// (two overlapping stages would change each other's gemms mid-call). The split gemm must give
/// the single-call result: bit for bit with OpenBLAS's AVX-512 kernels, within float rounding with
/// its AVX2 ones, whose blocks of rows round differently from the same rows of one call
/// (`BLAS.splitAlignment`).
@Suite struct BLASThreadingTests {
    /// `sgemm` splits by rows (m ≥ n) or by columns (m < n); with and without transposes every
    /// element is within float32 rounding of the one-call result (the gemm error bound
    /// k·ε·Σ|α·a·b|), and equal bit for bit where `blasSplitIsBitIdentical`.
    @Test(arguments: [(m: 300, n: 64, k: 200), (m: 333, n: 100, k: 77), (m: 7, n: 2100, k: 160),
                      (m: 5, n: 1500, k: 300), (m: 160, n: 160, k: 96)])
    func parallelSplitEqualsOneCall(m: Int, n: Int, k: Int) {
        #expect(Threads.count > 1)
        #expect(m * n * k >= BLAS.parallelThreshold, "the product must be large enough to be split")
        let bitIdentical = blasSplitIsBitIdentical
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
            let outside = elementsBeyondGemmRounding(split, one, a: a, b: b, c0: c0, alpha: 0.5,
                                                     m: m, n: n, k: k, transA: transA, transB: transB)
            #expect(outside == 0, "transA \(transA), transB \(transB): \(outside) elements beyond rounding")
            if bitIdentical {
                #expect(one == split, "transA \(transA), transB \(transB), kernels \(BLAS.coreName)")
            }
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

    /// A product run with one worker is the split one (the property that lets classifier-free
    /// guidance run its two passes side by side on one core each): bit for bit on the AVX-512
    /// kernels, within float rounding on the AVX2 ones (`BLASThreadingTests`).
    @Test func oneWorkerGemmEqualsSplitGemm() {
        let (m, n, k) = (300, 200, 96)
        let a = testValues(m * k, seed: 21), b = testValues(k * n, seed: 22)
        let zero = [Float](repeating: 0, count: m * n)
        func product() -> [Float] {
            var c = zero
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
        let one = Threads.withWorkers(1) { product() }, split = product()
        #expect(elementsBeyondGemmRounding(split, one, a: a, b: b, c0: zero, alpha: 1, m: m, n: n, k: k) == 0)
        if blasSplitIsBitIdentical { #expect(one == split) }
    }
}

/// How many elements of two results of `C = alpha·op(A)·op(B) + C0` differ by more than
/// 2·(k + 1)·ε·(Σ_l |alpha·a_il·b_lj| + |c0_ij|): twice the classic dot-product error bound, since
/// each result carries its own rounding.
func elementsBeyondGemmRounding(_ x: [Float], _ y: [Float], a: [Float], b: [Float], c0: [Float], alpha: Float,
                                m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false) -> Int {
    var outside = 0
    for i in 0..<m {
        for j in 0..<n {
            var magnitude = abs(c0[i * n + j])
            for l in 0..<k {
                let av = transA ? a[l * m + i] : a[i * k + l]
                let bv = transB ? b[j * k + l] : b[l * n + j]
                magnitude += abs(alpha * av * bv)
            }
            let bound = 2 * Float(k + 1) * Float.ulpOfOne * magnitude
            if !(abs(x[i * n + j] - y[i * n + j]) <= bound) { outside += 1 }
        }
    }
    return outside
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
