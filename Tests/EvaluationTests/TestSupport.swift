import Foundation
import TestSupport
@testable import Evaluation

/// Locates `Tests/Fixtures/world-clips` (written by Scripts/fixtures/make_world_clips.py).
enum WorldClips {
    static let folder = TestPaths.fixture("world-clips")

    static let spec: WorldSpec = {
        // The fixture spec is a copy of Scripts/training/world_spec.json; a failure here is a
        // broken checkout, not a behaviour under test.
        do { return try WorldSpec(contentsOf: folder + "/world_spec.json") } catch {
            fatalError("fixture spec unreadable: \(error)")
        }
    }()

    /// Manifest items with their decoded clips, loaded once per process.
    static let items: [(item: ManifestItem, clip: RGBClip)] = {
        do {
            return try EvaluationManifest.read(path: folder + "/clips.jsonl", spec: spec).map {
                let item = try $0.get()
                return (item, try RGBClip(videoAt: item.videoPath))
            }
        } catch {
            fatalError("fixture clips unreadable: \(error)")
        }
    }()
}
