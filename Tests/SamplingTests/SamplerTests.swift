import Foundation
import TestSupport
import Testing
@testable import Sampling
@testable import Tensor

@Suite struct SamplerTests {
    static let mu = [0.5, -1.0, 0.0, 2.0]
    static let s = [0.5, 1.0, 2.0, 0.25]

    // MARK: Reference parity

    /// Whole multi-stage runs (readings A and B, CFG, bicubic/area filters, frame resampling,
    /// hand-off over 5 stages, no-renoise + no-reshift ablation) match the numpy reference.
    @Test func wholeRunsMatchReference() throws {
        let fixture = try Fixture.json("runs.json")
        for case let run as [String: Any] in fixture["runs"] as! [Any] {
            let plan = try Fixture.decode(BottleneckPlan.self, from: run["plan"]!)
            let b = Fixture.ints(run["base"])
            let cond = run["cond"] as! [String: Any], uncond = run["uncond"] as! [String: Any]
            let d = GaussianDataDenoiser(
                mu: (cond["mu"] as! [NSNumber]).map(\.doubleValue), s: (cond["s"] as! [NSNumber]).map(\.doubleValue),
                unconditional: ((uncond["mu"] as! [NSNumber]).map(\.doubleValue), (uncond["s"] as! [NSNumber]).map(\.doubleValue)))
            var config = BottleneckSampler<GaussianDataDenoiser>.Configuration(channels: 4)
            if let cfg = run["cfg"] as? NSNumber { config.guidance = .classifierFree(scale: cfg.floatValue) }
            var sampler = try BottleneckSampler(plan: plan, base: LatentSize(frames: b[0], height: b[1], width: b[2]),
                                                denoiser: d, seed: 7, configuration: config)
            var sigmas: [Float] = []
            while let e = try sampler.nextStep() { sigmas.append(e.sigma) }
            let name = run["name"] as! String
            #expect(sigmas == Fixture.floats(run["sigmas_called"]), "\(name)")
            let final = try #require(sampler.finalLatents)
            #expect(final.shape == Fixture.ints(run["final_shape"]))
            let err = maxAbsError(final.data, Fixture.floats(run["final"])).error
            #expect(err < 1e-5, "\(name): max abs error \(err)")
            let passes = config.guidance.passesPerStep
            #expect(sampler.denoiser.calls.count == passes * sampler.totalSteps)
        }
    }

    // MARK: Analytic checks

    /// A one-stage plan is standard sampling, bit for bit.
    @Test func oneStagePlanEqualsStandardSampling() throws {
        let base = LatentSize(frames: 3, height: 8, width: 8)
        let d = GaussianDataDenoiser(mu: Self.mu, s: Self.s)
        var sampler = try BottleneckSampler(plan: .standard(steps: 20, shift: 7), base: base, denoiser: d, seed: 3,
                                            configuration: .init(channels: 4))
        while try sampler.nextStep() != nil {}

        var noise = StageNoise(seed: 3).stream(stage: 0)
        var x = Tensor(shape: [1, 3, 8, 8, 4], data: noise.gaussian(count: 768))
        let sigmas = FlowMatchEulerScheduler.standard(steps: 20, shift: 7)
        var model = d
        for k in 0..<20 {
            let v = try model.velocity(x, timestep: sigmas[k] * 1000,
                                       geometry: StageGeometry(stage: 0, latentSize: base, tokens: 48), conditional: true)
            FlowMatchEulerScheduler().step(&x, velocity: v, sigma: sigmas[k], sigmaNext: sigmas[k + 1])
        }
        #expect(sampler.finalLatents == x)
    }

    /// For Gaussian data the exact flow maps ε to μ + s·ε, so Euler sampling with the exact
    /// velocity converges element-wise, and the output statistics converge to the data's.
    @Test func convergesToDataDistribution() throws {
        let base = LatentSize(frames: 1, height: 32, width: 32)
        var errors: [Float] = []
        for steps in [8, 32, 128] {
            var sampler = try BottleneckSampler(plan: .standard(steps: steps, shift: 3), base: base,
                                                denoiser: GaussianDataDenoiser(mu: Self.mu, s: Self.s), seed: 11,
                                                configuration: .init(channels: 4))
            while try sampler.nextStep() != nil {}
            let x = sampler.finalLatents!
            var eps = StageNoise(seed: 11).stream(stage: 0)
            let e = eps.gaussian(count: x.count)
            var worst: Float = 0
            for i in 0..<x.count {
                let c = i % 4
                worst = max(worst, abs(x.data[i] - Float(Self.mu[c] + Self.s[c] * Double(e[i]))))
            }
            errors.append(worst)
            if steps == 128 {
                for c in 0..<4 {
                    let v = stride(from: c, to: x.count, by: 4).map { Double(x.data[$0]) }
                    let m = v.reduce(0, +) / Double(v.count)
                    let sd = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)).squareRoot()
                    #expect(abs(m - Self.mu[c]) < 0.1 * Self.s[c])
                    #expect(abs(sd / Self.s[c] - 1) < 0.08)
                }
            }
        }
        // Euler is first order: 4× the steps, about ¼ the error.
        #expect(errors[0] > 3 * errors[1] && errors[1] > 3 * errors[2], "\(errors)")
        #expect(errors[2] < 0.1, "\(errors)")
    }

    /// At a transition the model's first input is exactly (1 − σ₀)·resample(x_end) + σ₀·ε₁ with
    /// ε₁ from stage 1's stream, the σ₀ given to the model is the σ used to mix, and the clean
    /// latent keeps its per-channel means through the resampling.
    @Test func transitionMixesAtTheModelsSigma() throws {
        let base = LatentSize(frames: 3, height: 16, width: 16)
        let plan = try BottleneckPlan(parsing: "3@1:7,5@0.5:9:0.8,3@1:9:0.7", baseShift: 7)
        var sampler = try BottleneckSampler(plan: plan, base: base, denoiser: RecordingDenoiser(inner: .init(mu: Self.mu, s: Self.s)),
                                            seed: 5, configuration: .init(includeLatents: true, channels: 4))
        var stageEnd: Tensor?
        while let e = try sampler.nextStep() {
            if e.stage == 0 && e.stageStep == e.stageSteps - 1 { stageEnd = e.latents }
        }
        let firstOfStage1 = sampler.denoiser.inputs[3]
        #expect(firstOfStage1.geometry.latentSize == LatentSize(frames: 3, height: 8, width: 8))
        #expect(firstOfStage1.geometry.tokens == 3 * 4 * 4)
        let s0 = sampler.stages[1].sigmas[0]
        #expect(firstOfStage1.timestep == s0 * 1000)
        let x0 = BottleneckSampler<RecordingDenoiser>.resample(stageEnd!, to: sampler.stages[1].size, filters: plan.filters)
        var eps = StageNoise(seed: 5).stream(stage: 1)
        let e = eps.gaussian(count: x0.count)
        let expected = (0..<x0.count).map { (1 - s0) * x0.data[$0] + s0 * e[$0] }
        #expect(firstOfStage1.latents.data == expected)
        for c in 0..<4 {
            let a = stride(from: c, to: stageEnd!.count, by: 4).map { stageEnd!.data[$0] }.reduce(0, +) / Float(stageEnd!.count / 4)
            let b = stride(from: c, to: x0.count, by: 4).map { x0.data[$0] }.reduce(0, +) / Float(x0.count / 4)
            #expect(abs(a - b) < 0.02)
        }
    }

    // MARK: Events, guidance, ablations, errors

    @Test func eventsDescribeEveryStep() throws {
        let base = LatentSize(frames: 3, height: 8, width: 8)
        let plan = try BottleneckPlan(parsing: "2@1,4@0.5,2@1")
        let sampler = try BottleneckSampler(plan: plan, base: base, denoiser: GaussianDataDenoiser(mu: Self.mu, s: Self.s),
                                            seed: 1, configuration: .init(includeCleanEstimate: true, channels: 4))
        #expect(sampler.underestimatedCount == sampler.totalSteps)
        let events = Array(sampler)
        #expect(events.count == sampler.totalSteps)
        #expect(events.map(\.index) == Array(0..<events.count))
        #expect(events.allSatisfy { $0.count == events.count && $0.timestep == $0.sigma * 1000 })
        #expect(events.map(\.stage) == [0, 0] + Array(repeating: 1, count: events.count - 4) + [2, 2])
        #expect(events.first { $0.stage == 1 }!.tokens == 3 * 2 * 2)
        #expect(events.allSatisfy { $0.cleanEstimate?.shape == [1] + $0.latentSize.extents + [4] && $0.latents == nil })
        #expect(events.last!.sigmaNext == 0)
    }

    @Test func classifierFreeGuidanceCombinesTwoPasses() throws {
        let base = LatentSize(frames: 1, height: 4, width: 4)
        let d = GaussianDataDenoiser(mu: Self.mu, s: Self.s, unconditional: ([0, 0, 0, 0], [1, 1, 1, 1]))
        var sampler = try BottleneckSampler(plan: .standard(steps: 1, shift: 1), base: base, denoiser: d, seed: 2,
                                            configuration: .init(guidance: .classifierFree(scale: 4), channels: 4))
        let x = sampler.latents
        _ = try sampler.nextStep()
        #expect(sampler.denoiser.calls.map(\.conditional) == [true, false])
        let vc = GaussianDataDenoiser.velocity(x, sigma: 1, mu: Self.mu, s: Self.s)
        let vu = GaussianDataDenoiser.velocity(x, sigma: 1, mu: [0, 0, 0, 0], s: [1, 1, 1, 1])
        var expected = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let v: Float = vu.data[i] + 4 * (vc.data[i] - vu.data[i])
            expected[i] = x.data[i] + (0 - 1) * v
        }
        #expect(sampler.finalLatents!.data == expected)
    }

    @Test func noBottleneckAblationRunsEverythingAtFullSize() throws {
        var plan = try BottleneckPlan.preset(.x3)
        plan.ablations.bottleneck = false
        let st = try plan.resolved(base: PlanTests.base, patch: PatchSize())
        #expect(st.allSatisfy { $0.size == PlanTests.base })
        plan.ablations = Ablations(reshift: false)
        #expect(try plan.resolved(base: PlanTests.base, patch: PatchSize()).allSatisfy { $0.shift == 7 })
    }

    /// Issue #16: NaN latents went on to a black video. The step whose velocity is not finite
    /// ends the run with the stage and step, and the calls after it are never made.
    @Test func nonFiniteLatentsStopAtTheStepThatMadeThem() throws {
        struct Diverging: Denoiser {
            var calls = 0
            mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry, conditional: Bool) throws -> Tensor {
                calls += 1
                var v = Tensor(shape: latents.shape, repeating: 0.5)
                if calls == 4 { (v.data[2], v.data[5]) = (.nan, .infinity) }  // stage 1's second call
                return v
            }
        }
        let plan = try BottleneckPlan(parsing: "2@1,3@0.5,2@1")
        var sampler = try BottleneckSampler(plan: plan, base: LatentSize(frames: 1, height: 4, width: 4),
                                            denoiser: Diverging(), seed: 0, configuration: .init(channels: 4))
        for _ in 0..<3 { _ = try sampler.nextStep() }
        let values = NonFiniteValues(nanCount: 1, infiniteCount: 1, firstIndex: 2)
        let stageSteps = sampler.stages[1].modelCalls
        let error = SamplingError(.nonFiniteLatents(stage: 1, step: 1, stageSteps: stageSteps, index: 3, values: values))
        #expect(throws: error) { try sampler.nextStep() }
        #expect(sampler.denoiser.calls == 4)
        #expect(error.description.hasPrefix("stage 1, step 2 of \(stageSteps) (step 4 overall): the latents hold 1 NaN and 1 infinite values"))
    }

    @Test func wrongVelocityShapeIsAnError() throws {
        struct Bad: Denoiser {
            mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry, conditional: Bool) throws -> Tensor {
                Tensor(shape: [1, 1, 1, 1, 1])
            }
        }
        var sampler = try BottleneckSampler(plan: .standard(steps: 2, shift: 7), base: LatentSize(frames: 1, height: 2, width: 2),
                                            denoiser: Bad(), seed: 0)
        #expect(throws: SamplingError(.velocityShape(stage: 0, expected: [1, 1, 2, 2, 16], found: [1, 1, 1, 1, 1]))) {
            try sampler.nextStep()
        }
        var iterating = try BottleneckSampler(plan: .standard(steps: 2, shift: 7), base: LatentSize(frames: 1, height: 2, width: 2),
                                              denoiser: Bad(), seed: 0)
        #expect(iterating.next() == nil)
        #expect(iterating.failure != nil)
        #expect(throws: SamplingError.self) {
            try BottleneckSampler(plan: .standard(steps: 2, shift: 7), base: LatentSize(frames: 1, height: 2, width: 2),
                                  denoiser: Bad(), seed: 0, initialLatents: Tensor(shape: [1, 1, 2, 2, 4]))
        }
    }
}

/// Records every input so tests can inspect what the model was given.
struct RecordingDenoiser: Denoiser {
    var inner: GaussianDataDenoiser
    var inputs: [(latents: Tensor, timestep: Float, geometry: StageGeometry)] = []
    mutating func velocity(_ latents: Tensor, timestep: Float, geometry: StageGeometry, conditional: Bool) throws -> Tensor {
        inputs.append((latents, timestep, geometry))
        return try inner.velocity(latents, timestep: timestep, geometry: geometry, conditional: conditional)
    }
}
