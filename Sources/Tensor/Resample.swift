import Foundation

/// Separable resampling kernels for latents and images.
///
/// Port of Pillow's `ImagingResample` coefficient rule (`src/libImaging/Resample.c`,
/// `precompute_coeffs`), applied per axis in float32 with float64 weights:
/// ```
/// scale = in / out;  filterscale = antialias ? max(scale, 1) : 1;  support = radius · filterscale
/// center_i = (i + 0.5)·scale
/// xmin = max(trunc(center − support + 0.5), 0);  xmax = min(trunc(center + support + 0.5), in)
/// w_j = K((j − center + 0.5) / filterscale) for j in xmin..<xmax, normalised to sum 1
/// ```
/// Half-pixel centres (`align_corners=False`); edges renormalise the clipped kernel. With
/// `antialias`, downsampling widens the kernel by the size ratio, so `.area` is exact averaging
/// for integer factors and `.lanczos3` is Pillow's antialiased Lanczos.
public enum ResampleFilter: String, Codable, Sendable, CaseIterable {
    /// Nearest sample (`nearest-exact`: index `floor((i + 0.5)·scale)`); never widened.
    case nearest
    /// Triangle kernel, radius 1.
    case bilinear
    /// Keys cubic with a = −0.5 (Pillow's bicubic), radius 2.
    case bicubic
    /// `sinc(x)·sinc(x/3)`, radius 3.
    case lanczos3
    /// Box kernel, radius 0.5; widened when downsampling, it is area averaging.
    case area

    /// Kernel radius in input samples at scale 1.
    public var radius: Double {
        switch self {
        case .nearest, .area: return 0.5
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos3: return 3
        }
    }

    /// The kernel K(x).
    public func weight(_ x: Double) -> Double {
        switch self {
        case .nearest, .area:
            return (x > -0.5 && x <= 0.5) ? 1 : 0
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .bicubic:
            let a = -0.5, t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos3:
            if x > -3 && x < 3 { return Self.sinc(x) * Self.sinc(x / 3) }
            return 0
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = Double.pi * x
        return Foundation.sin(px) / px
    }

    /// Per-output-sample taps for resizing `inSize` samples to `outSize`.
    /// - Returns: for output `i`, the first input index and the normalised float32 weights.
    public func coefficients(inSize: Int, outSize: Int, antialias: Bool = true) -> [(start: Int, weights: [Float])] {
        let scale = Double(inSize) / Double(outSize)
        let filterscale = (antialias && self != .nearest) ? max(scale, 1) : 1
        let support = radius * filterscale
        let ss = 1 / filterscale
        return (0..<outSize).map { i in
            let center = (Double(i) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize)
            var w = (xmin..<max(xmax, xmin)).map { weight((Double($0) - center + 0.5) * ss) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return (xmin, w.map { Float($0) })
        }
    }
}

extension Tensor {
    /// Resizes axis `axis` to `size` samples with `filter`; all other axes unchanged.
    /// Layout: any; the tensor is viewed as `[outer, shape[axis], inner]`. An axis already of
    /// length `size` is returned unchanged (bit for bit).
    public func resampled(axis: Int, to size: Int, filter: ResampleFilter, antialias: Bool = true) -> Tensor {
        precondition(axis >= 0 && axis < rank && size > 0, "bad resample axis \(axis) or size \(size)")
        let n = shape[axis]
        if n == size { return self }
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let taps = filter.coefficients(inSize: n, outSize: size, antialias: antialias)
        var outShape = shape
        outShape[axis] = size
        return data.withUnsafeBufferPointer { src in
            let s = UncheckedPointer(UnsafeMutablePointer(mutating: src.baseAddress))
            return Tensor(shape: outShape) { dst in
                let d = UncheckedPointer(dst.baseAddress)
                Threads.parallelFor(outer * size, costPerItem: inner * 4) { range in
                    for row in range {
                        let o = row / size, i = row % size
                        let out = d.value! + row * inner
                        for c in 0..<inner { out[c] = 0 }
                        let (start, weights) = taps[i]
                        for (j, w) in weights.enumerated() {
                            let input = s.value! + ((o * n + start + j) * inner)
                            for c in 0..<inner { out[c] += w * input[c] }
                        }
                    }
                }
            }
        }
    }

    /// Resizes a video latent over frames, height and width, per channel.
    /// Layout: `[batch, frames, height, width, channels]` → `[batch, size[0], size[1], size[2], channels]`.
    /// Axes are resampled in the order frames, height, width; unchanged axes are copied exactly.
    public func resampledVideo(to size: [Int], filter: ResampleFilter, antialias: Bool = true) -> Tensor {
        precondition(rank == 5 && size.count == 3, "resampledVideo needs [B,T,H,W,C] and 3 sizes")
        var t = self
        for a in 0..<3 { t = t.resampled(axis: a + 1, to: size[a], filter: filter, antialias: antialias) }
        return t
    }
}
