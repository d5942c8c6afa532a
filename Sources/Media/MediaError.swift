/// The one error type of the `Media` module.
///
/// `kind` says what went wrong and carries its context; `path` names the file, folder or
/// descriptor involved (`"fd:1"` for standard output) when there is one. `description` is written
/// for the user and includes the libav error text (`av_strerror`) where libav reported the failure.
public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 4:2:0 chroma needs even sizes; `suggestions` lists nearby even sizes that would work.
        case oddDimensions(width: Int, height: Int, suggestions: [String])
        /// Width or height is not positive or exceeds what the encoder supports.
        case invalidDimensions(width: Int, height: Int, reason: String)
        /// A frame rate that is not a positive rational.
        case invalidFrameRate(numerator: Int, denominator: Int)
        /// A pixel buffer whose size does not match `width × height × 3`.
        case pixelCountMismatch(width: Int, height: Int, expected: Int, found: Int)
        /// A frame passed to a writer whose size differs from the stream's.
        case frameSizeMismatch(index: Int, expected: String, found: String)
        /// A container name not in `MediaFormat`.
        case unknownFormat(name: String, known: [String])
        /// A codec name not in `VideoCodec`.
        case unknownCodec(name: String, known: [String])
        /// The container cannot be inferred (a pipe, or a path without a known extension).
        case formatRequired(reason: String)
        /// The codec cannot go into the container (e.g. H.264 in WebM).
        case unsupportedCombination(codec: String, format: String, reason: String)
        /// libavcodec was built without any of the encoders that implement `codec`.
        case encoderUnavailable(codec: String, tried: [String])
        /// An option value the encoder rejected (e.g. a CRF out of range).
        case invalidOption(name: String, value: String, reason: String)
        /// The output (or its folder) cannot be created or written.
        case cannotOpenOutput(message: String)
        /// The output path names a directory (`resolvedPath`: the one a symbolic link led to).
        case isDirectory(resolvedPath: String?)
        /// The folder for a PNG sequence already exists and is not empty.
        case destinationExists
        /// The device is full (ENOSPC).
        case diskFull(message: String)
        /// The reading end of the pipe was closed (EPIPE): normal when a consumer exits early.
        case brokenPipe
        /// Any other libav failure: the operation that failed and libav's error text.
        case libav(operation: String, code: Int32, message: String)
        /// The writer was cancelled (explicitly or by task cancellation); nothing was kept.
        case cancelled
        /// `append` or `finish` after the writer finished, failed or was cancelled.
        case writerClosed
        /// An input file that cannot be opened or has no video stream.
        case cannotOpenInput(message: String)
        /// A decode failure while reading.
        case decodeFailed(message: String)
    }

    public var kind: Kind
    /// The file, folder or descriptor involved, if any.
    public var path: String?

    public init(_ kind: Kind, path: String? = nil) {
        self.kind = kind
        self.path = path
    }

    public var description: String {
        let prefix = path.map { "\($0): " } ?? ""
        switch kind {
        case .oddDimensions(let w, let h, let s):
            return "\(prefix)\(w)x\(h) cannot be encoded as yuv420p (4:2:0 needs an even width"
                + " and height); sizes that would work: \(s.joined(separator: ", "))"
        case .invalidDimensions(let w, let h, let reason):
            return "\(prefix)invalid frame size \(w)x\(h): \(reason)"
        case .invalidFrameRate(let n, let d):
            return
                "\(prefix)invalid frame rate \(n)/\(d): numerator and denominator must be positive"
        case .pixelCountMismatch(let w, let h, let e, let f):
            return "\(prefix)a \(w)x\(h) RGB frame needs \(e) values, got \(f)"
        case .frameSizeMismatch(let i, let e, let f):
            return "\(prefix)frame \(i) is \(f) but the stream is \(e)"
        case .unknownFormat(let n, let k):
            return "\(prefix)unknown format '\(n)'; known formats: \(k.joined(separator: ", "))"
        case .unknownCodec(let n, let k):
            return "\(prefix)unknown codec '\(n)'; known codecs: \(k.joined(separator: ", "))"
        case .formatRequired(let reason):
            return "\(prefix)\(reason)"
        case .unsupportedCombination(let c, let f, let reason):
            return "\(prefix)codec \(c) cannot be written to \(f): \(reason)"
        case .encoderUnavailable(let c, let tried):
            return
                "\(prefix)this FFmpeg build has no \(c) encoder (tried \(tried.joined(separator: ", ")))"
        case .invalidOption(let n, let v, let reason):
            return "\(prefix)invalid \(n) '\(v)': \(reason)"
        case .cannotOpenOutput(let m):
            return "\(prefix)cannot write output: \(m)"
        case .isDirectory(let resolved):
            let target = resolved.map { " (\($0))" } ?? ""
            return "\(prefix)is a directory\(target), not a file; name a file to write"
        case .destinationExists:
            return "\(prefix)folder exists and is not empty; choose a new folder for the frames"
        case .diskFull(let m):
            return "\(prefix)no space left on device: \(m)"
        case .brokenPipe:
            return "\(prefix)the reader closed the pipe (broken pipe)"
        case .libav(let op, let code, let m):
            return "\(prefix)\(op) failed: \(m) (libav error \(code))"
        case .cancelled:
            return "\(prefix)writing was cancelled; no output was kept"
        case .writerClosed:
            return "\(prefix)the writer is already finished, failed or cancelled"
        case .cannotOpenInput(let m):
            return "\(prefix)cannot open video: \(m)"
        case .decodeFailed(let m):
            return "\(prefix)decoding failed: \(m)"
        }
    }
}
