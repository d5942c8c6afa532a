import Foundation
import Testing
@testable import Evaluation

/// Trajectories written from the world's formulas (`trajectory` in Scripts/training/world.py),
/// at the edges of the world's parameter ranges.
@Suite struct MotionClassifierTests {
    let classifier = MotionClassifier()

    func track(_ frames: Int, _ f: (Double) -> (x: Double, y: Double, r: Double)) -> [ObjectObservation] {
        (0..<frames).map { t in
            let u = Double(t) / Double(frames - 1)
            let p = f(u)
            return ObjectObservation(frame: t, x: p.x, y: p.y, area: .pi * p.r * p.r)
        }
    }

    func motion(_ tr: [ObjectObservation], angles: [(frame: Int, angle: Double)] = [], period: Double = 0) -> WorldMotion {
        classifier.classify(track: tr, frameCount: tr.count, angles: angles, period: period).motion
    }

    @Test(arguments: [33, 129])
    func straightMotionsAtMinimumLength(frames: Int) {
        let L = 0.15
        #expect(motion(track(frames) { (0.5 + (0.5 - $0) * L, 0.4, 0.12) }) == .movingLeft)
        #expect(motion(track(frames) { (0.5 + ($0 - 0.5) * L, 0.4, 0.12) }) == .movingRight)
        #expect(motion(track(frames) { (0.5, 0.5 + (0.5 - $0) * L, 0.12) }) == .movingUp)  // y down
        #expect(motion(track(frames) { (0.5, 0.5 + ($0 - 0.5) * L, 0.12) }) == .movingDown)
    }

    /// Bouncing with the fewest arcs (1.5) ends at the top: net upward travel, yet bouncing.
    @Test func bouncingWithOneAndAHalfArcsIsNotMovingUp() {
        let tr = track(33) { u in (0.5 + (u - 0.5) * 0.1, 0.6 + 0.1 - 0.2 * abs(sin(.pi * 1.5 * u)), 0.12) }
        #expect(motion(tr) == .bouncing)
    }

    /// Half a turn on the smallest orbit (radius 0.1) is an orbit, not a straight move.
    @Test func halfTurnOrbit() {
        let tr = track(33) { u in
            let th = 0.3 + 2 * .pi * 0.5 * u
            return (0.5 + 0.1 * cos(th), 0.5 + 0.1 * sin(th), 0.1)
        }
        #expect(motion(tr) == .orbiting)
    }

    @Test func growingShrinkingSpinningStill() {
        #expect(motion(track(33) { (0.5, 0.5, 0.07 * (1 + 0.8 * $0)) }) == .growing)
        #expect(motion(track(33) { (0.5, 0.5, 0.25 * (1 - (1 - 1 / 1.8) * $0)) }) == .shrinking)
        let still = track(33) { _ in (0.5, 0.5, 0.12) }
        let spin = (0..<33).map { (frame: $0, angle: (2 * Double.pi * 0.4 * Double($0) / 32).truncatingRemainder(dividingBy: .pi / 2)) }
        #expect(motion(still, angles: spin, period: .pi / 2) == .spinning)
        #expect(motion(still, angles: spin.map { ($0.frame, 0.01 * Double($0.frame % 2)) }, period: .pi / 2) == .standingStill)
        #expect(motion(still) == .standingStill)
    }

    @Test func circleFitRecoversCentreAndRadius() throws {
        let xs = (0..<10).map { 0.3 + 0.2 * cos(Double($0) * 0.3) }, ys = (0..<10).map { 0.4 + 0.2 * sin(Double($0) * 0.3) }
        let c = try #require(MotionClassifier.fitCircle(xs: xs, ys: ys))
        #expect(abs(c.cx - 0.3) < 1e-9 && abs(c.cy - 0.4) < 1e-9 && abs(c.r - 0.2) < 1e-9)
        #expect(MotionClassifier.fitCircle(xs: [0, 0.1, 0.2], ys: [0, 0.1, 0.2]) == nil)  // collinear
    }
}
