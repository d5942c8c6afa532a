import Foundation

/// Reproducible standard-normal noise: SplitMix64 + Box–Muller in float64, rounded to float32.
///
/// Algorithm (the Python reference `Scripts/sampler/reference_sampler.py` implements the same):
/// ```
/// next():  state += 0x9E3779B97F4A7C15 (mod 2^64)
///          z = state; z = (z ^ (z >> 30)) · 0xBF58476D1CE4E5B9
///                     z = (z ^ (z >> 27)) · 0x94D049BB133111EB;  return z ^ (z >> 31)
/// pair:    a = next(), b = next()
///          u1 = ((a >> 11) + 1) · 2^-53        ∈ (0, 1]
///          u2 =  (b >> 11)      · 2^-53        ∈ [0, 1)
///          r  = sqrt(−2·ln u1)
///          values r·cos(2π·u2), r·sin(2π·u2)   float64, then rounded to float32
/// ```
/// `gaussian(count:)` draws `ceil(count / 2)` pairs and drops the spare of an odd count, so the
/// stream position after a call depends only on `count`. The integer part is exact on every
/// machine; `log`, `cos`, `sin` come from the platform libm in float64 (glibc and Apple's libm
/// agree to within an ulp), and rounding to float32 absorbs such a difference except in the rare
/// case where the float64 value lies within an ulp of a float32 rounding boundary.
public struct GaussianNoise: Sendable {
    public private(set) var state: UInt64

    /// A stream seeded with `seed` (the initial SplitMix64 state).
    public init(seed: UInt64) { state = seed }

    /// The next 64 raw bits (SplitMix64, Steele, Lea and Flood 2014).
    public mutating func nextBits() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` standard-normal float32 values.
    public mutating func gaussian(count: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(count + 1)
        let scale = 1.0 / 9_007_199_254_740_992.0  // 2^-53
        while out.count < count {
            let u1 = Double((nextBits() >> 11) + 1) * scale
            let u2 = Double(nextBits() >> 11) * scale
            let r = (-2.0 * Foundation.log(u1)).squareRoot()
            let theta = 2.0 * Double.pi * u2
            out.append(Float(r * Foundation.cos(theta)))
            out.append(Float(r * Foundation.sin(theta)))
        }
        if out.count > count { out.removeLast() }
        return out
    }
}

/// The sampler's noise: one seed, one independent `GaussianNoise` stream per stage.
///
/// Stage i's stream is seeded with the i-th output (0-based) of `GaussianNoise(seed: seed).nextBits()`,
/// so stage 0 (the initial latent) and the noise reintroduced at every later stage are fixed by the
/// seed alone, whatever the sizes of the other stages. Stage 0's draw is the initial latent
/// `[B, T, H, W, C]` in row-major order; stage i > 0's draw is ε_i of the next stage's shape.
public struct StageNoise: Sendable, Equatable {
    public var seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// The seed of stage `stage`'s stream.
    public func streamSeed(stage: Int) -> UInt64 {
        var root = GaussianNoise(seed: seed)
        var bits: UInt64 = 0
        for _ in 0...stage { bits = root.nextBits() }
        return bits
    }

    /// The noise stream of stage `stage`.
    public func stream(stage: Int) -> GaussianNoise { GaussianNoise(seed: streamSeed(stage: stage)) }
}
