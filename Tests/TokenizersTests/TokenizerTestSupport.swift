import Foundation

/// Paths of the committed fixtures and pipeline files, found from this file's location.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static func path(_ relative: String) -> String { (packageRoot as NSString).appendingPathComponent(relative) }

    /// The `expected.json` of a text fixture.
    static func expected(_ fixture: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("Tests/Fixtures/\(fixture)/expected.json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}
