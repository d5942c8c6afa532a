import Foundation

/// One object's measurements in one frame.
public struct ObjectObservation: Sendable, Equatable, Codable {
    /// Frame index in the clip.
    public var frame: Int
    /// Centroid as fractions of width and height (the world's centre units; y points down).
    public var x: Double
    public var y: Double
    /// Coverage area as a fraction of `min(width, height)²` (the world's size units, squared).
    public var area: Double
}

/// Numbers the motion decision is made from (reported with `--json`).
public struct MotionFeatures: Sendable, Equatable, Codable {
    /// `exp(slope)` of a least-squares line through log(area) over time u in [0, 1]:
    /// end/start area ratio (growing ≥ 3.2 and shrinking ≤ 1/3.2 in the world).
    public var areaRatio: Double
    /// Net centroid displacement, last minus first frame (fractions; y down).
    public var netX: Double
    public var netY: Double
    /// Extent of the centroid path (fractions).
    public var rangeX: Double
    public var rangeY: Double
    /// Direction changes of the vertical path larger than the hysteresis `legThreshold`.
    public var verticalLegs: Int
    /// Circle fitted to the path (Kåsa least squares): radius, RMS radial residual, and the
    /// signed angle swept around its centre (radians). Zero radius when the fit is degenerate.
    public var circleRadius: Double
    public var circleResidual: Double
    public var circleSweep: Double
    /// Net rotation of the fitted shape angle over the clip (radians, unwrapped modulo the
    /// shape's symmetry period); 0 for circles.
    public var rotation: Double
}

/// Decides a world motion from an object's centroid, area and angle tracks.
///
/// World trajectories (`trajectory` in Scripts/training/world.py; u = frame/(F−1)): moving
/// left/right/up/down travel a length ≥ 0.15; bouncing is `y = ay + h/2 − h·|sin(π·b·u)|` with
/// h in [0.2, 0.4], b in [1.5, 3] (≥ 3 vertical legs) and horizontal drift ≤ 0.1; orbiting is a
/// circle of radius 0.1–0.25 swept 0.5–1.25 turns; growing/shrinking scale r by 1.8–2.4;
/// spinning turns 0.4–1.2 turns in place. Decision order: area trend, orbit, bounce, straight
/// travel, rotation, else standing still.
public struct MotionClassifier: Sendable {
    /// End/start area ratio above which an object grows (world minimum 1.8² = 3.2).
    public var growRatio = 1.6
    /// Hysteresis for counting vertical legs (world bounce height ≥ 0.2).
    public var legThreshold = 0.05
    /// Smallest net displacement for a straight motion (world minimum length 0.15).
    public var minTravel = 0.05
    /// Smallest path extent for anything but spinning or standing still.
    public var minPathExtent = 0.03
    /// Orbit: smallest swept angle (world minimum half a turn, π) and largest radial residual
    /// relative to the fitted radius.
    public var minOrbitSweep = 0.6 * Double.pi
    public var maxOrbitResidual = 0.2
    /// Smallest net rotation for spinning (world minimum 0.4 turns ≈ 2.5 rad).
    public var minRotation = 0.8

    public init() {}

    /// - Parameters:
    ///   - track: observations in frame order (frames where the object was not found are absent).
    ///   - frameCount: frames in the clip (time u = frame / (frameCount − 1)).
    ///   - angles: fitted shape angles `(frame, radians)` in frame order, and the shape's symmetry
    ///     period (0 for a circle: no rotation measurable).
    public func classify(
        track: [ObjectObservation], frameCount: Int, angles: [(frame: Int, angle: Double)],
        period: Double
    ) -> (motion: WorldMotion, features: MotionFeatures) {
        let f = features(track: track, frameCount: frameCount, angles: angles, period: period)
        return (decide(f), f)
    }

    /// The decision tree over the features (see the type's documentation).
    public func decide(_ f: MotionFeatures) -> WorldMotion {
        if f.areaRatio >= growRatio { return .growing }
        if f.areaRatio <= 1 / growRatio { return .shrinking }
        let extent = (f.rangeX * f.rangeX + f.rangeY * f.rangeY).squareRoot()
        if extent >= minPathExtent {
            if f.circleRadius > 0.04, f.circleRadius < 0.5, abs(f.circleSweep) >= minOrbitSweep,
                f.circleResidual <= maxOrbitResidual * f.circleRadius
            {
                return .orbiting
            }
            if f.verticalLegs >= 2, f.rangeY > f.rangeX, f.rangeY >= 2 * legThreshold {
                return .bouncing
            }
            if max(abs(f.netX), abs(f.netY)) >= minTravel {
                if abs(f.netX) >= abs(f.netY) { return f.netX < 0 ? .movingLeft : .movingRight }
                return f.netY < 0 ? .movingUp : .movingDown  // image y points down
            }
        }
        if abs(f.rotation) >= minRotation { return .spinning }
        return .standingStill
    }

    public func features(
        track: [ObjectObservation], frameCount: Int, angles: [(frame: Int, angle: Double)],
        period: Double
    ) -> MotionFeatures {
        var f = MotionFeatures(
            areaRatio: 1, netX: 0, netY: 0, rangeX: 0, rangeY: 0, verticalLegs: 0,
            circleRadius: 0, circleResidual: 0, circleSweep: 0, rotation: 0)
        guard let first = track.first, let last = track.last else { return f }
        let span = Double(max(frameCount - 1, 1))
        // 1. Area trend: least-squares slope of log(area) over u.
        let us = track.map { Double($0.frame) / span }
        let logs = track.map { log(max($0.area, 1e-9)) }
        if track.count >= 2 {
            let mu = us.reduce(0, +) / Double(us.count), ml = logs.reduce(0, +) / Double(logs.count)
            var num = 0.0, den = 0.0
            for (u, l) in zip(us, logs) {
                num += (u - mu) * (l - ml)
                den += (u - mu) * (u - mu)
            }
            if den > 0 { f.areaRatio = exp(num / den) }
        }
        // 2. Displacement and extent.
        f.netX = last.x - first.x
        f.netY = last.y - first.y
        f.rangeX = (track.map(\.x).max() ?? 0) - (track.map(\.x).min() ?? 0)
        f.rangeY = (track.map(\.y).max() ?? 0) - (track.map(\.y).min() ?? 0)
        // 3. Vertical legs with hysteresis.
        f.verticalLegs = Self.legs(track.map(\.y), threshold: legThreshold)
        // 4. Circle fit and swept angle.
        if let c = Self.fitCircle(xs: track.map(\.x), ys: track.map(\.y)) {
            f.circleRadius = c.r
            var res = 0.0, sweep = 0.0
            var prev: Double? = nil
            for o in track {
                let d = ((o.x - c.cx) * (o.x - c.cx) + (o.y - c.cy) * (o.y - c.cy)).squareRoot()
                res += (d - c.r) * (d - c.r)
                let a = atan2(o.y - c.cy, o.x - c.cx)
                if let p = prev { sweep += Self.wrap(a - p, period: 2 * Double.pi) }
                prev = a
            }
            f.circleResidual = (res / Double(track.count)).squareRoot()
            f.circleSweep = sweep
        }
        // 5. Rotation, unwrapped modulo the symmetry period.
        if period > 0, angles.count >= 2 {
            var total = 0.0
            for i in 1..<angles.count {
                total += Self.wrap(angles[i].angle - angles[i - 1].angle, period: period)
            }
            f.rotation = total
        }
        return f
    }

    /// `d` wrapped into `[-period/2, period/2)`.
    static func wrap(_ d: Double, period: Double) -> Double {
        var v = (d + period / 2).truncatingRemainder(dividingBy: period)
        if v < 0 { v += period }
        return v - period / 2
    }

    /// Monotone runs of `values` longer than `threshold` (a zigzag with hysteresis).
    static func legs(_ values: [Double], threshold: Double) -> Int {
        guard let v0 = values.first else { return 0 }
        var legs = 0, direction = 0
        var extreme = v0
        for v in values {
            switch direction {
            case 0:
                if abs(v - v0) >= threshold {
                    direction = v > v0 ? 1 : -1
                    extreme = v
                    legs = 1
                }
            case 1:
                if v > extreme {
                    extreme = v
                } else if extreme - v >= threshold {
                    direction = -1
                    extreme = v
                    legs += 1
                }
            default:
                if v < extreme {
                    extreme = v
                } else if v - extreme >= threshold {
                    direction = 1
                    extreme = v
                    legs += 1
                }
            }
        }
        return legs
    }

    /// Kåsa algebraic circle fit: minimises Σ (x² + y² + D·x + E·y + F)². Nil when the points are
    /// (nearly) collinear or too few.
    static func fitCircle(xs: [Double], ys: [Double]) -> (cx: Double, cy: Double, r: Double)? {
        let n = xs.count
        guard n >= 3 else { return nil }
        // Centre the data for conditioning.
        let mx = xs.reduce(0, +) / Double(n), my = ys.reduce(0, +) / Double(n)
        var sxx = 0.0, sxy = 0.0, syy = 0.0, sxz = 0.0, syz = 0.0
        for i in 0..<n {
            let x = xs[i] - mx, y = ys[i] - my
            let z = x * x + y * y
            sxx += x * x
            sxy += x * y
            syy += y * y
            sxz += x * z
            syz += y * z
        }
        // With centred data the normal equations for (D, E) decouple from F:
        // [sxx sxy; sxy syy] [D; E] = −[sxz; syz],  F = −mean(z).
        let det = sxx * syy - sxy * sxy
        guard det > 1e-12 * max(sxx * syy, 1e-30), sxx + syy > 1e-10 else { return nil }
        let d = -(syy * sxz - sxy * syz) / det
        let e = -(sxx * syz - sxy * sxz) / det
        let meanZ = (sxx + syy) / Double(n)
        let r2 = d * d / 4 + e * e / 4 + meanZ
        guard r2 > 0 else { return nil }
        return (mx - d / 2, my - e / 2, r2.squareRoot())
    }
}
