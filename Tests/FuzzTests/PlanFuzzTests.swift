import Foundation
import PropertyBased
import Sampling
import Testing

/// Plan files (`--bottleneck FILE`, `plan --plan`): `BottleneckPlan(json:file:)` on mutated
/// preset plans and hostile documents. Every refusal is a `SamplingError` that starts with the
/// file and names the key path, or the line and column where the JSON stops being JSON.
@Suite(.fuzzTimeLimit) struct PlanFuzzTests {
    static let file = "fuzz/plan.json"

    /// The presets as the project writes them, and the documented example with every key.
    static func corpus() throws -> [[UInt8]] {
        let example = """
            { "name": "hunyuan", "reading": "B", "transition": "restart", "base_steps": 50, "base_shift": 7,
              "filters": { "upsampling": "lanczos3", "downsampling": "lanczos3" },
              "ablations": { "reshift": true, "renoise": true, "bottleneck": true },
              "stages": [ { "steps": 4,  "shift": 7, "strength": 1,   "scale": 1 },
                          { "steps": 24, "shift": 9, "strength": 0.8,
                            "scale": { "frames": 1, "height": 0.7556, "width": 0.75 } },
                          { "steps": 16, "shift": 9, "strength": 0.7,
                            "latent": { "frames": 33, "height": 16, "width": 16 } } ] }
            """
        let presets = try [PlanPreset.x3, .hunyuan, .fiveStage].map { Array(try BottleneckPlan.preset($0).jsonData()) }
        return presets + [Array(example.utf8)]
    }

    /// A key path at the start of a message: `stages[1].latent.height`, `top level`,
    /// `missing key …`, `number of stages`, `steps over all stages`.
    static var keyPathStart: Regex<(Substring, Substring, Substring?)> { /^(missing key |top level|number of stages|steps over all stages|[a-z_]+(\[\d+\])*[.:\[ ])/ }

    static func check(_ bytes: [UInt8], _ label: String) {
        do {
            _ = try BottleneckPlan(json: Data(bytes), file: file)
        } catch let error as SamplingError {
            let text = error.description
            #expect(text.hasPrefix("\(file): "), "\(label): \(text)")
            let message = text.dropFirst(file.count + 2)
            #expect(message.contains(/\ at line \d+, column \d+$/) || message.prefixMatch(of: keyPathStart) != nil,
                    "\(label): \(text)")
        } catch {
            Issue.record("\(label): untyped error \(error)")
        }
    }

    // MARK: Random and mutated documents

    @Test func mutatedPlansAreReadOrRefusedWithFileAndKey() throws {
        let n = try fuzz(corpus: Self.corpus(), seedBase: 0x91A7, Self.check)
        #expect(n >= 50)
    }

    @Test func everyTruncationIsRefusedWithFileAndPlace() throws {
        for cut in truncations(of: try Self.corpus()[0]) { Self.check(cut, "cut to \(cut.count)") }
    }

    @Test func randomBytesAreRefused() {
        var seed = FuzzSeed(0x9A)
        let generator = Gen.uint8().array(of: 0...300)
        for i in 0..<300 { Self.check(seed.next(generator), "random \(i)") }
    }

    // MARK: Hostile documents

    @Test(arguments: [600, 100_000])
    func deeplyNestedPlansAreRefused(depth: Int) {
        Self.check(Array(deeplyNestedJSON(depth: depth).utf8), "top \(depth)")
        Self.check(Array(#"{"stages":[{"steps":\#(deeplyNestedJSON(depth: depth))}]}"#.utf8), "steps \(depth)")
    }

    /// Each hostile number in each numeric key is refused naming the key (or its line and
    /// column when Foundation cannot represent it), never a trap in a conversion.
    @Test(arguments: Mutation.hostileNumbers)
    func hostileNumbersNameTheKey(number: String) {
        for stage in [#"{"steps":N,"shift":7}"#, #"{"steps":4,"shift":N}"#, #"{"steps":4,"shift":7,"strength":N}"#,
                      #"{"steps":4,"shift":7,"scale":N}"#, #"{"steps":4,"shift":7,"latent":{"frames":N,"height":8,"width":8}}"#] {
            let text = #"{"base_steps":4,"stages":[\#(stage.replacingOccurrences(of: "N", with: number))]}"#
            Self.check(Array(text.utf8), "\(number) in \(stage)")
        }
    }

    /// A million stages are refused by count (after a decode proportional to the file).
    @Test func tooManyStagesAreRefusedByCount() throws {
        let text = #"{"stages":["# + Array(repeating: #"{"steps":1,"shift":1}"#, count: 20_000).joined(separator: ",") + "]}"
        #expect(throws: SamplingError.self) { try BottleneckPlan(json: Data(text.utf8), file: Self.file) }
        expectInTime("20000 stages") { Self.check(Array(text.utf8), "20000 stages") }
    }

    // MARK: Messages

    /// Issue #16: a plan file that is not JSON said "<file>: : The given data was not valid
    /// JSON." (an empty key path, no place); it now names the line and column.
    @Test func invalidJSONNamesLineAndColumn() {
        let text = "{\n  \"stages\": [\n    {\"steps\": 4, \"shift\": x}\n  ]\n}"
        #expect(throws: SamplingError(.badJSON(file: Self.file, message: "not valid JSON: Invalid value at line 3, column 27"))) {
            try BottleneckPlan(json: Data(text.utf8), file: Self.file)
        }
        #expect(throws: SamplingError(.badJSON(
            file: Self.file, message: "not valid JSON: Number 1e400 is not representable in Swift at line 1, column 31"))) {
            try BottleneckPlan(json: Data(#"{"stages":[{"steps":4,"shift":1e400}]}"#.utf8), file: Self.file)
        }
        #expect(throws: SamplingError(.badJSON(
            file: Self.file, message: "top level: Expected to decode Dictionary<String, Any> but found an array instead."))) {
            try BottleneckPlan(json: Data("[1]".utf8), file: Self.file)
        }
    }
}
