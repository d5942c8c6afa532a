import Bottleneck
import Foundation
import PropertyBased
import Tensor
import Testing

/// Latents files (`--save-latents`, read by `bottleneck decode`): `LatentFile.read(from:)` on
/// mutated files written by `LatentFile.write`. Every refusal is a `PipelineError` that starts
/// with the file and names the tensor, the header or the metadata key.
@Suite(.fuzzTimeLimit) struct LatentFileFuzzTests {
    /// Two latents files as the project writes them (9 frames of 32², with and without a seed
    /// and negative prompt; a plan given as steps@scale).
    static func corpus(in dir: String) throws -> [[UInt8]] {
        var request = GenerationRequest(prompt: "a red fox, \"quoted\" ✓")
        (request.frames, request.width, request.height, request.steps, request.seed) = (9, 32, 32, 4, 7)
        let latents = Latents(Tensor(shape: [1, 3, 4, 4, 4], data: (0..<192).map { Float($0) / 10 }))
        try LatentFile.write(latents, request: request, to: "\(dir)/a.safetensors")
        request.seed = nil
        request.negativePrompt = "blur"
        request.bottleneck = try BottleneckChoice(parsing: "2@1,2@0.5")
        try LatentFile.write(latents, request: request, to: "\(dir)/b.safetensors")
        return try ["a", "b"].map { Array(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\($0).safetensors"))) }
    }

    /// Writes `bytes` to `path` and reads it back as latents.
    static func check(_ bytes: [UInt8], path: String, _ label: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let (latents, request) = try LatentFile.read(from: path)
            // Accepted: the grid matches the stored settings, as `decode` relies on.
            #expect(Array(latents.tensor.shape[1...3]) == request.latentSize.extents,
                    "\(label)")
        } catch let error as PipelineError {
            let text = error.description
            #expect(text.hasPrefix("\(path): "), "\(label): \(text)")
            #expect(["tensor '", "header", "metadata", "latent"].contains(where: text.contains), "\(label): \(text)")
        } catch {
            Issue.record("\(label): untyped error \(error)")
        }
    }

    @Test func mutatedLatentsAreReadOrRefusedWithFileAndPlace() throws {
        let dir = try makeFuzzDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = try fuzz(corpus: Self.corpus(in: dir), seedBase: 0x1A7E) { try Self.check($0, path: "\(dir)/m.safetensors", $1) }
        #expect(n >= 50)
    }

    /// Cut at every byte of the length and header, and every 16th byte of the data (each cut
    /// is a file write and a mapped read, 5 ms or more on a loaded CI machine).
    @Test func truncationsAreRefusedWithFileAndPlace() throws {
        let dir = try makeFuzzDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try Self.corpus(in: dir)[0]
        let dataStart = 8 + Self.headerLength(of: file)
        for length in Array(0..<dataStart) + Array(stride(from: dataStart, to: file.count, by: 16)) {
            try Self.check(Array(file[..<length]), path: "\(dir)/t.safetensors", "cut to \(length)")
        }
    }

    /// Stored settings past every integer type are refused naming the metadata key; the grid
    /// they imply is never computed from an unchecked number.
    @Test(arguments: Mutation.hostileNumbers)
    func hostileStoredSettingsNameTheKey(number: String) throws {
        let dir = try makeFuzzDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = try Self.corpus(in: dir)[0]
        for key in ["frames", "width", "height", "steps", "fps", "seed", "cfg"] {
            try Self.check(try Self.setting(key, to: number, in: original), path: "\(dir)/n.safetensors", "\(key)=\(number)")
        }
    }

    /// `file` with metadata `key` set to `value` (header re-encoded, its length recomputed).
    static func setting(_ key: String, to value: String, in file: [UInt8]) throws -> [UInt8] {
        let length = headerLength(of: file)
        var header = try #require(try JSONSerialization.jsonObject(with: Data(file[8..<(8 + length)])) as? [String: Any])
        var metadata = try #require(header["__metadata__"] as? [String: String])
        metadata[key] = value
        header["__metadata__"] = metadata
        let text = Array(try JSONSerialization.data(withJSONObject: header))
        return (0..<8).map { UInt8(truncatingIfNeeded: text.count >> (8 * $0)) } + text + file[(8 + length)...]
    }

    /// The 8-byte little-endian header length at the start of a safetensors file.
    static func headerLength(of file: [UInt8]) -> Int { (0..<8).reduce(0) { $0 | Int(file[$1]) << (8 * $1) } }
}
