import Diagnostics
import Media
import Sampling
import Tensor

/// An invalid generation request: `field` names the option or batch column to change.
public typealias RequestError = ContextError<RequestErrorKind>

extension ContextError where Kind == RequestErrorKind {
    public init(_ kind: Kind, field: String) { self.init(kind, subject: field) }

    /// The option (CLI, without dashes) or batch column the error is about.
    public var field: String { subject }

    /// The message with the field written as the option that sets it (`--frames`).
    public var optionMessage: String { kind.description(subject: "--" + field) }
}

/// The cases of `RequestError`; the message names the field itself.
public enum RequestErrorKind: ErrorKind {
    case emptyPrompt
    /// A numeric field outside its bound in `GenerationRequest.Bounds`.
    case outOfBounds(BoundViolation)
    case stepsForBottleneck(steps: Int, plan: String)
    /// `--steps` (or a batch `steps` column) that disagrees with the plan file's stages.
    case stepsOfPlanFile(steps: Int, plan: String, stageSteps: [Int])
    case formatNeededForStdout
    case unknownExtension(path: String)
    case formatNotStreamable(MediaFormat)
    /// A file name (`frames_%04d.png`, `x.png`) given for PNG frames, which go to a folder.
    case pngNeedsFolder(path: String)
    case emptyPath(option: String)
    /// An output path that names a directory or cannot be looked up; `reason` names the path.
    case unusableOutput(option: String, reason: String)
    /// Two outputs of one run that are the same file (after links, or the same device or FIFO).
    case sharedOutput(first: String, firstPath: String, second: String, secondPath: String)
    case badBottleneck(String)
    case badSize(String)
    /// A frame count other than 1 for a pipeline that makes images (`pipeline`: its class).
    case framesForImage(frames: Int, pipeline: String)
    /// A plan that cannot serve the request's size and steps (found from the pipeline's
    /// configs before any weights load); `reason` is the sampler's message.
    case planDoesNotFit(plan: BottleneckChoice, frames: Int, width: Int, height: Int, steps: Int, reason: String)

    public func description(subject field: String) -> String {
        switch self {
        case .emptyPrompt:
            return "the prompt is empty; give some text to generate from"
        case .outOfBounds(let violation):
            return "\(field) \(violation)"
        case .stepsForBottleneck(let n, let plan):
            return "bottleneck \(plan) needs at least 3 steps (one per stage); got \(n), "
                + "raise --steps or use --bottleneck off"
        case .stepsOfPlanFile(let n, let plan, let stageSteps):
            let total = stageSteps.reduce(0, +)
            let sum = stageSteps.count > 1 ? stageSteps.map(String.init).joined(separator: "+") + " = \(total)" : "\(total)"
            let source = PlanPreset(rawValue: plan).map { "the \($0.rawValue) plan" } ?? "the plan file \(plan)"
            return "\(field) \(n) does not match \(source), whose stages run \(sum) steps; "
                + "leave \(field) out (a plan file sets its own steps) or edit the file"
        case .formatNeededForStdout:
            return "writing to stdout needs --format (a pipe has no extension): one of "
                + MediaFormat.allCases.filter(\.isStreamable).map(\.rawValue).joined(separator: ", ")
        case .unknownExtension(let path):
            return "cannot tell the container from '\(path)'; use an extension or --format: "
                + MediaFormat.allCases.map(\.rawValue).joined(separator: ", ")
        case .formatNotStreamable(let f):
            return "format \(f.rawValue) cannot go to stdout; use one of "
                + MediaFormat.allCases.filter(\.isStreamable).map(\.rawValue).joined(separator: ", ")
        case .pngNeedsFolder(let path):
            return "PNG frames are written to a folder (frames_0001.png, frames_0002.png, …), not to "
                + "'\(path)'; give the folder: -o frames/ (or -o frames --format png)"
        case .emptyPath(let option):
            return "--\(option) needs a file path"
        case .unusableOutput(let option, let reason):
            return "--\(option): \(reason)"
        case .sharedOutput(let first, let firstPath, let second, let secondPath):
            let same = firstPath == secondPath ? "both write \(firstPath)" : "write the same file (\(firstPath) and \(secondPath))"
            return "--\(first) and --\(second) \(same); give each output its own file"
        case .badBottleneck(let text):
            return "unknown bottleneck '\(text)'; use "
                + BottleneckChoice.requestPresets.map(\.rawValue).joined(separator: ", ") + " or a plan file path"
        case .badSize(let text):
            return "size '\(text)' is not WIDTHxHEIGHT, e.g. 128x128"
        case .framesForImage(let frames, let pipeline):
            return "\(field) \(frames): a \(pipeline) folder makes one image; leave \(field) out or give 1"
        case .planDoesNotFit(let plan, let frames, let width, let height, let steps, let reason):
            let remedies = switch plan {
            case .preset(.off): "use another video size"
            case .file: "use a larger video, change the plan file, or use --bottleneck off"
            default: "use a larger video, more --steps, another plan, or --bottleneck off"
            }
            return "\(field) \(plan) at \(frames) frames of \(width)×\(height), \(steps) steps: \(reason) "
                + "(\(remedies))"
        }
    }
}

/// A failure while running the pipeline or preparing a run: the subject is what it is about
/// (a file or folder, an environment variable, a stage, a range of frames). A failed batch item
/// carries its index in the `.failed(item:stage:error:)` event, so the error does not repeat it.
public typealias PipelineError = ContextError<PipelineErrorKind>

/// The cases of `PipelineError`.
public enum PipelineErrorKind: ErrorKind {
    /// The latents file (the subject) is not usable.
    case badLatents(reason: String)
    /// No implementation is plugged in for the stage named by the subject (e.g. previews
    /// without a renderer).
    case engineUnavailable
    /// A pipeline folder file (the subject) is missing or unusable.
    case badPipeline(reason: String)
    /// `model_index.json` (the subject) names no pipeline class this package runs under
    /// `_class_name` (nil: the key is absent).
    case unknownPipeline(className: String?)
    /// `model_index.json` (the subject) does not list the component `key` its pipeline needs
    /// (`folder` nil), or lists it but `folder` does not exist.
    case missingComponent(key: String, folder: String?)
    /// The pipeline folder given explicitly (`--pipeline`, the subject) is not a folder.
    case pipelineFolderMissing
    /// No pipeline folder was given and none was found; `tried` lists where it was looked for,
    /// the subject is the environment variable that would name one.
    case noPipelineFolder(tried: [String])
    /// Another batch holds the output folder's lock (`BatchFolderLock`); `holders` names
    /// it ("pid 123", or its running shards), empty when it cannot be told.
    case outputFolderInUse(holders: [String])
    /// The output folder's lock file cannot be created or locked.
    case outputFolderLock(reason: String)
    /// Decoded frames (the subject, `frames 1..<5`) holding NaN or infinite values, checked
    /// batch by batch before they reach the muxer, which would write them as black.
    case nonFiniteFrames(NonFiniteValues)
    /// An environment variable the run reads (the subject) whose value cannot be used.
    case badEnvironment(value: String, reason: String)

    public func description(subject: String) -> String {
        switch self {
        case .badLatents(let reason), .badPipeline(let reason): "\(subject): \(reason)"
        case .engineUnavailable: "no \(subject) renderer is available in this build"
        case .unknownPipeline(let name):
            "\(subject): \"_class_name\" " + (name.map { "'\($0)' is not a pipeline this build runs" } ?? "is missing")
                + "; expected one of " + PipelineKind.allCases.map(\.rawValue).joined(separator: ", ")
        case .missingComponent(let key, let folder):
            folder.map { "\(subject): component \"\(key)\": folder \($0) does not exist" }
                ?? "\(subject): the pipeline needs a \"\(key)\" component, which is not listed"
        case .pipelineFolderMissing: "pipeline folder '\(subject)' does not exist"
        case .noPipelineFolder(let tried):
            "no pipeline folder found; pass --pipeline DIR or set \(subject). Tried: " + tried.joined(separator: ", ")
        case .outputFolderInUse(let holders):
            "\(subject): another batch is writing to this folder"
                + (holders.isEmpty ? "" : " (\(holders.joined(separator: "; ")))")
                + "; let it finish (then --resume), or give this one another output folder"
        case .outputFolderLock(let reason): "\(subject): cannot lock the output folder: \(reason)"
        case .nonFiniteFrames(let values):
            "\(subject) hold \(values); the VAE's output was not finite, so the video would be black "
                + "(nothing was kept)"
        case .badEnvironment(let value, let reason): "\(subject)=\(value): \(reason)"
        }
    }
}
