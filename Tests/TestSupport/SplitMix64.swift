import Sampling

/// Seeded test randomness as a `RandomNumberGenerator`: the raw SplitMix64 stream of the
/// sampler's `GaussianNoise` (one implementation of the algorithm), so a seed gives the same
/// values on every machine.
public struct SplitMix64: RandomNumberGenerator {
    private var stream: GaussianNoise

    public init(seed: UInt64) { stream = GaussianNoise(seed: seed) }

    public mutating func next() -> UInt64 { stream.nextBits() }
}
