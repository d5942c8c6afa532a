import Foundation
import Tensor
import TestSupport
import Testing
@testable import Bottleneck

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

extension LatentFileTests {
    /// Issue #16: settings stored in a latents file are checked against the request bounds when
    /// it is read, and the message names the metadata key (decode has no --frames option).
    @Test func storedSettingsOutOfBoundsNameTheMetadataKey() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var request = testRequest("a fox", output: "\(dir)/a.mp4", seed: 3)
        request.fps = 0
        try LatentFile.write(Latents(Tensor(shape: [1, 3, 4, 4, 4])), request: request, to: "\(dir)/l.safetensors")
        #expect(throws: PipelineError.self) { try LatentFile.read(from: "\(dir)/l.safetensors") }
        do { _ = try LatentFile.read(from: "\(dir)/l.safetensors") } catch {
            #expect("\(error)" == "\(dir)/l.safetensors: metadata 'fps' must be an integer between 1 and 240; got 0, use 1")
        }
    }
}
