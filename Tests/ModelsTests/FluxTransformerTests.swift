import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// A `Tests/Fixtures/flux-*` model with its inputs and diffusers' outputs
/// (`Scripts/fixtures/make_flux_fixtures.py`; the layouts there are ours, nothing is permuted).
struct FluxFixture {
    let model: FluxTransformer
    let io: SafeTensorsFile

    init(_ name: String) throws {
        let dir = TestPaths.fixture(name)
        model = try FluxTransformer(directory: dir)
        io = try SafeTensorsFile(path: dir + "/io.safetensors")
    }

    /// Per batch item, which text tokens are valid (`text_mask`, right-padded).
    var textMask: [[Bool]] {
        get throws {
            let m = try io.tensor("text_mask")
            let l = m.shape[1]
            return (0..<m.shape[0]).map { b in (0..<l).map { m.data[b * l + $0] > 0.5 } }
        }
    }

    /// Runs the model on the stored inputs with the ids of `ids` (a suffix of the stored
    /// `img_ids`/`txt_ids` names) and, if `masked`, the text mask.
    func run(ids: String = "", masked: Bool = false, text: Tensor? = nil) throws -> Tensor {
        try model(latents: io.tensor("latents"), timestep: io.tensor("timestep").data, text: text ?? io.tensor("text"),
                  textMask: masked ? textMask : nil, pooled: io.tensor("pooled"),
                  guidance: model.configuration.guidanceEmbeds ? io.tensor("guidance").data : nil,
                  imageIDs: io.tensor("img_ids" + ids), textIDs: io.tensor("txt_ids" + ids))
    }
}

@Suite(.serialized) struct FluxTransformerTests {
    /// Parity bound against diffusers 0.42.1 float32 on outputs of magnitude ~7–12: both sides
    /// compute the same float32 math (on the same BF16-rounded weights for flux-schnell) in another
    /// order, as for HunyuanVideo (`Tolerance.smallTimestep`, whose 1e-4 also covers t = 1000
    /// through torch's exact sinusoid frequencies, used here for 1000·σ and 1000·guidance).
    /// Measured (AVX-512 OpenBLAS kernels): 5.2e-6 and 4.8e-6 on flux-dev (pipeline and shifted
    /// ids), 7.4e-6 and 7.6e-6 on flux-schnell (unmasked and masked), i.e. ~6e-7 of the largest
    /// output; 1e-4 leaves a 13× margin for other kernels' summation orders.
    static let tolerance: Float = 1e-4

    // MARK: - Parity with diffusers

    /// (a) FLUX.1-dev-like: guidance embedder, F32 weights, batch 2, the pipeline's ids, and ids
    /// that also rotate the text tokens; (b) -schnell-like: no guidance, BF16 weights, batch 2
    /// with text padded in item 1, unmasked (as FluxPipeline) and with the padding keys masked.
    @Test(arguments: [("flux-dev", "pipeline"), ("flux-dev", "shifted_ids"),
                      ("flux-schnell", "unmasked"), ("flux-schnell", "masked")])
    func matchesDiffusers(fixture: String, run: String) throws {
        let f = try FluxFixture(fixture)
        let out = try fixture == "flux-dev" ? f.run(ids: "_" + run) : f.run(masked: run == "masked")
        let expected = try f.io.tensor("output_\(run)")
        #expect(out.shape == expected.shape)
        let (err, index) = maxAbsError(out, expected)
        let scale = expected.data.map(abs).max()!
        print("\(fixture) \(run): max abs error \(err) at \(index), relative to max |output| \(scale): \(err / scale)")
        #expect(err <= Self.tolerance, "\(fixture) \(run): max abs error \(err) at \(index)")
        // Random weights keep the output O(1..10): a trivially small output would prove nothing.
        #expect(scale > 1)
    }

    /// The two flux-dev runs differ only in the ids (text tokens rotated in the second), and the
    /// two flux-schnell runs only in the mask: each pair's outputs differ by far more than the
    /// tolerance, so the parity runs above check the ids and the mask.
    @Test func fixtureRunsDifferByMoreThanTheTolerance() throws {
        for (fixture, a, b) in [("flux-dev", "pipeline", "shifted_ids"), ("flux-schnell", "unmasked", "masked")] {
            let io = try FluxFixture(fixture).io
            #expect(try io.tensor("output_\(a)").maxAbsDifference(io.tensor("output_\(b)")) > 50 * Self.tolerance)
        }
    }

    /// With the mask, masked text tokens do not reach the image: changing them leaves the output
    /// unchanged (the fixture script checks the same in diffusers against the unpadded text).
    @Test func maskedTextTokensAreIgnored() throws {
        let f = try FluxFixture("flux-schnell")
        var text = try f.io.tensor("text")
        let (l, e) = (text.shape[1], text.shape[2])
        let valid = try f.textMask[1].filter { $0 }.count
        #expect(valid < l)
        let a = try f.run(masked: true)
        for t in valid..<l { for j in 0..<e { text.data[(l + t) * e + j] = 100 } }
        let b = try f.run(masked: true, text: text)
        // Leakage of the value 100 would change the output by O(1); the bound only allows the
        // last-bit differences of another gemm split when another test changes `Threads.count`.
        #expect(a.maxAbsDifference(b) <= 1e-5)
    }

    // MARK: - Loading

    /// BF16 weight matrices load through `WeightMatrix` at their stored precision.
    @Test func bfloat16WeightsStaySixteenBit() throws {
        let m = try FluxFixture("flux-schnell").model
        let matrices = [m.xEmbedder.weight, m.contextEmbedder.weight, m.transformerBlocks[0].toQKV.weight,
                        m.transformerBlocks[0].ff.proj.weight, m.singleTransformerBlocks[0].projOut.weight,
                        m.finalLayer.projOut.weight]
        #expect(matrices.allSatisfy { $0.precision == .bfloat16 })
    }

    @Test func configurationDefaultsAndValidation() throws {
        let c = try JSONDecoder().decode(FluxConfiguration.self, from: Data("{}".utf8))
        #expect(c.innerDim == 3072 && c.numLayers == 19 && c.numSingleLayers == 38 && c.outputChannels == 64)
        #expect(!c.guidanceEmbeds && c.axesDimsRope == [16, 56, 56] && c.jointAttentionDim == 4096)
        var bad = c
        bad.axesDimsRope = [16, 56, 54]
        #expect(throws: ModelError(.badConfiguration(reason: "axes_dims_rope [16, 56, 54] sums to 126, not attention_head_dim 128"),
                                   file: "config.json")) { try bad.validate() }
    }

    /// A missing tensor is reported by its full key, a misshapen one by its key and both shapes.
    @Test func missingAndMisshapenTensorsAreNamed() throws {
        let dir = try makeTemporaryDirectory(prefix: "flux-weights")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = TestPaths.fixture("flux-schnell")
        try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dir + "/config.json")
        let archive = try WeightArchive(directory: src, baseName: FluxTransformer.weightsName)
        let file = dir + "/\(FluxTransformer.weightsName).safetensors"
        let missing = "single_transformer_blocks.1.proj_mlp.weight"
        try SafeTensorsWriter.write(try archive.keys.filter { $0 != missing }.map { (name: $0, tensor: try archive.tensor($0)) },
                                    to: file)
        #expect(throws: SafeTensorsError(.missingTensor(key: missing), file: dir)) { _ = try FluxTransformer(directory: dir) }

        let misshapen = "context_embedder.weight"
        try SafeTensorsWriter.write(try archive.keys.map { k in
            (name: k, tensor: k == misshapen ? Tensor(shape: [32, 31]) : try archive.tensor(k))
        }, to: file)
        #expect(throws: SafeTensorsError(.shapeMismatch(key: misshapen, expected: [32, 32], found: [32, 31]), file: dir)) {
            _ = try FluxTransformer(directory: dir)
        }
    }

    // MARK: - Input validation

    @Test func rejectsBadInputs() throws {
        let f = try FluxFixture("flux-schnell")
        let io = f.io
        func call(latents: Tensor? = nil, imageIDs: Tensor? = nil, mask: [[Bool]]? = nil, guidance: [Float]? = nil) throws {
            _ = try f.model(latents: latents ?? io.tensor("latents"), timestep: [1, 1], text: io.tensor("text"),
                            textMask: mask, pooled: io.tensor("pooled"), guidance: guidance,
                            imageIDs: imageIDs ?? io.tensor("img_ids"), textIDs: io.tensor("txt_ids"))
        }
        #expect(throws: ModelError(.inputShape(name: "latents", expected: "[B >= 1, Li >= 1, 16]", found: [2, 64, 4]),
                                   file: "transformer input")) { try call(latents: Tensor(shape: [2, 64, 4])) }
        #expect(throws: ModelError(.inputShape(name: "imageIDs", expected: "[64, 3]", found: [63, 3]),
                                   file: "transformer input")) { try call(imageIDs: Tensor(shape: [63, 3])) }
        #expect(throws: ModelError(.guidance(reason: "the model has no guidance embedder (guidance_embeds false); pass nil"),
                                   file: "transformer input")) { try call(guidance: [3.5, 3.5]) }
        #expect(throws: ModelError(.batchMismatch(name: "textMask[1]", expected: 10, found: 9),
                                   file: "transformer input")) {
            try call(mask: [[Bool](repeating: true, count: 10), [Bool](repeating: true, count: 9)])
        }
    }
}
