import Foundation

/// Places in this repository that tests read. Fixtures are files in the checkout, not bundled
/// resources, so every path is found from this source file.
public enum TestPaths {
    /// The repository root (this file is `Tests/TestSupport/TestPaths.swift`).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// `relative` under the repository root.
    public static func path(_ relative: String) -> String {
        (packageRoot as NSString).appendingPathComponent(relative)
    }

    /// `Tests/Fixtures/<name>` (a fixture folder, or a file in one: `transformer-test/io.safetensors`).
    public static func fixture(_ name: String) -> String { path("Tests/Fixtures/" + name) }

    /// The embedded pipeline (`pipelines/shapes`, real weights) that the library, CLI and
    /// end-to-end tests run.
    public static let shapesPipeline = path("pipelines/shapes")

    /// The `expected.json` object of fixture `name` (text encoder and tokenizer fixtures).
    public static func expectedJSON(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture(name + "/expected.json")))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.propertyListReadCorrupt, userInfo: [NSFilePathErrorKey: fixture(name + "/expected.json")])
        }
        return object
    }
}

/// A new empty folder under the temporary directory, named `<prefix>-<UUID>`; the caller removes it.
public func makeTemporaryDirectory(prefix: String = "bottleneck-tests") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
