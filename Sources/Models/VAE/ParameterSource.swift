import SafeTensors
import Tensor

/// Where a VAE layer gets its tensors: a checked `WeightReader` (normal loads), or seeded random
/// values for benchmarks of a config without a checkpoint. Keys are diffusers state-dict keys.
struct ParameterSource: Sendable {
    let prefix: String
    let fetch: @Sendable (_ key: String, _ shape: [Int]) throws -> Tensor

    /// Reads through `reader` (its scope is the root of `AutoencoderKLHunyuanVideo`'s state dict).
    init(_ reader: WeightReader) {
        prefix = ""
        fetch = { key, shape in try reader.tensor(key, shape: shape) }
    }

    /// Deterministic random weights: a SplitMix64 stream seeded by `seed` and the key, scaled like
    /// `Scripts/fixtures/make_vae_fixtures.py` (uniform with variance 1/fan_in for conv and linear
    /// weights, GroupNorm weights near 1, small biases), so activations stay O(1).
    init(randomSeed seed: UInt64) {
        prefix = ""
        fetch = { key, shape in
            var state = seed
            for byte in key.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
            let n = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: n)
            let isNormWeight = key.contains("norm") && key.hasSuffix("weight")
            let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
            let amplitude: Float = shape.count >= 2 ? (3 / Float(fanIn)).squareRoot()
                : isNormWeight ? 0.2 : 0.1
            for i in 0..<n {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let u = Float(z >> 40) / Float(1 << 23) - 1  // uniform in [-1, 1)
                values[i] = (isNormWeight ? 1 : 0) + amplitude * u
            }
            return Tensor(shape: shape, data: values)
        }
    }

    private init(prefix: String, fetch: @escaping @Sendable (String, [Int]) throws -> Tensor) {
        self.prefix = prefix
        self.fetch = fetch
    }

    func scope(_ name: String) -> ParameterSource {
        ParameterSource(prefix: prefix.isEmpty ? name : "\(prefix).\(name)", fetch: fetch)
    }

    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        try fetch(prefix.isEmpty ? name : "\(prefix).\(name)", shape)
    }
}
