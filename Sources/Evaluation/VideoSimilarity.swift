import Foundation

/// Full-reference similarity of two videos of the same size and length, as used to compare a
/// sampling method's video with the standard-sampling video from the same seed.
///
/// - PSNR: over all 8-bit R, G, B samples of all frames, with one mean squared error pooled over
///   the whole video (not an average of per-frame PSNRs), peak 255: `10·log10(255² / MSE)`;
///   `+infinity` for identical videos.
/// - SSIM (Wang, Bovik, Sheikh, Simoncelli 2004): on BT.709 luma `Y = 0.2126 R + 0.7152 G +
///   0.0722 B` of the 8-bit values (range 255), an 11×11 Gaussian window with σ = 1.5 normalised
///   to sum 1, `C1 = (0.01·255)²`, `C2 = (0.03·255)²`, population (biased) variances, evaluated
///   only where the window fits inside the frame ("valid"); the mean over those positions is the
///   frame's SSIM and the video's SSIM is the mean over frames. This equals scikit-image's
///   `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
///   data_range=255)` on the luma plane.
public enum VideoSimilarity {
    public struct Scores: Sendable, Equatable, Codable {
        /// Decibels; `+infinity` when the videos are identical.
        public var psnr: Double
        public var ssim: Double
    }

    /// SSIM window side and Gaussian σ (Wang et al. 2004, §III-C).
    public static let windowSide = 11
    public static let windowSigma = 1.5

    /// Both scores of `test` against `reference`.
    /// - Throws: `EvaluationError.Kind.incomparable` when sizes or frame counts differ, or a
    ///   frame is smaller than the SSIM window.
    public static func compare(_ test: RGBClip, reference: RGBClip, source: String = "clip") throws -> Scores {
        try Scores(psnr: psnr(test, reference: reference, source: source),
                   ssim: ssim(test, reference: reference, source: source))
    }

    /// PSNR in dB over all samples of all frames (peak 255).
    public static func psnr(_ test: RGBClip, reference: RGBClip, source: String = "clip") throws -> Double {
        try checkComparable(test, reference, source: source, needsWindow: false)
        var sum = 0.0
        var count = 0
        for (a, b) in zip(test.frames, reference.frames) {
            var frameSum = 0
            for i in 0..<a.count {
                let d = Int(a[i]) - Int(b[i])
                frameSum += d * d
            }
            sum += Double(frameSum)
            count += a.count
        }
        let mse = sum / Double(count)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }

    /// Mean SSIM over frames, on luma, Gaussian 11×11 window, valid positions only.
    public static func ssim(_ test: RGBClip, reference: RGBClip, source: String = "clip") throws -> Double {
        try checkComparable(test, reference, source: source, needsWindow: true)
        let window = gaussianWindow()
        var total = 0.0
        for (a, b) in zip(test.frames, reference.frames) {
            total += frameSSIM(luma(a), luma(b), width: test.width, height: test.height, window: window)
        }
        return total / Double(test.frames.count)
    }

    // MARK: - Pieces

    static func checkComparable(_ a: RGBClip, _ b: RGBClip, source: String, needsWindow: Bool) throws {
        guard a.width == b.width, a.height == b.height else {
            throw EvaluationError(.incomparable(reason: "size \(a.width)x\(a.height) vs reference \(b.width)x\(b.height)"),
                                  file: source)
        }
        guard a.frames.count == b.frames.count else {
            throw EvaluationError(.incomparable(reason: "\(a.frames.count) frames vs reference \(b.frames.count)"),
                                  file: source)
        }
        if needsWindow, a.width < windowSide || a.height < windowSide {
            throw EvaluationError(
                .incomparable(reason: "frames of \(a.width)x\(a.height) are smaller than the \(windowSide)×\(windowSide) SSIM window"),
                file: source)
        }
    }

    /// The normalised 1-D Gaussian; the 2-D window is its outer product (separable).
    static func gaussianWindow() -> [Double] {
        let r = windowSide / 2
        let w = (-r...r).map { exp(-Double($0 * $0) / (2 * windowSigma * windowSigma)) }
        let s = w.reduce(0, +)
        return w.map { $0 / s }
    }

    /// BT.709 luma of an interleaved RGB frame, in 8-bit units.
    static func luma(_ rgb: [UInt8]) -> [Double] {
        (0..<(rgb.count / 3)).map { (p: Int) -> Double in
            let r = Double(rgb[3 * p]), g = Double(rgb[3 * p + 1]), b = Double(rgb[3 * p + 2])
            return 0.2126 * r + 0.7152 * g + 0.0722 * b
        }
    }

    /// Mean SSIM of one luma plane pair over the valid window positions.
    static func frameSSIM(_ x: [Double], _ y: [Double], width: Int, height: Int, window: [Double]) -> Double {
        let n = window.count
        let outW = width - n + 1, outH = height - n + 1
        /// Separable valid filtering: rows, then columns.
        func filter(_ f: (Int) -> Double) -> [Double] {
            var rows = [Double](repeating: 0, count: height * outW)
            for r in 0..<height {
                for c in 0..<outW {
                    var s = 0.0
                    for k in 0..<n { s += window[k] * f(r * width + c + k) }
                    rows[r * outW + c] = s
                }
            }
            var out = [Double](repeating: 0, count: outH * outW)
            for r in 0..<outH {
                for c in 0..<outW {
                    var s = 0.0
                    for k in 0..<n { s += window[k] * rows[(r + k) * outW + c] }
                    out[r * outW + c] = s
                }
            }
            return out
        }
        let mx = filter { x[$0] }, my = filter { y[$0] }
        let xx = filter { x[$0] * x[$0] }, yy = filter { y[$0] * y[$0] }, xy = filter { x[$0] * y[$0] }
        let c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255)
        var sum = 0.0
        for i in 0..<mx.count {
            let vx = xx[i] - mx[i] * mx[i], vy = yy[i] - my[i] * my[i], cxy = xy[i] - mx[i] * my[i]
            sum += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2))
                / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
        }
        return sum / Double(mx.count)
    }
}
