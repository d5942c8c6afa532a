import Diagnostics

extension BottleneckPlan {
    /// What a plan file or the compact `steps@scale` syntax may hold, checked while the plan is
    /// read (`init(json:file:)`, `init(parsing:)`), so an absurd plan is refused before anything
    /// is allocated. A plan that passes resolves to at most 1000 steps over at most 16 stages,
    /// each no larger than the largest video a request accepts.
    public enum Bounds {
        /// Stages in one plan (the paper uses 3; the `5stage` preset 5).
        public static let stageCount = IntegerBound(1...16)
        /// Steps of one stage, of all stages together, and `base_steps`; the same limit as a
        /// request's `--steps`.
        public static let steps = IntegerBound(1...1000)
        /// Timestep shift of a stage and `base_shift` (HunyuanVideo uses 7, its bottleneck stages 9).
        public static let shift = RealBound<Double>(0...100, includesLower: false, fallback: 1)
        /// Noise-reintroduction strength of a stage (stage 0 must be 1, checked when resolving).
        public static let strength = RealBound<Double>(0...1, includesLower: false, fallback: 1)
        /// A stage's size as a fraction of the video's latent, per axis: a stage is never larger
        /// than the video.
        public static let scale = RealBound<Double>(0...1, includesLower: false, fallback: 0.5)
        /// A stage's latent frames given in cells: the largest request's (1033 frames, 4× VAE
        /// time compression).
        public static let latentFrames = IntegerBound(1...259)
        /// A stage's latent height or width in cells: the largest request's (4096 px, 8× VAE
        /// space compression).
        public static let latentSide = IntegerBound(1...512)
    }

    /// The first plan-wide bound `stages` violate (their number, their steps together), with
    /// the name the message gives it.
    static func totalsViolation(_ stages: [BottleneckStage]) -> (key: String, violation: BoundViolation)? {
        if let v = Bounds.stageCount.violation(stages.count) { return ("number of stages", v) }
        if let v = Bounds.steps.violation(stages.reduce(0) { $0 + $1.steps }) { return ("steps over all stages", v) }
        return nil
    }
}

/// A value of a plan's JSON outside its bound, thrown while decoding; `init(json:file:)` turns
/// it into `SamplingError.outOfBounds` with the file.
struct PlanValueOutOfBounds: Error {
    /// Where in the document, e.g. `stages[1].steps`.
    var key: String
    var violation: BoundViolation
}

extension KeyedDecodingContainer {
    /// Decodes the number at `key` and checks it against `bound`. A number that is not a
    /// `Value` (a fraction for an integer, one too large) is reported against the bound too.
    /// - Throws: `PlanValueOutOfBounds` naming the key path; `DecodingError` for a missing key
    ///   or a value that is not a number.
    func decode<Bound: NumericBound>(_ key: Key, within bound: Bound) throws -> Bound.Value {
        let text: String
        if let integer = try? decode(Int.self, forKey: key) { text = String(integer) } else {
            text = String(try decode(Double.self, forKey: key))
        }
        do throws(BoundViolation) { return try bound.parse(text) } catch {
            throw PlanValueOutOfBounds(key: BottleneckPlan.keyPath(codingPath + [key]), violation: error)
        }
    }

    /// `decode(_:within:)` for an optional key (absent or null gives nil).
    func decodeIfPresent<Bound: NumericBound>(_ key: Key, within bound: Bound) throws -> Bound.Value? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(key, within: bound)
    }
}
