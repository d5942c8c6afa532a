import Diagnostics

/// What `batch --shard` was given: a fixed `I/N`, or `auto` (optionally `auto/N`), which
/// takes the shard from the job array that started the process (`ShardAssignment`).
public enum ShardChoice: Sendable, Equatable {
    case fixed(Shard)
    /// `auto`, or `auto/N` with the number of shards (a Kubernetes Indexed Job's
    /// `completions`, which its pods do not see).
    case auto(count: Int?)

    /// Parses `I/N`, `auto` or `auto/N`.
    /// - Throws: `ShardError` naming the text.
    public init(parsing text: String) throws(ShardError) {
        guard text == "auto" || text.hasPrefix("auto/") else {
            self = .fixed(try Shard(parsing: text))
            return
        }
        guard text != "auto" else {
            self = .auto(count: nil)
            return
        }
        let count = text.dropFirst("auto/".count)
        guard let n = Int(count) else {
            throw ShardError(.autoWithoutCount, subject: text)
        }
        if let violation = IntegerBound(1...Shard.maxCount).violation(n) {
            throw ShardError(.badCount(violation), subject: text)
        }
        self = .auto(count: n)
    }

    /// The shard this process runs, and where it came from when `auto`.
    /// - Parameter environment: the process environment (`ProcessInfo.processInfo.environment`).
    /// - Throws: `ShardEnvironmentError` for `auto` without a usable job array.
    public func resolve(environment: [String: String]) throws(ShardEnvironmentError)
        -> (shard: Shard, assignment: ShardAssignment?)
    {
        switch self {
        case .fixed(let shard):
            return (shard, nil)
        case .auto(let count):
            let assignment = try ShardAssignment(environment: environment, count: count)
            return (assignment.shard, assignment)
        }
    }
}

/// `--shard auto`: the shard of this process, read from the job array that started it.
///
/// - Slurm job array (`sbatch --array=MIN-MAX`): `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` is
///   the 0-based index (an array may start at any number); the count is
///   `SLURM_ARRAY_TASK_COUNT`, or `SLURM_ARRAY_TASK_MAX − SLURM_ARRAY_TASK_MIN + 1` without it.
///   Where both are set they must agree, and `SLURM_ARRAY_TASK_STEP` must be 1: an array with
///   a step or a list of ids (`--array=0-15:4`, `--array=1,3,7`) would leave shards unrun.
/// - Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` is the 0-based index; the count is the
///   Job's `completions`, given as `--shard auto/N`.
///
/// With `auto/N`, a Slurm array's count must equal N. Both schedulers' variables at once are
/// refused (which one started the process cannot be told).
public struct ShardAssignment: Sendable, Equatable, CustomStringConvertible {
    public static let slurmTaskID = "SLURM_ARRAY_TASK_ID"
    public static let slurmTaskMin = "SLURM_ARRAY_TASK_MIN"
    public static let slurmTaskMax = "SLURM_ARRAY_TASK_MAX"
    public static let slurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
    public static let slurmTaskStep = "SLURM_ARRAY_TASK_STEP"
    public static let kubernetesIndex = "JOB_COMPLETION_INDEX"

    public var shard: Shard
    /// Where the shard came from, with the values read: `the Slurm job array
    /// (SLURM_ARRAY_TASK_ID=5, SLURM_ARRAY_TASK_MIN=4, SLURM_ARRAY_TASK_COUNT=4)`. Recorded in
    /// the manifest's `run` header as `shard_source`.
    public var source: String

    public var description: String { "shard \(shard) from \(source)" }

    /// - Parameter count: N of `--shard auto/N`, nil for `auto`.
    public init(environment: [String: String], count: Int?) throws(ShardEnvironmentError) {
        switch (environment[Self.slurmTaskID], environment[Self.kubernetesIndex]) {
        case (nil, nil):
            throw ShardEnvironmentError(.noScheduler, subject: Self.slurmTaskID)
        case (let slurm?, let kubernetes?):
            throw ShardEnvironmentError(.bothSchedulers(value: kubernetes, slurmTaskID: slurm), subject: Self.kubernetesIndex)
        case (_?, nil):
            try self.init(slurm: environment, count: count)
        case (nil, let index?):
            try self.init(kubernetesIndex: index, count: count)
        }
    }

    private init(slurm environment: [String: String], count flagCount: Int?) throws(ShardEnvironmentError) {
        var read: [String] = []
        func number(_ name: String) throws(ShardEnvironmentError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw ShardEnvironmentError(.notWholeNumber(value: text), subject: name)
            }
            read.append("\(name)=\(value)")
            return value
        }
        let id = try number(Self.slurmTaskID)!
        guard let min = try number(Self.slurmTaskMin) else {
            throw ShardEnvironmentError(.slurmMinMissing(taskID: id), subject: Self.slurmTaskMin)
        }
        let max = try number(Self.slurmTaskMax)
        let envCount = try number(Self.slurmTaskCount)
        if let step = environment[Self.slurmTaskStep], step != "1" {
            throw ShardEnvironmentError(.slurmStep(value: step, min: min), subject: Self.slurmTaskStep)
        }
        let count: Int
        switch (envCount, max) {
        case (let c?, let m?) where m - min + 1 != c:
            throw ShardEnvironmentError(.slurmCountDisagrees(count: c, min: min, max: m), subject: Self.slurmTaskCount)
        case (let c?, _):
            count = c
        case (nil, let m?):
            guard m >= min else {
                throw ShardEnvironmentError(.slurmMaxBelowMin(max: m, min: min), subject: Self.slurmTaskMax)
            }
            count = m - min + 1
        case (nil, nil):
            throw ShardEnvironmentError(.slurmCountMissing, subject: Self.slurmTaskCount)
        }
        guard id >= min, id - min < count else {
            throw ShardEnvironmentError(.slurmTaskOutside(id: id, count: count, min: min), subject: Self.slurmTaskID)
        }
        // The variable the count came from, to blame for a count that cannot be.
        let (countVariable, countValue) = envCount == nil
            ? (Self.slurmTaskMax, "\(max!)") : (Self.slurmTaskCount, "\(count)")
        if let flagCount, flagCount != count {
            throw ShardEnvironmentError(.countDisagreesWithFlag(value: countValue, count: count, flag: flagCount),
                                        subject: countVariable)
        }
        shard = try Self.shard(index: id - min, count: count, variable: countVariable, value: countValue)
        source = "the Slurm job array (\(read.joined(separator: ", ")))"
    }

    private init(kubernetesIndex text: String, count: Int?) throws(ShardEnvironmentError) {
        guard let index = Int(text), index >= 0 else {
            throw ShardEnvironmentError(.notWholeNumber(value: text), subject: Self.kubernetesIndex)
        }
        guard let count else {
            throw ShardEnvironmentError(.kubernetesWithoutCount(value: text), subject: Self.kubernetesIndex)
        }
        guard index < count else {
            throw ShardEnvironmentError(.kubernetesIndexOutside(value: text, count: count), subject: Self.kubernetesIndex)
        }
        shard = try Self.shard(index: index, count: count, variable: Self.kubernetesIndex, value: text)
        source = "the Kubernetes Indexed Job (\(Self.kubernetesIndex)=\(index), --shard auto/\(count))"
    }

    /// Shard `index + 1` of `count`; a count past `Shard.maxCount` is blamed on `variable`.
    private static func shard(index: Int, count: Int, variable: String,
                              value: String) throws(ShardEnvironmentError) -> Shard {
        do {
            return try Shard(number: index + 1, count: count)
        } catch {
            throw ShardEnvironmentError(.tooManyShards(value: value, count: count, error), subject: variable)
        }
    }
}

/// `--shard auto` cannot tell the shard: the subject is the environment variable to change;
/// the kind says what is wrong with it and carries its value (nil when it is not set).
public typealias ShardEnvironmentError = ContextError<ShardEnvironmentErrorKind>

extension ContextError where Kind == ShardEnvironmentErrorKind {
    /// The environment variable the error is about.
    public var variable: String { subject }
    /// The variable's value, nil when it is not set.
    public var value: String? { kind.value }
}

/// The cases of `ShardEnvironmentError`.
public enum ShardEnvironmentErrorKind: ErrorKind {
    /// Neither a Slurm task id nor a Kubernetes completion index is set.
    case noScheduler
    /// Both are set; `value` is the Kubernetes index.
    case bothSchedulers(value: String, slurmTaskID: String)
    case notWholeNumber(value: String)
    case slurmMinMissing(taskID: Int)
    case slurmStep(value: String, min: Int)
    /// An array whose count is not `max - min + 1` (a list of ids).
    case slurmCountDisagrees(count: Int, min: Int, max: Int)
    case slurmMaxBelowMin(max: Int, min: Int)
    case slurmCountMissing
    case slurmTaskOutside(id: Int, count: Int, min: Int)
    /// The environment's count is not the one of `--shard auto/N`.
    case countDisagreesWithFlag(value: String, count: Int, flag: Int)
    case kubernetesWithoutCount(value: String)
    case kubernetesIndexOutside(value: String, count: Int)
    /// A count past `Shard.maxCount`, with the shard's own error.
    case tooManyShards(value: String, count: Int, ShardError)

    /// The variable's value as read, nil when it is not set.
    public var value: String? {
        switch self {
        case .noScheduler, .slurmMinMissing, .slurmCountMissing: nil
        case .bothSchedulers(let value, _), .notWholeNumber(let value), .slurmStep(let value, _),
             .countDisagreesWithFlag(let value, _, _), .kubernetesWithoutCount(let value),
             .kubernetesIndexOutside(let value, _), .tooManyShards(let value, _, _):
            value
        case .slurmCountDisagrees(let count, _, _): "\(count)"
        case .slurmMaxBelowMin(let max, _): "\(max)"
        case .slurmTaskOutside(let id, _, _): "\(id)"
        }
    }

    public func description(subject variable: String) -> String {
        typealias A = ShardAssignment
        let message = switch self {
        case .noScheduler:
            "is not set, nor \(A.kubernetesIndex): --shard auto runs in a Slurm job array "
                + "(sbatch --array) or a Kubernetes Indexed Job; elsewhere give --shard I/N"
        case .bothSchedulers(_, let slurm):
            "is set together with \(A.slurmTaskID)=\(slurm); unset the one that does not "
                + "belong to this job, or give --shard I/N"
        case .notWholeNumber: "is not a whole number 0 or more"
        case .slurmMinMissing(let id):
            "is not set, but needed with \(A.slurmTaskID)=\(id): an array may start at any number"
        case .slurmStep(_, let min):
            "is not 1: an array with a step leaves shards unrun; use a contiguous range, --array=\(min)-N"
        case .slurmCountDisagrees(_, let min, let m):
            "disagrees with \(A.slurmTaskMin)=\(min), \(A.slurmTaskMax)=\(m) (\(m - min + 1) ids); "
                + "an array with a list of ids leaves shards unrun: use a contiguous range, --array=\(min)-\(m)"
        case .slurmMaxBelowMin(_, let min): "is below \(A.slurmTaskMin)=\(min)"
        case .slurmCountMissing: "is not set, nor \(A.slurmTaskMax): the number of shards cannot be told"
        case .slurmTaskOutside(_, let count, let min):
            "is outside the array's \(count) ids from \(A.slurmTaskMin)=\(min)"
        case .countDisagreesWithFlag(_, let count, let flag):
            "makes \(count) shards, but --shard auto/\(flag) says \(flag)"
        case .kubernetesWithoutCount:
            "gives the index but not the number of shards: use --shard auto/N with N the Job's completions"
        case .kubernetesIndexOutside(_, let count): "is outside --shard auto/\(count) (indices 0 to \(count - 1))"
        case .tooManyShards(_, let count, let error): "makes \(count) shards: \(error)"
        }
        return "--shard auto: \(variable)\(value.map { "='\($0)'" } ?? "") \(message)"
    }
}
