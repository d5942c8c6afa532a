import Foundation
import Testing
@testable import Evaluation

@Suite struct VideoSimilarityTests {
    /// A 20×16, 2-frame clip whose pixels are integer patterns (no fixture file needed).
    static func clip(_ pixel: (Int, Int, Int) -> (Int, Int, Int)) throws -> RGBClip {
        let (w, h) = (20, 16)
        let frames = (0..<2).map { f in
            (0..<h).flatMap { i in
                (0..<w).flatMap { j -> [UInt8] in
                    let (r, g, b) = pixel(f, i, j)
                    return [r, g, b].map { UInt8(min(255, max(0, $0))) }
                }
            }
        }
        return try RGBClip(width: w, height: h, frames: frames)
    }

    static func reference(_ f: Int, _ i: Int, _ j: Int) -> (Int, Int, Int) {
        ((i * 11 + j * 3) % 256, (i * j) % 256, (i + j + f * 40) % 256)
    }
    static func perturbed(_ f: Int, _ i: Int, _ j: Int) -> (Int, Int, Int) {
        let d = (i * 31 + j * 17 + f) % 21 - 10
        let (r, g, b) = reference(f, i, j)
        return (r + d, g + d, b + d)
    }

    // MARK: PSNR

    @Test func identicalClipsHaveInfinitePSNRAndUnitSSIM() throws {
        let a = try Self.clip(Self.reference)
        let s = try VideoSimilarity.compare(a, reference: a)
        #expect(s.psnr == .infinity)
        #expect(abs(s.ssim - 1) < 1e-12)
    }

    /// A constant offset d on every sample: MSE = d², PSNR = 20·log10(255/d).
    @Test(arguments: [1, 5, 32])
    func constantOffsetPSNR(offset: Int) throws {
        let a = try Self.clip { _, _, _ in (100, 100, 100) }
        let b = try Self.clip { _, _, _ in (100 + offset, 100 + offset, 100 + offset) }
        #expect(abs(try VideoSimilarity.psnr(b, reference: a) - 20 * log10(255 / Double(offset))) < 1e-9)
    }

    // MARK: SSIM

    /// Uniform frames have zero variance, so SSIM = (2·μx·μy + C1)/(μx² + μy² + C1) exactly:
    /// grey 110 vs 100 gives (22000 + 6.5025)/(22100 + 6.5025) = 0.9954764440915066.
    @Test func uniformFramesFollowTheLuminanceTerm() throws {
        let a = try Self.clip { _, _, _ in (100, 100, 100) }
        let b = try Self.clip { _, _, _ in (110, 110, 110) }
        #expect(abs(try VideoSimilarity.ssim(b, reference: a) - 0.9954764440915066) < 1e-12)
    }

    /// Structured clips against an independent brute-force numpy implementation (direct 2-D
    /// Gaussian window per valid position, population variances; run 2026-11-27 with numpy 2):
    /// SSIM 0.9409374060362918, MSE 35.522395833333334 → PSNR 32.62578111472301 dB.
    @Test func matchesBruteForceReference() throws {
        let a = try Self.clip(Self.reference), b = try Self.clip(Self.perturbed)
        let s = try VideoSimilarity.compare(b, reference: a)
        #expect(abs(s.ssim - 0.9409374060362918) < 1e-12)
        #expect(abs(s.psnr - 32.62578111472301) < 1e-9)
    }

    /// The window is the normalised 11-tap Gaussian with σ = 1.5, symmetric about its centre.
    @Test func windowIsNormalisedGaussian() {
        let w = VideoSimilarity.gaussianWindow()
        #expect(w.count == 11)
        #expect(abs(w.reduce(0, +) - 1) < 1e-15)
        #expect(w[0] == w[10] && w[5] > w[4])
        #expect(abs(w[4] / w[5] - exp(-1 / 4.5)) < 1e-15)
    }

    // MARK: Errors

    @Test func mismatchedClipsAreRejectedWithContext() throws {
        let a = try Self.clip(Self.reference)
        let short = try RGBClip(width: 20, height: 16, frames: [a.frames[0]])
        #expect(throws: EvaluationError(.incomparable(reason: "1 frames vs reference 2"), file: "x.mp4")) {
            try VideoSimilarity.psnr(short, reference: a, source: "x.mp4")
        }
        let small = try RGBClip(width: 8, height: 8, frames: [[UInt8](repeating: 0, count: 192)])
        #expect(throws: EvaluationError.self) { try VideoSimilarity.ssim(small, reference: small) }
        #expect(throws: EvaluationError.self) { try VideoSimilarity.psnr(small, reference: a) }
    }
}
