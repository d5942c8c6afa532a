import Testing
@testable import Tensor

/// Which OpenBLAS kernels the executables relaunch on (`BLAS.fasterCoreType`), from the flags of
/// the three CPUs of these build machines and of older ones.
@Suite struct BLASCoreTypeTests {
    /// The flags line of each CPU, cut to what decides (the real lines are longer).
    static let emeraldRapids = "fma avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_fp16"
    static let skylakeServer = "fma avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl"
    static let zen3 = "fma avx avx2 sse4_2"

    @Test func prescottOnAnAVX512BF16CPUGoesToCooperlake() {
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags(Self.emeraldRapids)) == "Cooperlake")
    }

    @Test func prescottOnAVX512WithoutBF16GoesToSkylakeX() {
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags(Self.skylakeServer)) == "SkylakeX")
    }

    /// AVX-512 F alone (Xeon Phi) lacks the BW/DQ/VL subsets SkylakeX's kernels use.
    @Test func partialAVX512FallsToTheAVX2Kernels() {
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags("fma avx avx2 avx512f avx512cd")) == "Haswell")
    }

    @Test func prescottOnAVX2GoesToHaswellAndOnAVXToSandybridge() {
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags(Self.zen3)) == "Haswell")
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags("sse4_2 avx")) == "Sandybridge")
        #expect(BLAS.fasterCoreType(than: "Prescott", cpuFlags: flags("sse3 ssse3 sse4_2")) == nil)
    }

    /// A CPU OpenBLAS knew keeps its choice, even where other kernels would also run.
    @Test func aKnownCPUKeepsOpenBLASsChoice() {
        for selected in ["Zen", "Haswell", "SkylakeX", "Cooperlake", "Sandybridge"] {
            #expect(BLAS.fasterCoreType(than: selected, cpuFlags: flags(Self.emeraldRapids)) == nil)
        }
    }

    @Test func flagsAreReadFromTheFirstProcessor() {
        let cpuinfo = """
            processor\t: 0
            model\t\t: 207
            flags\t\t: fpu sse3 avx2 avx512f
            bugs\t\t: spectre_v1

            processor\t: 1
            flags\t\t: fpu
            """
        #expect(BLAS.cpuFlags(fromCPUInfo: cpuinfo) == ["fpu", "sse3", "avx2", "avx512f"])
        #expect(BLAS.cpuFlags(fromCPUInfo: "processor\t: 0\nmodel name\t: x\n").isEmpty)
    }

    private func flags(_ line: String) -> Set<String> { Set(line.split(separator: " ").map(String.init)) }
}
