import ArgumentParser
import Bottleneck

/// The one place flags become a library `GenerationRequest`: the pipeline kind's defaults and the
/// folder's guidance scale, then the preset, then explicit flags; validation errors become `ValidationError`s that say what
/// to change.
func makeRequest(prompt: String, output: OutputDestination, model: ModelOptions, sampling: SamplingOptions,
                 bottleneck: BottleneckOptions, outputOptions: OutputOptions,
                 kind: PipelineKind = .hunyuanVideo) throws -> GenerationRequest {
    var request = GenerationRequest(prompt: prompt, kind: kind, guidance: try model.pipelineGuidance())
    request.output = output
    sampling.apply(to: &request)
    try bottleneck.apply(to: &request, explicitSteps: sampling.steps)
    outputOptions.apply(to: &request)
    request.threads = model.threads
    try request.validateForCommandLine(kind: kind)
    return request
}

extension GenerationRequest {
    /// `validate(for: kind)`, its error turned into a `ValidationError` (printed with the usage
    /// line) that names the field as its option (`--frames must be …`).
    func validateForCommandLine(kind: PipelineKind = .hunyuanVideo) throws {
        do { try validate(for: kind) } catch let error as RequestError { throw ValidationError(error.optionMessage) }
    }
}
