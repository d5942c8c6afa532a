import Bottleneck
import Foundation
import Testing

/// `batch --shard auto` under a Slurm job array and a Kubernetes Indexed Job (their variables
/// set by hand), and `batch-merge` over what the shards wrote.
@Suite(.serialized) struct ShardEndToEndTests {
    static let prompts = [
        "a red ball bouncing on a black background", "a blue square sliding left on a white background",
        "a yellow circle growing and shrinking", "a green triangle spinning",
    ]
    static let slurmVariables = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                                 "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP"]
    static let arguments = ["batch", "prompts.txt", "--seed", "3", "--steps", "2", "--bottleneck", "off",
                            "--progress", "none"] + CLI.small

    func makeFolder() throws -> String {
        let folder = try CLI.makeFolder()
        try (Self.prompts.joined(separator: "\n") + "\n").write(toFile: folder + "/prompts.txt", atomically: true,
                                                                 encoding: .utf8)
        return folder
    }

    /// Starts every shard at once, waits for all, and expects each to exit 0 having said
    /// where its shard came from.
    func runShards(_ shards: [(arguments: [String], environment: [String: String], unset: [String], says: String)],
                   in folder: String) throws {
        let children = try shards.enumerated().map { n, shard in
            try CLI.start(shard.arguments, in: folder, tag: "shard\(n)", environment: shard.environment, unset: shard.unset)
        }
        for (n, (child, _, err)) in children.enumerated() {
            child.waitUntilExit()
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            #expect(child.terminationStatus == 0, "shard \(n): \(stderr)")
            #expect(stderr.contains(shards[n].says), "shard \(n): \(stderr)")
        }
    }

    /// `batch-merge --json` on `folders`: exit status and the decoded report.
    func merge(_ folders: [String], in folder: String) throws -> (status: Int32, report: [String: Any]) {
        let r = try CLI.run(["batch-merge", "prompts.txt"] + folders + ["--json"], in: folder, tag: "merge")
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "\(r.stderr)")
        return (r.status, report)
    }

    // MARK: Slurm

    /// `sbatch --array=4-6` run by hand: three shards at once into one folder. Each takes its
    /// shard from ID − MIN and records where it came from; the done items are the prompt list,
    /// each exactly once, and `batch-merge` finds it complete.
    @Test func slurmArrayCoversTheListOnce() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try runShards((4...6).map { id in
            (Self.arguments + ["-o", "out", "--shard", "auto"],
             ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6"],
             ["SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"],
             "shard \(id - 3)/3 from the Slurm job array (SLURM_ARRAY_TASK_ID=\(id), SLURM_ARRAY_TASK_MIN=4, "
                + "SLURM_ARRAY_TASK_MAX=6)")
        }, in: folder)

        let records = try ManifestReader.read(path: folder + "/out/manifest.jsonl").records
        let headers = records.filter { $0.status == .run }
        #expect(Set(headers.compactMap(\.shard)) == ["1/3", "2/3", "3/3"])
        #expect(headers.allSatisfy { $0.shardSource?.hasPrefix("the Slurm job array (SLURM_ARRAY_TASK_ID=") == true })
        let done = records.filter { $0.status == .done }
        #expect(done.compactMap(\.index).sorted() == Array(Self.prompts.indices), "no item twice, none missing")
        #expect(Set(done.compactMap(\.prompt)) == Set(Self.prompts))

        let (status, report) = try merge(["out"], in: folder)
        #expect(status == 0)
        #expect(report["done"] as? Int == Self.prompts.count)
        #expect(report["failed"] as? Int == 0 && report["missing"] as? Int == 0)
        #expect((report["duplicates"] as? [Int])?.isEmpty == true)
        #expect(report["shards"] as? [String] == ["1/3", "2/3", "3/3"])
    }

    /// A non-numeric array variable: exit 64 naming it and its value, before the output
    /// folder is made (so before any model loads).
    @Test func slurmVariableThatIsNotANumber() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try CLI.run(Self.arguments + ["-o", "out", "--shard", "auto"], in: folder, tag: "bad",
                            environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "four"],
                            unset: ["JOB_COMPLETION_INDEX"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("bottleneck: error: --shard auto: SLURM_ARRAY_TASK_MIN='four' is not a whole number "
                                   + "0 or more\n"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))
    }

    // MARK: Kubernetes

    /// An Indexed Job of two completions whose pods write folders of their own: `batch-merge`
    /// over both finds the list complete; with a line added to the list, that line is missing
    /// and the merge exits 1 naming it.
    @Test func kubernetesIndexedJobInTwoFolders() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try runShards((0..<2).map { index in
            (Self.arguments + ["-o", "pod-\(index)", "--shard", "auto/2"], ["JOB_COMPLETION_INDEX": "\(index)"],
             Self.slurmVariables,
             "shard \(index + 1)/2 from the Kubernetes Indexed Job (JOB_COMPLETION_INDEX=\(index), --shard auto/2)")
        }, in: folder)

        let (status, report) = try merge(["pod-0", "pod-1"], in: folder)
        #expect(status == 0)
        #expect(report["done"] as? Int == Self.prompts.count)
        let items = try #require(report["items"] as? [[String: Any]])
        #expect(items.map { $0["folder"] as? String } == ["pod-0", "pod-1", "pod-0", "pod-1"])

        let added = Self.prompts.joined(separator: "\n") + "\na purple star\n"
        try added.write(toFile: folder + "/prompts.txt", atomically: true, encoding: .utf8)
        let text = try CLI.run(["batch-merge", "prompts.txt", "pod-0", "pod-1"], in: folder, tag: "incomplete")
        #expect(text.status == 1)
        #expect(String(decoding: text.stdout, as: UTF8.self) == """
            prompts.txt: 5 items in 2 folders: done 4, failed 0, missing 1, duplicates 0
            missing   prompts.txt:5 (item 4)
            shards seen: 1/2, 2/2

            """)
    }
}
