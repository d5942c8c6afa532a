import ArgumentParser
import Testing
@testable import BottleneckBench

/// The message `bottleneck-bench` would print for `args`, or nil if they parse.
func benchFailure(_ args: [String]) -> String? {
    do {
        _ = try BottleneckBench.parseAsRoot(args)
        return nil
    } catch {
        return BottleneckBench.message(for: error)
    }
}

@Suite struct BenchBatchTests {
    /// `bottleneck-bench batch` forwards only the settings that were given, to both kinds of child, and
    /// rejects settings a child would reject before running anything.
    @Test func benchBatchOptions() throws {
        let b = try BottleneckBench.Batch.parse(["--count", "3", "--short-batch", "2", "--frames", "9", "--steps", "4",
                                                  "--bottleneck", "off"])
        #expect(b.sharedArguments == ["--progress", "none", "--quiet", "--frames", "9", "--steps", "4",
                                      "--bottleneck", "off"])
        #expect(try b.request(prompt: "x").frames == 9)
        #expect(benchFailure(["batch", "--count", "2", "--short-batch", "2"])?.contains("--short-batch") == true)
        #expect(benchFailure(["batch", "--frames", "10"])?.contains("4k+1") == true)
        #expect(benchFailure(["batch", "--bottleneck", "x4"])?.contains("x2.5") == true)
    }
}
