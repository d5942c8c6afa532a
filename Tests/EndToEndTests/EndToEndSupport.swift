import Foundation
import Media
import TestSupport
import Testing

/// Runs the built `bottleneck` executable as a child process on the embedded pipeline
/// (`pipelines/shapes`, real weights) with tiny, fast settings.
enum CLI {

    /// The executable `program` (`bottleneck`, `bottleneck-bench`) next to the test bundle
    /// (`.build/<config>/`): `swift test` builds every product of the package, and this target
    /// depends on the executable's target.
    static func executable(_ program: String = "bottleneck") throws -> String {
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = (bundle as NSString).deletingLastPathComponent + "/" + program
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLIError(message: "no built executable at \(path); run `swift build` first")
        }
        return path
    }

    /// Settings of every run: 9 frames (3 latent frames) of 32×32, one step per stage.
    /// Small enough that a debug build generates a clip in a few seconds.
    static let small = ["--frames", "9", "--width", "32", "--height", "32",
                        "--pipeline", TestPaths.shapesPipeline, "--threads", "2"]

    /// A three-stage Bottleneck Sampling plan, one step each: full (4×4 latent), half (2×2),
    /// full; so runs cross two stage changes. As `bottleneck plan --plan 1@1,1@0.5,1@1 --json`
    /// prints it.
    static let threeStagePlan = """
        {"ablations": {"bottleneck": true, "renoise": true, "reshift": true}, "base_shift": 7,
         "base_steps": 3, "filters": {"downsampling": "lanczos3", "upsampling": "lanczos3"},
         "name": "e2e", "reading": "B", "transition": "restart", "stages": [
           {"scale": 1, "shift": 7, "steps": 1, "strength": 1},
           {"scale": 0.5, "shift": 7, "steps": 1, "strength": 0.8},
           {"scale": 1, "shift": 7, "steps": 1, "strength": 0.8}]}
        """

    struct CLIError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// A finished child: exit status, stdout bytes and stderr text.
    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
    }

    /// Starts `program arguments…` with stdout and stderr going to files in `folder`, and
    /// `environment` added to this process's, less the variables named in `unset`.
    static func start(_ arguments: [String], in folder: String, tag: String, environment: [String: String] = [:],
                      unset: [String] = [], program: String = "bottleneck") throws -> (Process, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable(program))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .filter { !unset.contains($0.key) }
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let out = "\(folder)/\(tag).stdout", err = "\(folder)/\(tag).stderr"
        for path in [out, err] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs `program arguments…` to completion (files, not pipes, so a chatty child never
    /// blocks on a full pipe).
    static func run(_ arguments: [String], in folder: String, tag: String, environment: [String: String] = [:],
                    unset: [String] = [], program: String = "bottleneck") throws -> Result {
        let (process, out, err) = try start(arguments, in: folder, tag: tag, environment: environment, unset: unset,
                                            program: program)
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: FileManager.default.contents(atPath: out) ?? Data(),
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Runs and expects exit status 0; the error quotes stderr.
    @discardableResult
    static func succeed(_ arguments: [String], in folder: String, tag: String) throws -> Result {
        let result = try run(arguments, in: folder, tag: tag)
        guard result.status == 0 else {
            throw CLIError(message: "bottleneck \(arguments.prefix(2).joined(separator: " ")) exited \(result.status):\n\(result.stderr)")
        }
        return result
    }

    /// A fresh folder under the temporary directory, with the three-stage plan in `plan.json`.
    static func makeFolder() throws -> String {
        let path = try makeTemporaryDirectory(prefix: "bottleneck-e2e")
        try threeStagePlan.write(toFile: path + "/plan.json", atomically: true, encoding: .utf8)
        return path
    }
}

/// Mean absolute difference per 8-bit channel value between two equally sized frames.
func meanAbsoluteDifference(_ a: VideoFrame, _ b: VideoFrame) -> Double {
    precondition(a.pixels.count == b.pixels.count, "frames of different sizes")
    var sum = 0
    for i in 0..<a.pixels.count { sum += abs(Int(a.pixels[i]) - Int(b.pixels[i])) }
    return Double(sum) / Double(a.pixels.count)
}

/// All frames of a video file, decoded to RGB.
func decodeAll(_ path: String) throws -> [VideoFrame] {
    try VideoReader(path: path).readAll()
}
