import ArgumentParser
import Bottleneck
import Foundation
import SafeTensors
import Tensor

extension Bottleneck {
    /// `bottleneck info DIR`: what a pipeline folder holds (stdout is machine-readable with --json).
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a pipeline folder: components, configs and weights.")

        @Argument(help: "Pipeline folder (default: the one generate would use).")
        var directory: String?

        @Flag(help: "Print JSON instead of text.")
        var json = false

        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let folder = try PipelineFolder.locate(explicit: directory)
            Threads.configure(ProcessInfo.processInfo.activeProcessorCount)
            let report = try PipelineReport(folder: folder)
            let text = json ? report.json() : report.text()
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
            if !report.missing.isEmpty {
                logging.log.warning("missing components: \(report.missing.joined(separator: ", "))")
            }
        }
    }
}

/// The contents of a pipeline folder, read without loading any weights (headers only; a FLUX.1
/// component without weight files is counted from its config), and the memory estimate of the
/// kind's default request under standard sampling (`ResourceFit`, as `generate` checks it).
struct PipelineReport {
    struct Component {
        var name: String
        var configClass: String?
        var config: [String: Any]
        var weights: ResourceFit.Weights?
    }

    var path: String
    var kind: PipelineKind
    var components: [Component] = []
    var missing: [String] = []
    /// The default request the estimate is for, and the estimate.
    var request: GenerationRequest
    var estimate: ResourceEstimate

    init(folder: PipelineFolder) throws {
        path = folder.path
        kind = try folder.kind()
        let fm = FileManager.default
        let fit = try ResourceFit(pipeline: folder)
        for name in kind.components {
            let dir = (folder.path as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: dir) else { missing.append(name); continue }
            var c = Component(name: name, configClass: nil, config: [:],
                              weights: fit.weights.first { $0.component.rawValue == name })
            for configName in ["config.json", "scheduler_config.json", "tokenizer_config.json"] {
                let p = (dir as NSString).appendingPathComponent(configName)
                guard let data = fm.contents(atPath: p) else { continue }
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw ValidationError("\(p): not a JSON object")
                }
                c.config = object
                c.configClass = object["_class_name"] as? String ?? (object["architectures"] as? [String])?.first
                break
            }
            components.append(c)
        }
        var request = GenerationRequest(prompt: "info", kind: kind, guidance: try folder.defaultGuidance())
        request.bottleneck = .preset(.off)
        request.output = .file(kind.makesImages ? "image.png" : "video.mp4")
        self.request = request
        estimate = fit.estimate(request, stages: try PlanFit(pipeline: folder).check(request))
    }

    /// What the estimate is for, in words.
    var estimateSubject: String {
        (kind.makesImages ? "one \(request.width)×\(request.height) image" : "\(request.frames) frames of \(request.width)×\(request.height)")
            + ", standard sampling"
    }

    func text() -> String {
        var lines = ["pipeline \(path) (\(kind.rawValue))"]
        for c in components {
            var line = "  \(c.name)"
            if let cls = c.configClass { line += " (\(cls))" }
            if let w = c.weights {
                line += String(format: ": %.2f M parameters, %@ %.1f MB%@, %@ resident", Double(w.parameters) / 1e6,
                               w.storage.joined(separator: "+"), Double(w.storedBytes) / 1e6,
                               w.inferredFromConfig ? " (from config.json, no weight files)" : " on disk",
                               ResourceShortage.bytes(w.residentBytes))
            }
            lines.append(line)
        }
        for m in missing { lines.append("  \(m): missing") }
        lines.append("memory for \(estimateSubject): about \(ResourceShortage.bytes(estimate.peakMemoryBytes)) at its peak")
        for share in estimate.peakShares { lines.append("  \(share.name): \(ResourceShortage.bytes(share.bytes))") }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        var object: [String: Any] = ["path": path, "kind": kind.rawValue, "missing": missing]
        var comps: [String: Any] = [:]
        for c in components {
            var entry: [String: Any] = ["class": c.configClass ?? NSNull(), "config": c.config]
            if let w = c.weights {
                entry["parameters"] = w.parameters
                entry["storage"] = w.storage
                entry["stored_bytes"] = w.storedBytes
                entry["resident_bytes"] = w.residentBytes
                entry["from_config"] = w.inferredFromConfig
            }
            comps[c.name] = entry
        }
        object["components"] = comps
        object["memory_estimate"] = [
            "for": estimateSubject, "peak_bytes": estimate.peakMemoryBytes,
            "shares": estimate.peakShares.map { ["name": $0.name, "bytes": $0.bytes] as [String: Any] },
        ] as [String: Any]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
