import Foundation
import Models
import Sampling

/// A diffusers-layout model folder (`transformer/`, `vae/`, `text_encoder/`, `tokenizer/`,
/// `scheduler/`), found from an explicit path, `$BOTTLENECK_PIPELINE`, next to the executable,
/// or in the current directory — in that order.
public struct PipelineFolder: Sendable, Equatable {
    public static let environmentKey = "BOTTLENECK_PIPELINE"
    public static let embeddedName = "pipelines/shapes"
    public static let components = ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"]

    public let path: String

    /// A folder at `path`, taken as it is (`locate` checks that it exists).
    public init(path: String) { self.path = path }

    /// The folder's last path component (recorded in output metadata), e.g. `shapes`.
    public var displayName: String { (path as NSString).lastPathComponent }

    /// - Throws: `PipelineError.pipelineFolderMissing` for an explicit path that is not a folder,
    ///   `PipelineError.noPipelineFolder` listing every place that was tried otherwise.
    public static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: String = CommandLine.arguments.first ?? "",
                              currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> PipelineFolder {
        if let explicit {
            guard isDirectory(explicit) else { throw PipelineError(.pipelineFolderMissing, subject: explicit) }
            return PipelineFolder(path: explicit)
        }
        var tried: [String] = []
        if let env = environment[environmentKey], !env.isEmpty {
            if isDirectory(env) { return PipelineFolder(path: env) }
            tried.append("$\(environmentKey)=\(env)")
        }
        // The executable lives in .build/<config>/ or a bin/ folder: look a few levels up.
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(embeddedName).path
            tried.append(candidate)
            if isDirectory(candidate) { return PipelineFolder(path: candidate) }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = (currentDirectory as NSString).appendingPathComponent(embeddedName)
        tried.append(cwd)
        if isDirectory(cwd) { return PipelineFolder(path: cwd) }
        throw PipelineError(.noPipelineFolder(tried: tried), subject: environmentKey)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    /// `transformer/config.json`.
    public func transformerConfiguration() throws -> TransformerConfiguration {
        try TransformerConfiguration(contentsOf: path + "/transformer/config.json")
    }

    /// The `shift` of `scheduler/scheduler_config.json`.
    public func schedulerShift() throws -> Double {
        try SchedulerSettings.load(from: path + "/scheduler/scheduler_config.json").shift
    }
}

/// `scheduler/scheduler_config.json` (diffusers `FlowMatchEulerDiscreteScheduler`): only `shift`.
struct SchedulerSettings: Decodable {
    var shift: Double

    /// - Throws: `PipelineError.badPipeline` naming the file for a missing file, a missing or
    ///   non-numeric `shift`, or one outside `BottleneckPlan.Bounds.shift` (the same bound as a
    ///   plan's shifts, since it becomes every plan's base shift).
    static func load(from path: String) throws -> SchedulerSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.badPipeline(reason: "missing scheduler config"), subject: path)
        }
        let settings: SchedulerSettings
        do { settings = try JSONDecoder().decode(SchedulerSettings.self, from: data) } catch {
            throw PipelineError(.badPipeline(reason: "no numeric \"shift\" key"), subject: path)
        }
        if let violation = BottleneckPlan.Bounds.shift.violation(settings.shift) {
            throw PipelineError(.badPipeline(reason: "\"shift\" \(violation)"), subject: path)
        }
        return settings
    }
}
