import Foundation
import Testing

@testable import Media

/// Smooth synthetic content: diagonal colour gradients plus a soft disc moving across the frame.
/// Smooth so that 4:2:0 chroma subsampling and CRF 18 stay near-lossless (PSNR well above 38 dB).
func syntheticFrames(count: Int, width: Int, height: Int) throws -> [VideoFrame] {
    try (0..<count).map { t in
        var rgb = [Float](repeating: 0, count: width * height * 3)
        let cx = Float(width) * (0.25 + 0.5 * Float(t) / Float(max(1, count - 1)))
        let cy = Float(height) * (0.5 + 0.2 * sinf(Float(t) * 0.3))
        let radius = Float(min(width, height)) * 0.2
        for y in 0..<height {
            for x in 0..<width {
                let u = Float(x) / Float(width - 1)
                let v = Float(y) / Float(height - 1)
                let d = ((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy))
                    .squareRoot()
                // Soft edge about radius/2 wide.
                let disc = max(0, min(1, (radius - d) / (radius * 0.5) + 0.5))
                let i = (y * width + x) * 3
                rgb[i] = (0.8 * u - 0.4) * (1 - disc) + 0.7 * disc
                rgb[i + 1] = (0.6 * v - 0.3 + 0.1 * sinf(Float(t) * 0.2)) * (1 - disc) + 0.2 * disc
                rgb[i + 2] = (0.5 - 0.7 * u * v) * (1 - disc) - 0.5 * disc
            }
        }
        return try VideoFrame(width: width, height: height, floatRGB: rgb)
    }
}

/// Peak signal-to-noise ratio in dB over all channels (8-bit peak 255).
func psnr(_ a: VideoFrame, _ b: VideoFrame) -> Double {
    precondition(a.pixels.count == b.pixels.count)
    var sum = 0.0
    for i in 0..<a.pixels.count {
        let d = Double(a.pixels[i]) - Double(b.pixels[i])
        sum += d * d
    }
    let mse = sum / Double(a.pixels.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

/// A fresh empty folder under the system temporary directory.
func makeTemporaryFolder() throws -> String {
    let path = NSTemporaryDirectory() + "media-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Looks an executable up on PATH.
func executable(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(
        separator: ":")
    return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

extension Trait where Self == ConditionTrait {
    /// Skips (with a reason) when the `ffprobe` and `ffmpeg` programs are not installed.
    static var requiresFFmpegTools: Self {
        .enabled(
            if: executable("ffprobe") != nil && executable("ffmpeg") != nil,
            "ffmpeg/ffprobe programs not installed")
    }
}

/// Runs a program to completion and returns its exit status and standard output.
func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable(program) ?? program)
    process.arguments = arguments
    let out = privatePipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// `key=value` lines (ffprobe `-of default=nw=1`) as a dictionary.
func keyValues(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        out[String(line[..<eq])] = String(line[line.index(after: eq)...])
    }
    return out
}

/// Top-level MP4 box types in file order.
func mp4TopLevelBoxes(_ path: String) throws -> [String] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    var boxes: [String] = []
    var offset = 0
    while offset + 8 <= data.count {
        var size = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        let type = String(decoding: data[offset + 4..<offset + 8], as: UTF8.self)
        if size == 1, offset + 16 <= data.count {
            size = data[offset + 8..<offset + 16].reduce(0) { $0 << 8 | Int($1) }
        }
        boxes.append(type)
        guard size >= 8 else { break }
        offset += size
    }
    return boxes
}

/// A pipe whose descriptors are close-on-exec. Tests run in parallel, so without the flag a child
/// spawned by another test inherits these ends and keeps the pipe open (a consumer then never
/// sees end of file). `Process` dup2s the child's end onto its stdin/stdout, which clears the flag
/// there.
func privatePipe() -> Pipe {
    let pipe = Pipe()
    for fd in [pipe.fileHandleForReading.fileDescriptor, pipe.fileHandleForWriting.fileDescriptor] {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    return pipe
}

/// Blocking work (pipe reads, process waits) run on a Dispatch thread, so it never occupies one
/// of the two threads of the Swift concurrency pool that the writer under test needs.
func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}
