import Bottleneck
import Diagnostics
import Foundation
import Tensor

extension BottleneckPipeline {
    /// Loads every model of `folder`, logging how long it took and which OpenBLAS kernels run.
    static func load(_ folder: PipelineFolder, log: Log) throws -> BottleneckPipeline {
        let started = Date()
        let pipeline = try BottleneckPipeline(folder: folder)
        log.debug("loaded \(folder.path) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        log.debug("OpenBLAS \(BLAS.coreName) kernels")  // which ones: see relaunchOnFasterBLASKernels
        return pipeline
    }
}
