import Models

/// FLUX.1's prompt encoding (`FluxTextEncoder`: CLIP-L pooled `[1, 768]`, T5 states
/// `[1, 512, 4096]`). Only the prompt: FLUX.1 runs no unconditional pass (`true_cfg_scale` 1),
/// so a negative prompt is not encoded.
struct FluxTextStage: TextEncodingStage {
    /// T5 tokens per prompt: `FluxPipeline.__call__`'s `max_sequence_length` default (-dev and
    /// -schnell alike); the cost model and the memory estimate count them.
    static let maxTokens = 512
    let encoder: FluxTextEncoder

    func encode(prompt: String, negativePrompt: String?) async throws -> PromptEmbeddings {
        PromptEmbeddings(conditional: try encoder.encode([prompt]), unconditional: nil)
    }
}
