import CFFmpeg
import Foundation

/// The libav side of `VideoWriter`: encoder, colour conversion and muxer for one output.
///
/// Not `Sendable`: it is owned by exactly one `VideoWriter` actor, which serialises every call.
/// Memory is constant in the number of frames: one conversion frame and one packet are reused,
/// and packets go to the muxer as soon as the encoder emits them.
final class EncoderSession {
    /// Where bytes go and how the result is published.
    enum Target {
        /// Written to `temporary`, renamed over the output's resolved path by `finish()`.
        case file(OutputTarget, temporary: String)
        /// PNG frames written into `temporary`, a folder renamed to `final` by `finish()`.
        case folder(final: String, temporary: String)
        /// Streamed to a descriptor through a custom `AVIOContext`: the caller's (a pipe,
        /// standard output), or `ownedDescriptor` (a device, FIFO or socket named as the output).
        case descriptor(Int32)
    }

    let info: StreamInfo
    let target: Target
    /// The user-facing name of the destination, used in errors.
    let displayPath: String
    private(set) var framesWritten = 0

    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var converter: RGBToYUVConverter?
    private var descriptorOutput: DescriptorOutput?
    /// The descriptor this session opened for a written-through output; closed by the session.
    private var ownedDescriptor: Int32?
    private var published = false

    // MARK: Opening

    init(destination: MediaDestination, options: VideoOptions) throws {
        _ = LibAV.quietByDefault
        let display = destination.description
        // 1. Container and codec.
        let format: MediaFormat
        switch (options.format, destination) {
        case (let f?, _): format = f
        case (nil, .file(let path)):
            guard let f = MediaFormat.inferred(fromPath: path) else {
                throw MediaError(
                    .formatRequired(
                        reason: "cannot tell the container from the file name; name it with a"
                            + " known extension (.mp4, .mkv, .webm, .y4m, .nut, .rgb) or give the format"
                    ),
                    path: display)
            }
            format = f
        case (nil, .fileDescriptor):
            throw MediaError(
                .formatRequired(
                    reason: "a pipe has no file extension; name the container (mp4, y4m, nut, mkv,"
                        + " rawvideo)"),
                path: display)
        }
        let codec = options.codec ?? format.defaultCodec
        guard format.supportedCodecs.contains(codec) else {
            throw MediaError(
                .unsupportedCombination(
                    codec: codec.rawValue, format: format.rawValue,
                    reason:
                        "supported: \(format.supportedCodecs.map(\.rawValue).joined(separator: ", "))"
                ),
                path: display)
        }
        if format == .png, case .fileDescriptor = destination {
            throw MediaError(
                .unsupportedCombination(
                    codec: "png", format: "a pipe", reason: "PNG sequences are written to a folder"),
                path: display)
        }
        // 2. Geometry, rate and quality.
        let pixelFormat: AVPixelFormat =
            (format == .rawvideo || codec == .png) ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUV420P
        try Self.validate(options: options, codec: codec, pixelFormat: pixelFormat, path: display)
        // 3. Encoder.
        let candidates = format == .y4m ? ["wrapped_avframe"] : codec.encoderCandidates
        guard
            let (encoderName, encoder) = candidates.lazy.compactMap({ name in
                avcodec_find_encoder_by_name(name).map { (name, $0) }
            }).first
        else {
            throw MediaError(
                .encoderUnavailable(codec: codec.rawValue, tried: candidates), path: display)
        }
        // 4. Destination: a device, FIFO or socket is opened and streamed into (like a pipe),
        //    a file or a new path is written under a temporary name (links followed).
        switch destination {
        case .fileDescriptor(let fd):
            target = .descriptor(fd)
        case .file(let path) where format == .png:
            let final = path.hasSuffix("/") ? String(path.dropLast()) : path
            target = .folder(final: final, temporary: TemporaryOutputName.path(for: final))
        case .file(let path):
            let output = try OutputTarget(resolving: path)
            if output.kind.isWrittenThrough {
                let fd = try output.openForWriting()
                ownedDescriptor = fd
                target = .descriptor(fd)
            } else {
                let temporary = TemporaryOutputName.path(for: output.resolvedPath)
                target = .file(output, temporary: temporary)
            }
        }
        displayPath = display
        let fragmented: Bool
        if case .descriptor = target, format == .mp4 {
            fragmented = true
        } else {
            fragmented = false
        }
        info = StreamInfo(
            format: format, codec: codec, encoderName: encoderName,
            pixelFormat: String(cString: av_get_pix_fmt_name(pixelFormat)), width: options.width,
            height: options.height, fps: options.fps, fragmented: fragmented)

        do {
            try open(encoder: encoder, options: options, pixelFormat: pixelFormat)
        } catch {
            abort()
            throw error
        }
    }

    private func open(
        encoder: UnsafePointer<AVCodec>, options: VideoOptions, pixelFormat: AVPixelFormat
    ) throws {
        let path = displayPath
        // 1. Output folder / preconditions.
        let url: String
        switch target {
        case .descriptor(let fd): url = "pipe:\(fd)"
        case .file(_, let temporary):
            url = temporary
        case .folder(let final, let temporary):
            if let contents = try? FileManager.default.contentsOfDirectory(atPath: final),
                !contents.isEmpty
            {
                throw MediaError(.destinationExists, path: final)
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: temporary, withIntermediateDirectories: false)
            } catch {
                throw MediaError(.cannotOpenOutput(message: Self.describe(error)), path: final)
            }
            url = temporary + "/frames_%04d.png"
        }

        // 2. Muxer.
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        try LibAV.check(
            avformat_alloc_output_context2(&fmt, nil, info.format.muxerName, url),
            "avformat_alloc_output_context2(\(info.format.muxerName))", path: path)
        guard let fmt else {
            throw MediaError(
                .libav(operation: "avformat_alloc_output_context2", code: 0, message: "no context"),
                path: path)
        }
        formatContext = fmt
        // The Matroska muxer draws a random segment UID unless bit-exact, so the same frames would
        // give different bytes each run (MP4 and the others are already deterministic; bit-exact
        // there would only drop the muxer's version tag from files written so far).
        if info.format == .mkv || info.format == .webm {
            fmt.pointee.flags |= AVFMT_FLAG_BITEXACT
        }

        // 3. Encoder context: size, rate, BT.709 tags, quality.
        guard let c = avcodec_alloc_context3(encoder) else {
            throw MediaError(
                .libav(
                    operation: "avcodec_alloc_context3", code: bn_averror(ENOMEM),
                    message: "out of memory"), path: path)
        }
        codecContext = c
        c.pointee.width = Int32(options.width)
        c.pointee.height = Int32(options.height)
        c.pointee.pix_fmt = pixelFormat
        c.pointee.time_base = AVRational(
            num: Int32(options.fps.denominator), den: Int32(options.fps.numerator))
        c.pointee.framerate = AVRational(
            num: Int32(options.fps.numerator), den: Int32(options.fps.denominator))
        c.pointee.sample_aspect_ratio = AVRational(num: 1, den: 1)
        if pixelFormat == AV_PIX_FMT_YUV420P {
            c.pointee.color_range = AVCOL_RANGE_MPEG
            c.pointee.colorspace = AVCOL_SPC_BT709
            c.pointee.color_primaries = AVCOL_PRI_BT709
            c.pointee.color_trc = AVCOL_TRC_BT709
        }
        if let g = options.keyframeInterval {
            c.pointee.gop_size = Int32(max(1, g))
        } else if info.fragmented {
            c.pointee.gop_size = Int32(max(1, (2 * options.fps.value).rounded()))
        }
        if (fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            c.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        let encoderOptions = Self.encoderOptions(encoderName: info.encoderName, options: options)
        if info.codec == .vp9 || info.codec == .av1 { c.pointee.bit_rate = 0 }  // constant quality
        if info.encoderName == "libsvtav1", av_log_get_level() < AV_LOG_VERBOSE {
            // SVT-AV1 prints its banner to stderr itself unless SVT_LOG says errors only (1).
            // Only set when the user has not chosen a level.
            setenv("SVT_LOG", "1", 0)
        }
        var dict = LibAV.dictionary(encoderOptions)
        defer { av_dict_free(&dict) }
        try LibAV.check(
            avcodec_open2(c, encoder, &dict), "opening encoder \(info.encoderName)", path: path)
        let unused = LibAV.keys(dict)
        if let name = unused.first {
            let value = encoderOptions.first { $0.0 == name }?.1 ?? ""
            throw MediaError(
                .invalidOption(
                    name: name, value: value, reason: "not recognised by \(info.encoderName)"),
                path: path)
        }

        // 4. Stream and container metadata.
        guard let st = avformat_new_stream(fmt, nil) else {
            throw MediaError(
                .libav(
                    operation: "avformat_new_stream", code: bn_averror(ENOMEM),
                    message: "out of memory"), path: path)
        }
        stream = st
        st.pointee.time_base = c.pointee.time_base
        st.pointee.avg_frame_rate = c.pointee.framerate
        st.pointee.r_frame_rate = c.pointee.framerate
        try LibAV.check(
            avcodec_parameters_from_context(st.pointee.codecpar, c),
            "avcodec_parameters_from_context", path: path)
        for (key, value) in options.metadata.sorted(by: { $0.key < $1.key }) {
            av_dict_set(&fmt.pointee.metadata, key, value, 0)
        }

        // 5. Byte output.
        if (fmt.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0 {
            switch target {
            case .descriptor(let fd):
                let output = try DescriptorOutput(fd: fd, path: path)
                descriptorOutput = output
                fmt.pointee.pb = output.context
            case .file(_, let temporary):
                let r = avio_open(&fmt.pointee.pb, temporary, AVIO_FLAG_WRITE)
                if r < 0 {
                    throw MediaError(.cannotOpenOutput(message: LibAV.errorText(r)), path: path)
                }
            case .folder:
                break
            }
        }

        // 6. Header.
        var muxerOptions: [(String, String)] = []
        if info.format == .mp4 {
            muxerOptions.append(
                (
                    "movflags",
                    info.fragmented
                        ? "+frag_keyframe+empty_moov+default_base_moof+use_metadata_tags"
                        : "+faststart+use_metadata_tags"
                ))
        }
        var muxDict = LibAV.dictionary(muxerOptions)
        defer { av_dict_free(&muxDict) }
        let header = avformat_write_header(fmt, &muxDict)
        if header < 0 {
            throw outputError(header, operation: "writing the \(info.format.rawValue) header")
        }

        // 7. Reused frame, packet and RGB -> YUV converter (BT.709 matrix, tv range).
        guard let f = av_frame_alloc(), let p = av_packet_alloc() else {
            throw MediaError(
                .libav(
                    operation: "av_frame_alloc", code: bn_averror(ENOMEM), message: "out of memory"),
                path: path)
        }
        frame = f
        packet = p
        f.pointee.format = pixelFormat.rawValue
        f.pointee.width = Int32(options.width)
        f.pointee.height = Int32(options.height)
        f.pointee.color_range = c.pointee.color_range
        f.pointee.colorspace = c.pointee.colorspace
        f.pointee.color_primaries = c.pointee.color_primaries
        f.pointee.color_trc = c.pointee.color_trc
        try LibAV.check(av_frame_get_buffer(f, 0), "av_frame_get_buffer", path: path)
        if pixelFormat == AV_PIX_FMT_YUV420P {
            converter = try RGBToYUVConverter(
                width: options.width, height: options.height, path: path)
        }
    }

    // MARK: Writing

    /// Converts, encodes and muxes one frame.
    func append(_ source: VideoFrame) throws {
        guard let c = codecContext, let f = frame else {
            throw MediaError(.writerClosed, path: displayPath)
        }
        guard source.width == info.width, source.height == info.height else {
            throw MediaError(
                .frameSizeMismatch(
                    index: framesWritten, expected: "\(info.width)x\(info.height)",
                    found: "\(source.width)x\(source.height)"),
                path: displayPath)
        }
        // The encoder (or a wrapped_avframe packet) may still reference the last buffer.
        try LibAV.check(av_frame_make_writable(f), "av_frame_make_writable", path: displayPath)
        if let converter {
            converter.convert(source, into: f)
        } else {
            RGBToYUVConverter.copyRGB(source, into: f)
        }
        f.pointee.pts = Int64(framesWritten)
        try LibAV.check(
            avcodec_send_frame(c, f), "encoding frame \(framesWritten)", path: displayPath)
        framesWritten += 1
        try drainPackets()
    }

    /// Pushes buffered bytes to a descriptor, so a pipe reader sees each batch promptly.
    func flush() throws {
        guard let pb = formatContext?.pointee.pb, descriptorOutput != nil else { return }
        avio_flush(pb)
        if pb.pointee.error < 0 { throw outputError(pb.pointee.error, operation: "writing") }
    }

    /// Flushes the encoder, writes the trailer, closes the output and publishes it.
    /// - Returns: bytes in the published output.
    func finish() throws -> Int64 {
        guard let c = codecContext, let fmt = formatContext else {
            throw MediaError(.writerClosed, path: displayPath)
        }
        let r = avcodec_send_frame(c, nil)
        if r < 0 && r != bn_averror_eof() {
            try LibAV.check(r, "flushing the encoder", path: displayPath)
        }
        try drainPackets()
        let t = av_write_trailer(fmt)
        if t < 0 { throw outputError(t, operation: "writing the \(info.format.rawValue) trailer") }
        if let pb = fmt.pointee.pb {
            avio_flush(pb)
            if pb.pointee.error < 0 { throw outputError(pb.pointee.error, operation: "writing") }
        }
        if case .file = target {
            let closed = avio_closep(&fmt.pointee.pb)
            if closed < 0 { throw outputError(closed, operation: "closing") }
        }
        if let fd = ownedDescriptor {
            ownedDescriptor = nil
            if close(fd) != 0 { throw outputError(bn_averror(errno), operation: "closing") }
        }
        let bytes = descriptorOutput?.bytesWritten ?? 0
        release()
        return try publish(descriptorBytes: bytes)
    }

    private func publish(descriptorBytes: Int64) throws -> Int64 {
        let fm = FileManager.default
        switch target {
        case .descriptor:
            published = true
            return descriptorBytes
        case .file(let output, let temporary):
            try output.publish(temporary)
            published = true
            return (try? fm.attributesOfItem(atPath: output.resolvedPath)[.size] as? Int64) ?? 0
        case .folder(let final, let temporary):
            if fm.fileExists(atPath: final) { try? fm.removeItem(atPath: final) }  // empty (checked at open)
            try OutputTarget.rename(temporary, to: final, naming: final)
            published = true
            let names = (try? fm.contentsOfDirectory(atPath: final)) ?? []
            return names.reduce(Int64(0)) { sum, name in
                sum + ((try? fm.attributesOfItem(atPath: final + "/" + name)[.size] as? Int64) ?? 0)
            }
        }
    }

    private func drainPackets() throws {
        guard let c = codecContext, let p = packet, let fmt = formatContext, let st = stream else {
            return
        }
        while true {
            let r = avcodec_receive_packet(c, p)
            if r == bn_averror_eagain() || r == bn_averror_eof() { return }
            try LibAV.check(r, "encoding", path: displayPath)
            p.pointee.stream_index = st.pointee.index
            if p.pointee.duration == 0 { p.pointee.duration = 1 }  // one frame, codec time base
            av_packet_rescale_ts(p, c.pointee.time_base, st.pointee.time_base)
            let w = av_interleaved_write_frame(fmt, p)
            if w < 0 { throw outputError(w, operation: "writing packet") }
        }
    }

    /// Maps an output failure, preferring the descriptor's own errno (EPIPE, ENOSPC).
    private func outputError(_ code: Int32, operation: String) -> MediaError {
        if let e = descriptorOutput?.lastErrno, e != 0 {
            return LibAV.error(bn_averror(e), operation: operation, path: displayPath)
        }
        return LibAV.error(code, operation: operation, path: displayPath)
    }

    // MARK: Teardown

    /// Frees libav state and, unless the output was published, deletes the temporary file or folder.
    func abort() {
        release()
        guard !published else { return }
        switch target {
        case .file(_, let temporary), .folder(_, let temporary):
            try? FileManager.default.removeItem(atPath: temporary)
        case .descriptor:
            break
        }
    }

    private func release() {
        if let fmt = formatContext {
            if descriptorOutput != nil {
                fmt.pointee.pb = nil
            } else if (fmt.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0, fmt.pointee.pb != nil
            {
                avio_closep(&fmt.pointee.pb)
            }
            avformat_free_context(fmt)
            formatContext = nil
        }
        descriptorOutput?.close()
        descriptorOutput = nil
        if let fd = ownedDescriptor {
            close(fd)
            ownedDescriptor = nil
        }
        if codecContext != nil { avcodec_free_context(&codecContext) }
        if frame != nil { av_frame_free(&frame) }
        if packet != nil { av_packet_free(&packet) }
        converter = nil
        stream = nil
    }

    deinit { abort() }
}
