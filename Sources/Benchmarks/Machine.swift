import Foundation
import Tensor

/// The machine facts every benchmark reports next to its timings.
public struct MachineInfo: Codable, Sendable, Equatable {
    /// Logical cores the OS reports.
    public var cores: Int
    /// Threads used by kernels and OpenBLAS in this run.
    public var threads: Int
    /// OpenBLAS kernel family (`BLAS.coreName`), e.g. "Haswell".
    public var blasCore: String
    /// Best square sgemm rate measured in this run, GFLOP/s.
    public var sgemmPeakGFLOPS: Double
    /// The size that reached it.
    public var sgemmPeakSize: Int

    /// Measures the sgemm peak now (square n = 1024, 1536, 2048; best of 3 each).
    public static func measure(threads: Int) -> MachineInfo {
        let (peak, size) = SgemmPeak.measure(sizes: [1024, 1536, 2048])
        return MachineInfo(cores: ProcessInfo.processInfo.activeProcessorCount, threads: threads,
                           blasCore: BLAS.coreName, sgemmPeakGFLOPS: peak, sgemmPeakSize: size)
    }
}

/// Square single-precision gemm throughput on the configured BLAS threads.
public enum SgemmPeak {
    /// Best GFLOP/s over `sizes` (each the best of `repeats` runs) and the size that reached it.
    public static func measure(sizes: [Int], repeats: Int = 3) -> (gflops: Double, size: Int) {
        var best = (0.0, 0)
        for n in sizes {
            let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
            var c = [Float](repeating: 0, count: n * n)
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                                       c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let gflops = 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
                if gflops > best.0 { best = (gflops, n) }
            }
        }
        return best
    }
}

/// Peak resident set size of this process so far, in bytes (`VmHWM` on Linux).
public func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return nil
}
