import Foundation
import Tensor
import Testing

/// The executables run on the OpenBLAS kernels this CPU can run, not on OpenBLAS's generic
/// fallback for a CPU model it does not know, and never override an `OPENBLAS_CORETYPE` the
/// environment sets (`relaunchOnFasterBLASKernels`). `generate --verbose` logs the kernels.
@Suite struct BLASKernelEndToEndTests {
    /// The kernel family a one-step `generate --verbose` logs, run with `environment` added and
    /// the variables in `unset` removed.
    func kernels(environment: [String: String] = [:], unset: [String] = [], tag: String) throws -> String? {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try CLI.run(["generate", "a red ball", "-o", "a.mp4", "--seed", "1", "--steps", "1",
                             "--bottleneck", "off", "--verbose"] + CLI.small,
                            in: folder, tag: tag, environment: environment, unset: unset)
        #expect(r.status == 0, "\(r.stderr)")
        return r.stderr.firstMatch(of: /OpenBLAS (\S+) kernels/).map { String($0.1) }
    }

    /// Left to itself OpenBLAS 0.3.21 takes some CPUs for "Prescott" (SSE3); the process then
    /// relaunches on the kernels its flags allow, so it logs Prescott only on a CPU without AVX.
    @Test func generateRunsOnKernelsThisCPUAllows() throws {
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let allowed = BLAS.fasterCoreType(than: "Prescott", cpuFlags: BLAS.cpuFlags(fromCPUInfo: cpuinfo))
        let logged = try kernels(unset: ["OPENBLAS_CORETYPE"], tag: "auto")
        #expect(logged != nil)
        if allowed != nil { #expect(logged != "Prescott") }
    }

    @Test func aCoreTypeSetInTheEnvironmentStands() throws {
        #expect(try kernels(environment: ["OPENBLAS_CORETYPE": "Prescott"], tag: "set") == "Prescott")
    }
}
