import CFFmpeg
import Foundation

/// Colour description of a stream, as libavutil names the values
/// (`bt709`, `smpte170m`, `unknown`…; range `tv` or `pc`).
public struct ColourTags: Sendable, Equatable, CustomStringConvertible {
    public var matrix: String
    public var primaries: String
    public var transfer: String
    public var range: String

    public init(matrix: String, primaries: String, transfer: String, range: String) {
        self.matrix = matrix
        self.primaries = primaries
        self.transfer = transfer
        self.range = range
    }

    /// What `VideoWriter` tags 4:2:0 streams with.
    public static let bt709TV = ColourTags(matrix: "bt709", primaries: "bt709", transfer: "bt709", range: "tv")

    public var description: String { "matrix \(matrix), primaries \(primaries), transfer \(transfer), range \(range)" }
}

/// What a video file contains (first video stream).
public struct VideoInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Average frame rate (falls back to the stream's base rate).
    public var fps: FrameRate?
    /// Frames in the stream: the container's count, or counted packet by packet when the
    /// container does not store it (Matroska, Y4M, NUT).
    public var frameCount: Int
    public var durationSeconds: Double
    public var colour: ColourTags
    /// Container metadata tags (for our MP4s, the caller's keys plus `major_brand`, `encoder`…).
    public var metadata: [String: String]
    /// Decoder codec name, e.g. `h264`, `vp9`, `rawvideo`.
    public var codecName: String
    /// Demuxer name(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    public var formatName: String
    /// Decoded pixel format, e.g. `yuv420p`.
    public var pixelFormat: String
}

/// Decodes the first video stream of a file to RGB `VideoFrame`s.
///
/// YUV is converted with the matrix and range the stream is tagged with (BT.601, BT.709 or
/// BT.2020; untagged streams are taken as BT.709, this project's convention). Not `Sendable`:
/// use one reader from one task. Frames are decoded one at a time (`nextFrame()`), so memory
/// does not depend on the length of the video.
public final class VideoReader {
    public let info: VideoInfo
    public let path: String

    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var scalerKey: (Int32, Int32, Int32, Int32, Int32) = (0, 0, -1, -1, -1)
    private let streamIndex: Int32
    private var sentEndOfStream = false
    private var finished = false

    /// Opens `path` and reads its stream information.
    /// - Throws: `MediaError.Kind.cannotOpenInput` when the file is missing, unreadable, not a
    ///   video or has no decoder.
    public init(path: String) throws {
        _ = LibAV.quietByDefault
        self.path = path
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        let r = avformat_open_input(&fmt, path, nil, nil)
        guard r >= 0, let fmt else {
            throw MediaError(.cannotOpenInput(message: LibAV.errorText(r)), path: path)
        }
        var codecLocal: UnsafeMutablePointer<AVCodecContext>? = nil
        var fmtLocal: UnsafeMutablePointer<AVFormatContext>? = fmt
        do {
            try LibAV.check(avformat_find_stream_info(fmt, nil), "reading stream information", path: path)
            let index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
            guard index >= 0, let stream = fmt.pointee.streams[Int(index)] else {
                throw MediaError(.cannotOpenInput(message: "no video stream"), path: path)
            }
            streamIndex = index
            let par = stream.pointee.codecpar!
            guard let decoder = avcodec_find_decoder(par.pointee.codec_id),
                let c = avcodec_alloc_context3(decoder)
            else {
                throw MediaError(.cannotOpenInput(message: "no decoder for codec id \(par.pointee.codec_id.rawValue)"), path: path)
            }
            codecLocal = c
            try LibAV.check(avcodec_parameters_to_context(c, par), "avcodec_parameters_to_context", path: path)
            c.pointee.thread_count = 0
            try LibAV.check(avcodec_open2(c, decoder, nil), "opening the decoder", path: path)

            // Rate, duration, count.
            let avg = stream.pointee.avg_frame_rate, base = stream.pointee.r_frame_rate
            let rate = avg.num > 0 && avg.den > 0 ? avg : base
            let fps = rate.num > 0 && rate.den > 0 ? try? FrameRate(Int(rate.num), Int(rate.den)) : nil
            var duration = 0.0
            if stream.pointee.duration > 0 && stream.pointee.duration != bn_av_nopts_value() {
                duration = Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
            } else if fmt.pointee.duration > 0 && fmt.pointee.duration != bn_av_nopts_value() {
                duration = Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
            }
            var count = Int(stream.pointee.nb_frames)
            if count <= 0 { count = try Self.countPackets(path: path, streamIndex: index) }
            if duration == 0, let fps { duration = Double(count) / fps.value }

            func name(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "unknown" }
            info = VideoInfo(
                width: Int(par.pointee.width), height: Int(par.pointee.height), fps: fps,
                frameCount: count, durationSeconds: duration,
                colour: ColourTags(
                    matrix: name(av_color_space_name(par.pointee.color_space)),
                    primaries: name(av_color_primaries_name(par.pointee.color_primaries)),
                    transfer: name(av_color_transfer_name(par.pointee.color_trc)),
                    range: name(av_color_range_name(par.pointee.color_range))),
                metadata: LibAV.entries(fmt.pointee.metadata),
                codecName: name(decoder.pointee.name),
                formatName: name(fmt.pointee.iformat.pointee.name),
                pixelFormat: name(av_get_pix_fmt_name(AVPixelFormat(rawValue: par.pointee.format))))
        } catch {
            avcodec_free_context(&codecLocal)
            avformat_close_input(&fmtLocal)
            throw error
        }
        formatContext = fmt
        codecContext = codecLocal
        frame = av_frame_alloc()
        packet = av_packet_alloc()
    }

    /// The next decoded frame as RGB24, or nil at the end of the stream.
    public func nextFrame() throws -> VideoFrame? {
        guard !finished, let c = codecContext, let f = frame, let p = packet, let fmt = formatContext else { return nil }
        while true {
            let r = avcodec_receive_frame(c, f)
            if r >= 0 {
                defer { av_frame_unref(f) }
                return try convert(f)
            }
            if r == bn_averror_eof() {
                finished = true
                return nil
            }
            guard r == bn_averror_eagain() else {
                throw MediaError(.decodeFailed(message: LibAV.errorText(r)), path: path)
            }
            // Feed the decoder the next packet of our stream (or the end-of-stream marker).
            while true {
                if sentEndOfStream { break }
                let read = av_read_frame(fmt, p)
                if read < 0 {
                    guard read == bn_averror_eof() else {
                        throw MediaError(.decodeFailed(message: LibAV.errorText(read)), path: path)
                    }
                    sentEndOfStream = true
                    try LibAV.check(avcodec_send_packet(c, nil), "flushing the decoder", path: path)
                    break
                }
                defer { av_packet_unref(p) }
                if p.pointee.stream_index == streamIndex {
                    let s = avcodec_send_packet(c, p)
                    if s < 0 { throw MediaError(.decodeFailed(message: LibAV.errorText(s)), path: path) }
                    break
                }
            }
        }
    }

    /// Decodes every remaining frame. Memory grows with the video: for tests and short clips.
    public func readAll() throws -> [VideoFrame] {
        var frames: [VideoFrame] = []
        while let f = try nextFrame() { frames.append(f) }
        return frames
    }

    private func convert(_ f: UnsafeMutablePointer<AVFrame>) throws -> VideoFrame {
        let w = f.pointee.width, h = f.pointee.height
        let key = (w, h, f.pointee.format, Int32(f.pointee.colorspace.rawValue), Int32(f.pointee.color_range.rawValue))
        if scaler == nil || key != scalerKey {
            if let s = scaler { sws_freeContext(s) }
            scaler = sws_getContext(
                w, h, AVPixelFormat(rawValue: f.pointee.format), w, h, AV_PIX_FMT_RGB24,
                SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
            guard let scaler else {
                throw MediaError(.decodeFailed(message: "no conversion from pixel format \(f.pointee.format) to rgb24"), path: path)
            }
            scalerKey = key
            let matrix: Int32
            switch f.pointee.colorspace {
            case AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M: matrix = SWS_CS_ITU601
            case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: matrix = SWS_CS_BT2020
            case AVCOL_SPC_FCC: matrix = SWS_CS_FCC
            case AVCOL_SPC_SMPTE240M: matrix = SWS_CS_SMPTE240M
            default: matrix = SWS_CS_ITU709  // BT.709 and untagged streams
            }
            let fullRange: Int32 =
                f.pointee.color_range == AVCOL_RANGE_JPEG
                    || [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P].contains(AVPixelFormat(rawValue: f.pointee.format))
                ? 1 : 0
            let table = sws_getCoefficients(matrix)
            _ = sws_setColorspaceDetails(scaler, table, fullRange, table, 1, 0, 1 << 16, 1 << 16)
        }
        let width = Int(w), height = Int(h)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            withUnsafePointer(to: &f.pointee.data) { dataTuple in
                withUnsafePointer(to: &f.pointee.linesize) { strideTuple in
                    dataTuple.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        strideTuple.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
                            var dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                            _ = sws_scale(scaler, src, srcStride, 0, h, &dst, &dstStride)
                        }
                    }
                }
            }
        }
        return try VideoFrame(width: width, height: height, pixels: pixels)
    }

    /// Counts the packets of one stream (one per frame for video) without decoding.
    private static func countPackets(path: String, streamIndex: Int32) throws -> Int {
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        let r = avformat_open_input(&fmt, path, nil, nil)
        guard r >= 0 else { throw MediaError(.cannotOpenInput(message: LibAV.errorText(r)), path: path) }
        defer { avformat_close_input(&fmt) }
        guard let p = av_packet_alloc() else { return 0 }
        var packet: UnsafeMutablePointer<AVPacket>? = p
        defer { av_packet_free(&packet) }
        var count = 0
        while av_read_frame(fmt, p) >= 0 {
            if p.pointee.stream_index == streamIndex { count += 1 }
            av_packet_unref(p)
        }
        return count
    }

    private func release() {
        if codecContext != nil { avcodec_free_context(&codecContext) }
        if frame != nil { av_frame_free(&frame) }
        if packet != nil { av_packet_free(&packet) }
        if let s = scaler { sws_freeContext(s); scaler = nil }
        if formatContext != nil { avformat_close_input(&formatContext) }
    }

    deinit { release() }
}
