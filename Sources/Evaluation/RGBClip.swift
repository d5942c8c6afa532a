/// A decoded video as the analyzer sees it: 8-bit RGB frames of one size.
///
/// Layout of each frame: `[height, width, 3]` UInt8, row-major, interleaved R, G, B, full range
/// (the same layout as `Media.VideoFrame.pixels`).
public struct RGBClip: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Frames in time order; each has layout `[height, width, 3]` UInt8.
    public var frames: [[UInt8]]

    /// - Throws: `EvaluationError.Kind.badClip` for a non-positive size, no frames, or a frame
    ///   whose byte count is not `width · height · 3`. `source` names the clip in the error.
    public init(width: Int, height: Int, frames: [[UInt8]], source: String = "clip") throws {
        guard width > 0, height > 0 else {
            throw EvaluationError(.badClip(reason: "size \(width)x\(height)"), file: source)
        }
        guard !frames.isEmpty else {
            throw EvaluationError(.badClip(reason: "no frames"), file: source)
        }
        for (i, f) in frames.enumerated() where f.count != width * height * 3 {
            throw EvaluationError(
                .badClip(reason: "frame \(i) has \(f.count) bytes, expected \(width * height * 3) for \(width)x\(height) RGB"),
                file: source)
        }
        self.width = width
        self.height = height
        self.frames = frames
    }
}
