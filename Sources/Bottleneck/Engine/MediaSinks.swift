import Media

/// Media's `VideoWriter` as the pipeline's sink (temporary name, renamed on finish).
struct MediaSinks: VideoSinkFactory {
    let pipelineName: String

    func makeSink(for request: GenerationRequest) async throws -> any VideoSink {
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
        let (f, h, w) = (batch.pixels.shape[0], batch.pixels.shape[1], batch.pixels.shape[2])
        let frameSize = h * w * 3
        let frames = try batch.pixels.data.withUnsafeBufferPointer { all in
            try (0..<f).map { i in
                try VideoFrame(width: w, height: h,
                               floatRGB: UnsafeBufferPointer(rebasing: all[(i * frameSize)..<((i + 1) * frameSize)]))
            }
        }
        try await writer.append(frames)
    }

    func finish() async throws -> OutputSummary {
        let summary = try await writer.finish()
        return OutputSummary(destination: "\(summary.destination)", bytes: Int(summary.bytes), frames: summary.frames)
    }

    func cancel() async { await writer.cancel() }
}
