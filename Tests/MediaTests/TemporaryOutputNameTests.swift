import Foundation
import Testing

@testable import Media

/// `TemporaryOutputName`: the partial-output names writers use and `--resume` removes.
@Suite struct TemporaryOutputNameTests {
    @Test func hiddenUniqueAndRecognised() {
        let a = TemporaryOutputName.path(for: "/out/clip.mp4")
        let b = TemporaryOutputName.path(for: "/out/clip.mp4")
        #expect(a.hasPrefix("/out/.clip.mp4.partial-\(getpid())-"))
        #expect(a != b)
        let name = (a as NSString).lastPathComponent
        #expect(TemporaryOutputName.isTemporary(name, of: "clip.mp4"))
        #expect(TemporaryOutputName.path(for: "clip.mp4").hasPrefix(".clip.mp4.partial-"))
    }

    /// Only the output's own partials: not the output itself, nor another output's partials.
    @Test func otherNamesAreNotTemporary() {
        #expect(!TemporaryOutputName.isTemporary("clip.mp4", of: "clip.mp4"))
        #expect(!TemporaryOutputName.isTemporary(".clip.mp4.partial-1-a", of: "lip.mp4"))
        #expect(!TemporaryOutputName.isTemporary(".clip.mp4.partial-1-a", of: "clip.mp"))
    }
}
