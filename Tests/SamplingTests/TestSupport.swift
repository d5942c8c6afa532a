import Foundation
import Sampling
import Tensor
import TestSupport

/// `Tests/Fixtures/sampler`, the sampler and resampling references.
enum Fixture {
    static let directory = URL(fileURLWithPath: TestPaths.fixture("sampler"))

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// Re-encodes a JSON object fragment so it can be decoded with `Codable`.
    static func decode<T: Decodable>(_ type: T.Type, from object: Any) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
    }

    static func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { $0.floatValue } }
    static func ints(_ any: Any?) -> [Int] { (any as! [NSNumber]).map { $0.intValue } }
}

/// Per-channel Gaussian data `x₀ ~ N(μ_c, s_c²)` and its exact flow-matching velocity:
/// with `x = (1−σ)x₀ + σε`, `E[x₀|x] = μ + (1−σ)s²/((1−σ)²s² + σ²)·(x − (1−σ)μ)` and
/// `v = E[ε − x₀ | x] = (x − E[x₀|x])/σ`. Computed in float64, returned in float32 (as the
/// Python reference does). Channels are the last axis.
struct GaussianDataDenoiser: Denoiser {
    var mu: [Double]
    var s: [Double]
    var unconditional: (mu: [Double], s: [Double])? = nil
    var calls: [(timestep: Float, geometry: StageGeometry, conditional: Bool)] = []

    static func velocity(_ x: Tensor, sigma: Double, mu: [Double], s: [Double]) -> Tensor {
        let c = mu.count, a = 1 - sigma
        let gain = s.map { a * $0 * $0 / (a * a * $0 * $0 + sigma * sigma) }
        var out = x
        for i in 0..<x.count {
            let ch = i % c
            let xv = Double(x.data[i])
            let ex0 = mu[ch] + gain[ch] * (xv - a * mu[ch])
            out.data[i] = Float((xv - ex0) / sigma)
        }
        return out
    }

    mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry,
                           conditional: Bool) throws -> Tensor {
        calls.append((timestep, geometry, conditional))
        // The model sees only t = 1000·σ (float32); σ = t / 1000 in float64, as in the reference.
        let sigma = Double(timestep) / 1000
        if conditional || unconditional == nil { return Self.velocity(latents, sigma: sigma, mu: mu, s: s) }
        return Self.velocity(latents, sigma: sigma, mu: unconditional!.mu, s: unconditional!.s)
    }
}
