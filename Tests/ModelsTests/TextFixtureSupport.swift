import Foundation
import SafeTensors
import Tensor
import TestSupport

extension TestPaths {
    /// The `expected.safetensors` of text fixture `name` (hidden states recorded from PyTorch).
    static func expectedTensors(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: fixture(name + "/expected.safetensors"))
    }
}

/// Parity tolerance for float32 text encoders against PyTorch float32: the brief's 1e-4 on
/// hidden states (observed max errors: MiniLM 3.2e-6, CLIP 1.8e-6, Llama 1.8e-6 — summation-order
/// noise of float32 gemm).
let textParityTolerance: Float = 1e-4

/// Max |a - b| over the rows `rows` of `a` (`[tokens, width]` view) against `b` of the same layout.
func maxDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    var m: Float = 0
    for (x, y) in zip(a, b) { m = max(m, abs(x - y)) }
    precondition(a.count == b.count, "compared \(a.count) vs \(b.count) values")
    return m
}
