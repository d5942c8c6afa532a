import Foundation
import SafeTensors

/// `bench transformer --precision both`: the same weights file loaded with its 16-bit matrices
/// expanded to float32 and kept as stored, one process each, so each peak RSS is that load's
/// own (a second load in one process would report the first one's peak too).
public struct PrecisionComparison: Codable, Sendable {
    public var float32: TransformerBenchmark.Result
    public var stored: TransformerBenchmark.Result

    /// Runs `executable arguments --precision P --json` for `float32`, then for `stored`.
    /// - Throws: `BenchmarkError.measurementRunFailed` with the child's output when one exits
    ///   non-zero or prints no result.
    public static func run(executable: String, arguments: [String]) throws -> PrecisionComparison {
        func result(_ precision: MatrixPrecision) throws -> TransformerBenchmark.Result {
            try ChildProcess.measurement(TransformerBenchmark.Result.self, what: "\(precision.rawValue) transformer",
                                         executable: executable, arguments: arguments + ["--precision", precision.rawValue])
        }
        return PrecisionComparison(float32: try result(.float32), stored: try result(.stored))
    }

    /// Both runs' summaries, then the two side by side.
    public var text: String {
        func mib(_ bytes: Int?) -> String { bytes.map { String(format: "%.1f MiB", Double($0) / 1048576) } ?? "n/a" }
        func ratio(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b, b > 0 else { return "n/a" }
            return String(format: "%.2fx", a / b)
        }
        return """
        \(float32.text)
        \(stored.text)
        side by side (float32-expanded | kept 16-bit | ratio):
          peak RSS:        \(mib(float32.peakResidentBytes)) | \(mib(stored.peakResidentBytes)) | \(ratio(float32.peakResidentBytes.map(Double.init), stored.peakResidentBytes.map(Double.init)))
          RSS after load:  \(mib(float32.residentAfterLoadBytes)) | \(mib(stored.residentAfterLoadBytes)) | \(ratio(float32.residentAfterLoadBytes.map(Double.init), stored.residentAfterLoadBytes.map(Double.init)))
          best forward:    \(String(format: "%.3f s", float32.bestSeconds)) | \(String(format: "%.3f s", stored.bestSeconds)) | \(ratio(float32.bestSeconds, stored.bestSeconds))
          load:            \(String(format: "%.2f s", float32.loadSeconds)) | \(String(format: "%.2f s", stored.loadSeconds)) | \(ratio(float32.loadSeconds, stored.loadSeconds))
        """
    }
}
