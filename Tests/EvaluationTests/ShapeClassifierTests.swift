import Foundation
import Testing
@testable import Evaluation

/// Clean synthetic masks drawn here independently of `WorldShape.coverage`: polygons from the
/// spec's geometry (square half-side 0.886 r, apex-up equilateral triangle with circumradius
/// 1.35 r, rhombus with half-diagonals 1.3 r vertical and 0.85 r horizontal, circle radius r),
/// rasterised by 8×8 supersampling.
enum SyntheticMask {
    static func vertices(_ shape: WorldShape, r: Double, angle: Double) -> [(Double, Double)] {
        let local: [(Double, Double)]
        switch shape {
        case .circle: return []
        case .square: local = [(-1, -1), (1, -1), (1, 1), (-1, 1)].map { ($0.0 * 0.886 * r, $0.1 * 0.886 * r) }
        case .triangle:  // apex up: y points down, so the apex is at −y
            local = [-90.0, 30, 150].map { (1.35 * r * cos($0 * .pi / 180), 1.35 * r * sin($0 * .pi / 180)) }
        case .diamond: local = [(0, -1.3 * r), (0.85 * r, 0), (0, 1.3 * r), (-0.85 * r, 0)]
        }
        // The world maps pixel offsets d to shape coordinates q = R(−angle)·d
        // (qx = c·dx + s·dy, qy = −s·dx + c·dy), so the outline is the local one rotated by +angle.
        let c = cos(angle), s = sin(angle)
        return local.map { (c * $0.0 - s * $0.1, s * $0.0 + c * $0.1) }
    }

    static func inside(_ shape: WorldShape, _ poly: [(Double, Double)], r: Double, x: Double, y: Double) -> Bool {
        if shape == .circle { return x * x + y * y <= r * r }
        var sign = 0.0
        for i in poly.indices {
            let a = poly[i], b = poly[(i + 1) % poly.count]
            let cross = (b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0)
            if cross != 0 {
                if sign == 0 { sign = cross > 0 ? 1 : -1 } else if (cross > 0 ? 1 : -1) != sign { return false }
            }
        }
        return true
    }

    /// Coverage map, layout `[size, size]` Float, shape centred at (cx, cy).
    static func draw(_ shape: WorldShape, r: Double, angle: Double, size: Int, cx: Double, cy: Double) -> [Float] {
        let poly = vertices(shape, r: r, angle: angle)
        var out = [Float](repeating: 0, count: size * size)
        let n = 8
        for py in 0..<size {
            for px in 0..<size {
                // Quick reject far from the shape.
                let dx = Double(px) + 0.5 - cx, dy = Double(py) + 0.5 - cy
                if dx * dx + dy * dy > (1.4 * r + 1.5) * (1.4 * r + 1.5) { continue }
                var hits = 0
                for sy in 0..<n {
                    for sx in 0..<n {
                        let x = Double(px) + (Double(sx) + 0.5) / Double(n) - cx
                        let y = Double(py) + (Double(sy) + 0.5) / Double(n) - cy
                        if inside(shape, poly, r: r, x: x, y: y) { hits += 1 }
                    }
                }
                out[py * size + px] = Float(hits) / Float(n * n)
            }
        }
        return out
    }
}

@Suite struct ShapeClassifierTests {
    let classifier = ShapeClassifier()

    // MARK: - Clean masks

    /// Every shape is recognised at small and large sizes and at arbitrary rotations, off-centre.
    @Test(arguments: WorldShape.allCases, [4.5, 8.0, 14.0, 26.0])
    func recognisesShapeAtSizeAndRotation(shape: WorldShape, r: Double) {
        for angle in [0.0, 0.37, 1.1, 2.5] {
            let size = Int(3.2 * r) + 8
            let mask = SyntheticMask.draw(shape, r: r, angle: angle, size: size, cx: Double(size) / 2 + 0.3, cy: Double(size) / 2 - 0.2)
            let fit = classifier.classify(coverage: mask, width: size, height: size)
            #expect(fit?.shape == shape, "r \(r) angle \(angle): \(classifier.fits(coverage: mask, width: size, height: size))")
        }
    }

    /// The fitted rotation is the drawn one, modulo the shape's symmetry period (what spinning
    /// detection relies on).
    @Test(arguments: [WorldShape.square, .triangle, .diamond])
    func recoversRotation(shape: WorldShape) throws {
        let period = shape.rotationPeriod
        for angle in [0.2, 0.9, 1.7] {
            let mask = SyntheticMask.draw(shape, r: 18, angle: angle, size: 64, cx: 32, cy: 32)
            let fit = try #require(classifier.fits(coverage: mask, width: 64, height: 64).first { $0.shape == shape })
            let err = abs(MotionClassifier.wrap(fit.angle - angle, period: period))
            #expect(err < 2 * .pi / 180, "drawn \(angle), fitted \(fit.angle)")
            #expect(abs(fit.radius - 18) < 0.5)
        }
    }

    /// Upside-down triangles still fit best as triangles (rotation invariance).
    @Test func rotationInvariance() {
        let mask = SyntheticMask.draw(.triangle, r: 12, angle: .pi / 3, size: 48, cx: 24, cy: 24)
        #expect(classifier.classify(coverage: mask, width: 48, height: 48)?.shape == .triangle)
    }

    /// An empty map gives no fit rather than a guess.
    @Test func emptyMapHasNoFit() {
        #expect(classifier.classify(coverage: [Float](repeating: 0, count: 64), width: 8, height: 8) == nil)
        #expect(classifier.fits(coverage: [0.5], width: 2, height: 2).isEmpty)
    }
}
