import Foundation
import Testing
@testable import Sampling

@Suite struct PlanTests {
    static let base = LatentSize(frames: 33, height: 16, width: 16)

    // MARK: Presets and cost

    /// The derived family lands within 5 % of its name on the default transformer (base latent
    /// 33×16×16, 50 steps), for several base shifts.
    @Test(arguments: [PlanPreset.x2, .x2_5, .x3], [7.0, 5.0])
    func derivedSpeedupsWithinFivePercent(preset: PlanPreset, shift: Double) throws {
        let ctx = PlanContext(baseShift: shift)
        let plan = try BottleneckPlan.preset(preset, context: ctx)
        let cost = try plan.cost(base: Self.base, transformer: .defaultModel)
        #expect(abs(cost.speedup - preset.targetSpeedup!) / preset.targetSpeedup! < 0.05)
        let st = try plan.resolved(base: Self.base, patch: PatchSize())
        #expect(st.map(\.size) == [Self.base, LatentSize(frames: 33, height: 8, width: 8), Self.base])
        #expect(st[0].shift == Float(shift))
    }

    /// Other bases and step counts (720p HunyuanVideo, 30 steps) still derive within 5 %, and
    /// CFG (two passes everywhere) leaves the ratio unchanged.
    @Test func derivedForOtherBases() throws {
        for (base, cost, steps) in [(LatentSize(frames: 33, height: 90, width: 160), TransformerCost.hunyuanVideo, 50),
                                    (LatentSize(frames: 9, height: 32, width: 32), .defaultModel, 30)] {
            for p in [PlanPreset.x2, .x2_5, .x3] {
                let plan = try BottleneckPlan.preset(p, context: PlanContext(base: base, transformer: cost, baseSteps: steps))
                let one = try plan.cost(base: base, transformer: cost).speedup
                let two = try plan.cost(base: base, transformer: cost, passesPerCall: 2).speedup
                #expect(abs(one - p.targetSpeedup!) / p.targetSpeedup! < 0.05)
                #expect(abs(one - two) < 1e-12)
            }
        }
    }

    /// hunyuan-video.md §7: 12.07 PFLOP per step at 720×1280×129 (119,056 tokens), 4.29 at 544×960.
    @Test func costModelReproducesHunyuanTable() throws {
        let c = TransformerCost.hunyuanVideo
        #expect(abs(c.flopsPerPass(LatentSize(frames: 33, height: 90, width: 160)) / 1e15 - 12.07) < 0.01)
        #expect(abs(c.flopsPerPass(LatentSize(frames: 33, height: 68, width: 120)) / 1e15 - 4.29) < 0.01)
        let cost = try BottleneckPlan.preset(.hunyuan).cost(base: LatentSize(frames: 33, height: 90, width: 160), transformer: c)
        #expect(abs(cost.standardFLOPs / 1e15 - 603.5) < 1)
        // Reading B: 16 full + 20 low calls = 16·12.07 + 20·4.29 ≈ 278.9 PFLOP.
        #expect(abs(cost.planFLOPs / 1e15 - 278.9) < 0.5)
    }

    @Test func offIsStandard() throws {
        let cost = try BottleneckPlan.preset(.off).cost(base: Self.base, transformer: .defaultModel)
        #expect(cost.speedup == 1)
        #expect(cost.stages.map(\.modelCalls) == [50])
    }

    @Test func fiveStagePresetIsValid() throws {
        let st = try BottleneckPlan.preset(.fiveStage).resolved(base: Self.base, patch: PatchSize())
        #expect(st.map(\.size.height) == [16, 12, 8, 12, 16])
        #expect(st.allSatisfy { $0.sigmas.last == 0 })
    }

    // MARK: Validation

    @Test func rejectsSizeNotDivisibleByPatch() {
        let plan = BottleneckPlan(name: "bad", stages: [
            BottleneckStage(resolution: .full, steps: 4, shift: 7, strength: 1),
            BottleneckStage(resolution: .latent(LatentSize(frames: 33, height: 8, width: 7)), steps: 4, shift: 7, strength: 0.8),
        ], baseShift: 7)
        #expect(throws: SamplingError(.notDivisibleByPatch(stage: 1, dimension: "width", size: 7, patch: 2))) {
            try plan.resolved(base: Self.base, patch: PatchSize())
        }
        let zero = BottleneckPlan(name: "z", stages: [BottleneckStage(resolution: .spatial(0.01), steps: 4, shift: 7, strength: 1)], baseShift: 7)
        #expect(throws: SamplingError(.nonPositiveSize(stage: 0, dimension: "height", size: 0))) {
            try zero.resolved(base: Self.base, patch: PatchSize())
        }
        let noisy = BottleneckPlan(name: "w", stages: [BottleneckStage(resolution: .full, steps: 4, shift: 7, strength: 0.5)], baseShift: 7)
        #expect(throws: SamplingError(.badStrength(stage: 0, strength: 0.5))) {
            try noisy.resolved(base: Self.base, patch: PatchSize())
        }
        #expect(throws: SamplingError(.emptyPlan)) {
            try BottleneckPlan(name: "e", stages: [], baseShift: 7).resolved(base: Self.base, patch: PatchSize())
        }
    }

    // MARK: JSON and compact syntax

    @Test(arguments: PlanPreset.allCases)
    func jsonRoundTrip(preset: PlanPreset) throws {
        var plan = try BottleneckPlan.preset(preset)
        plan.filters = TransitionFilters(upsampling: .bicubic, downsampling: .area)
        plan.ablations.reshift = false
        plan.transition = .handOff
        let back = try BottleneckPlan(json: plan.jsonData())
        #expect(back == plan)
    }

    @Test func jsonErrorsNameTheKey() throws {
        let text = #"{"stages": [{"steps": 4, "shift": 7}, {"shift": 9}]}"#
        do {
            _ = try BottleneckPlan(json: Data(text.utf8), file: "plan.json")
            Issue.record("decoded a stage without steps")
        } catch let e as SamplingError {
            #expect(e.description.contains("plan.json"))
            #expect(e.description.contains("stages"))
            #expect(e.description.contains("steps"))
        }
    }

    @Test func compactSyntax() throws {
        let plan = try BottleneckPlan(parsing: "4@1,10@0.5,4@1", baseShift: 5)
        #expect(plan.stages.map(\.steps) == [4, 10, 4])
        #expect(plan.stages.map(\.strength) == [1, 0.8, 0.8])
        #expect(plan.stages.map(\.shift) == [5, 5, 5])
        #expect(plan.stages[1].resolution == .spatial(0.5))
        let full = try BottleneckPlan(parsing: "4@1:7,24@0.75:9:0.8,16@1:9:0.7")
        #expect(full.stages.map(\.shift) == [7, 9, 9])
        #expect(full.stages.map(\.strength) == [1, 0.8, 0.7])
    }

    @Test(arguments: [("4@1,x@0.5", "x@0.5"), ("4@1,10", "10"), ("4@1,10@-1", "10@-1"),
                      ("4@1,10@0.5:9:2", "10@0.5:9:2"), ("4@1,,4@1", "")])
    func compactSyntaxNamesTheBadToken(text: String, token: String) {
        do {
            _ = try BottleneckPlan(parsing: text)
            Issue.record("parsed \(text)")
        } catch let e as SamplingError {
            guard case let .badToken(t, _, _) = e.kind else { Issue.record("\(e)"); return }
            #expect(t == token)
        } catch { Issue.record("\(error)") }
    }
}
