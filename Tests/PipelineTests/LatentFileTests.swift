import Foundation
import Testing
import Tensor
@testable import Pipeline

/// `LatentFile` (`--save-latents`): written through Media's `OutputTarget`.
@Suite struct LatentFileTests {
    /// Issue #16: latents saved to a symbolic link replaced the link with a regular file. The
    /// link stays, and the file it points to holds latents that read back unchanged.
    @Test func savedThroughALinkIntoTheFileItPointsTo() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/latest.safetensors", withDestinationPath: "run1.safetensors")
        let request = testRequest("a fox", output: "\(dir)/a.mp4", seed: 3)
        let latents = Latents(Tensor(shape: [1, 3, 4, 4, 4], data: (0..<192).map(Float.init)))
        try LatentFile.write(latents, request: request, to: "\(dir)/latest.safetensors")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/latest.safetensors") == "run1.safetensors")
        let (back, stored) = try LatentFile.read(from: "\(dir)/run1.safetensors")
        #expect(back == latents)
        #expect(stored.seed == 3 && stored.prompt == "a fox")
    }
}
