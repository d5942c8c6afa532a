import Bottleneck
import Foundation
import Media
import Testing

/// `bottleneck batch` killed with SIGKILL after its first item, then `--resume`d.
@Suite(.serialized) struct BatchEndToEndTests {
    static let prompts = [
        "a red ball bouncing on a black background", "a blue square sliding left on a white background",
        "a yellow circle growing and shrinking",
    ]

    /// Killed once the manifest records the first item done (polled, not a fixed sleep): the
    /// folder then holds only complete outputs under final names (each recorded done and
    /// decodable to every frame); the rest is at most hidden partial files. `--resume` leaves
    /// finished items alone (one record each, file untouched), completes the others with the
    /// seeds derived from the base seed, and removes every partial file.
    @Test func resumeAfterSIGKILLFinishesOnlyTheRest() throws {
        let folder = try CLI.makeFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try (Self.prompts.joined(separator: "\n") + "\n").write(toFile: folder + "/prompts.txt", atomically: true, encoding: .utf8)
        let out = folder + "/out", manifest = out + "/manifest.jsonl"
        let arguments = ["batch", "prompts.txt", "-o", "out", "--seed", "3", "--steps", "2", "--bottleneck", "off",
                         "--progress", "none"] + CLI.small

        // 1. Start, wait for the first `done` record, kill.
        let (child, _, _) = try CLI.start(arguments, in: folder, tag: "killed")
        let deadline = Date().addingTimeInterval(300)
        var done: [ManifestRecord] = []
        while done.isEmpty {
            guard child.isRunning else {
                Issue.record("batch exited (status \(child.terminationStatus)) before the kill")
                return
            }
            try #require(Date() < deadline, "no item finished within 300 s")
            usleep(10_000)
            done = ((try? ManifestReader.read(path: manifest).records) ?? []).filter { $0.status == .done }
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)

        // 2. What the killed run left.
        done = try ManifestReader.read(path: manifest).records.filter { $0.status == .done }
        try #require(done.count < Self.prompts.count, "the batch finished before it was killed")
        let finished = Set(done.compactMap(\.output).map { ($0 as NSString).lastPathComponent })
        var modified: [String: Date] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out) where !name.hasPrefix(".") && name != "manifest.jsonl" {
            #expect(finished.contains(name), "\(name) is under its final name but not recorded done")
            #expect(try VideoReader(path: "\(out)/\(name)").readAll().count == 9)
            modified[name] = try FileManager.default.attributesOfItem(atPath: "\(out)/\(name)")[.modificationDate] as? Date
        }
        #expect(Set(modified.keys) == finished)

        // 3. Resume to the end.
        try CLI.succeed(arguments + ["--resume"], in: folder, tag: "resumed")
        let records = try ManifestReader.read(path: manifest).records.filter { $0.status != .run }
        #expect(records.allSatisfy { $0.status == .done })
        for (index, prompt) in Self.prompts.enumerated() {
            let mine = records.filter { $0.index == index }
            #expect(mine.count == 1, "item \(index) has \(mine.count) records")
            #expect(mine.first?.prompt == prompt)
            #expect(mine.first?.seed == SeedDerivation.seed(base: 3, index: index))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(names.filter { $0.hasPrefix(".") && $0 != BatchFolderLock.fileName }.isEmpty, "partial files left: \(names)")
        let videos = names.filter { $0.hasSuffix(".mp4") }
        #expect(videos.count == Self.prompts.count)
        for name in videos {
            #expect(try VideoReader(path: "\(out)/\(name)").readAll().count == 9)
        }
        for (name, date) in modified {
            let now = try FileManager.default.attributesOfItem(atPath: "\(out)/\(name)")[.modificationDate] as? Date
            #expect(now == date, "\(name) was rewritten by the resume")
        }
    }
}
