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
    /// The same peak per second of process CPU time (user + system) divided by `threads`:
    /// what the cores deliver while actually running, robust to other load on a shared machine.
    public var sgemmPeakCPUGFLOPS: Double

    /// Measures the sgemm peak now (square n = 1024, 1536, 2048; best of 3 each).
    public static func measure(threads: Int) -> MachineInfo {
        let (peak, size, cpuPeak) = SgemmPeak.measure(sizes: [1024, 1536, 2048], threads: threads)
        return MachineInfo(cores: ProcessInfo.processInfo.activeProcessorCount, threads: threads,
                           blasCore: BLAS.coreName, sgemmPeakGFLOPS: peak, sgemmPeakSize: size,
                           sgemmPeakCPUGFLOPS: cpuPeak)
    }
}

/// Square single-precision gemm throughput of `BLAS.sgemm` on `Threads.count` cores.
public enum SgemmPeak {
    /// Best wall-clock GFLOP/s over `sizes` (each the best of `repeats` runs), the size that
    /// reached it, and the best rate per CPU second × `threads`.
    public static func measure(sizes: [Int], repeats: Int = 3, threads: Int) -> (gflops: Double, size: Int, cpuGFLOPS: Double) {
        var best = (0.0, 0)
        var bestCPU = 0.0
        for n in sizes {
            let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
            var c = [Float](repeating: 0, count: n * n)
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                let cpuStart = processCPUSeconds()
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        c.withUnsafeMutableBufferPointer { cp in
                            BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                                       c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let cpu = processCPUSeconds() - cpuStart
                let gflops = 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9
                if gflops > best.0 { best = (gflops, n) }
                if cpu > 0 { bestCPU = max(bestCPU, 2 * Double(n) * Double(n) * Double(n) / cpu / 1e9 * Double(threads)) }
            }
        }
        return (best.0, best.1, bestCPU)
    }
}

/// Peak resident set size of this process so far, in bytes (`VmHWM` on Linux).
public func peakResidentBytes() -> Int? { processStatusBytes("VmHWM") }

/// Resident set size of this process now, in bytes (`VmRSS` on Linux; mapped file pages included).
public func residentBytes() -> Int? { processStatusBytes("VmRSS") }

/// A size in kB from `/proc/self/status`, in bytes.
private func processStatusBytes(_ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return nil
}

/// User + system CPU seconds of this process so far (all threads).
public func processCPUSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
