import Foundation
import Testing
@testable import Sampling

@Suite struct ScheduleTests {
    // MARK: Standard schedule

    /// Bit-identical to diffusers' FlowMatchEulerDiscreteScheduler (the fixture script checks
    /// its numpy schedule against diffusers itself).
    @Test func standardMatchesDiffusersBitForBit() throws {
        let fixture = try Fixture.json("sigmas.json")
        for case let row as [String: Any] in fixture["standard"] as! [Any] {
            let n = (row["steps"] as! NSNumber).intValue, s = (row["shift"] as! NSNumber).floatValue
            #expect(FlowMatchEulerScheduler.standard(steps: n, shift: s) == Fixture.floats(row["sigmas"]))
        }
    }

    /// hunyuan-video.md §5.3: N = 50, s = 7 → t = 1000, 997.093, 994.083, …, 125.0; N = 2 → 1000, 875.
    @Test func hunyuanTimesteps() {
        let t = FlowMatchEulerScheduler.standard(steps: 50, shift: 7).map(FlowMatchEulerScheduler.timestep)
        for (got, want) in zip([t[0], t[1], t[2], t[47], t[48], t[49]], [1000, 997.093, 994.083, 308.82, 225.81, 125.0] as [Float]) {
            #expect(abs(got - want) < 0.01)
        }
        #expect(FlowMatchEulerScheduler.standard(steps: 2, shift: 7) == [1, 0.875, 0])
    }

    @Test(arguments: [1, 2, 7, 20, 50], [1.0, 3.0, 7.0, 12.0] as [Float])
    func sigmasDecreaseFromOneToZero(steps: Int, shift: Float) {
        for reading in StrengthReading.allCases {
            for w in [1.0, 0.8, 0.6] {
                let sig = FlowMatchEulerScheduler().sigmas(steps: steps, shift: shift, strength: w, reading: reading)
                if w == 1 { #expect(sig.first == 1) }
                #expect(sig.last == 0)
                #expect(zip(sig, sig.dropFirst()).allSatisfy { $0 > $1 })
                #expect(sig.allSatisfy { $0 >= 0 && $0 <= 1 })
            }
        }
    }

    // MARK: Paper sigma lists (bottleneck-sampling.md)

    static func rounded(_ a: [Float]) -> [Double] { a.map { (Double($0) * 1000).rounded(.toNearestOrEven) / 1000 }  /* as Python round() */ }

    @Test func fluxListsReadingsAandB() throws {
        var plan = try BottleneckPlan.preset(.flux)
        let base = LatentSize(frames: 1, height: 128, width: 128)
        var st = try plan.resolved(base: base, patch: PatchSize())
        #expect(Self.rounded(st[0].sigmas) == [1.000, 0.978, 0.947, 0.900, 0.818, 0.643, 0])
        #expect(Self.rounded(st[1].sigmas) == [0.960, 0.947, 0.933, 0.918, 0.900, 0.880, 0.857, 0.831, 0.800,
                                               0.764, 0.720, 0.667, 0.600, 0.514, 0.400, 0.240, 0])
        #expect(Self.rounded(st[2].sigmas) == [0.938, 0.900, 0.844, 0.750, 0.562, 0])
        #expect(st.map(\.modelCalls) == [6, 16, 5])
        #expect(st[1].size == LatentSize(frames: 1, height: 64, width: 64))
        plan.reading = .restart
        st = try plan.resolved(base: base, patch: PatchSize())
        #expect(st.map(\.modelCalls) == [6, 20, 8])
        #expect(Self.rounded(st[1].sigmas).first == 0.960)
        #expect(Self.rounded(st[2].sigmas) == [0.931, 0.909, 0.880, 0.844, 0.794, 0.723, 0.614, 0.422, 0])
    }

    @Test func hunyuanListsReadingsAandB() throws {
        var plan = try BottleneckPlan.preset(.hunyuan)
        let base = LatentSize(frames: 33, height: 90, width: 160)  // 720×1280×129
        var st = try plan.resolved(base: base, patch: PatchSize())
        #expect(st[1].size == LatentSize(frames: 33, height: 68, width: 120))  // 544×960
        #expect(Self.rounded(st[0].sigmas) == [1.000, 0.955, 0.875, 0.700, 0])
        #expect(Self.rounded(st[1].sigmas).first == 0.978)
        #expect(Self.rounded(st[2].sigmas) == [0.964, 0.952, 0.938, 0.920, 0.900, 0.875, 0.844, 0.804, 0.750,
                                               0.675, 0.562, 0.375, 0])
        #expect(st.map(\.modelCalls) == [4, 20, 12])
        plan.reading = .restart
        st = try plan.resolved(base: base, patch: PatchSize())
        #expect(st.map(\.modelCalls) == [4, 24, 16])
        #expect(Self.rounded(st[1].sigmas).first == 0.973)
        #expect(Self.rounded(st[2].sigmas).first == 0.955)
    }

    /// Every plan table of the fixture (readings A/B, restart and hand-off) matches bit for bit.
    @Test func planTablesMatchReference() throws {
        let fixture = try Fixture.json("sigmas.json")
        var checked = 0
        for case let row as [String: Any] in fixture["plans"] as! [Any] {
            let plan = try Fixture.decode(BottleneckPlan.self, from: row["plan"]!)
            let b = Fixture.ints(row["base"])
            let st = try plan.resolved(base: LatentSize(frames: b[0], height: b[1], width: b[2]), patch: PatchSize())
            let want = row["stages"] as! [[String: Any]]
            #expect(st.count == want.count)
            for (got, w) in zip(st, want) {
                #expect(got.sigmas == Fixture.floats(w["sigmas"]), "\(plan.name) \(plan.reading) stage \(got.index)")
                #expect(got.size.extents == Fixture.ints(w["size"]))
                #expect(got.tokens == (w["tokens"] as! NSNumber).intValue)
                checked += 1
            }
        }
        #expect(checked == 36)
    }
}
