import Bottleneck
import Diagnostics
import Foundation

extension BottleneckPipeline {
    /// Loads every model of `folder`, logging how long it took.
    static func load(_ folder: PipelineFolder, log: Log) throws -> BottleneckPipeline {
        let started = Date()
        let pipeline = try BottleneckPipeline(folder: folder)
        log.debug("loaded \(folder.path) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        return pipeline
    }
}
