import ArgumentParser
import Benchmarks
import Bottleneck
import Foundation
import Sampling

extension PlanPreset: ExpressibleByArgument {}

extension BottleneckBench {
    /// `bottleneck-bench overhead`: the Bottleneck Sampling controller's own cost (resampling,
    /// re-noising, noise, Euler steps) with a zero-cost denoiser, against the transformer time
    /// the plan would take at 150 GFLOP/s (`SamplerOverhead`).
    struct Overhead: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the sampling controller alone (zero-cost denoiser) against the transformer at 150 GFLOP/s.")

        @Option(help: "Named plan (\(PlanPreset.allCases.map(\.rawValue).joined(separator: ", "))); default x3.")
        var preset: PlanPreset = .x3
        @Option(help: "Video frames, \(GenerationRequest.Bounds.frames.summary).") var frames = 129
        @Option(help: "Video width in pixels, \(GenerationRequest.Bounds.pixelSide.summary).") var width = 128
        @Option(help: "Video height in pixels, \(GenerationRequest.Bounds.pixelSide.summary).") var height = 128
        @Option(help: "Steps of the standard sampling the plan replaces, \(BottleneckPlan.Bounds.steps.summary).")
        var steps = 50
        @Flag(help: "Run two transformer passes per step (classifier-free guidance).") var cfg = false
        @Flag(help: "Print the result as JSON on stdout instead of text.") var json = false

        func validate() throws {
            let bounds = GenerationRequest.Bounds.self
            for (option, violation) in [("frames", bounds.frames.violation(frames)), ("width", bounds.pixelSide.violation(width)),
                                        ("height", bounds.pixelSide.violation(height)),
                                        ("steps", BottleneckPlan.Bounds.steps.violation(steps))] {
                if let violation { throw ValidationError("--\(option): \(violation.requirement)") }
            }
        }

        struct Result: Encodable {
            var plan: String, controllerSeconds: Double, transformerSeconds: Double, modelCalls: Int, fraction: Double
            enum CodingKeys: String, CodingKey {
                case plan, fraction, controllerSeconds = "controller_seconds", modelCalls = "model_calls"
                case transformerSeconds = "transformer_seconds_at_150_gflops"
            }
        }

        func run() throws {
            let base = LatentSize(videoFrames: frames, width: width, height: height)
            let transformer = TransformerCost.defaultModel
            let context = PlanContext(base: base, transformer: transformer, baseSteps: steps)
            do {
                let plan = try BottleneckPlan.preset(preset, context: context)
                let r = try SamplerOverhead.measure(plan: plan, base: base, transformer: transformer,
                                                    guidance: cfg ? .classifierFree(scale: 5) : .embedded)
                let text = String(format: "%@: controller alone %.2f ms vs transformer ≈ %.1f s at 150 GFLOP/s: %.4f %% overhead",
                                  plan.name, r.controllerSeconds * 1000, r.transformerSeconds, r.fraction * 100)
                try BenchOutput.emit(Result(plan: plan.name, controllerSeconds: r.controllerSeconds,
                                            transformerSeconds: r.transformerSeconds, modelCalls: r.modelCalls,
                                            fraction: r.fraction),
                                     text: text, json: json)
            } catch let e as SamplingError {
                throw ValidationError(e.description)
            }
        }
    }
}
