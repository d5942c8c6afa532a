import Foundation
import Media
import SafeTensors
import Sampling
import Tensor

/// Final latents saved with `--save-latents` and read back by `bottleneck decode`, so a failed
/// or re-tuned decode never needs the denoising again.
///
/// Format: a safetensors file with one F32 tensor `latents`, layout
/// `[batch, latentFrames, latentHeight, latentWidth, channels]`, and `__metadata__` keys
/// `format` (= `bottleneck-latents/1`), `layout`, `prompt`, `seed`, `frames`, `width`,
/// `height`, `steps`, `bottleneck`, `cfg`, `fps`. Written atomically (temp file + rename), through
/// Media's `OutputTarget` (a link is followed, a device or FIFO written through).
public enum LatentFile {
    public static let formatTag = "bottleneck-latents/1"
    public static let tensorName = "latents"

    /// Saves `latents` with the settings of `request`.
    /// - Throws: `MediaError` naming `path` when it cannot be written.
    public static func write(_ latents: Latents, request: GenerationRequest, to path: String) throws {
        var metadata: [String: String] = [
            "format": formatTag,
            "layout": "B,T,H,W,C",
            "prompt": request.prompt,
            "frames": String(request.frames),
            "width": String(request.width),
            "height": String(request.height),
            "steps": String(request.steps),
            "bottleneck": request.bottleneck.description,
            "cfg": String(request.cfgScale),
            "fps": String(request.fps),
        ]
        if let seed = request.seed { metadata["seed"] = String(seed) }
        if let n = request.negativePrompt { metadata["negative_prompt"] = n }
        let bytes = try SafeTensorsWriter.encode([(tensorName, latents.tensor)], metadata: metadata)
        try OutputTarget(resolving: path).write(bytes)
    }

    /// Reads latents and the request fields stored with them (prompt, seed, frames, width,
    /// height, fps; output settings stay at their defaults for the caller to set).
    /// - Throws: `PipelineError.badLatents` naming the file and what is wrong (also latents that
    ///   hold a NaN or an infinity, which would decode to a black video).
    public static func read(from path: String) throws -> (latents: Latents, request: GenerationRequest) {
        func bad(_ reason: String) -> PipelineError { PipelineError(.badLatents(reason: reason), subject: path) }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch {
            throw bad(String(describing: error))
        }
        guard file.metadata["format"] == formatTag else {
            throw bad("not a bottleneck latents file (metadata format is "
                      + "\(file.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(formatTag)')")
        }
        guard file.entries[tensorName] != nil else {
            throw bad("no tensor named '\(tensorName)'")
        }
        let tensor: Tensor
        do { tensor = try file.tensor(tensorName) } catch let error as SafeTensorsError {
            throw bad(error.kind.message)  // e.g. a NaN
        }
        guard tensor.rank == 5 else {
            throw bad("latents have shape \(tensor.shape); expected [B, T, H, W, C]")
        }
        func int(_ key: String) throws -> Int {
            guard let s = file.metadata[key], let v = Int(s) else {
                throw bad("metadata '\(key)' is missing or not an integer")
            }
            return v
        }
        var request = GenerationRequest(prompt: file.metadata["prompt"] ?? "")
        request.negativePrompt = file.metadata["negative_prompt"]
        request.seed = file.metadata["seed"].flatMap { UInt64($0) }
        request.frames = try int("frames")
        request.width = try int("width")
        request.height = try int("height")
        request.fps = (try? int("fps")) ?? request.fps
        request.steps = (try? int("steps")) ?? request.steps
        if let b = file.metadata["bottleneck"], let choice = try? BottleneckChoice(parsing: b) {
            request.bottleneck = choice
        }
        if let c = file.metadata["cfg"], let v = Float(c) { request.cfgScale = v }
        // The stored settings against the request bounds, named as metadata keys (decode has no
        // --frames for a message to blame).
        do { try request.validateNumbers() } catch {
            throw bad(error.kind.description(subject: "metadata '\(error.field)'"))
        }
        let expected = request.latentSize.extents
        guard Array(tensor.shape[1...3]) == expected else {
            throw bad("latent extent \(Array(tensor.shape[1...3])) does not match "
                      + "\(request.frames) frames of \(request.width)x\(request.height) (expected \(expected))")
        }
        return (Latents(tensor), request)
    }
}
