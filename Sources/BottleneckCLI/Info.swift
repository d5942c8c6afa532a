import ArgumentParser
import Bottleneck
import Foundation
import SafeTensors

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
            let report = try PipelineReport(folder: folder)
            let text = json ? report.json() : report.text()
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
            if !report.missing.isEmpty {
                logging.log.warning("missing components: \(report.missing.joined(separator: ", "))")
            }
        }
    }
}

/// The contents of a pipeline folder, read without loading any weights (headers only).
struct PipelineReport {
    struct Component {
        var name: String
        var configClass: String?
        var config: [String: Any]
        var weightFiles: [String]
        var tensors: Int
        var parameters: Int
        var bytes: Int
    }

    var path: String
    var components: [Component] = []
    var missing: [String] = []

    init(folder: PipelineFolder) throws {
        path = folder.path
        let fm = FileManager.default
        for name in PipelineFolder.components {
            let dir = (folder.path as NSString).appendingPathComponent(name)
            guard fm.fileExists(atPath: dir) else { missing.append(name); continue }
            var c = Component(name: name, configClass: nil, config: [:], weightFiles: [], tensors: 0, parameters: 0, bytes: 0)
            for configName in ["config.json", "scheduler_config.json", "tokenizer_config.json"] {
                let p = (dir as NSString).appendingPathComponent(configName)
                guard let data = fm.contents(atPath: p) else { continue }
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw ValidationError("\(p): not a JSON object")
                }
                c.config = object
                c.configClass = object["_class_name"] as? String
                break
            }
            let files = (try fm.contentsOfDirectory(atPath: dir)).filter { $0.hasSuffix(".safetensors") }.sorted()
            for f in files {
                let p = (dir as NSString).appendingPathComponent(f)
                let st = try SafeTensorsFile(path: p)
                c.weightFiles.append(f)
                c.tensors += st.entries.count
                for e in st.entries.values {
                    c.parameters += e.shape.reduce(1, *)
                    c.bytes += e.range.count
                }
            }
            components.append(c)
        }
    }

    func text() -> String {
        var lines = ["pipeline \(path)"]
        for c in components {
            var line = "  \(c.name)"
            if let cls = c.configClass { line += " (\(cls))" }
            if !c.weightFiles.isEmpty {
                line += String(format: ": %d tensors, %.2f M parameters, %.1f MB in %d file(s)",
                               c.tensors, Double(c.parameters) / 1e6, Double(c.bytes) / 1e6, c.weightFiles.count)
            }
            lines.append(line)
        }
        for m in missing { lines.append("  \(m): missing") }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        var object: [String: Any] = ["path": path, "missing": missing]
        var comps: [String: Any] = [:]
        for c in components {
            comps[c.name] = [
                "class": c.configClass ?? NSNull(), "config": c.config, "weight_files": c.weightFiles,
                "tensors": c.tensors, "parameters": c.parameters, "bytes": c.bytes,
            ] as [String: Any]
        }
        object["components"] = comps
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
