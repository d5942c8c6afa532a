import Foundation
import Media
import Models
import SafeTensors
import Sampling
import Tensor
import TestSupport
import Testing
@testable import Bottleneck

/// A FLUX.1 folder through the same stages as HunyuanVideo's: the tiny random-weight pipeline of
/// `Scripts/fixtures/make_flux_pipeline.py` against diffusers' FluxPipeline on it.
@Suite struct FluxPipelineTests {
    static let folder = PipelineFolder(path: TestPaths.fixture("flux-pipeline-tiny"))

    /// The fixture's run (`expected.json`): prompt, size, steps, guidance, seed.
    static func request(output: String, latents: String?) throws -> GenerationRequest {
        let run = try TestPaths.expectedJSON("flux-pipeline-tiny")
        var r = GenerationRequest(prompt: run["prompt"] as! String, kind: .flux)
        (r.width, r.height, r.steps) = (run["width"] as! Int, run["height"] as! Int, run["steps"] as! Int)
        r.cfgScale = Float(run["guidance"] as! Double)
        r.seed = UInt64(run["seed"] as! Int)
        (r.bottleneck, r.output, r.saveLatentsPath) = (.preset(.off), .file(output), latents)
        return r
    }

    static func run(_ request: GenerationRequest) async throws {
        let pipeline = try BottleneckPipeline(folder: folder)
        #expect(pipeline.kind == .flux)
        for try await event in try pipeline.generate(request) {
            if case .failed(_, let stage, let error) = event { Issue.record("\(stage) failed: \(error)") }
        }
    }

    /// Standard sampling (dynamic shift, distilled guidance 3.5, one pass a step) from our seeded
    /// noise, which diffusers received as `latents=` (packed): the final latents within 1e-4,
    /// float32 on both sides, differing by summation order and by the sigmas' rounding (diffusers
    /// shifts in float32 as e^μ / (e^μ + 1/σ − 1), we as s·σ / (1 + (s − 1)·σ): an ulp apart).
    /// The image the VAE decodes from them is the PNG, each 8-bit value within 1 of diffusers'.
    @Test func standardScheduleMatchesDiffusers() async throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let request = try Self.request(output: dir + "/image.png", latents: dir + "/latents.safetensors")
        try await Self.run(request)
        let expected = try SafeTensorsFile(path: TestPaths.fixture("flux-pipeline-tiny") + "/expected.safetensors")
        // Our initial noise is the fixture's (stage 0's stream, [1, 1, h, w, 16] row-major).
        let size = request.latentSize
        var stream = StageNoise(seed: request.seed!).stream(stage: 0)
        let noise = Tensor(shape: [1, 1, size.height, size.width, 16], data: stream.gaussian(count: size.height * size.width * 16))
        #expect(maxAbsError(noise, try expected.tensor("noise")).error == 0)
        let latents = try LatentFile.read(from: dir + "/latents.safetensors").latents.tensor
        expectClose(latents, try expected.tensor("latents"), tolerance: 1e-4)
        let image = try VideoReader(path: dir + "/image.png").readAll()
        #expect(image.count == 1 && image[0].width == request.width && image[0].height == request.height)
        let reference = try expected.tensor("image").data.map { UInt8(min(max(($0 + 1) * 127.5, 0), 255).rounded()) }
        let worst = zip(image[0].pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 1, "8-bit difference \(worst)")
    }

    /// An image model makes one frame: any other `frames` is refused naming the field, before
    /// anything loads.
    @Test func imageModelRefusesFrames() throws {
        var request = try Self.request(output: "x.png", latents: nil)
        request.frames = 9
        request.output = .file("x.mp4")
        let error = #expect(throws: RequestError.self) { try PlanFit(pipeline: Self.folder).check(request) }
        #expect(error?.field == "frames")
    }

    /// A component folder that model_index.json lists but the folder lacks is named with the file.
    @Test func missingComponentNamesModelIndex() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Self.folder.path, toPath: dir + "/flux")
        try FileManager.default.removeItem(atPath: dir + "/flux/vae")
        let folder = PipelineFolder(path: dir + "/flux")
        let error = #expect(throws: PipelineError.self) { try BottleneckPipeline(folder: folder) }
        #expect(error?.kind == .missingComponent(key: "vae", folder: dir + "/flux/vae"))
        #expect(error?.description.hasPrefix(dir + "/flux/model_index.json: component \"vae\"") == true)
    }

    /// An unknown `_class_name` is refused naming the file and the key.
    @Test func unknownPipelineClassNamesTheKey() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"_class_name": "StableDiffusionPipeline"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/model_index.json"))
        let error = #expect(throws: PipelineError.self) { try PipelineFolder(path: dir).kind() }
        #expect(error?.description.contains("model_index.json: \"_class_name\" 'StableDiffusionPipeline'") == true)
    }

    /// Parameter counts from each config (used for a folder without weight files) equal the
    /// fixture's stored tensors, component by component; for the VAE, so does the split into conv
    /// kernels (kept 16-bit) and the tensors widened to Float32 at 4 bytes each.
    @Test func parameterCountsFromConfigsMatchTheWeights() throws {
        let fit = try ResourceFit(pipeline: Self.folder)
        #expect(fit.weights.map(\.component) == [.textEncoder, .textEncoder2, .transformer, .vae])
        for stored in fit.weights {
            let inferred = try ResourceFit.inferredWeights(stored.component, pipeline: Self.folder)
            #expect(inferred.parameters == stored.parameters, "\(stored.component)")
        }
        let vae = try WeightArchive(directory: Self.folder.path + "/vae", baseName: CausalVideoDecoder.weightsName)
        let widened = vae.keys.compactMap(vae.shape(of:)).filter { !CausalVideoDecoder.readsAsMatrix($0) }
            .reduce(0) { $0 + $1.reduce(1, *) }
        let inferred = try ResourceFit.inferredWeights(.vae, pipeline: Self.folder)
        #expect(inferred.residentBytes == inferred.storedBytes + 4 * widened)
    }
}
