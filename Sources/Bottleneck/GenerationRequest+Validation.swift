import Diagnostics
import Foundation
import Media

extension GenerationRequest {
    /// The accepted values of every numeric field, the one place each is written: `validate()`
    /// checks them, the CLI checks its flags against them while parsing (and prints them in
    /// help), batch files check their columns against them, and README "Limits" lists them.
    public enum Bounds {
        /// Frames: `4k + 1` up to 1033, the model's 129-frame training length × 8.
        public static let frames = IntegerBound(1...1033, stride: 4, reason: "the VAE compresses time by 4")
        /// Width and height in pixels; beyond 4096 the attention cost on the CPU is hopeless.
        public static let pixelSide = IntegerBound(16...4096, stride: 16, reason: "VAE factor 8 × patch 2")
        /// Denoising steps (per request; a plan file's stages have their own bound).
        public static let steps = IntegerBound(1...1000)
        /// Guidance scale; 6 is the diffusers default.
        public static let cfg = RealBound<Float>(0...100, fallback: 6)
        public static let fps = IntegerBound(1...240)
        /// x264/x265/VP9 constant rate factor.
        public static let crf = IntegerBound(0...51, reason: "0 is lossless, 18 keeps detail")
        public static let threads = IntegerBound(1...256)
        /// Steps between previews (no run has more steps than this).
        public static let previewEvery = IntegerBound(1...1000)
        /// Any 64-bit unsigned seed.
        public static let seed = IntegerBound<UInt64>(0...UInt64.max)
    }

    /// Checks every field and reports the first impossible value with what would work.
    /// - Throws: `RequestError` naming the field, the bad value and the nearest valid values.
    public func validate() throws {
        if prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw RequestError(.emptyPrompt, field: "prompt")
        }
        try validateNumbers()
        let format = try resolvedFormat()
        if output == .stdout, !format.isStreamable {
            throw RequestError(.formatNotStreamable(format), field: "format")
        }
        if format == .png, !writesSingleImage, case .file(let path) = output,
           path.contains("%") || path.lowercased().hasSuffix(".png") {
            throw RequestError(.pngNeedsFolder(path: path), field: "output")
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
        }
        try validateOutputTargets()
    }

    /// Checks the numeric fields against `Bounds` (and the steps against the bottleneck plan):
    /// the part of `validate()` that does not look at outputs, also run on the settings stored
    /// in a latents file.
    /// - Throws: `RequestError` naming the field, the bad value and the nearest valid values.
    public func validateNumbers() throws(RequestError) {
        try Bounds.frames.check(frames, field: "frames")
        try Bounds.pixelSide.check(width, field: "width")
        try Bounds.pixelSide.check(height, field: "height")
        try Bounds.steps.check(steps, field: "steps")
        // A plan file's stages set their own steps (checked when the file is read).
        if case .preset(let preset) = bottleneck, !BottleneckChoice.requestPresets.contains(preset) {
            throw RequestError(.badBottleneck(preset.rawValue), field: "bottleneck")
        }
        if bottleneck != .preset(.off), !bottleneck.isFile, steps < 3 {
            throw RequestError(.stepsForBottleneck(steps: steps, plan: bottleneck.description),
                               field: "steps")
        }
        try Bounds.cfg.check(cfgScale, field: "cfg")
        try Bounds.fps.check(fps, field: "fps")
        try Bounds.crf.check(crf, field: "crf")
        if let preview { try Bounds.previewEvery.check(preview.every, field: "preview-every") }
        if let threads { try Bounds.threads.check(threads, field: "threads") }
    }

    /// The pipeline kind's own rule, then `validate()`: an image model makes one frame. The
    /// kind's rule comes first, so 9 frames named `….png` on FLUX.1 are refused for the model
    /// (`framesForImage`), not as PNG frames that need a folder.
    /// - Throws: `RequestError` naming the field.
    public func validate(for kind: PipelineKind) throws {
        try validateFrames(for: kind)
        try validate()
    }

    /// `validateNumbers()` and the pipeline kind's rule (`framesForImage`: FLUX.1 makes one image).
    public func validateNumbers(for kind: PipelineKind) throws(RequestError) {
        try validateNumbers()
        try validateFrames(for: kind)
    }

    /// The kind's rule on `frames`: an image model (FLUX.1) makes one.
    func validateFrames(for kind: PipelineKind) throws(RequestError) {
        if kind.makesImages, frames != 1 {
            throw RequestError(.framesForImage(frames: frames, pipeline: kind.rawValue), field: "frames")
        }
    }

    /// The request's single-file outputs with the option naming each: the video or image (unless
    /// it goes to stdout, or is a PNG sequence: a folder of numbered files), the latents, the preview.
    var fileOutputs: [(option: String, path: String)] {
        var outputs: [(option: String, path: String)] = []
        if case .file(let path) = output, writesSingleImage || (try? resolvedFormat()) != .png {
            outputs.append(("output", path))
        }
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

extension NumericBound {
    /// Throws the `RequestError` for `value` about `field` unless the bound allows it.
    func check(_ value: Value, field: String) throws(RequestError) {
        if let violation = violation(value) { throw RequestError(.outOfBounds(violation), field: field) }
    }
}
