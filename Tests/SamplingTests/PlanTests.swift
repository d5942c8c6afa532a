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

    /// Issue #16: a plan ending at half resolution was accepted, and `generate` failed only in
    /// the muxer ("frame 0 is 16x16 but the stream is 32x32"), after denoising and decoding.
    /// The video is decoded from the last stage, so a plan must end at the full size.
    @Test func lastStageMustBeFullSize() throws {
        let plan = try BottleneckPlan(parsing: "2@1,2@0.5")
        #expect(throws: SamplingError(.lastStageNotFull(stage: 1, size: LatentSize(frames: 33, height: 8, width: 8),
                                                        base: Self.base))) {
            try plan.resolved(base: Self.base, patch: PatchSize())
        }
        var ablated = plan
        ablated.ablations.bottleneck = false  // every stage at full size
        #expect(try ablated.resolved(base: Self.base, patch: PatchSize()).last?.size == Self.base)
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

    // MARK: Bounds

    /// Issue #16: a plan stage with 10^12 steps or a 100000² latent aborted the process
    /// ("failed to allocate", exit 134) when sampling began. Every number of a plan file is
    /// checked against `BottleneckPlan.Bounds` while it is read, naming file and key, with a
    /// suggestion inside the bound.
    @Test(arguments: [
        (#"{"stages": [{"steps": 1000000000000, "shift": 7}]}"#,
         "p.json: stages[0].steps must be an integer between 1 and 1000; got 1000000000000, use 1000"),
        (#"{"stages": [{"steps": 1e30, "shift": 7}]}"#,
         "p.json: stages[0].steps must be an integer between 1 and 1000; got 1e+30, use 1000"),
        (#"{"stages": [{"steps": 4, "shift": 7}, {"steps": 2, "shift": 7, "latent": {"frames": 3, "height": 100000, "width": 8}}]}"#,
         "p.json: stages[1].latent.height must be an integer between 1 and 512; got 100000, use 512"),
        (#"{"stages": [{"steps": 4, "shift": 7, "scale": {"height": 0.5, "width": 3}}]}"#,
         "p.json: stages[0].scale.width must be a number above 0 and at most 1; got 3, use 1"),
        (#"{"stages": [{"steps": 4, "shift": 7, "scale": 100000}]}"#,
         "p.json: stages[0].scale must be a number above 0 and at most 1; got 100000, use 1"),
        (#"{"stages": [{"steps": 4, "shift": 0}]}"#,
         "p.json: stages[0].shift must be a number above 0 and at most 100; got 0, use 1"),
        (#"{"stages": [{"steps": 4, "shift": 7, "strength": 1.5}]}"#,
         "p.json: stages[0].strength must be a number above 0 and at most 1; got 1.5, use 1"),
        (#"{"base_steps": -1, "stages": [{"steps": 4, "shift": 7}]}"#,
         "p.json: base_steps must be an integer between 1 and 1000; got -1, use 1"),
        (#"{"stages": [{"steps": 600, "shift": 7}, {"steps": 600, "shift": 7, "strength": 0.8}]}"#,
         "p.json: steps over all stages must be an integer between 1 and 1000; got 1200, use 1000"),
        (#"{"stages": []}"#, "p.json: number of stages must be an integer between 1 and 16; got 0, use 1"),
    ])
    func planFileValuesOutsideTheBoundsAreRefused(json: String, message: String) {
        #expect(throws: SamplingError.self) { try BottleneckPlan(json: Data(json.utf8), file: "p.json") }
        do { _ = try BottleneckPlan(json: Data(json.utf8), file: "p.json") } catch {
            #expect("\(error)" == message)
        }
    }

    /// The same bounds hold for the compact syntax, and the stages' number and total.
    @Test func compactSyntaxBounds() throws {
        func message(_ text: String) -> String {
            do { return "parsed \(try BottleneckPlan(parsing: text).stages.count)" } catch { return "\(error)" }
        }
        #expect(message("1000000000000@1,2@0.5").hasPrefix(
            "plan token 1 '1000000000000@1': steps must be an integer between 1 and 1000; got 1000000000000, use 1000"))
        #expect(message("4@1,10@2").hasPrefix("plan token 2 '10@2': scale must be a number above 0 and at most 1; got 2, use 1"))
        #expect(message("4@1:500") .hasPrefix("plan token 1 '4@1:500': shift must be a number above 0 and at most 100; got 500, use 100"))
        #expect(message("600@1,600@0.5") == "plan: steps over all stages must be an integer between 1 and 1000; got 1200, use 1000")
        #expect(message(Array(repeating: "1@1", count: 17).joined(separator: ","))
            == "plan: number of stages must be an integer between 1 and 16; got 17, use 16")
        #expect(message("4@1,10@0.5,4@1") == "parsed 3")
    }
}
