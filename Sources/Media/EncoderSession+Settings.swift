import CFFmpeg
import Foundation

/// Validation and per-encoder options for `EncoderSession`.
extension EncoderSession {
    static func validate(
        options: VideoOptions, codec: VideoCodec, pixelFormat: AVPixelFormat, path: String
    ) throws {
        let w = options.width
        let h = options.height
        guard w > 0, h > 0, w <= 16384, h <= 16384 else {
            throw MediaError(
                .invalidDimensions(
                    width: w, height: h, reason: "width and height must be 1...16384"), path: path)
        }
        if pixelFormat == AV_PIX_FMT_YUV420P, w % 2 != 0 || h % 2 != 0 {
            let widths = w % 2 == 0 ? [w] : [w - 1, w + 1].filter { $0 > 0 }
            let heights = h % 2 == 0 ? [h] : [h - 1, h + 1].filter { $0 > 0 }
            let sizes = widths.flatMap { ww in heights.map { "\(ww)x\($0)" } }
            throw MediaError(.oddDimensions(width: w, height: h, suggestions: sizes), path: path)
        }
        if let range = codec.crfRange, !range.contains(options.crf) {
            throw MediaError(
                .invalidOption(
                    name: "crf", value: "\(options.crf)",
                    reason: "\(codec.rawValue) accepts \(range.lowerBound)...\(range.upperBound)"),
                path: path)
        }
        _ = try FrameRate(options.fps.numerator, options.fps.denominator)
    }

    /// Private encoder options for CRF and speed.
    static func encoderOptions(encoderName: String, options: VideoOptions) -> [(String, String)] {
        let rank = options.preset.rank  // 0 ultrafast ... 9 placebo
        switch encoderName {
        case "libx264":
            return [("crf", "\(options.crf)"), ("preset", options.preset.rawValue)]
        case "libvpx-vp9":
            // cpu-used 0 (slowest) ... 8 (fastest); medium -> 3.
            return [
                ("crf", "\(options.crf)"), ("deadline", "good"),
                ("cpu-used", "\(max(0, 8 - rank))"), ("row-mt", "1"),
            ]
        case "libsvtav1":
            // SVT-AV1 presets 0 (slowest) ... 13 (fastest); medium -> 8.
            return [("crf", "\(options.crf)"), ("preset", "\(max(0, 13 - rank))")]
        case "libaom-av1":
            return [
                ("crf", "\(options.crf)"), ("cpu-used", "\(max(0, 8 - rank))"), ("row-mt", "1"),
            ]
        case "librav1e":
            // rav1e quantizer 0...255 (≈ 4 × CRF), speed 0 (slowest) ... 10 (fastest).
            return [("qp", "\(min(255, options.crf * 4))"), ("speed", "\(max(0, 10 - rank))")]
        default:
            return []
        }
    }

    static func describe(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}
