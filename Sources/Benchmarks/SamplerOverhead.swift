import Foundation
import Sampling
import Tensor

/// Measures the controller's own cost (resampling, re-noising, noise generation, Euler steps,
/// bookkeeping) by running a plan with a zero-cost denoiser, and sets it against the
/// transformer time the plan would take at a given sustained throughput.
public enum SamplerOverhead {
    public struct Report: Sendable, Equatable {
        /// Wall time of the whole plan with a denoiser that returns zeros (its allocation included).
        public var controllerSeconds: Double
        /// `planFLOPs / flopsPerSecond`.
        public var transformerSeconds: Double
        public var modelCalls: Int
        /// `controllerSeconds / (controllerSeconds + transformerSeconds)`.
        public var fraction: Double { controllerSeconds / (controllerSeconds + transformerSeconds) }
    }

    struct ZeroDenoiser: Denoiser {
        func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry, conditional: Bool) throws -> Tensor {
            Tensor(shape: latents.shape)
        }
    }

    /// - Parameters:
    ///   - flopsPerSecond: the transformer's sustained throughput (150 GFLOP/s is the brief's
    ///     estimate for two cores with OpenBLAS).
    ///   - repeats: runs to take the median of.
    public static func measure(plan: BottleneckPlan, base: LatentSize, transformer: TransformerCost,
                               channels: Int = 16, guidance: GuidanceMode = .embedded,
                               flopsPerSecond: Double = 150e9, repeats: Int = 5) throws -> Report {
        let cost = try plan.cost(base: base, transformer: transformer, passesPerCall: guidance.passesPerStep)
        var times: [Double] = []
        var calls = 0
        for r in 0..<max(1, repeats) {
            let clock = ContinuousClock()
            let start = clock.now
            var sampler = try BottleneckSampler(
                plan: plan, base: base, patch: transformer.patch, denoiser: ZeroDenoiser(), seed: UInt64(r),
                configuration: .init(guidance: guidance, channels: channels))
            while try sampler.nextStep() != nil {}
            let d = clock.now - start
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
            calls = sampler.totalSteps
        }
        times.sort()
        return Report(controllerSeconds: times[times.count / 2], transformerSeconds: cost.planFLOPs / flopsPerSecond,
                      modelCalls: calls)
    }
}
