import Diagnostics
import Foundation
import Tensor

/// The one error type of the `Sampling` module. Every case carries the context a user needs to
/// fix the input: the stage index and dimension, the bad token, the JSON key.
public struct SamplingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A plan has no stages.
        case emptyPlan
        /// A stage's latent extent along `dimension` ("frames", "height", "width") is not positive.
        case nonPositiveSize(stage: Int, dimension: String, size: Int)
        /// A stage's latent extent is not a multiple of the transformer's patch size.
        case notDivisibleByPatch(stage: Int, dimension: String, size: Int, patch: Int)
        /// A stage's step count is not positive.
        case nonPositiveSteps(stage: Int, steps: Int)
        /// A stage's strength is outside (0, 1], or stage 0 does not start from pure noise.
        case badStrength(stage: Int, strength: Double)
        /// A shift is not positive.
        case badShift(stage: Int, shift: Double)
        /// A resolution fraction is not positive.
        case badScale(stage: Int, dimension: String, scale: Double)
        /// A stage (after applying its strength) would make no model call.
        case emptyStage(stage: Int)
        /// The last stage is not at the full (base) size: the video is decoded from its latent.
        case lastStageNotFull(stage: Int, size: LatentSize, base: LatentSize)
        /// A token of the compact `steps@scale` syntax could not be read.
        case badToken(token: String, position: Int, reason: String)
        /// An unknown preset name.
        case unknownPreset(name: String, known: [String])
        /// A derived plan could not reach the requested FLOPs ratio within tolerance.
        case unreachableSpeedup(target: Double, best: Double)
        /// A JSON document could not be decoded (file or "<string>", and the decoder's message).
        case badJSON(file: String, message: String)
        /// A plan's value outside `BottleneckPlan.Bounds`: the file (nil for the compact
        /// syntax), the key path (`stages[1].steps`, or "number of stages") and the violation.
        case outOfBounds(file: String?, key: String, violation: BoundViolation)
        /// The denoiser returned a velocity of the wrong shape.
        case velocityShape(stage: Int, expected: [Int], found: [Int])
        /// The initial latent does not have the stage-0 shape.
        case latentShape(expected: [Int], found: [Int])
        /// A guidance scale that is not finite.
        case badGuidance(scale: Float)
        /// The latents after step `step` (0-based, of `stageSteps`) of stage `stage` (`index`
        /// over all stages) hold NaN or infinite values.
        case nonFiniteLatents(stage: Int, step: Int, stageSteps: Int, index: Int, values: NonFiniteValues)
    }

    public var kind: Kind
    public init(_ kind: Kind) { self.kind = kind }

    /// A speed-up for messages: two decimals at most, no trailing zeros (2, 2.5, 0.79).
    static func ratio(_ x: Double) -> String {
        var text = String(format: "%.2f", x)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    public var description: String {
        switch kind {
        case .emptyPlan:
            return "the bottleneck plan has no stages"
        case let .nonPositiveSize(stage, dimension, size):
            return "stage \(stage): latent \(dimension) is \(size); it must be positive"
        case let .notDivisibleByPatch(stage, dimension, size, patch):
            return "stage \(stage): latent \(dimension) \(size) is not a multiple of the patch size \(patch)"
        case let .nonPositiveSteps(stage, steps):
            return "stage \(stage): \(steps) steps; a stage needs at least 1"
        case let .badStrength(stage, strength):
            return stage == 0
                ? "stage 0: strength \(strength); the first stage must start from pure noise (strength 1)"
                : "stage \(stage): strength \(strength) is outside (0, 1]"
        case let .badShift(stage, shift):
            return "stage \(stage): shift \(shift) must be positive"
        case let .badScale(stage, dimension, scale):
            return "stage \(stage): \(dimension) scale \(scale) must be positive"
        case let .emptyStage(stage):
            return "stage \(stage): its steps and strength leave no model call; raise steps or strength"
        case let .lastStageNotFull(stage, size, base):
            return "the last stage (\(stage)) runs at \(size) latent cells, not the full \(base): "
                + "the video is decoded from the last stage, so end the plan at scale 1"
        case let .badToken(token, position, reason):
            return "plan token \(position + 1) '\(token)': \(reason) (expected steps@scale, e.g. 4@1,10@0.5,4@1)"
        case let .unknownPreset(name, known):
            return "unknown preset '\(name)'; known: \(known.joined(separator: ", "))"
        case let .unreachableSpeedup(target, best):
            return "cannot derive a plan within 5 % of x\(Self.ratio(target)); the closest is x\(Self.ratio(best))"
        case let .badJSON(file, message):
            return "\(file): \(message)"
        case let .outOfBounds(file, key, violation):
            return (file.map { "\($0): " } ?? "plan: ") + "\(key) \(violation)"
        case let .velocityShape(stage, expected, found):
            return "stage \(stage): the denoiser returned shape \(found), expected \(expected)"
        case let .latentShape(expected, found):
            return "initial latent has shape \(found), expected \(expected)"
        case let .badGuidance(scale):
            return "guidance scale \(scale) is not finite"
        case let .nonFiniteLatents(stage, step, stageSteps, index, values):
            return "stage \(stage), step \(step + 1) of \(stageSteps) (step \(index + 1) overall): the latents hold "
                + "\(values); the transformer's output was not finite, so the video would be black"
        }
    }
}
