import Foundation
import TestSupport
import Testing
@testable import Bottleneck

/// What a pipeline folder's configs may hold, and who a bad one is blamed on.
@Suite struct PipelineFolderTests {
    static let shapes = TestPaths.shapesPipeline

    /// A folder with the embedded transformer config and `scheduler` as the scheduler config.
    func folder(scheduler: String) throws -> PipelineFolder {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)").path
        for sub in ["transformer", "scheduler"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: Self.shapes + "/transformer/config.json", toPath: root + "/transformer/config.json")
        try Data(scheduler.utf8).write(to: URL(fileURLWithPath: root + "/scheduler/scheduler_config.json"))
        return PipelineFolder(path: root)
    }

    /// Issue #16: a scheduler shift of -1 in the model folder was reported as
    /// "--bottleneck off at 9 frames of 32×32, 3 steps: stage 0: shift -1.0 must be positive
    /// (… or --bottleneck off)": blamed on a flag that was already given. It is the folder's
    /// config that is wrong, and the message names that file and the bound.
    @Test func badSchedulerShiftNamesTheConfigFile() throws {
        let pipeline = try folder(scheduler: #"{"shift": -1}"#)
        defer { try? FileManager.default.removeItem(atPath: pipeline.path) }
        var request = GenerationRequest(prompt: "a red ball")
        (request.frames, request.width, request.height, request.steps, request.bottleneck) = (9, 32, 32, 3, .preset(.off))
        let file = pipeline.path + "/scheduler/scheduler_config.json"
        let error = #expect(throws: PipelineError.self) { try PlanFit(pipeline: pipeline).check(request) }
        #expect(error?.description == "\(file): \"shift\" must be a number above 0 and at most 100; got -1, use 1")
        #expect(error?.description.contains("--bottleneck") == false)
    }

    /// `model_index.json`'s `_guidance_scale`: the folder's default guidance; absent (no key, no
    /// file) leaves the kind's; a value that is not a number, or is out of bounds, names the file.
    @Test func folderGuidance() throws {
        let pipeline = try folder(scheduler: #"{"shift": 3.0}"#)
        defer { try? FileManager.default.removeItem(atPath: pipeline.path) }
        let file = pipeline.modelIndexPath
        #expect(try pipeline.defaultGuidance() == nil)
        func index(_ json: String) throws { try Data(json.utf8).write(to: URL(fileURLWithPath: file)) }
        try index(#"{"_class_name": "HunyuanVideoPipeline", "_guidance_scale": 4.5}"#)
        #expect(try pipeline.defaultGuidance() == 4.5)
        #expect(GenerationRequest(prompt: "a", kind: .hunyuanVideo, guidance: 4.5).cfgScale == 4.5)
        #expect(GenerationRequest(prompt: "a", kind: .flux).cfgScale == 3.5)
        try index(#"{"_class_name": "HunyuanVideoPipeline"}"#)
        #expect(try pipeline.defaultGuidance() == nil)
        try index(#"{"_guidance_scale": "high"}"#)
        let text = #expect(throws: PipelineError.self) { try pipeline.defaultGuidance() }
        #expect(text?.description == "\(file): \"_guidance_scale\" must be a number")
        try index(#"{"_guidance_scale": -1}"#)
        let negative = #expect(throws: PipelineError.self) { try pipeline.defaultGuidance() }
        #expect(negative?.description == "\(file): \"_guidance_scale\" must be a number between 0 and 100; got -1, use 0")
        try index("[1, 2]")
        let notObject = #expect(throws: PipelineError.self) { try pipeline.defaultGuidance() }
        #expect(notObject?.description == "\(file): not a JSON object")
    }

    @Test func goodSchedulerShiftPasses() throws {
        let pipeline = try folder(scheduler: #"{"shift": 3.0, "num_train_timesteps": 1000}"#)
        defer { try? FileManager.default.removeItem(atPath: pipeline.path) }
        #expect(try pipeline.schedulerSettings().baseShift(imageTokens: 64) == 3)
    }
}
