import ArgumentParser
import Bottleneck
import Diagnostics
import Foundation
import Models
import Sampling

extension PlanPreset: ExpressibleByArgument {}
extension StrengthReading: ExpressibleByArgument {}

extension Bottleneck {
    /// `bottleneck plan`: prints a plan's stages and its FLOPs against standard sampling.
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plan",
            abstract: "Show a Bottleneck Sampling plan: stage sizes, steps, sigmas and FLOPs vs standard sampling.")

        @Option(help: "Named plan (\(PlanPreset.allCases.map(\.rawValue).joined(separator: ", "))); default x3.")
        var preset: PlanPreset?

        @Option(name: .customLong("plan"), help: ArgumentHelp(
            "A plan JSON file, or stages as steps@scale[:shift[:strength]], e.g. 4@1,10@0.5,4@1.",
            valueName: "file|stages"))
        var planSource: String?

        @Option(help: ArgumentHelp("Transformer config.json to size the cost model (default: the default pipeline's transformer).",
                                   valueName: "file"))
        var config: String?

        @Option(help: ArgumentHelp("Pipeline folder whose transformer, text length and scheduler shift the plan is costed for "
                                   + "(a FLUX.1 folder: one image, 512 T5 tokens, the dynamic shift; configs alone suffice).",
                                   valueName: "dir"))
        var pipeline: String?

        /// Pixel sides of the video the plan is shown for: any size the VAE maps to whole latent
        /// cells, up to the largest a request accepts.
        static let pixelSide = IntegerBound(8...GenerationRequest.Bounds.pixelSide.largest, stride: 8,
                                            reason: "VAE factor 8")
        /// Text tokens per call (MiniLM: 32; HunyuanVideo's LLaMA: 256).
        static let textTokensBound = IntegerBound(1...4096)

        @Option(parsing: .unconditional,
                help: "Video frames, \(GenerationRequest.Bounds.frames.summary) (default: 129; an image model's 1).",
                transform: GenerationRequest.Bounds.frames.argument)
        var frames: Int?
        @Option(parsing: .unconditional, help: "Height in pixels, \(Self.pixelSide.summary) (default: 128; FLUX.1's 1024).",
                transform: Self.pixelSide.argument)
        var height: Int?
        @Option(parsing: .unconditional, help: "Width in pixels, \(Self.pixelSide.summary) (default: 128; FLUX.1's 1024).",
                transform: Self.pixelSide.argument)
        var width: Int?
        @Option(parsing: .unconditional,
                help: ArgumentHelp("Steps of the standard sampling the plan replaces, \(BottleneckPlan.Bounds.steps.summary) "
                    + "(default: 50, or a plan file's base_steps)."),
                transform: BottleneckPlan.Bounds.steps.argument)
        var steps: Int?
        @Option(parsing: .unconditional,
                help: ArgumentHelp("Shift of the standard sampling, \(BottleneckPlan.Bounds.shift.summary) (default: 7 as "
                    + "HunyuanVideo, the --pipeline scheduler's shift, or a plan file's base_shift)."),
                transform: BottleneckPlan.Bounds.shift.argument)
        var shift: Double?
        @Option(help: "Strength reading: B (img2img, default) or A (restart).") var reading: StrengthReading = .img2img
        @Option(parsing: .unconditional, help: "Text tokens per call in the cost model, \(Self.textTokensBound.summary) (default: 32).",
                transform: Self.textTokensBound.argument)
        var textTokens = 32
        @Flag(help: "Count two transformer passes per step (classifier-free guidance).") var cfg = false
        @Flag(help: "Write JSON to stdout instead of a table.") var json = false

        func validate() throws {
            if preset != nil && planSource != nil { throw ValidationError("give either --preset or --plan, not both") }
            if config != nil && pipeline != nil { throw ValidationError("give either --config or --pipeline, not both") }
        }

        func run() throws { try report().write(json: json) }

        /// The plan's stages and costs for the options given.
        /// - Throws: `ValidationError` for a plan or size that cannot be (naming the option or
        ///   the plan file's key), `PipelineError` for an unreadable `--pipeline` folder.
        func report() throws -> PlanReport {
            var transformer = TransformerCost.defaultModel
            if let config { transformer = try TransformerConfiguration(contentsOf: config).cost(textTokens: textTokens) }
            transformer.textTokens = textTokens
            // The size the plan is shown for: as given, else the defaults `generate` starts from
            // for the folder's kind (one 1024² image for FLUX.1).
            var fit: PlanFit?
            if let pipeline { fit = try PlanFit(pipeline: PipelineFolder.locate(explicit: pipeline)) }
            let kind = fit?.kind ?? .hunyuanVideo
            var size = GenerationRequest(prompt: "", kind: kind)
            if let frames { size.frames = frames }
            if let width { size.width = width }
            if let height { size.height = height }
            do { try size.validateNumbers(for: kind) } catch { throw ValidationError(error.optionMessage) }
            let base = size.latentSize
            var shift = shift ?? 7
            if let fit {
                // The folder's transformer at its own text length and the scheduler's shift at
                // this size (FLUX.1's depends on it), unless --shift says otherwise.
                transformer = fit.cost
                if self.shift == nil { shift = fit.baseShift(at: base) }
            }
            let steps = steps ?? 50
            let context = PlanContext(base: base, transformer: transformer, baseSteps: steps, baseShift: shift, reading: reading)
            var plan: BottleneckPlan
            do {
                if let source = planSource {
                    if FileManager.default.fileExists(atPath: source) {
                        plan = try BottleneckPlan(contentsOf: URL(fileURLWithPath: source))
                        // Given on the command line, the baseline overrides the file's.
                        if let explicit = self.steps { plan.baseSteps = explicit }
                        if self.shift != nil { plan.baseShift = shift }
                    } else {
                        plan = try BottleneckPlan(parsing: source, baseSteps: steps, baseShift: shift)
                        plan.reading = reading
                    }
                } else {
                    plan = try BottleneckPlan.preset(preset ?? .x3, context: context)
                }
                let passes = cfg ? 2 : 1
                let stages = try plan.resolved(base: base, patch: transformer.patch)
                let cost = try plan.cost(base: base, transformer: transformer, passesPerCall: passes)
                return PlanReport(plan: plan, base: base, stages: stages, cost: cost)
            } catch let e as SamplingError {
                throw ValidationError(e.description)
            }
        }
    }
}

/// Renders `bottleneck plan` output: a table or JSON on stdout.
struct PlanReport: Encodable {
    struct Row: Encodable {
        var stage: Int, latent: [Int], pixels: [Int], tokens: Int, steps: Int, modelCalls: Int
        var sigmaFirst: Float, sigmaLast: Float, shift: Float, strength: Double, gflops: Double
        /// One step's transformer FLOPs at this stage (all passes), GFLOP.
        var gflopsPerStep: Double
        enum CodingKeys: String, CodingKey {
            case stage, latent, pixels, tokens, steps, strength, shift, gflops
            case gflopsPerStep = "gflops_per_step"
            case modelCalls = "model_calls", sigmaFirst = "sigma_first", sigmaLast = "sigma_last"
        }
    }
    var plan: BottleneckPlan
    var base: [Int]
    var stages: [Row]
    var standardGFLOPs: Double, planGFLOPs: Double, speedup: Double
    enum CodingKeys: String, CodingKey {
        case plan, base, stages, speedup
        case standardGFLOPs = "standard_gflops", planGFLOPs = "plan_gflops"
    }

    init(plan: BottleneckPlan, base: LatentSize, stages: [ResolvedStage], cost: PlanCost) {
        self.plan = plan
        self.base = base.extents
        self.stages = zip(stages, cost.stages).map { s, c in
            Row(stage: s.index, latent: s.size.extents, pixels: [4 * (s.size.frames - 1) + 1, 8 * s.size.height, 8 * s.size.width],
                tokens: s.tokens, steps: plan.stages[s.index].steps, modelCalls: s.modelCalls,
                sigmaFirst: s.sigmas.first!, sigmaLast: s.sigmas.last!, shift: s.shift, strength: s.strength, gflops: c.flops / 1e9,
                gflopsPerStep: c.flops / Double(max(c.modelCalls, 1)) / 1e9)
        }
        standardGFLOPs = cost.standardFLOPs / 1e9
        planGFLOPs = cost.planFLOPs / 1e9
        speedup = cost.speedup
    }

    func write(json: Bool) throws {
        var text: String
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            text = String(decoding: try e.encode(self), as: UTF8.self) + "\n"
        } else {
            func f(_ x: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", x) }
            text = "plan \(plan.name) (reading \(plan.reading.rawValue), \(plan.transition.rawValue)), base latent \(base.map(String.init).joined(separator: "×"))\n"
            text += "stage latent      pixels        tokens steps calls sigma          shift strength GFLOP/step GFLOP\n"
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
            for r in stages {
                text += pad("\(r.stage)", 6) + pad(r.latent.map(String.init).joined(separator: "×"), 12)
                    + pad(r.pixels.map(String.init).joined(separator: "×"), 14) + pad("\(r.tokens)", 7)
                    + pad("\(r.steps)", 6) + pad("\(r.modelCalls)", 6)
                    + pad("\(f(Double(r.sigmaFirst))) → \(f(Double(r.sigmaLast)))", 15)
                    + pad(f(Double(r.shift), 2), 6) + pad(f(r.strength, 2), 9) + pad(f(r.gflopsPerStep, 1), 11)
                    + f(r.gflops, 1) + "\n"
            }
            text += "standard \(plan.baseSteps) steps: \(f(standardGFLOPs, 1)) GFLOP; plan: \(f(planGFLOPs, 1)) GFLOP; speed-up x\(f(speedup, 2))\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
