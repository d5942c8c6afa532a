import Foundation
import Tensor
import TestSupport
import Testing
@testable import Models

@Suite struct HunyuanTextEncoderTests {
    // MARK: CLIP

    /// Tiny random CLIP text model: last hidden state (after final LayerNorm), pooled output at
    /// the end-of-text token and the projected embedding match transformers 5.x.
    @Test func clipMatchesTransformers() throws {
        let dir = TestPaths.path("Tests/Fixtures/text-clip")
        let encoder = try CLIPTextEncoder(directory: dir + "/text_encoder", tokenizerDirectory: dir + "/tokenizer")
        let json = try TestPaths.expectedJSON("text-clip")
        let expected = try TestPaths.expectedTensors("text-clip")
        let ids = json["ids"] as! [[Int]]
        let out = try encoder.model(ids)
        for (name, actual) in [("last_hidden_state", out.lastHiddenState), ("pooled", out.pooled),
                               ("text_embeds", out.projected!)] {
            let e = try expected.tensor(name)
            #expect(actual.shape == e.shape)
            let err = actual.maxAbsDifference(e)
            #expect(err <= textParityTolerance, "\(name): max error \(err)")
        }
        let pooled = try encoder.encode(json["prompts"] as! [String])
        #expect(pooled.maxAbsDifference(try expected.tensor("pooled")) <= textParityTolerance)
    }

    /// The legacy rule (`eos_token_id == 2`) pools at argmax(ids), the first maximum; the
    /// modern rule at the first `eos_token_id` (pad == eos must not move it).
    @Test func poolingPositionRules() {
        let ids = [[0, 5, 9, 3, 9, 1], [0, 7, 1, 1, 1, 1]]
        #expect(CLIPTextModel.poolingPositions(ids, eosTokenId: 2) == [2, 1])
        #expect(CLIPTextModel.poolingPositions(ids, eosTokenId: 1) == [5, 2])
    }

    // MARK: Llama

    /// Tiny random Llama (GQA 4/2 heads, half-split RoPE, SwiGLU): HunyuanVideo's templated,
    /// cropped `hidden_states[-3]` and mask equal diffusers `_get_llama_prompt_embeds`, and
    /// skip 0 (`hidden_states[-1]`, final norm applied) equals `last_hidden_state`.
    @Test func llamaMatchesDiffusers() throws {
        let dir = TestPaths.path("Tests/Fixtures/text-llama")
        let json = try TestPaths.expectedJSON("text-llama")
        let expected = try TestPaths.expectedTensors("text-llama")
        let template = HunyuanPromptTemplate(template: HunyuanPromptTemplate.video.template, cropStart: nil)
        let encoder = try LlamaTextEncoder(directory: dir + "/text_encoder", tokenizerDirectory: dir + "/tokenizer",
                                           template: template, maxSequenceLength: json["max_sequence_length"] as! Int)
        #expect(encoder.cropStart == json["crop_start"] as! Int)
        let (states, mask) = try encoder.encode(json["prompts"] as! [String])
        let e = try expected.tensor("states")
        #expect(states.shape == e.shape)
        let err = states.maxAbsDifference(e)
        #expect(err <= textParityTolerance, "states: max error \(err)")
        let m = try expected.tensor("mask")
        #expect(mask.flatMap { $0 }.map { $0 ? Float(1) : 0 } == m.data)

        let full = try LlamaTextModel(directory: dir + "/text_encoder")
        let ids = json["template_ids"] as! [[Int]]
        let lengths = ids.map { row in row.count - row.reversed().prefix { $0 == encoder.tokenizer.padId }.count }
        let last = try full.hiddenStates(TokenIds(ids: ids, lengths: lengths), skip: 0)
        let lastErr = last.maxAbsDifference(try expected.tensor("last_hidden_state"))
        #expect(lastErr <= textParityTolerance, "last_hidden_state: max error \(lastErr)")
    }

    @Test func skippingMoreLayersThanExistIsAnError() throws {
        let dir = TestPaths.path("Tests/Fixtures/text-llama/text_encoder")
        let model = try LlamaTextModel(directory: dir)
        #expect(throws: TextEncoderError(.layerOutOfRange(skip: 5, layers: 4))) {
            try model.hiddenStates(TokenIds(ids: [[1, 2]], lengths: [2]), skip: 5)
        }
    }

    /// The video template places the prompt and keeps diffusers' exact wording.
    @Test func videoTemplateFormatsPrompt() {
        let t = HunyuanPromptTemplate.video
        #expect(t.cropStart == 95)
        #expect(t.apply("a cat").hasSuffix("<|start_header_id|>user<|end_header_id|>\n\na cat<|eot_id|>"))
        #expect(t.template.contains("theme of the video.2. The color"))
    }
}
