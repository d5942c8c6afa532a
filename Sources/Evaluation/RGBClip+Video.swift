import Media

extension RGBClip {
    /// Decodes every frame of a video file through libav (`Media.VideoReader`, RGB24 with the
    /// stream's tagged YUV matrix). Memory grows with the clip: meant for short evaluation clips.
    /// - Throws: `MediaError` when the file cannot be opened or decoded; `EvaluationError` when
    ///   it has no frames or frames change size.
    public init(videoAt path: String) throws {
        let reader = try VideoReader(path: path)
        var frames: [[UInt8]] = []
        var size: (Int, Int)? = nil
        while let f = try reader.nextFrame() {
            if let s = size, s != (f.width, f.height) {
                throw EvaluationError(
                    .badClip(reason: "frame \(frames.count) is \(f.width)x\(f.height), earlier frames \(s.0)x\(s.1)"),
                    file: path)
            }
            size = (f.width, f.height)
            frames.append(f.pixels)
        }
        guard let (w, h) = size else {
            throw EvaluationError(.badClip(reason: "no frames decoded"), file: path)
        }
        try self.init(width: w, height: h, frames: frames, source: path)
    }
}
