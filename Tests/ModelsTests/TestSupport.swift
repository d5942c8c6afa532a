import Foundation
import SafeTensors
import Tensor

/// `Tests/Fixtures/<name>`, located from this source file (fixtures are not bundled).
func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Largest absolute difference and its flat index.
func maxAbsError(_ a: Tensor, _ b: Tensor) -> (error: Float, index: Int) {
    var worst: (Float, Int) = (0, 0)
    for i in 0..<min(a.count, b.count) {
        let e = abs(a.data[i] - b.data[i])
        if e > worst.0 || e.isNaN { worst = (e, i) }
    }
    return worst
}
