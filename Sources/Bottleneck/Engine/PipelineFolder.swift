import Foundation
import Models
import Sampling

/// A diffusers-layout model folder (`transformer/`, `vae/`, `text_encoder/`, `tokenizer/`,
/// `scheduler/`), found from an explicit path, `$BOTTLENECK_PIPELINE`, next to the executable,
/// or in the current directory — in that order.
public struct PipelineFolder: Sendable, Equatable {
    public static let environmentKey = "BOTTLENECK_PIPELINE"
    public static let embeddedName = "pipelines/shapes"

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

    /// The scheduler's shift for standard sampling over `imageTokens` image tokens: the static
    /// `shift`, or FLUX.1's resolution-dependent one (`SchedulerSettings.baseShift`).
    public func schedulerShift(imageTokens: Int) throws -> Double {
        try schedulerSettings().baseShift(imageTokens: imageTokens)
    }

    /// `scheduler/scheduler_config.json`.
    func schedulerSettings() throws -> SchedulerSettings {
        try SchedulerSettings.load(from: path + "/scheduler/scheduler_config.json")
    }
}

/// `scheduler/scheduler_config.json` (diffusers 0.42.1 `FlowMatchEulerDiscreteScheduler`,
/// `schedulers/scheduling_flow_match_euler_discrete.py`): the static `shift`, or with
/// `use_dynamic_shifting` (FLUX.1) the resolution-dependent one.
struct SchedulerSettings: Decodable, Sendable {
    var shift: Double?
    var useDynamicShifting = false
    var baseShift = 0.5, maxShift = 1.15
    var baseImageSeqLen = 256, maxImageSeqLen = 4096
    var timeShiftType = "exponential"

    enum CodingKeys: String, CodingKey {
        case shift, useDynamicShifting = "use_dynamic_shifting", baseShift = "base_shift", maxShift = "max_shift"
        case baseImageSeqLen = "base_image_seq_len", maxImageSeqLen = "max_image_seq_len"
        case timeShiftType = "time_shift_type"
    }

    /// Absent keys take the scheduler's `__init__` defaults (FluxPipeline's `calculate_shift`
    /// defaults are the same numbers).
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shift = try c.decodeIfPresent(Double.self, forKey: .shift)
        useDynamicShifting = try c.decodeIfPresent(Bool.self, forKey: .useDynamicShifting) ?? false
        baseShift = try c.decodeIfPresent(Double.self, forKey: .baseShift) ?? 0.5
        maxShift = try c.decodeIfPresent(Double.self, forKey: .maxShift) ?? 1.15
        baseImageSeqLen = try c.decodeIfPresent(Int.self, forKey: .baseImageSeqLen) ?? 256
        maxImageSeqLen = try c.decodeIfPresent(Int.self, forKey: .maxImageSeqLen) ?? 4096
        timeShiftType = try c.decodeIfPresent(String.self, forKey: .timeShiftType) ?? "exponential"
    }

    /// The shift of standard sampling over `imageTokens` image tokens (and every plan's base
    /// shift). Static: `shift`. Dynamic: `exp(μ)` with μ = `calculate_shift(image_seq_len)`
    /// (`pipelines/flux/pipeline_flux.py`), a line through (base_image_seq_len, base_shift) and
    /// (max_image_seq_len, max_shift); the exponential `time_shift` σ' = e^μ / (e^μ + 1/σ − 1)
    /// is the static shift s·σ / (1 + (s − 1)·σ) with s = e^μ (FLUX.1 at 1024²: 4096 tokens,
    /// μ = 1.15, s = 3.16).
    func baseShift(imageTokens: Int) -> Double {
        guard useDynamicShifting else { return shift ?? 1 }
        let m = (maxShift - baseShift) / Double(maxImageSeqLen - baseImageSeqLen)
        let b = baseShift - m * Double(baseImageSeqLen)
        return Foundation.exp(Double(imageTokens) * m + b)
    }

    /// - Throws: `PipelineError.badPipeline` naming the file for a missing file, a missing or
    ///   non-numeric `shift` (without dynamic shifting), one outside `BottleneckPlan.Bounds.shift`
    ///   (the same bound as a plan's shifts, since it becomes every plan's base shift), a
    ///   dynamic shift whose sequence lengths are equal or whose `time_shift_type` is not
    ///   exponential.
    static func load(from path: String) throws -> SchedulerSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.badPipeline(reason: "missing scheduler config"), subject: path)
        }
        let settings: SchedulerSettings
        do { settings = try JSONDecoder().decode(SchedulerSettings.self, from: data) } catch {
            throw PipelineError(.badPipeline(reason: "no numeric \"shift\" key"), subject: path)
        }
        if settings.useDynamicShifting {
            if settings.maxImageSeqLen == settings.baseImageSeqLen {
                throw PipelineError(.badPipeline(reason: "\"max_image_seq_len\" equals \"base_image_seq_len\""), subject: path)
            }
            if settings.timeShiftType != "exponential" {
                throw PipelineError(.badPipeline(reason: "\"time_shift_type\" '\(settings.timeShiftType)' is not supported (only exponential)"),
                                    subject: path)
            }
            return settings
        }
        guard let shift = settings.shift else {
            throw PipelineError(.badPipeline(reason: "no numeric \"shift\" key"), subject: path)
        }
        if let violation = BottleneckPlan.Bounds.shift.violation(shift) {
            throw PipelineError(.badPipeline(reason: "\"shift\" \(violation)"), subject: path)
        }
        return settings
    }
}
