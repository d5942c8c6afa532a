import CFFmpeg
import Foundation

/// An `AVIOContext` that writes to an open file descriptor (a pipe, standard output, or a
/// device, FIFO or socket given as the output path: `OutputTarget`).
///
/// Non-seekable, so muxers that need to seek (plain MP4) refuse it and the writer uses fragmented
/// MP4 instead. A failed `write` is recorded with its `errno` and reported to libav as
/// `AVERROR(errno)`, so EPIPE (reader gone) and ENOSPC surface as typed errors.
/// Owned by one `EncoderSession`; not shared between tasks.
final class DescriptorOutput {
    let fd: Int32
    private(set) var bytesWritten: Int64 = 0
    private(set) var lastErrno: Int32 = 0
    private(set) var context: UnsafeMutablePointer<AVIOContext>?

    /// libav buffers this much before calling `write`.
    private static let bufferSize: Int32 = 64 * 1024

    init(fd: Int32, path: String) throws {
        self.fd = fd
        guard let buffer = av_malloc(Int(Self.bufferSize)) else {
            throw MediaError(
                .libav(operation: "av_malloc", code: bn_averror(ENOMEM), message: "out of memory"),
                path: path)
        }
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        guard
            let ctx = avio_alloc_context(
                buffer.assumingMemoryBound(to: UInt8.self), Self.bufferSize, 1, opaque, nil,
                descriptorWritePacket, nil)
        else {
            av_free(buffer)
            throw MediaError(
                .libav(
                    operation: "avio_alloc_context", code: bn_averror(ENOMEM),
                    message: "out of memory"), path: path)
        }
        ctx.pointee.seekable = 0
        context = ctx
    }

    fileprivate func write(_ buffer: UnsafeMutablePointer<UInt8>, count: Int32) -> Int32 {
        let e = Self.writeAll(fd, buffer, count: Int(count))
        if e != 0 {
            lastErrno = e
            return bn_averror(e)
        }
        bytesWritten += Int64(count)
        return count
    }

    /// Writes all `count` bytes at `buffer` to `fd`, through short writes and EINTR.
    /// - Returns: 0, or the `errno` of the write that failed.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer?, count: Int) -> Int32 {
        guard let buffer else { return count == 0 ? 0 : EINVAL }
        var offset = 0
        while offset < count {
            let n = Foundation.write(fd, buffer + offset, count - offset)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return e
            }
            offset += n
        }
        return 0
    }

    /// Frees the context and its buffer (the descriptor stays open: the caller owns it).
    func close() {
        guard let ctx = context else { return }
        av_freep(&ctx.pointee.buffer)
        var optional: UnsafeMutablePointer<AVIOContext>? = ctx
        avio_context_free(&optional)
        context = nil
    }

    deinit { close() }
}

/// libav write callback; `opaque` is the unretained `DescriptorOutput` (kept alive by its session).
private func descriptorWritePacket(
    _ opaque: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ size: Int32
) -> Int32 {
    guard let opaque, let buffer else { return bn_averror(EINVAL) }
    let output = Unmanaged<DescriptorOutput>.fromOpaque(opaque).takeUnretainedValue()
    return output.write(buffer, count: size)
}
