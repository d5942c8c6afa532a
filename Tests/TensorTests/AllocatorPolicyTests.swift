import Testing
import Tensor

/// The allocator settings `bottleneck` applies at start-up (their effect on a decode is measured
/// in Docs/benchmarks.md, not here: page faults depend on the machine).
@Suite struct AllocatorPolicyTests {
    #if canImport(Glibc)
    /// glibc accepts all three settings (a refused one leaves the slow default in force).
    @Test func glibcAcceptsTheSettings() {
        #expect(AllocatorPolicy.reuseLargeBuffers())
    }
    #endif
}
