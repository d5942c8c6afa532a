import Foundation
import Testing
@testable import Evaluation

@Suite struct ScoringTests {
    func object(_ color: String, _ shape: WorldShape, _ motion: WorldMotion) -> ObjectEstimate {
        ObjectEstimate(
            color: color, shape: shape, motion: motion, shapeScores: [:],
            motionFeatures: MotionClassifier().features(track: [], frameCount: 1, angles: [], period: 0),
            framesSeen: 1, meanArea: 0.1)
    }

    /// Expected objects are matched by colour, not by order.
    @Test func matchesObjectsByColour() {
        let expected = SceneAttributes(background: "black", objects: [
            .init(shape: "square", color: "red", motion: "moving left"),
            .init(shape: "circle", color: "blue", motion: "growing"),
        ])
        let detected = SceneEstimate(background: "black", backgroundRGB: RGB(0, 0, 0), objects: [
            object("blue", .circle, .growing), object("red", .square, .movingRight),
        ])
        let s = SceneScorer.score(expected: expected, detected: detected)
        #expect(s.count == 8)
        #expect(s.filter { !$0.correct }.map(\.kind) == [.motion])
        let r = AccuracyReport([s])
        #expect(r.overall == 7.0 / 8)
        #expect(r.accuracy(.motion) == 0.5)
    }

    /// A missing object makes its colour, shape and motion wrong; a wrongly coloured detection is
    /// still judged on shape and motion.
    @Test func unmatchedObjects() {
        let expected = SceneAttributes(background: "white", objects: [
            .init(shape: "square", color: "red", motion: "spinning"),
            .init(shape: "diamond", color: "green", motion: "bouncing"),
        ])
        let detected = SceneEstimate(background: "gray", backgroundRGB: RGB(128, 128, 128), objects: [
            object("orange", .square, .spinning),
        ])
        let s = SceneScorer.score(expected: expected, detected: detected)
        #expect(s.map(\.correct) == [false, false, false, true, true, false, false, false])
        #expect(s.last?.detected == "none")
    }

    // MARK: - Manifest

    @Test func manifestErrorsCarryLineNumbers() {
        let text = """
            {"prompt": "a", "video": "a.mp4", "attributes": {"background": "black", "objects": [{"shape": "circle", "color": "red", "motion": "growing"}]}}

            # comment
            {"prompt": "b", "video": "b.mp4"}
            {"prompt": "c", "video": "c.mp4", "attributes": {"background": "black", "objects": [{"shape": "hexagon", "color": "red", "motion": "growing"}]}}
            not json
            """
        let r = EvaluationManifest.parse(text, file: "m.jsonl", folder: URL(fileURLWithPath: "/data"), spec: WorldClips.spec)
        #expect(r.count == 4)
        #expect((try? r[0].get())?.videoPath == "/data/a.mp4")
        func kind(_ i: Int) -> EvaluationError.Kind? {
            if case .failure(let e) = r[i] { return e.kind }
            return nil
        }
        #expect(kind(1) == .badManifestLine(line: 4, reason: "missing key 'attributes'"))
        #expect(kind(2) == .unknownName(line: 5, field: "shape", value: "hexagon"))
        if case .badManifestLine(let line, _) = kind(3) { #expect(line == 6) } else { Issue.record("line 6 not reported") }
    }

    @Test func specErrorsNameTheKey() {
        let bad = #"{"backgrounds": {"black": [0, 0]}, "colors": {"red": [1, 2, 3]}, "shapes": [], "motions": []}"#
        #expect(throws: EvaluationError.self) { try WorldSpec(json: Data(bad.utf8), file: "s.json") }
        let shape = #"{"backgrounds": {"black": [0, 0, 0]}, "colors": {"red": [1, 2, 3]}, "shapes": ["star"], "motions": []}"#
        do {
            _ = try WorldSpec(json: Data(shape.utf8), file: "s.json")
            Issue.record("unknown shape accepted")
        } catch let e as EvaluationError {
            #expect(e.description.contains("star"))
        } catch { Issue.record("\(error)") }
    }

    @Test func clipSizeIsChecked() {
        #expect(throws: EvaluationError.self) { try RGBClip(width: 2, height: 2, frames: [[UInt8](repeating: 0, count: 11)]) }
        #expect(throws: EvaluationError.self) { try RGBClip(width: 2, height: 2, frames: []) }
    }
}
