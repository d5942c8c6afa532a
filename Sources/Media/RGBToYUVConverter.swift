import CFFmpeg

/// Converts interleaved RGB24 frames (full range) to planar yuv420p with libswscale, using the
/// BT.709 matrix and tv (limited) range, set explicitly with `sws_setColorspaceDetails`
/// (swscale's default would be BT.601). Chroma is averaged 2×2 (bilinear), with accurate rounding.
///
/// Owned by one `EncoderSession`; not shared between tasks.
final class RGBToYUVConverter {
    let width: Int
    let height: Int
    private let context: OpaquePointer

    init(width: Int, height: Int, path: String) throws {
        guard
            let context = sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                AV_PIX_FMT_YUV420P, SWS_BILINEAR | SWS_ACCURATE_RND, nil, nil, nil)
        else {
            throw MediaError(
                .libav(operation: "sws_getContext", code: 0, message: "unsupported conversion"),
                path: path)
        }
        let bt709 = sws_getCoefficients(SWS_CS_ITU709)
        // Source RGB is full range (1); destination YUV is tv/limited range (0).
        if sws_setColorspaceDetails(context, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0 {
            sws_freeContext(context)
            throw MediaError(
                .libav(
                    operation: "sws_setColorspaceDetails", code: -1,
                    message: "BT.709 not supported"), path: path)
        }
        self.width = width
        self.height = height
        self.context = context
    }

    /// Writes `source` into the planes of `frame` (a writable yuv420p frame of the same size).
    func convert(_ source: VideoFrame, into frame: UnsafeMutablePointer<AVFrame>) {
        let height = Int32(self.height)
        var srcStrides: [Int32] = [Int32(width * 3), 0, 0, 0]
        source.pixels.withUnsafeBufferPointer { src in
            var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
            Self.withPlanes(of: frame) { dst, dstStride in
                _ = sws_scale(context, &srcPlanes, &srcStrides, 0, height, dst, dstStride)
            }
        }
    }

    /// Copies `source` row by row into a writable rgb24 frame (which may pad its rows).
    static func copyRGB(_ source: VideoFrame, into frame: UnsafeMutablePointer<AVFrame>) {
        let rowBytes = source.width * 3
        source.pixels.withUnsafeBufferPointer { src in
            withPlanes(of: frame) { dst, dstStride in
                guard let plane = dst[0], let base = src.baseAddress else { return }
                for y in 0..<source.height {
                    (plane + y * Int(dstStride[0])).update(
                        from: base + y * rowBytes, count: rowBytes)
                }
            }
        }
    }

    /// `AVFrame.data` / `.linesize` arrive as 8-element tuples; this rebinds them to pointers.
    private static func withPlanes(
        of frame: UnsafeMutablePointer<AVFrame>,
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int32>) ->
            Void
    ) {
        withUnsafeMutablePointer(to: &frame.pointee.data) { data in
            withUnsafeMutablePointer(to: &frame.pointee.linesize) { linesize in
                data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) {
                    planes in
                    linesize.withMemoryRebound(to: Int32.self, capacity: 8) { strides in
                        body(planes, strides)
                    }
                }
            }
        }
    }

    deinit { sws_freeContext(context) }
}
