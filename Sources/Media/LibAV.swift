import CFFmpeg
import Foundation

/// Small helpers around libav conventions: error codes, dictionaries, log level.
enum LibAV {
    /// The text libav gives for an error code (`av_strerror`; `av_err2str` is a macro).
    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buffer, buffer.count) < 0 {
            return "unknown error \(code)"
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Maps a negative libav return code to a `MediaError`: ENOSPC and EPIPE get their own kinds,
    /// so a full disk or a closed pipe is recognisable whatever operation hit it.
    static func error(_ code: Int32, operation: String, path: String?) -> MediaError {
        let message = errorText(code)
        if code == bn_averror(ENOSPC) { return MediaError(.diskFull(message: message), path: path) }
        if code == bn_averror(EPIPE) { return MediaError(.brokenPipe, path: path) }
        return MediaError(.libav(operation: operation, code: code, message: message), path: path)
    }

    /// Throws when `code` is negative.
    @discardableResult
    static func check(_ code: Int32, _ operation: @autoclosure () -> String, path: String?) throws -> Int32 {
        if code < 0 { throw error(code, operation: operation(), path: path) }
        return code
    }

    /// Builds an `AVDictionary` from key/value pairs; the caller frees it with `av_dict_free`.
    static func dictionary(_ entries: [(String, String)]) -> OpaquePointer? {
        var dict: OpaquePointer? = nil
        for (k, v) in entries { av_dict_set(&dict, k, v, 0) }
        return dict
    }

    /// Keys left in a dictionary after an `*_open` call: the options nobody recognised.
    static func keys(_ dict: OpaquePointer?) -> [String] {
        var out: [String] = []
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
            out.append(String(cString: e.pointee.key))
            entry = e
        }
        return out
    }

    /// All entries of a dictionary.
    static func entries(_ dict: OpaquePointer?) -> [String: String] {
        var out: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
            out[String(cString: e.pointee.key)] = String(cString: e.pointee.value)
            entry = e
        }
        return out
    }

    /// Lowers libav's log level to errors once, unless the caller already chose a level with
    /// `MediaOutput.setLibraryLogging(verbose:)` (the library default is `AV_LOG_INFO`).
    static let quietByDefault: Void = {
        if av_log_get_level() == AV_LOG_INFO { av_log_set_level(AV_LOG_ERROR) }
    }()
}

/// Process-wide settings for media output.
public enum MediaOutput {
    /// Ignores SIGPIPE for the whole process, so a reader that exits early makes writes fail with
    /// EPIPE (reported as `MediaError.Kind.brokenPipe`) instead of killing the process (exit 141).
    /// Call once at start-up, before writing to a pipe.
    public static func ignoreBrokenPipeSignal() {
        bn_ignore_sigpipe()
    }

    /// Sets libav's log level: errors only (the default), or verbose when `verbose` is true.
    /// libav logs go to stderr, never to stdout.
    public static func setLibraryLogging(verbose: Bool) {
        av_log_set_level(verbose ? AV_LOG_VERBOSE : AV_LOG_ERROR)
    }
}
