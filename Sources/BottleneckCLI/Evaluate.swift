import ArgumentParser
import Evaluation
import Foundation

extension Bottleneck {
    /// `bottleneck evaluate MANIFEST.jsonl`: scores videos of the "shapes" world against the
    /// attributes their prompts asked for.
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score generated shapes-world videos against their prompts' attributes.",
            discussion: """
                MANIFEST is JSON Lines, one {"prompt", "video", "attributes"} object per line, \
                video paths relative to the manifest's folder. Prints accuracy per attribute \
                (background, object count, color, shape, motion) and overall; bad lines are \
                reported on stderr with their line number and skipped (exit status 1).
                """)

        @Argument(help: "JSONL manifest of prompts, videos and ground-truth attributes.")
        var manifest: String

        @Option(help: "World spec JSON (default: pipelines/shapes/world_spec.json).")
        var spec: String = "pipelines/shapes/world_spec.json"

        @Flag(help: "Print per-item details and accuracies as JSON on stdout.")
        var json = false

        func run() throws {
            let stderr = FileHandle.standardError
            func log(_ s: String) { stderr.write(Data((s + "\n").utf8)) }
            guard FileManager.default.fileExists(atPath: spec) else {
                throw ValidationError("world spec '\(spec)' not found; pass --spec FILE (world_spec.json)")
            }
            do {
                let world = try WorldSpec(contentsOf: spec)
                let analyzer = SceneAnalyzer(spec: world)
                var report = AccuracyReport()
                var items: [ItemOutput] = []
                var failures = 0
                for entry in try EvaluationManifest.read(path: manifest, spec: world) {
                    let item: ManifestItem
                    switch entry {
                    case .success(let i): item = i
                    case .failure(let e):
                        log("bottleneck: error: \(e)")
                        failures += 1
                        continue
                    }
                    do {
                        let clip = try RGBClip(videoAt: item.videoPath)
                        let estimate = analyzer.analyze(clip)
                        let scores = SceneScorer.score(expected: item.attributes, detected: estimate)
                        report.add(scores)
                        let correct = scores.filter(\.correct).count
                        log("line \(item.line): \(correct)/\(scores.count) correct  \(item.videoPath)")
                        items.append(
                            ItemOutput(
                                line: item.line, prompt: item.prompt, video: item.videoPath,
                                frames: clip.frames.count, width: clip.width, height: clip.height,
                                expected: item.attributes, detected: estimate, scores: scores))
                    } catch {
                        log("bottleneck: error: \(manifest):\(item.line): \(error)")
                        failures += 1
                    }
                }
                guard !items.isEmpty else {
                    log("bottleneck: error: \(manifest): no usable line (\(failures) bad)")
                    throw ExitCode(1)
                }
                if json {
                    let out = JSONOutput(
                        items: items, accuracy: AttributeKind.allCases.reduce(into: [:]) {
                            $0[$1.rawValue] = report.perAttribute[$1.rawValue]?.accuracy
                        }, overall: report.overall, scored: report.all.total, failedLines: failures)
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    FileHandle.standardOutput.write(try encoder.encode(out))
                    FileHandle.standardOutput.write(Data("\n".utf8))
                } else {
                    var text = "items: \(items.count)\(failures > 0 ? " (\(failures) bad lines skipped)" : "")\n"
                    for kind in AttributeKind.allCases {
                        guard let t = report.perAttribute[kind.rawValue] else { continue }
                        let name = (kind.rawValue + ":").padding(toLength: 14, withPad: " ", startingAt: 0)
                        text += "\(name)\(String(format: "%.3f", t.accuracy))  (\(t.correct)/\(t.total))\n"
                    }
                    text += "overall:      \(String(format: "%.3f", report.overall))  (\(report.all.correct)/\(report.all.total))\n"
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                if failures > 0 { throw ExitCode(1) }
            } catch let e as EvaluationError {
                log("bottleneck: error: \(e)")
                throw ExitCode(1)
            }
        }
    }
}

/// One item of `evaluate --json`.
private struct ItemOutput: Encodable {
    var line: Int
    var prompt: String
    var video: String
    var frames: Int
    var width: Int
    var height: Int
    var expected: SceneAttributes
    var detected: SceneEstimate
    var scores: [AttributeScore]
}

/// The whole `evaluate --json` document.
private struct JSONOutput: Encodable {
    var items: [ItemOutput]
    /// Attribute kind → accuracy (absent when nothing of that kind was scored).
    var accuracy: [String: Double?]
    var overall: Double
    var scored: Int
    var failedLines: Int
}
