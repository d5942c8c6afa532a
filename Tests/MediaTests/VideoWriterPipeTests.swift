import Foundation
import Testing

@testable import Media

/// Streaming to descriptors: a consumer process reads the pipe while the writer writes.
@Suite(.serialized) struct VideoWriterPipeTests {
    init() { MediaOutput.ignoreBrokenPipeSignal() }

    /// Starts `program` reading the pipe on stdin, feeds it `frames` through a writer on the
    /// pipe's write end, and returns the consumer's exit status and stdout.
    private func stream(
        _ frames: [VideoFrame], format: MediaFormat, into program: String, _ arguments: [String]
    ) async throws -> (summary: VideoWriter.Summary, status: Int32, output: String) {
        let pipe = privatePipe()
        let out = privatePipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable(program) ?? program)
        process.arguments = arguments
        process.standardInput = pipe
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let frame0 = frames[0]
        let writer = try VideoWriter(
            destination: .fileDescriptor(pipe.fileHandleForWriting.fileDescriptor),
            options: VideoOptions(
                width: frame0.width, height: frame0.height, fps: try FrameRate(24), format: format,
                preset: .veryfast))
        // The consumer's output is drained concurrently so it can never block on a full pipe.
        let reader = out.fileHandleForReading
        async let reading = offPool { reader.readDataToEndOfFile() }
        try await writer.append(frames)
        let summary = try await writer.finish()
        try pipe.fileHandleForWriting.close()
        let data = await reading
        await offPool { process.waitUntilExit() }
        return (summary, process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Fragmented MP4 is readable from a pipe by ffprobe, with every frame present.
    @Test(.requiresFFmpegTools) func fragmentedMP4ThroughPipe() async throws {
        let frames = try syntheticFrames(count: 32, width: 128, height: 128)
        let r = try await stream(
            frames, format: .mp4, into: "ffprobe",
            [
                "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                "stream=codec_name,width,height,nb_read_frames,color_space", "-of", "default=nw=1",
                "-",
            ])
        #expect(r.summary.stream.fragmented)
        #expect(r.summary.bytes > 0)
        #expect(r.status == 0)
        let kv = keyValues(r.output)
        #expect(kv["codec_name"] == "h264")
        #expect(kv["width"] == "128" && kv["height"] == "128")
        #expect(kv["nb_read_frames"] == "32")
        #expect(kv["color_space"] == "bt709")
    }

    /// Y4M decodes with ffmpeg (`-i - -f null -`), which reports every frame.
    @Test(.requiresFFmpegTools) func y4mThroughPipe() async throws {
        let frames = try syntheticFrames(count: 12, width: 64, height: 32)
        let r = try await stream(
            frames, format: .y4m, into: "ffprobe",
            [
                "-v", "error", "-count_frames", "-show_entries",
                "stream=codec_name,width,height,nb_read_frames",
                "-of", "default=nw=1", "-",
            ])
        #expect(r.status == 0)
        let kv = keyValues(r.output)
        #expect(kv["codec_name"] == "rawvideo")
        #expect(kv["width"] == "64" && kv["height"] == "32")
        #expect(kv["nb_read_frames"] == "12")
        // 12 frames of 64×32 4:2:0 plus per-frame "FRAME\n" and one header line.
        #expect(r.summary.bytes > Int64(12 * (64 * 32 * 3 / 2 + 6)))
        let decode = try await stream(
            frames, format: .y4m, into: "ffmpeg", ["-v", "error", "-i", "-", "-f", "null", "-"])
        #expect(decode.status == 0)
    }

    /// NUT and Matroska also stream; ffprobe counts all frames.
    @Test(.requiresFFmpegTools, arguments: [MediaFormat.nut, .mkv])
    func streamingContainersThroughPipe(format: MediaFormat) async throws {
        let frames = try syntheticFrames(count: 8, width: 32, height: 32)
        let r = try await stream(
            frames, format: format, into: "ffprobe",
            [
                "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of",
                "default=nw=1", "-",
            ])
        #expect(r.status == 0)
        #expect(keyValues(r.output)["nb_read_frames"] == "8")
    }

    /// A consumer that exits early (`head -c 100`) gives `.brokenPipe`, not a SIGPIPE death.
    @Test func readerClosingEarlyIsBrokenPipe() async throws {
        let pipe = privatePipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable("head") ?? "/usr/bin/head")
        process.arguments = ["-c", "100"]
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let writer = try VideoWriter(
            destination: .fileDescriptor(pipe.fileHandleForWriting.fileDescriptor),
            options: VideoOptions(width: 128, height: 128, fps: try FrameRate(24), format: .y4m))
        let frames = try syntheticFrames(count: 2, width: 128, height: 128)
        // 24 KiB a frame: the 64 KiB pipe buffer fills soon after head has exited.
        var caught: MediaError?
        do {
            for _ in 0..<200 { try await writer.append(frames) }
            _ = try await writer.finish()
        } catch let error as MediaError {
            caught = error
        }
        await offPool { process.waitUntilExit() }
        #expect(caught?.kind == .brokenPipe)
        #expect(caught?.path == "fd:\(pipe.fileHandleForWriting.fileDescriptor)")
        // The writer is closed after the failure.
        await #expect(
            throws: MediaError(
                .writerClosed, path: "fd:\(pipe.fileHandleForWriting.fileDescriptor)")
        ) {
            try await writer.append(frames)
        }
    }

    /// ENOSPC from the device (here `/dev/full`) is reported as `.diskFull` with libav's text.
    @Test func fullDeviceIsDiskFull() async throws {
        let fd = open("/dev/full", O_WRONLY)
        try #require(fd >= 0, "/dev/full not available")
        defer { close(fd) }
        var caught: MediaError?
        do {
            let writer = try VideoWriter(
                destination: .fileDescriptor(fd),
                options: VideoOptions(width: 128, height: 128, fps: try FrameRate(24), format: .y4m)
            )
            try await writer.append(try syntheticFrames(count: 4, width: 128, height: 128))
            _ = try await writer.finish()
        } catch let error as MediaError {
            caught = error
        }
        guard case .diskFull(let message) = caught?.kind else {
            Issue.record("expected diskFull, got \(String(describing: caught))")
            return
        }
        #expect(message.lowercased().contains("no space"))
        #expect(caught?.description.contains("fd:\(fd)") == true)
    }
}
