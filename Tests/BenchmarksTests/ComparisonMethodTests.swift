import Testing
@testable import Benchmarks
import Sampling

@Suite struct ComparisonMethodTests {
    /// The default pipeline's benchmark setting: 129 frames of 128×128, 50 steps, shift 7.
    static let context = PlanContext()

    // MARK: Method table

    /// Every method builds a plan for the default setting, named after the method, with the
    /// full step count as its cost baseline.
    @Test(arguments: ComparisonMethod.allCases)
    func everyMethodBuilds(method: ComparisonMethod) throws {
        let plan = try method.plan(context: Self.context)
        #expect(plan.name == method.rawValue)
        #expect(plan.baseSteps == 50)
        #expect(plan.baseShift == 7)
        _ = try plan.resolved(base: Self.context.base, patch: PatchSize())
    }

    /// The ablations change exactly one switch of x3 (paper Table 3), the filter variants
    /// exactly the upsampling filter (Table 7); everything else is x3's.
    @Test func ablationsDifferFromX3InOneSetting() throws {
        let x3 = try ComparisonMethod.x3.plan(context: Self.context)
        func differs(_ m: ComparisonMethod, _ change: (inout BottleneckPlan) -> Void) throws {
            var expected = x3
            change(&expected)
            expected.name = m.rawValue
            #expect(try m.plan(context: Self.context) == expected)
        }
        try differs(.x3NoReshift) { $0.ablations.reshift = false }
        try differs(.x3NoRenoise) { $0.ablations.renoise = false }
        try differs(.x3NoBottleneck) { $0.ablations.bottleneck = false }
        try differs(.x3Bicubic) { $0.filters.upsampling = .bicubic }
        try differs(.x3Bilinear) { $0.filters.upsampling = .bilinear }
        try differs(.x3Nearest) { $0.filters.upsampling = .nearest }
        #expect(x3.filters == TransitionFilters(upsampling: .lanczos3, downsampling: .lanczos3))
        #expect(x3.stages.count == 3)
        #expect(try ComparisonMethod.fiveStage.plan(context: Self.context).stages.count == 5)
    }

    /// `--methods` keeps order, drops repeats, accepts `all`, and names a bad entry.
    @Test func parsesLists() throws {
        #expect(try ComparisonMethod.list(parsing: "std, x3,std,x3-nearest") == [.standard, .x3, .x3Nearest])
        #expect(try ComparisonMethod.list(parsing: "all") == ComparisonMethod.allCases)
        #expect(throws: BenchmarkError.self) { try ComparisonMethod.list(parsing: "std,x4") }
        #expect(throws: BenchmarkError.self) { try ComparisonMethod.list(parsing: ",") }
        do {
            _ = try ComparisonMethod.list(parsing: "x4")
        } catch let e as BenchmarkError {
            #expect(e.description.hasPrefix("unknown method 'x4'; known: all, std, steps50"))
        }
    }

    // MARK: FLOP ratios

    /// Speed-ups against 50 standard steps, with and without CFG (two passes everywhere leaves
    /// the ratio unchanged): step baselines are exact step ratios (25 and 17 steps), the derived
    /// presets are within 5 % of their names, the no-bottleneck ablation costs more than x3
    /// (its 36 calls all at full size: 50/36), and the filter variants cost exactly x3.
    @Test(arguments: [1, 2])
    func flopRatios(passes: Int) throws {
        func speedup(_ m: ComparisonMethod) throws -> Double {
            try m.plan(context: Self.context).cost(base: Self.context.base, transformer: .defaultModel,
                                                   passesPerCall: passes).speedup
        }
        #expect(abs(try speedup(.standard) - 1) < 1e-12)
        #expect(abs(try speedup(.halfSteps) - 2) < 1e-12)
        #expect(abs(try speedup(.thirdSteps) - 50.0 / 17.0) < 1e-12)
        for (m, target) in [(ComparisonMethod.x2, 2.0), (.x2_5, 2.5), (.x3, 3.0)] {
            #expect(abs(try speedup(m) - target) / target < 0.05)
        }
        let x3 = try speedup(.x3)
        for m in [ComparisonMethod.x3NoReshift, .x3NoRenoise, .x3Bicubic, .x3Bilinear, .x3Nearest] {
            #expect(abs(try speedup(m) - x3) < 1e-12)
        }
        let x3Calls = try ComparisonMethod.x3.plan(context: Self.context)
            .resolved(base: Self.context.base, patch: PatchSize()).reduce(0) { $0 + $1.modelCalls }
        #expect(abs(try speedup(.x3NoBottleneck) - 50.0 / Double(x3Calls)) < 1e-12)
        #expect(try speedup(.fiveStage) > 1)
    }

    /// A setting too small for x3 (6 steps at 9×64×64) fails with the reachable ratio, not a crash.
    @Test func unreachableSpeedupIsAnError() {
        let tiny = PlanContext(base: LatentSize(frames: 3, height: 8, width: 8), baseSteps: 6)
        #expect(throws: SamplingError.self) { try ComparisonMethod.x3.plan(context: tiny) }
        #expect(SamplingError(.unreachableSpeedup(target: 2, best: 0.7913639036976607)).description
                == "cannot derive a plan within 5 % of x2; the closest is x0.79")
        #expect(SamplingError(.unreachableSpeedup(target: 2.5, best: 1.1)).description.contains("x2.5; the closest is x1.1"))
        #expect((try? ComparisonMethod.thirdSteps.plan(context: tiny))?.stages[0].steps == 2)
    }
}
