/// One RGB video frame, 8 bits per channel.
///
/// Layout of `pixels`: `[height, width, 3]` UInt8, row-major, interleaved R, G, B, full range
/// (0 black, 255 white), no row padding. Colour space: BT.709 primaries and transfer (sRGB-like
/// gamma-encoded values, as the VAE produces them); writers convert to YUV with the BT.709 matrix.
public struct VideoFrame: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Layout: `[height, width, 3]` UInt8, interleaved RGB.
    public var pixels: [UInt8]

    /// Wraps an interleaved RGB buffer (layout `[height, width, 3]`).
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try Self.checkSize(width: width, height: height, count: pixels.count)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Converts float RGB in [-1, 1] (the decoder's output range) to 8 bits:
    /// `round((x + 1) / 2 · 255)` clamped to 0...255; NaN becomes 0.
    /// - Parameter floatRGB: layout `[height, width, 3]` Float32, interleaved RGB.
    public init(width: Int, height: Int, floatRGB: UnsafeBufferPointer<Float>) throws {
        try Self.checkSize(width: width, height: height, count: floatRGB.count)
        self.width = width
        self.height = height
        self.pixels = [UInt8](unsafeUninitializedCapacity: floatRGB.count) { out, initialized in
            for i in 0..<floatRGB.count {
                out[i] = Self.quantize(floatRGB[i])
            }
            initialized = floatRGB.count
        }
    }

    /// Converts float RGB in [-1, 1]; see `init(width:height:floatRGB:)` (pointer form).
    /// - Parameter floatRGB: layout `[height, width, 3]` Float32, interleaved RGB.
    public init(width: Int, height: Int, floatRGB: [Float]) throws {
        self = try floatRGB.withUnsafeBufferPointer {
            try VideoFrame(width: width, height: height, floatRGB: $0)
        }
    }

    /// `round((x + 1) / 2 · 255)` clamped to 0...255 (NaN → 0).
    @inline(__always)
    static func quantize(_ x: Float) -> UInt8 {
        let v = ((x + 1) * 127.5).rounded(.toNearestOrAwayFromZero)
        guard v > 0 else { return 0 }  // also catches NaN
        return v >= 255 ? 255 : UInt8(v)
    }

    /// Red, green, blue at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    private static func checkSize(width: Int, height: Int, count: Int) throws {
        guard width > 0, height > 0, width <= 16384, height <= 16384 else {
            throw MediaError(
                .invalidDimensions(
                    width: width, height: height, reason: "width and height must be 1...16384"))
        }
        let expected = width * height * 3
        guard count == expected else {
            throw MediaError(
                .pixelCountMismatch(width: width, height: height, expected: expected, found: count))
        }
    }
}
