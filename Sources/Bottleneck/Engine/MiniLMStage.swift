import Models

/// MiniLM text states `[1, L, 384]` and the normalised mean-pooled vector `[1, 384]`; the
/// negative prompt (empty when none) is encoded alongside for classifier-free guidance.
struct MiniLMStage: TextEncodingStage {
    /// Token limit of the text contract the shipped DiT was trained with (Docs/training.md).
    static let maxTokens = 32
    let encoder: MiniLMTextEncoder

    func encode(prompt: String, negativePrompt: String?) async throws -> PromptEmbeddings {
        PromptEmbeddings(conditional: try encoder.encode([prompt]),
                         unconditional: try encoder.encode([negativePrompt ?? ""]))
    }
}
