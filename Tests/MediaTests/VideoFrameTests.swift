import Testing
@testable import Media

@Suite struct VideoFrameTests {
    /// `round((x + 1) / 2 · 255)` clamped, with halves rounded away from zero and NaN → 0.
    @Test func floatConversionRoundsAndClamps() throws {
        let values: [Float] = [-1, 1, 0, -0.5, 0.5, -2, 3, .nan, -0.9961, 0.0039, .infinity, -.infinity]
        let expected: [UInt8] = [0, 255, 128, 64, 191, 0, 255, 0, 0, 128, 255, 0]
        let frame = try VideoFrame(width: 2, height: 2, floatRGB: values)
        #expect(frame.pixels == expected)
        #expect(frame[1, 0].r == 64 && frame[1, 0].g == 191 && frame[1, 0].b == 0)
    }

    @Test func wrongBufferSizeIsRejected() {
        #expect(throws: MediaError(.pixelCountMismatch(width: 4, height: 2, expected: 24, found: 23))) {
            try VideoFrame(width: 4, height: 2, pixels: [UInt8](repeating: 0, count: 23))
        }
        #expect(throws: MediaError.self) { try VideoFrame(width: 0, height: 2, pixels: []) }
    }

    @Test func frameRateParsing() throws {
        #expect(try FrameRate(parsing: "24") == FrameRate(24, 1))
        #expect(try FrameRate(parsing: "30000/1001") == FrameRate(30000, 1001))
        #expect(try FrameRate(parsing: "23.976") == FrameRate(23976, 1000))
        #expect(throws: MediaError.self) { try FrameRate(parsing: "0/1") }
        #expect(throws: MediaError.self) { try FrameRate(parsing: "fast") }
    }

    @Test func formatInference() {
        #expect(MediaFormat.inferred(fromPath: "/a/b.MP4") == .mp4)
        #expect(MediaFormat.inferred(fromPath: "out.webm") == .webm)
        #expect(MediaFormat.inferred(fromPath: "frames/") == .png)
        #expect(MediaFormat.inferred(fromPath: "dir.v2/out") == nil)
        #expect(MediaDestination(argument: "-") == .standardOutput)
    }
}
