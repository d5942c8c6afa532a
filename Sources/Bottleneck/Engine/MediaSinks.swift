import Media

/// Media's `VideoWriter` as the pipeline's sink (temporary name, renamed on finish), or Media's
/// `PNGImage` for one image (`GenerationRequest.writesSingleImage`).
struct MediaSinks: VideoSinkFactory {
    let pipelineName: String

    func makeSink(for request: GenerationRequest) async throws -> any VideoSink {
        if request.writesSingleImage, case .file(let path) = request.output { return PNGImageSink(path: path) }
        let format = try request.resolvedFormat()
        var metadata = [
            "prompt": request.prompt, "seed": String(request.seed ?? 0), "pipeline": pipelineName,
            "bottleneck": request.bottleneck.description, "steps": String(request.steps),
            "cfg": String(request.cfgScale), "software": "bottleneck \(BottleneckPipeline.version)",
        ]
        if let negative = request.negativePrompt { metadata["negative_prompt"] = negative }
        let options = VideoOptions(width: request.width, height: request.height, fps: try FrameRate(request.fps, 1),
                                   format: format, crf: request.crf, metadata: metadata)
        let destination: MediaDestination
        switch request.output {
        case .stdout: destination = .standardOutput
        case .file(let path): destination = .file(path)
        }
        return MediaSink(writer: try VideoWriter(destination: destination, options: options))
    }
}

struct MediaSink: VideoSink {
    let writer: VideoWriter

    func write(_ batch: FrameBatch) async throws {
        try await writer.append(try batch.videoFrames())
    }

    func finish() async throws -> OutputSummary {
        let summary = try await writer.finish()
        return OutputSummary(destination: "\(summary.destination)", bytes: Int(summary.bytes), frames: summary.frames)
    }

    func cancel() async { await writer.cancel() }
}

/// One image as a PNG file: the frame is kept until `finish`, which encodes it with libavcodec's
/// PNG encoder (`PNGImage`) to a temporary file renamed into place, so nothing is at `path`
/// before the image is complete and `cancel` has nothing to remove.
actor PNGImageSink: VideoSink {
    let path: String
    private var frame: VideoFrame?

    init(path: String) { self.path = path }

    func write(_ batch: FrameBatch) async throws {
        if frame == nil { frame = try batch.videoFrames().first }
    }

    func finish() async throws -> OutputSummary {
        guard let frame else {
            throw PipelineError(.badPipeline(reason: "the decoder produced no image"), subject: path)
        }
        let bytes = try PNGImage.write(frame, to: path)
        return OutputSummary(destination: path, bytes: bytes, frames: 1)
    }

    func cancel() async { frame = nil }
}
