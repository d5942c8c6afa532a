import CFFmpeg
import Foundation

/// One RGB image as a PNG file, encoded by libavcodec's PNG encoder (RGB24, lossless).
///
/// Used for previews that a viewer may reload at any moment: the bytes go to a temporary file
/// next to `path` (`TemporaryOutputName`) which is renamed over `path` when complete, so a reader
/// sees the previous image or the new one, never half a file (`OutputTarget`: a link is
/// followed, a device or FIFO written through).
public enum PNGImage {
    /// Encodes `frame` and puts it at `path`, replacing an existing file (through a symbolic
    /// link; a device or FIFO is written through: `OutputTarget`).
    /// - Returns: the bytes written.
    /// - Throws: `MediaError` naming `path` (`encoderUnavailable` without a PNG encoder,
    ///   `isDirectory`, `cannotOpenOutput` when the file cannot be written or renamed).
    @discardableResult
    public static func write(_ frame: VideoFrame, to path: String) throws -> Int {
        let bytes = try encode(frame, path: path)
        try OutputTarget(resolving: path).write(bytes)
        return bytes.count
    }

    /// The PNG file bytes of `frame`; `path` only names the output in errors.
    static func encode(_ frame: VideoFrame, path: String) throws -> Data {
        _ = LibAV.quietByDefault
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MediaError(.encoderUnavailable(codec: "png", tried: ["png"]), path: path)
        }
        var context = avcodec_alloc_context3(encoder)
        var picture = av_frame_alloc()
        var packet = av_packet_alloc()
        defer {
            avcodec_free_context(&context)
            av_frame_free(&picture)
            av_packet_free(&packet)
        }
        guard let c = context, let f = picture, let p = packet else {
            throw MediaError(.libav(operation: "allocating the PNG encoder", code: bn_averror(ENOMEM),
                                    message: "out of memory"), path: path)
        }
        c.pointee.width = Int32(frame.width)
        c.pointee.height = Int32(frame.height)
        c.pointee.pix_fmt = AV_PIX_FMT_RGB24
        c.pointee.time_base = AVRational(num: 1, den: 1)
        try LibAV.check(avcodec_open2(c, encoder, nil), "opening the PNG encoder", path: path)
        f.pointee.format = AV_PIX_FMT_RGB24.rawValue
        f.pointee.width = c.pointee.width
        f.pointee.height = c.pointee.height
        try LibAV.check(av_frame_get_buffer(f, 0), "av_frame_get_buffer", path: path)
        RGBToYUVConverter.copyRGB(frame, into: f)
        try LibAV.check(avcodec_send_frame(c, f), "encoding the PNG image", path: path)
        try LibAV.check(avcodec_send_frame(c, nil), "flushing the PNG encoder", path: path)
        try LibAV.check(avcodec_receive_packet(c, p), "receiving the PNG image", path: path)
        defer { av_packet_unref(p) }
        return Data(bytes: p.pointee.data, count: Int(p.pointee.size))
    }
}
