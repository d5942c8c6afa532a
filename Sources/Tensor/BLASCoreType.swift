import Foundation

/// OpenBLAS picks its kernels once, when the library loads, from the CPU's model number; a model
/// it does not know gets "Prescott", its SSE3 kernels. Debian 12's OpenBLAS 0.3.21 does not know
/// the Xeon of family 6 model 207 (AVX-512 BF16), where that makes the default `generate` 2.85×
/// slower than its Cooperlake kernels (Docs/benchmarks.md, "OpenBLAS on a CPU it does not know").
/// The CPU's feature flags say which kernels it can run, and `OPENBLAS_CORETYPE` is OpenBLAS's own
/// way to name them, read at load time: so the executables relaunch themselves once with it set
/// (`CommandLineTool`'s `runAsTool`). A value already in the environment is someone's choice and
/// always stands.
extension BLAS {
    /// The kernel family OpenBLAS falls back to for a CPU model it does not know.
    static let fallbackCoreName = "Prescott"

    /// The kernels this process should relaunch with: `fasterCoreType` for the kernels OpenBLAS
    /// chose and this CPU's flags, or nil when `OPENBLAS_CORETYPE` is set or the choice stands.
    /// `/proc/cpuinfo` is read only after a fallback (every start-up of the executables asks).
    public static var relaunchCoreType: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == fallbackCoreName,
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        else { return nil }
        return fasterCoreType(than: coreName, cpuFlags: cpuFlags(fromCPUInfo: cpuinfo))
    }

    /// The `OPENBLAS_CORETYPE` whose kernels a CPU with `flags` runs, when OpenBLAS `selected`
    /// its generic fallback ("Prescott"); nil for any other selection (OpenBLAS knew the CPU) and
    /// for a CPU without AVX. AVX-512 needs the F, CD, BW, DQ and VL subsets (SkylakeX's kernels
    /// use them); with BF16 beside them, Cooperlake's.
    public static func fasterCoreType(than selected: String, cpuFlags flags: Set<String>) -> String? {
        guard selected == fallbackCoreName else { return nil }
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return flags.contains("avx") ? "Sandybridge" : nil
    }

    /// The feature flags of the first processor in a `/proc/cpuinfo` text (its `flags : …` line;
    /// every processor of a machine lists the same), empty when there is none.
    public static func cpuFlags(fromCPUInfo text: String) -> Set<String> {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "flags" else { continue }
            return Set(parts[1].split(separator: " ").map(String.init))
        }
        return []
    }
}
