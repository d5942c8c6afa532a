import Foundation
import Testing

@testable import Media

@Suite struct VideoReaderTests {
    /// Saturated colours survive MP4 (BT.709 in, BT.709 out): a matrix mismatch on either side
    /// would move pure red by tens of levels.
    @Test func solidColoursRoundTripThroughMP4() async throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let colours: [[UInt8]] = [
            [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [230, 90, 40],
        ]
        let frames = try colours.map { c in
            try VideoFrame(
                width: 32, height: 32, pixels: Array([[UInt8]](repeating: c, count: 1024).joined()))
        }
        let path = folder + "/solid.mp4"
        let writer = try VideoWriter(
            destination: .file(path),
            options: VideoOptions(width: 32, height: 32, fps: try FrameRate(5)))
        try await writer.append(frames)
        _ = try await writer.finish()
        let decoded = try VideoReader(path: path).readAll()
        #expect(decoded.count == colours.count)
        for (c, frame) in zip(colours, decoded) {
            let p = frame[16, 16]
            let error = max(
                abs(Int(p.r) - Int(c[0])), abs(Int(p.g) - Int(c[1])), abs(Int(p.b) - Int(c[2])))
            #expect(error <= 4, "expected \(c), decoded \(p)")
        }
    }

    /// The reader follows the stream's tags: a BT.601-tagged (smpte170m) red from ffmpeg decodes
    /// to red too, not to the shifted colour a fixed BT.709 matrix would give.
    @Test(.requiresFFmpegTools) func followsBT601Tags() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/red601.mkv"
        let made = try run(
            "ffmpeg",
            [
                "-v", "error", "-f", "lavfi", "-i", "color=c=0xFF0000:s=32x32:r=5", "-frames:v",
                "2",
                "-vf", "scale=out_color_matrix=bt601:out_range=tv,format=yuv420p",
                "-colorspace", "smpte170m", "-color_range", "tv", "-c:v", "libx264", "-crf", "10",
                path,
            ])
        try #require(made.status == 0)
        let reader = try VideoReader(path: path)
        #expect(reader.info.colour.matrix == "smpte170m")
        #expect(reader.info.frameCount == 2)  // Matroska stores no count: counted from packets
        let p = try #require(try reader.nextFrame())[16, 16]
        #expect(Int(p.r) >= 250 && p.g <= 5 && p.b <= 5, "decoded \(p)")
    }
}
