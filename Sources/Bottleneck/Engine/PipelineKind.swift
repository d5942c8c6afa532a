import Foundation
import Sampling

/// Which pipeline a folder holds, read from its `model_index.json` (`_class_name`), the way
/// diffusers' `DiffusionPipeline.from_pretrained` picks its class. A folder without one is the
/// layout this package has always loaded (`pipelines/shapes` before it had one): HunyuanVideo's.
public enum PipelineKind: String, Sendable, Equatable, CaseIterable {
    /// Text to video (`HunyuanVideoPipeline`; the shipped shapes model with its MiniLM text encoder).
    case hunyuanVideo = "HunyuanVideoPipeline"
    /// Text to image (`FluxPipeline`: FLUX.1-dev or -schnell).
    case flux = "FluxPipeline"

    /// The component folders (and `model_index.json` keys) this kind loads or reads.
    public var components: [String] {
        switch self {
        case .hunyuanVideo: ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"]
        case .flux: ["transformer", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "scheduler"]
        }
    }

    /// Whether the pipeline makes one image rather than a video (one frame, one latent frame).
    public var makesImages: Bool { self == .flux }

    /// The extension of this kind's default output names (`generate`'s `{seed}_{slug}.…`,
    /// `batch`'s name template): `png` for an image, `mp4` for a video.
    public var defaultExtension: String { makesImages ? "png" : "mp4" }

    /// One pass per step or two: classifier-free guidance above a scale of 1 for HunyuanVideo
    /// (the shapes model has no guidance embedder); FLUX.1 embeds its guidance (-dev) or has
    /// none (-schnell) and, as `FluxPipeline` by default (`true_cfg_scale` 1), runs one pass.
    public func guidance(for request: GenerationRequest) -> GuidanceMode {
        switch self {
        case .hunyuanVideo: request.cfgScale > 1 ? .classifierFree(scale: request.cfgScale) : .embedded
        case .flux: .embedded
        }
    }
}

extension PipelineFolder {
    /// `model_index.json` of the folder.
    public var modelIndexPath: String { path + "/model_index.json" }

    /// The folder's pipeline kind, with every component it loads present.
    /// - Throws: `PipelineError` naming `model_index.json`: `unknownPipeline` for a `_class_name`
    ///   that is absent or not one of `PipelineKind`'s, `missingComponent` for a component the
    ///   kind needs that is not listed or whose folder is absent. A folder without
    ///   `model_index.json` is `.hunyuanVideo`, its components checked when they load.
    public func kind() throws -> PipelineKind {
        let file = modelIndexPath
        guard let index = try modelIndex()?.object else { return .hunyuanVideo }
        let name = index["_class_name"] as? String
        guard let kind = name.flatMap(PipelineKind.init(rawValue:)) else {
            throw PipelineError(.unknownPipeline(className: name), subject: file)
        }
        for component in kind.components {
            guard index[component] != nil else {
                throw PipelineError(.missingComponent(key: component, folder: nil), subject: file)
            }
            var isDirectory: ObjCBool = false
            let folder = path + "/" + component
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw PipelineError(.missingComponent(key: component, folder: folder), subject: file)
            }
        }
        return kind
    }

    /// The guidance scale the folder's model was tuned for, `model_index.json`'s
    /// `_guidance_scale` (diffusers skips keys that start with `_`, as it does `_note`); nil
    /// where the folder has no `model_index.json` or no such key, so the kind's default holds.
    /// A request built for the folder starts from it (`GenerationRequest(prompt:kind:guidance:)`);
    /// an explicit `--guidance` or `cfgScale` still wins.
    /// - Throws: `PipelineError.badPipeline` naming `model_index.json` for a value that is not a
    ///   number within `GenerationRequest.Bounds.cfg`, or a file that is not a JSON object.
    public func defaultGuidance() throws -> Float? {
        let file = modelIndexPath
        guard let data = try modelIndex()?.data else { return nil }
        let defaults: FolderDefaults
        do { defaults = try JSONDecoder().decode(FolderDefaults.self, from: data) } catch {
            throw PipelineError(.badPipeline(reason: "\"\(FolderDefaults.CodingKeys.guidance.rawValue)\" must be a number"),
                                subject: file)
        }
        guard let scale = defaults.guidance else { return nil }
        if let violation = GenerationRequest.Bounds.cfg.violation(scale) {
            throw PipelineError(.badPipeline(reason: "\"\(FolderDefaults.CodingKeys.guidance.rawValue)\" \(violation)"),
                                subject: file)
        }
        return scale
    }
}

extension PipelineFolder {
    /// `model_index.json`'s bytes and top-level object; nil where the folder has none.
    /// - Throws: `PipelineError.badPipeline` naming the file when it is not a JSON object.
    fileprivate func modelIndex() throws -> (data: Data, object: [String: Any])? {
        guard let data = FileManager.default.contents(atPath: modelIndexPath) else { return nil }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PipelineError(.badPipeline(reason: "not a JSON object"), subject: modelIndexPath)
        }
        return (data, object)
    }
}

/// The generation defaults a pipeline folder may carry in `model_index.json` (other keys are
/// `kind()`'s); a key of the wrong type fails to decode.
private struct FolderDefaults: Decodable {
    var guidance: Float?
    enum CodingKeys: String, CodingKey { case guidance = "_guidance_scale" }
}
