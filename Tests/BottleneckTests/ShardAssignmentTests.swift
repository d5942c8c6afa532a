import Testing
@testable import Bottleneck

/// `--shard I/N | auto | auto/N`, and the shard `auto` reads from a Slurm job array or a
/// Kubernetes Indexed Job.
@Suite struct ShardAssignmentTests {
    func assign(_ environment: [String: String], count: Int? = nil) throws -> ShardAssignment {
        try ShardAssignment(environment: environment, count: count)
    }

    /// The error for `environment`, or nil when a shard is found.
    func failure(_ environment: [String: String], count: Int? = nil) -> ShardEnvironmentError? {
        do {
            _ = try assign(environment, count: count)
            return nil
        } catch {
            return error as? ShardEnvironmentError
        }
    }

    // MARK: Parsing --shard

    @Test func parsesFixedAndAuto() throws {
        #expect(try ShardChoice(parsing: "2/4") == .fixed(Shard(number: 2, count: 4)))
        #expect(try ShardChoice(parsing: "auto") == .auto(count: nil))
        #expect(try ShardChoice(parsing: "auto/8") == .auto(count: 8))
    }

    @Test(arguments: ["auto/", "auto/x", "auto/0", "auto/10001", "automatic", "5/4"])
    func refusesBadChoices(text: String) {
        #expect(throws: ShardError.self) { try ShardChoice(parsing: text) }
    }

    @Test func fixedShardIgnoresTheEnvironment() throws {
        let resolved = try ShardChoice.fixed(Shard(number: 1, count: 2)).resolve(environment: ["JOB_COMPLETION_INDEX": "x"])
        #expect(resolved.shard == (try Shard(number: 1, count: 2)))
        #expect(resolved.assignment == nil)
    }

    // MARK: Slurm

    /// `--array=4-7`: ids 4…7 are shards 1/4…4/4, whether the count comes from
    /// SLURM_ARRAY_TASK_COUNT or from MIN and MAX.
    @Test(arguments: 4...7)
    func slurmArrayStartingAtFour(id: Int) throws {
        let base = ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "4"]
        let withCount = try assign(base.merging(["SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_STEP": "1"]) { $1 })
        let withMax = try assign(base.merging(["SLURM_ARRAY_TASK_MAX": "7"]) { $1 }, count: 4)
        #expect(withCount.shard == (try Shard(number: id - 3, count: 4)))
        #expect(withMax.shard == withCount.shard)
        #expect(withCount.description
                == "shard \(id - 3)/4 from the Slurm job array (SLURM_ARRAY_TASK_ID=\(id), SLURM_ARRAY_TASK_MIN=4, "
                + "SLURM_ARRAY_TASK_COUNT=4)")
    }

    @Test func slurmErrors() {
        let ok = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "7",
                  "SLURM_ARRAY_TASK_COUNT": "4"]
        func with(_ changes: [String: String?]) -> [String: String] {
            var e = ok
            for (k, v) in changes { e[k] = v }
            return e
        }
        let cases: [(environment: [String: String], count: Int?, variable: String, value: String?, says: String)] = [
            (with(["SLURM_ARRAY_TASK_ID": "five"]), nil, "SLURM_ARRAY_TASK_ID", "five", "is not a whole number"),
            (with(["SLURM_ARRAY_TASK_ID": "-1"]), nil, "SLURM_ARRAY_TASK_ID", "-1", "is not a whole number"),
            (with(["SLURM_ARRAY_TASK_MIN": ""]), nil, "SLURM_ARRAY_TASK_MIN", "", "is not a whole number"),
            (with(["SLURM_ARRAY_TASK_COUNT": "4x"]), nil, "SLURM_ARRAY_TASK_COUNT", "4x", "is not a whole number"),
            (with(["SLURM_ARRAY_TASK_MIN": nil]), nil, "SLURM_ARRAY_TASK_MIN", nil, "is not set"),
            (with(["SLURM_ARRAY_TASK_COUNT": nil, "SLURM_ARRAY_TASK_MAX": nil]), nil, "SLURM_ARRAY_TASK_COUNT", nil,
             "is not set, nor SLURM_ARRAY_TASK_MAX"),
            (with(["SLURM_ARRAY_TASK_COUNT": "3"]), nil, "SLURM_ARRAY_TASK_COUNT", "3",
             "disagrees with SLURM_ARRAY_TASK_MIN=4, SLURM_ARRAY_TASK_MAX=7 (4 ids)"),
            (with(["SLURM_ARRAY_TASK_STEP": "2"]), nil, "SLURM_ARRAY_TASK_STEP", "2", "is not 1"),
            (with(["SLURM_ARRAY_TASK_COUNT": nil, "SLURM_ARRAY_TASK_MAX": "3"]), nil, "SLURM_ARRAY_TASK_MAX", "3",
             "is below SLURM_ARRAY_TASK_MIN=4"),
            (with(["SLURM_ARRAY_TASK_ID": "3"]), nil, "SLURM_ARRAY_TASK_ID", "3", "is outside the array's 4 ids"),
            (with(["SLURM_ARRAY_TASK_ID": "8"]), nil, "SLURM_ARRAY_TASK_ID", "8", "is outside the array's 4 ids"),
            (ok, 3, "SLURM_ARRAY_TASK_COUNT", "4", "makes 4 shards, but --shard auto/3 says 3"),
            (with(["SLURM_ARRAY_TASK_COUNT": "20000", "SLURM_ARRAY_TASK_MAX": nil]), nil, "SLURM_ARRAY_TASK_COUNT",
             "20000", "makes 20000 shards: shard '2/20000': N must be"),
            (with(["SLURM_ARRAY_TASK_COUNT": nil, "SLURM_ARRAY_TASK_MAX": "20003"]), nil, "SLURM_ARRAY_TASK_MAX",
             "20003", "makes 20000 shards: shard '2/20000': N must be"),
        ]
        for c in cases {
            let error = failure(c.environment, count: c.count)
            #expect(error?.variable == c.variable, "\(c.environment)")
            #expect(error?.value == c.value, "\(c.environment)")
            #expect(error?.description.contains(c.says) == true, "\(String(describing: error))")
        }
    }

    // MARK: Kubernetes

    @Test func kubernetesIndexedJob() throws {
        let a = try assign(["JOB_COMPLETION_INDEX": "2"], count: 3)
        #expect(a.shard == (try Shard(number: 3, count: 3)))
        #expect(a.description == "shard 3/3 from the Kubernetes Indexed Job (JOB_COMPLETION_INDEX=2, --shard auto/3)")
    }

    @Test func kubernetesErrors() {
        let cases: [(index: String, count: Int?, says: String)] = [
            ("two", 3, "is not a whole number"), ("-2", 3, "is not a whole number"),
            ("1", nil, "gives the index but not the number of shards: use --shard auto/N"),
            ("3", 3, "is outside --shard auto/3 (indices 0 to 2)"),
        ]
        for c in cases {
            let error = failure(["JOB_COMPLETION_INDEX": c.index], count: c.count)
            #expect(error?.variable == "JOB_COMPLETION_INDEX")
            #expect(error?.value == c.index)
            #expect(error?.description.contains(c.says) == true, "\(String(describing: error))")
        }
    }

    // MARK: Neither or both

    @Test func noSchedulerOrBoth() {
        let none = failure(["HOME": "/root"])
        #expect(none?.description == "--shard auto: SLURM_ARRAY_TASK_ID is not set, nor JOB_COMPLETION_INDEX: "
                + "--shard auto runs in a Slurm job array (sbatch --array) or a Kubernetes Indexed Job; "
                + "elsewhere give --shard I/N")
        let both = failure(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "2",
                            "JOB_COMPLETION_INDEX": "1"], count: 2)
        #expect(both?.variable == "JOB_COMPLETION_INDEX")
        #expect(both?.value == "1")
        #expect(both?.description.contains("is set together with SLURM_ARRAY_TASK_ID=0") == true)
    }
}
