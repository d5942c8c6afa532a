import Foundation
import Testing

@testable import Media

@Suite struct VideoWriterFileTests {
    static let metadata = [
        "prompt": "a red fox running through snow, cinematic",
        "negative_prompt": "blurry",
        "seed": "42",
        "pipeline": "bottleneck-hunyuan",
        "sampler_plan": #"{"stages":[{"steps":4,"scale":1},{"steps":10,"scale":0.5}]}"#,
        "software": "bottleneck 0.1.0",
    ]

    // MARK: MP4 / H.264

    /// Write 32 frames at CRF 18, decode them back and compare pixels, count, rate, duration,
    /// colour tags and metadata; the folder holds only the finished file (no temporary left).
    @Test func mp4RoundTrip() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let frames = try syntheticFrames(count: 32, width: 128, height: 128)
        let path = folder + "/out.mp4"
        let writer = try VideoWriter(
            destination: .file(path),
            options: VideoOptions(
                width: 128, height: 128, fps: try FrameRate(24), metadata: Self.metadata))
        #expect(writer.stream.encoderName == "libx264")
        #expect(writer.stream.pixelFormat == "yuv420p")
        for batch in stride(from: 0, to: 32, by: 5) {
            try await writer.append(Array(frames[batch..<min(32, batch + 5)]))
        }
        // Until finish, only a hidden temporary exists.
        let during = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(during.count == 1 && during[0].hasPrefix(".out.mp4.partial-"))
        #expect(TemporaryOutputName.isTemporary(during[0], of: "out.mp4"))
        let summary = try await writer.finish()
        #expect(summary.frames == 32)
        #expect(abs(summary.durationSeconds - 32.0 / 24) < 1e-9)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["out.mp4"])
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64
        #expect(summary.bytes == size)

        let reader = try VideoReader(path: path)
        #expect(reader.info.width == 128 && reader.info.height == 128)
        #expect(reader.info.fps == (try FrameRate(24)))
        #expect(reader.info.frameCount == 32)
        #expect(abs(reader.info.durationSeconds - 32.0 / 24) < 0.01)
        #expect(reader.info.colour == .bt709TV)
        #expect(reader.info.codecName == "h264")
        #expect(reader.info.pixelFormat == "yuv420p")
        for (key, value) in Self.metadata { #expect(reader.info.metadata[key] == value, "\(key)") }
        let decoded = try reader.readAll()
        #expect(decoded.count == 32)
        let scores = zip(frames, decoded).map { psnr($0, $1) }
        #expect(scores.min()! >= 38, "PSNR per frame: \(scores.map { Int($0) })")
        let boxes = try mp4TopLevelBoxes(path)
        #expect(
            (boxes.firstIndex(of: "moov") ?? .max) < (boxes.firstIndex(of: "mdat") ?? -1),
            "+faststart puts moov first: \(boxes)")
    }

    /// An independent check of the tags with ffprobe (not our reader).
    @Test(.requiresFFmpegTools) func ffprobeSeesBT709Tags() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/tags.mp4"
        let writer = try VideoWriter(
            destination: .file(path),
            options: VideoOptions(
                width: 64, height: 48, fps: try FrameRate(30000, 1001), crf: 20, preset: .veryfast,
                metadata: ["seed": "7"]))
        try await writer.append(try syntheticFrames(count: 10, width: 64, height: 48))
        _ = try await writer.finish()
        let probe = try run(
            "ffprobe",
            [
                "-v", "error", "-select_streams", "v:0", "-show_entries",
                "stream=codec_name,pix_fmt,color_space,color_primaries,color_transfer,color_range,avg_frame_rate,nb_frames:format_tags=seed",
                "-of", "default=nw=1", path,
            ])
        #expect(probe.status == 0)
        let kv = keyValues(probe.output)
        #expect(kv["codec_name"] == "h264")
        #expect(kv["pix_fmt"] == "yuv420p")
        #expect(kv["color_space"] == "bt709")
        #expect(kv["color_primaries"] == "bt709")
        #expect(kv["color_transfer"] == "bt709")
        #expect(kv["color_range"] == "tv")
        #expect(kv["avg_frame_rate"] == "30000/1001")
        #expect(kv["nb_frames"] == "10")
        #expect(kv["TAG:seed"] == "7")
    }

    // MARK: Colour conversion

    /// Pins the RGB -> YUV matrix: BT.709 tv range gives pure red Y=63 Cb=102 Cr=240 (BT.601,
    /// swscale's default, would give Y=81 Cb=90), and mid grey stays neutral (Cb = Cr = 128).
    @Test func y4mUsesBT709TVRange() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/colour.y4m"
        let red = try VideoFrame(
            width: 4, height: 2,
            pixels: Array([[UInt8]](repeating: [255, 0, 0], count: 8).joined()))
        let grey = try VideoFrame(width: 4, height: 2, pixels: [UInt8](repeating: 128, count: 24))
        let writer = try VideoWriter(
            destination: .file(path),
            options: VideoOptions(width: 4, height: 2, fps: try FrameRate(25)))
        try await writer.append([red, grey])
        _ = try await writer.finish()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let header = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        #expect(header.hasPrefix("YUV4MPEG2 W4 H2 F25:1"))
        // Frames: "FRAME\n" + Y (8) + Cb (2) + Cr (2).
        let frameStart = bytes.count - 2 * (6 + 12)
        let r = Array(bytes[frameStart + 6..<frameStart + 18])
        let g = Array(bytes[frameStart + 24..<frameStart + 36])
        #expect(r[0..<8].allSatisfy { $0 == 63 }, "Y \(r)")
        #expect(r[8..<10].allSatisfy { abs(Int($0) - 102) <= 1 }, "Cb \(r)")
        #expect(r[10..<12].allSatisfy { $0 == 240 }, "Cr \(r)")
        // 128 -> 16 + 219 * 128/255 = 125.9
        #expect(g[0..<8].allSatisfy { $0 == 126 }, "Y \(g)")
        #expect(g[8..<12].allSatisfy { $0 == 128 }, "CbCr \(g)")
    }

    // MARK: Other containers

    /// PNG sequences are lossless: `frames_0001.png`… decode back to the exact pixels.
    @Test func pngSequenceIsLossless() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let frames = try syntheticFrames(count: 3, width: 33, height: 17)  // odd sizes are fine in RGB
        let out = folder + "/frames"
        let writer = try VideoWriter(
            destination: .file(out),
            options: VideoOptions(width: 33, height: 17, fps: try FrameRate(8), format: .png))
        try await writer.append(frames)
        #expect(!FileManager.default.fileExists(atPath: out), "folder appears only at finish")
        let summary = try await writer.finish()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["frames"])
        let names = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(names == ["frames_0001.png", "frames_0002.png", "frames_0003.png"])
        #expect(summary.bytes > 0)
        for (i, name) in names.enumerated() {
            let decoded = try VideoReader(path: out + "/" + name).readAll()
            #expect(decoded == [frames[i]])
        }
    }

    /// Raw RGB24 output is exactly the input bytes, frame after frame.
    @Test func rawVideoIsExactBytes() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let frames = try syntheticFrames(count: 4, width: 16, height: 8)
        let path = folder + "/out.rgb"
        let writer = try VideoWriter(
            destination: .file(path),
            options: VideoOptions(width: 16, height: 8, fps: try FrameRate(12)))
        #expect(
            writer.stream.rawVideoArguments
                == "-f rawvideo -pix_fmt rgb24 -video_size 16x8 -framerate 12/1")
        try await writer.append(frames)
        _ = try await writer.finish()
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(data == Array(frames.map(\.pixels).joined()))
    }

    /// Matroska with VP9 and WebM with AV1, when this libavcodec has the encoders.
    @Test(arguments: [
        (MediaFormat.mkv, VideoCodec.vp9), (.webm, .vp9), (.webm, .av1), (.mkv, .h264),
    ])
    func matroskaRoundTrip(format: MediaFormat, codec: VideoCodec) async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/out." + format.rawValue
        let frames = try syntheticFrames(count: 6, width: 64, height: 64)
        let writer: VideoWriter
        do {
            writer = try VideoWriter(
                destination: .file(path),
                options: VideoOptions(
                    width: 64, height: 64, fps: try FrameRate(12), codec: codec, crf: 20,
                    preset: .veryfast, metadata: ["seed": "9"]))
        } catch let error as MediaError {
            guard case .encoderUnavailable = error.kind else { throw error }
            return  // this FFmpeg build lacks the encoder: the typed error is the expected outcome
        }
        try await writer.append(frames)
        _ = try await writer.finish()
        let reader = try VideoReader(path: path)
        #expect(reader.info.frameCount == 6)
        #expect(
            reader.info.codecName.contains(codec == .h264 ? "h264" : codec == .vp9 ? "vp9" : "av1"))
        #expect(reader.info.colour == .bt709TV)
        #expect(reader.info.metadata["seed"] == "9" || reader.info.metadata["SEED"] == "9")
        let decoded = try reader.readAll()
        #expect(decoded.count == 6)
        let scores = zip(frames, decoded).map { psnr($0, $1) }
        #expect(scores.min()! >= 32, "PSNR per frame: \(scores)")
    }

    /// The same frames written twice give the same bytes, Matroska and WebM included (their
    /// muxer draws a random segment UID unless told to be bit-exact): a rerun of a seeded
    /// generation can be checked by its hash, whatever the container. At 128², the default
    /// size: libx264 at 64² and below reads memory it never wrote (its bytes change with
    /// `MALLOC_PERTURB_`, and between two encodes in one process), so tiny H.264 videos are
    /// not reproducible byte for byte; VP9 is at any size.
    @Test(arguments: [(MediaFormat.mkv, VideoCodec.h264), (.webm, .vp9), (.mp4, .h264)])
    func sameFramesSameBytes(format: MediaFormat, codec: VideoCodec) async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let frames = try syntheticFrames(count: 6, width: 128, height: 128)
        var files: [Data] = []
        for run in 0..<2 {
            let path = folder + "/out\(run)." + format.rawValue
            let writer = try VideoWriter(
                destination: .file(path),
                options: VideoOptions(width: 128, height: 128, fps: try FrameRate(12), codec: codec, metadata: ["seed": "9"]))
            try await writer.append(frames)
            _ = try await writer.finish()
            files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        #expect(files[0].count > 0 && files[0] == files[1])
    }
}
