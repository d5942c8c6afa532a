import Foundation
import Testing
@testable import Evaluation

@Suite struct SceneAnalyzerTests {
    /// Ground-truth clips rendered by the world generator and encoded as H.264: the analyzer
    /// must recover background, object count, colours, shapes and motions.
    @Test func groundTruthClipsScoreAtLeast98Percent() {
        let analyzer = SceneAnalyzer(spec: WorldClips.spec)
        var report = AccuracyReport()
        for (item, clip) in WorldClips.items {
            let est = analyzer.analyze(clip)
            let scores = SceneScorer.score(expected: item.attributes, detected: est)
            report.add(scores)
            for s in scores where !s.correct {
                // Diagnostics for a failure: what was expected and what the analyzer measured.
                print("line \(item.line) \(item.videoPath.split(separator: "/").last!): \(s.kind.rawValue) obj \(s.object ?? -1) expected \(s.expected) got \(s.detected)")
                for o in est.objects { print("   ", o.color, o.shape, o.motion, o.shapeScores.mapValues { ($0 * 1000).rounded() / 1000 }, o.motionFeatures) }
            }
        }
        #expect(report.all.total == 248)  // 40 clips: 40 backgrounds + 40 counts + 3 × 56 objects
        #expect(report.overall >= 0.98)
        for k in AttributeKind.allCases { #expect(report.accuracy(k) >= 0.95, "\(k.rawValue)") }
    }
}
