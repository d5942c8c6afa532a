import Foundation

/// A diffusers-layout model folder (`transformer/`, `vae/`, `text_encoder/`, `tokenizer/`,
/// `scheduler/`), found from `--pipeline`, `$BOTTLENECK_PIPELINE`, next to the executable, or
/// in the current directory — in that order.
struct PipelineFolder: Sendable, Equatable {
    static let environmentKey = "BOTTLENECK_PIPELINE"
    static let embeddedName = "pipelines/shapes"
    static let components = ["transformer", "vae", "text_encoder", "tokenizer", "scheduler"]

    let path: String

    /// The folder's last path component (recorded in output metadata), e.g. `shapes`.
    var displayName: String { (path as NSString).lastPathComponent }

    /// - Throws: `PipelineFolderError` listing every place that was tried.
    static func locate(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                       executable: String = CommandLine.arguments.first ?? "",
                       currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> PipelineFolder {
        if let explicit {
            guard isDirectory(explicit) else { throw PipelineFolderError(tried: [explicit], explicit: true) }
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
        throw PipelineFolderError(tried: tried, explicit: false)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}

struct PipelineFolderError: Error, CustomStringConvertible {
    var tried: [String]
    var explicit: Bool
    var description: String {
        if explicit { return "pipeline folder '\(tried[0])' does not exist" }
        return "no pipeline folder found; pass --pipeline DIR or set \(PipelineFolder.environmentKey). Tried: "
            + tried.joined(separator: ", ")
    }
}
