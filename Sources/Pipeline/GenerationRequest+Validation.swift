import Foundation
import Media

extension GenerationRequest {
    /// Largest accepted pixel side; beyond this the attention cost on the CPU is hopeless.
    public static let maxPixelSide = 4096
    /// Largest accepted frame count (the model's 129-frame training length × 8).
    public static let maxFrames = 1033

    /// Checks every field and reports the first impossible value with what would work.
    /// - Throws: `RequestError` naming the field, the bad value and the nearest valid values.
    public func validate() throws {
        if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw RequestError(.emptyPrompt, field: "prompt")
        }
        if frames < 1 || frames > Self.maxFrames || (frames - 1) % 4 != 0 {
            throw RequestError(.frames(frames), field: "frames")
        }
        for (name, value) in [("width", width), ("height", height)] {
            if value < 16 || value > Self.maxPixelSide || value % 16 != 0 {
                throw RequestError(.pixelSize(name: name, value: value), field: name)
            }
        }
        if steps < 1 || steps > 1000 {
            throw RequestError(.steps(steps), field: "steps")
        }
        if bottleneck != .off, steps < 3 {
            throw RequestError(.stepsForBottleneck(steps: steps, plan: bottleneck.description),
                               field: "steps")
        }
        if !cfgScale.isFinite || cfgScale < 0 || cfgScale > 100 {
            throw RequestError(.cfg(cfgScale), field: "cfg")
        }
        if fps < 1 || fps > 240 { throw RequestError(.fps(fps), field: "fps") }
        if crf < 0 || crf > 51 { throw RequestError(.crf(crf), field: "crf") }
        let format = try resolvedFormat()
        if output == .stdout, !format.isStreamable {
            throw RequestError(.formatNotStreamable(format), field: "format")
        }
        if format == .png, case .file(let path) = output, !path.contains("%") {
            throw RequestError(.pngNeedsPattern(path: path), field: "output")
        }
        if case .file(let path) = output, path.isEmpty {
            throw RequestError(.emptyPath(option: "output"), field: "output")
        }
        if let p = saveLatentsPath {
            if p.isEmpty || p == "-" { throw RequestError(.emptyPath(option: "save-latents"), field: "save-latents") }
        }
        if let preview {
            if preview.path.isEmpty || preview.path == "-" {
                throw RequestError(.emptyPath(option: "preview"), field: "preview")
            }
            if preview.every < 1 { throw RequestError(.previewEvery(preview.every), field: "preview-every") }
        }
        if let threads, threads < 1 || threads > 256 {
            throw RequestError(.threads(threads), field: "threads")
        }
        try validateOutputTargets()
    }

    /// The request's single-file outputs with the option naming each: the video (unless it
    /// goes to stdout, or is a PNG sequence: a folder of numbered files), the latents, the preview.
    var fileOutputs: [(option: String, path: String)] {
        var outputs: [(option: String, path: String)] = []
        if case .file(let path) = output, (try? resolvedFormat()) != .png { outputs.append(("output", path)) }
        if let saveLatentsPath { outputs.append(("save-latents", saveLatentsPath)) }
        if let preview { outputs.append(("preview", preview.path)) }
        return outputs
    }

    /// Looks at what each output path names now, before any model loads: a directory (or a path
    /// that cannot be looked up) is refused, and so are two outputs that are one file (through
    /// links, or the same device or FIFO), since the later write would replace or interleave with
    /// the earlier one. The writers resolve the path again when they write (`OutputTarget`).
    func validateOutputTargets() throws {
        var resolved: [(option: String, target: OutputTarget)] = []
        for (option, path) in fileOutputs {
            let target: OutputTarget
            do { target = try OutputTarget(resolving: path) } catch let error as MediaError {
                throw RequestError(.unusableOutput(option: option, reason: error.description), field: option)
            }
            if let earlier = resolved.first(where: { $0.target.isSameFile(as: target) }) {
                throw RequestError(.sharedOutput(first: earlier.option, firstPath: earlier.target.path,
                                                 second: option, secondPath: path), field: option)
            }
            resolved.append((option, target))
        }
    }
}

/// Nearest valid frame counts (`4k + 1`) around `n`, for error messages.
func nearestFrameCounts(_ n: Int) -> (below: Int?, above: Int) {
    if n < 1 { return (nil, 1) }
    let below = ((n - 1) / 4) * 4 + 1
    let above = below == n ? n : below + 4
    return (below == n ? nil : below, above)
}

/// Nearest multiples of 16 around `n` (at least 16), for error messages.
func nearestMultiplesOf16(_ n: Int) -> (below: Int?, above: Int) {
    let below = (n / 16) * 16
    return (below >= 16 ? below : nil, max(16, below + 16))
}
