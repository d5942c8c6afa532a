import Foundation
import Pipeline

/// THE integration seam: where the command line gets its model stages. Until the lead plugs in
/// the real modules (MiniLM text encoder, HunyuanVideo DiT + Bottleneck Sampling controller,
/// causal VAE, Media's VideoWriter) through thin adapters conforming to the `Pipeline`
/// protocols, loading reports a typed error and the commands exit non-zero. Replace the two
/// bodies below; nothing else in the CLI needs to change.
enum Engine {
    /// Loads every stage from a diffusers-layout pipeline folder, once per process.
    static func loadStages(from pipeline: PipelineFolder, log: Log) throws -> PipelineStages {
        log.debug("pipeline folder: \(pipeline.path)")
        throw PipelineError(.engineUnavailable(stage: "text encoder / transformer / VAE"))
    }

    /// Loads only the VAE decoder and the video writer (for `bottleneck decode`).
    static func loadDecoding(from pipeline: PipelineFolder, log: Log) throws -> DecodingStages {
        log.debug("pipeline folder: \(pipeline.path)")
        throw PipelineError(.engineUnavailable(stage: "VAE decoder / video writer"))
    }
}
