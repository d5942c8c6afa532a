/// Streams RGB frames into a video file, a PNG folder or a pipe.
///
/// Frames are converted (BT.709, tv range), encoded and muxed as they arrive; memory does not
/// grow with the number of frames. Files appear under their final name only after `finish()`
/// succeeds: until then they are written to a hidden temporary name in the same folder, which
/// `cancel()`, a failure, task cancellation or dropping the writer removes. A device, FIFO or
/// socket named as the file is streamed into like a pipe, and a symbolic link is followed
/// (`OutputTarget`).
///
/// ```swift
/// let writer = try VideoWriter(destination: .file("out.mp4"),
///                              options: VideoOptions(width: 512, height: 320, fps: try FrameRate(24)))
/// for try await batch in frames { try await writer.append(batch) }
/// let summary = try await writer.finish()
/// ```
public actor VideoWriter {
    /// What a finished write produced.
    public struct Summary: Sendable, Equatable {
        public var destination: MediaDestination
        public var stream: StreamInfo
        public var frames: Int
        /// Bytes in the published file or folder, or written to the descriptor.
        public var bytes: Int64
        /// `frames / fps`.
        public var durationSeconds: Double
    }

    /// Format, codec, geometry and rate of the output; for `rawvideo` pipes the caller prints
    /// `stream.rawVideoArguments` on stderr so the consumer knows the geometry.
    public nonisolated let stream: StreamInfo
    public nonisolated let destination: MediaDestination
    private var session: EncoderSession?

    /// Opens the output and writes the container header.
    /// - Throws: `MediaError` for odd sizes with 4:2:0, unknown or unavailable codecs, a
    ///   container that cannot be inferred, or an output that cannot be created.
    public init(destination: MediaDestination, options: VideoOptions) throws {
        let session = try EncoderSession(destination: destination, options: options)
        self.stream = session.info
        self.destination = destination
        self.session = session
    }

    /// Frames written so far.
    public var framesWritten: Int { session?.framesWritten ?? 0 }

    /// Encodes a batch of frames (layout of each: `[height, width, 3]` UInt8 RGB).
    /// On any error, or if the calling task is cancelled, the output is discarded and the writer
    /// closes; later calls throw `.writerClosed`.
    public func append(_ frames: [VideoFrame]) throws {
        guard let session else { throw MediaError(.writerClosed, path: destination.description) }
        do {
            for frame in frames {
                if Task.isCancelled { throw MediaError(.cancelled, path: destination.description) }
                try session.append(frame)
            }
            try session.flush()
        } catch {
            close()
            throw error
        }
    }

    /// Encodes one frame; see `append(_:)`.
    public func append(_ frame: VideoFrame) throws {
        try append([frame])
    }

    /// Flushes the encoder, completes the container and publishes the output under its final name.
    public func finish() throws -> Summary {
        guard let session else { throw MediaError(.writerClosed, path: destination.description) }
        defer { self.session = nil }
        do {
            if Task.isCancelled { throw MediaError(.cancelled, path: destination.description) }
            let frames = session.framesWritten
            let bytes = try session.finish()
            return Summary(
                destination: destination, stream: stream, frames: frames, bytes: bytes,
                durationSeconds: Double(frames) / stream.fps.value)
        } catch {
            session.abort()
            throw error
        }
    }

    /// Abandons the output: frees the encoder and removes the temporary file or folder.
    /// Safe to call more than once, and after `finish()` (then it does nothing).
    public func cancel() {
        close()
    }

    private func close() {
        session?.abort()
        session = nil
    }
}
