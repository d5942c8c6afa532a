import Foundation
import Testing

@testable import Media

/// A failed, cancelled or abandoned write never leaves a finished-looking file behind.
@Suite struct VideoWriterCancellationTests {
    private func options(_ format: MediaFormat? = nil) throws -> VideoOptions {
        VideoOptions(
            width: 64, height: 64, fps: try FrameRate(24), format: format, preset: .veryfast)
    }

    @Test(arguments: ["out.mp4", "out.mkv", "out.y4m", "frames/"])
    func cancelRemovesTemporary(name: String) async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try VideoWriter(
            destination: .file(folder + "/" + name), options: try options())
        try await writer.append(try syntheticFrames(count: 5, width: 64, height: 64))
        let during = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(during.count == 1 && during[0].hasPrefix(".") && during[0].contains(".partial-"))
        await writer.cancel()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        await #expect(throws: MediaError.self) { try await writer.finish() }
        await writer.cancel()  // idempotent
    }

    /// Dropping a writer without `finish()` (e.g. the pipeline task died) removes the temporary.
    @Test func droppingWriterRemovesTemporary() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            let writer = try VideoWriter(
                destination: .file(folder + "/out.mp4"), options: try options())
            try await writer.append(try syntheticFrames(count: 3, width: 64, height: 64))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    /// Cancelling the task that feeds the writer makes `append` throw `.cancelled` and discard.
    @Test func taskCancellationDiscardsOutput() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/out.mp4"
        let writer = try VideoWriter(destination: .file(path), options: try options())
        let frames = try syntheticFrames(count: 2, width: 64, height: 64)
        let task = Task {
            while true { try await writer.append(frames) }
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result else {
            Issue.record("append loop ended without error")
            return
        }
        #expect((error as? MediaError)?.kind == .cancelled)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    /// A bad frame mid-stream fails the write and removes the partial file.
    @Test func errorMidStreamRemovesTemporary() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try VideoWriter(
            destination: .file(folder + "/out.mp4"), options: try options())
        try await writer.append(try syntheticFrames(count: 3, width: 64, height: 64))
        let wrong = try syntheticFrames(count: 1, width: 32, height: 64)
        await #expect(
            throws: MediaError(
                .frameSizeMismatch(index: 3, expected: "64x64", found: "32x64"),
                path: folder + "/out.mp4")
        ) {
            try await writer.append(wrong)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    /// An existing file is replaced only when the new one is complete.
    @Test func existingFileSurvivesCancelledOverwrite() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/out.mp4"
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        let writer = try VideoWriter(destination: .file(path), options: try options())
        try await writer.append(try syntheticFrames(count: 3, width: 64, height: 64))
        await writer.cancel()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous")
    }
}

@Suite struct VideoWriterValidationTests {
    private func open(_ destination: MediaDestination, _ options: VideoOptions) throws {
        _ = try VideoWriter(destination: destination, options: options)
    }

    @Test func oddSizeSuggestsEvenSizes() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/odd.mp4"
        do {
            try open(.file(path), VideoOptions(width: 127, height: 72, fps: try FrameRate(24)))
            Issue.record("odd width accepted")
        } catch let error as MediaError {
            #expect(
                error.kind
                    == .oddDimensions(width: 127, height: 72, suggestions: ["126x72", "128x72"]))
            #expect(error.path == path)
            #expect(error.description.contains("126x72, 128x72"))
        }
        #expect(
            throws: MediaError(
                .oddDimensions(width: 64, height: 33, suggestions: ["64x32", "64x34"]), path: path)
        ) {
            try open(.file(path), VideoOptions(width: 64, height: 33, fps: try FrameRate(24)))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test func unknownNamesListKnownOnes() throws {
        #expect(
            throws: MediaError(
                .unknownFormat(name: "avi", known: MediaFormat.allCases.map(\.rawValue)))
        ) {
            try MediaFormat(name: "avi")
        }
        #expect(
            throws: MediaError(
                .unknownCodec(name: "hevc", known: VideoCodec.allCases.map(\.rawValue)))
        ) {
            try VideoCodec(name: "hevc")
        }
        #expect(try MediaFormat(name: "MP4") == .mp4)
    }

    @Test func incompatibleOrMissingChoicesAreTyped() throws {
        let fps = try FrameRate(24)
        #expect(
            throws: MediaError(
                .unsupportedCombination(
                    codec: "h264", format: "webm", reason: "supported: vp9, av1"),
                path: "/tmp/x.webm")
        ) {
            try open(
                .file("/tmp/x.webm"), VideoOptions(width: 64, height: 64, fps: fps, codec: .h264))
        }
        do {
            try open(.standardOutput, VideoOptions(width: 64, height: 64, fps: fps))
            Issue.record("pipe without format accepted")
        } catch let error as MediaError {
            guard case .formatRequired = error.kind else { throw error }
            #expect(error.path == "stdout")
        }
        do {
            try open(.file("/tmp/noext"), VideoOptions(width: 64, height: 64, fps: fps))
            Issue.record("path without extension accepted")
        } catch let error as MediaError {
            guard case .formatRequired = error.kind else { throw error }
        }
        #expect(
            throws: MediaError(
                .invalidOption(name: "crf", value: "60", reason: "h264 accepts 0...51"),
                path: "/tmp/x.mp4")
        ) {
            try open(.file("/tmp/x.mp4"), VideoOptions(width: 64, height: 64, fps: fps, crf: 60))
        }
    }

    /// A missing folder (named, found when the path is resolved) or a read-only location
    /// (libav's text) is `.cannotOpenOutput` with the path.
    @Test func unwritablePathsAreTyped() throws {
        let fps = try FrameRate(24)
        let missingFolder = "/nonexistent-\(UUID().uuidString)"
        let missing = missingFolder + "/out.mp4"
        do {
            try open(.file(missing), VideoOptions(width: 64, height: 64, fps: fps))
            Issue.record("missing folder accepted")
        } catch let error as MediaError {
            #expect(error.kind == .cannotOpenOutput(message: "the folder \(missingFolder) does not exist; create it first"))
            #expect(error.path == missing)
            #expect(error.description.contains(missing))
        }
        do {
            try open(.file("/proc/out.mp4"), VideoOptions(width: 64, height: 64, fps: fps))
            Issue.record("/proc accepted")
        } catch let error as MediaError {
            guard case .cannotOpenOutput = error.kind else { throw error }
        }
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(throws: MediaError(.isDirectory(resolvedPath: nil), path: folder)) {
            try open(.file(folder), VideoOptions(width: 64, height: 64, fps: fps, format: .mp4))
        }
        try Data().write(to: URL(fileURLWithPath: folder + "/keep.txt"))
        #expect(throws: MediaError(.destinationExists, path: folder)) {
            try open(.file(folder), VideoOptions(width: 64, height: 64, fps: fps, format: .png))
        }
    }

    @Test func readerRejectsMissingAndNonVideoFiles() throws {
        #expect(
            throws: MediaError(
                .cannotOpenInput(message: "No such file or directory"), path: "/nonexistent.mp4")
        ) {
            _ = try VideoReader(path: "/nonexistent.mp4")
        }
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: folder + "/x.mp4"))
        #expect(throws: MediaError.self) { _ = try VideoReader(path: folder + "/x.mp4") }
    }
}
