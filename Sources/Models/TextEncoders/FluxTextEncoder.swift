import Tensor

/// FLUX.1 conditioning (diffusers 0.42.1 `FluxPipeline.encode_prompt`,
/// `src/diffusers/pipelines/flux/pipeline_flux.py`): CLIP-L's pooled output of the prompt padded
/// to 77 tokens (`_get_clip_prompt_embeds`, the same call as HunyuanVideo's `CLIPTextEncoder`)
/// and T5's states of the prompt padded to `max_sequence_length` (`_get_t5_prompt_embeds`).
/// `states` `[batch, maxSequenceLength, d_model]`, `pooled` `[batch, 768]`; `mask` marks the
/// prompt's real T5 tokens, which FluxPipeline does not pass to the transformer (it attends to
/// the padding too).
public struct FluxTextEncoder: TextEncoding {
    public let clip: CLIPTextEncoder
    public let t5: T5TextEncoder

    public init(clip: CLIPTextEncoder, t5: T5TextEncoder) {
        self.clip = clip
        self.t5 = t5
    }

    public func encode(_ prompts: [String]) throws -> TextEmbeddings {
        guard !prompts.isEmpty else { throw TextEncoderError(.emptyBatch) }
        let (states, mask) = try t5.encode(prompts)
        return TextEmbeddings(states: states, mask: mask, pooled: try clip.encode(prompts))
    }
}
