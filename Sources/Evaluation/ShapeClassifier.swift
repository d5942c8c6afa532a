import Foundation

/// Classifies one object's coverage map as a world shape by fitting each shape's exact
/// geometry (`WorldShape.coverage`, the anti-aliased rendering of Scripts/training/world.py).
///
/// For each shape the size comes from the measured area (area = k · r², `areaPerRadiusSquared`),
/// the centre from the coverage centroid (the centroid of every world shape is its centre), and
/// the rotation from a coarse-to-fine search over the shape's symmetry period. The score is the
/// soft intersection-over-union `Σ min(a, t) / Σ max(a, t)` between observed coverage `a` and the
/// template `t`. This is scale invariant and, thanks to the rotation search, rotation invariant;
/// the fitted angle is what spinning detection tracks.
public struct ShapeClassifier: Sendable {
    /// Samples per side of the fitting grid: bigger crops are subsampled with a stride so that the
    /// fit costs the same at every size.
    public var gridSamples = 24
    /// Coarse rotation steps per symmetry period, refined by 3 ternary levels afterwards
    /// (finest step: period / 216, e.g. 0.4° for the square).
    public var coarseAngles = 8

    public init() {}

    /// Fit of one shape to a coverage map.
    public struct Fit: Sendable, Equatable, Codable {
        public var shape: WorldShape
        /// Soft IoU in 0...1.
        public var score: Double
        /// Fitted rotation in radians, in `0..<rotationPeriod` (0 for the circle).
        public var angle: Double
        /// Fitted size parameter r in pixels.
        public var radius: Double
    }

    /// Scores every shape against `coverage`.
    /// - Parameter coverage: layout `[height, width]` Float in 0...1, row-major: how much of each
    ///   pixel the object covers (pixel centres at `(x + 0.5, y + 0.5)`).
    /// - Returns: one fit per shape in `WorldShape.allCases` order; empty when coverage is all zero.
    public func fits(coverage: [Float], width: Int, height: Int) -> [Fit] {
        guard coverage.count == width * height, width > 0, height > 0 else { return [] }
        // 1. Area and centroid.
        var area = 0.0, sx = 0.0, sy = 0.0
        coverage.withUnsafeBufferPointer { a in
            for y in 0..<height {
                for x in 0..<width {
                    let v = Double(a[y * width + x])
                    if v > 0 {
                        area += v
                        sx += v * (Double(x) + 0.5)
                        sy += v * (Double(y) + 0.5)
                    }
                }
            }
        }
        guard area > 0 else { return [] }
        let cx = sx / area, cy = sy / area
        // 2. Sample grid: the crop covering every template's extent, with a stride.
        let reach = WorldShape.allCases.map {
            $0.extentPerRadius * (area / $0.areaPerRadiusSquared).squareRoot()
        }.max()! + 1.5
        let x0 = max(0, Int((cx - reach).rounded(.down))), x1 = min(width, Int((cx + reach).rounded(.up)))
        let y0 = max(0, Int((cy - reach).rounded(.down))), y1 = min(height, Int((cy + reach).rounded(.up)))
        let stride = max(1, max(x1 - x0, y1 - y0) / gridSamples)
        var dx: [Double] = [], dy: [Double] = [], obs: [Double] = []
        for y in Swift.stride(from: y0, to: y1, by: stride) {
            for x in Swift.stride(from: x0, to: x1, by: stride) {
                dx.append(Double(x) + 0.5 - cx)
                dy.append(Double(y) + 0.5 - cy)
                obs.append(Double(coverage[y * width + x]))
            }
        }
        // 3. Per shape: size from area, rotation by coarse search then ternary refinement.
        return WorldShape.allCases.map { shape in
            let r = (area / shape.areaPerRadiusSquared).squareRoot()
            func iou(_ angle: Double) -> Double {
                Self.softIoU(shape: shape, r: r, angle: angle, dx: dx, dy: dy, obs: obs)
            }
            let period = shape.rotationPeriod
            guard period > 0 else { return Fit(shape: shape, score: iou(0), angle: 0, radius: r) }
            var best = (score: -1.0, angle: 0.0)
            for j in 0..<coarseAngles {
                let a = Double(j) * period / Double(coarseAngles)
                let s = iou(a)
                if s > best.score { best = (s, a) }
            }
            var step = period / Double(coarseAngles)
            for _ in 0..<3 {
                step /= 3
                for a in [best.angle - step, best.angle + step] {
                    let s = iou(a)
                    if s > best.score { best = (s, a) }
                }
            }
            var angle = best.angle.truncatingRemainder(dividingBy: period)
            if angle < 0 { angle += period }
            return Fit(shape: shape, score: best.score, angle: angle, radius: r)
        }
    }

    /// The best-fitting shape, or nil for an empty map.
    public func classify(coverage: [Float], width: Int, height: Int) -> Fit? {
        fits(coverage: coverage, width: width, height: height).max { $0.score < $1.score }
    }

    static func softIoU(
        shape: WorldShape, r: Double, angle: Double, dx: [Double], dy: [Double], obs: [Double]
    ) -> Double {
        let c = cos(angle), s = sin(angle)
        var inter = 0.0, union = 0.0
        dx.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { py in
                obs.withUnsafeBufferPointer { po in
                    for i in 0..<po.count {
                        let t = shape.coverage(dx: px[i], dy: py[i], r: r, cosA: c, sinA: s)
                        let a = po[i]
                        inter += min(a, t)
                        union += max(a, t)
                    }
                }
            }
        }
        return union > 0 ? inter / union : 0
    }
}
