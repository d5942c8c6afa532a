import Tensor
import Tokenizers

/// HunyuanVideo's Llama prompt template (diffusers 0.42.1 `DEFAULT_PROMPT_TEMPLATE`,
/// `pipelines/hunyuan_video/pipeline_hunyuan_video.py`; reference hunyuan-video.md §5.1).
public struct HunyuanPromptTemplate: Sendable, Equatable {
    /// Template text; `{}` marks where the prompt goes.
    public var template: String
    /// Template tokens dropped from the front of the states and mask; nil = computed as
    /// diffusers does: `len(tokenize(template)) - 2` (drops `{}` and `<|eot_id|>`).
    public var cropStart: Int?

    public init(template: String, cropStart: Int?) {
        self.template = template
        self.cropStart = cropStart
    }

    /// The video template with `crop_start` 95 (for the Llama 3 tokenizer).
    public static let video = HunyuanPromptTemplate(
        template: "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
            + "1. The main content and theme of the video."
            + "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects."
            + "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects."
            + "4. background environment, light, style and atmosphere."
            + "5. camera angles, movements, and transitions used in the video:<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>",
        cropStart: 95)

    /// `template` with `{}` replaced by `prompt` (Python `str.format` with one field).
    public func apply(_ prompt: String) -> String {
        guard let r = template.range(of: "{}") else { return template }
        return template.replacingCharacters(in: r, with: prompt)
    }
}

/// HunyuanVideo's text encoder 1: Llama hidden states of the templated prompt.
/// Port of diffusers 0.42.1 `HunyuanVideoPipeline._get_llama_prompt_embeds`: tokenize
/// `template.format(prompt)` to `maxSequenceLength + cropStart` (right padding, truncation),
/// take `hidden_states[-(skip + 1)]`, drop the first `cropStart` positions of states and mask.
public struct LlamaTextEncoder: Sendable {
    public let tokenizer: ByteLevelBPETokenizer
    public let model: LlamaTextModel
    public let template: HunyuanPromptTemplate
    public let cropStart: Int
    public let maxSequenceLength: Int
    public let hiddenLayersToSkip: Int

    /// - Parameters:
    ///   - maxSequenceLength: prompt tokens kept after the crop (HunyuanVideo: 256).
    ///   - hiddenLayersToSkip: 2 → `hidden_states[-3]`, the output of layer `L - 2`.
    public init(directory: String, tokenizerDirectory: String, template: HunyuanPromptTemplate = .video,
                maxSequenceLength: Int = 256, hiddenLayersToSkip: Int = 2) throws {
        let probe = try ByteLevelBPETokenizer(directory: tokenizerDirectory, maxLength: Int.max / 2)
        let crop = template.cropStart ?? probe.encode(template.template).count - 2
        tokenizer = try ByteLevelBPETokenizer(directory: tokenizerDirectory, maxLength: maxSequenceLength + crop)
        let config = try ModelConfigFile.load(LlamaConfiguration.self, directory: directory)
        model = try LlamaTextModel(directory: directory, maxLayers: config.numHiddenLayers - hiddenLayersToSkip)
        self.template = template
        self.cropStart = crop
        self.maxSequenceLength = maxSequenceLength
        self.hiddenLayersToSkip = hiddenLayersToSkip
    }

    /// - Returns: states `[batch, maxSequenceLength, width]` and mask `[batch][maxSequenceLength]`.
    public func encode(_ prompts: [String]) throws -> (states: Tensor, mask: [[Bool]]) {
        guard !prompts.isEmpty else { throw TextEncoderError(.emptyBatch) }
        let batch = tokenizer.encodeBatch(prompts.map { template.apply($0) }, padToMaxLength: true)
        let h = try model.hiddenStates(TokenIds(ids: batch.ids, lengths: batch.lengths), skip: hiddenLayersToSkip)
        // Crop the template: [B, N, D] -> [B, N - crop, D].
        let (b, n, d) = (h.shape[0], h.shape[1], h.shape[2])
        let kept = n - cropStart
        var out = [Float]()
        out.reserveCapacity(b * kept * d)
        for i in 0..<b { out.append(contentsOf: h.data[((i * n + cropStart) * d)..<((i + 1) * n * d)]) }
        return (Tensor(shape: [b, kept, d], data: out), batch.mask.map { Array($0.dropFirst(cropStart)) })
    }
}

/// HunyuanVideo's text encoder 2: CLIP-L pooled output (`pooler_output`, no projection) of the
/// prompt padded/truncated to 77 tokens, no attention mask (diffusers `_get_clip_prompt_embeds`).
public struct CLIPTextEncoder: Sendable {
    public let tokenizer: CLIPTokenizer
    public let model: CLIPTextModel

    public init(directory: String, tokenizerDirectory: String, maxLength: Int = 77) throws {
        tokenizer = try CLIPTokenizer(directory: tokenizerDirectory, maxLength: maxLength)
        model = try CLIPTextModel(directory: directory)
    }

    /// - Returns: `[batch, width]` pooled states.
    public func encode(_ prompts: [String]) throws -> Tensor {
        guard !prompts.isEmpty else { throw TextEncoderError(.emptyBatch) }
        return try model(tokenizer.encodeBatch(prompts, padToMaxLength: true).ids).pooled
    }
}

/// HunyuanVideo conditioning (diffusers `HunyuanVideoPipeline.encode_prompt`): Llama states and
/// mask `[batch, 256, 4096]`, CLIP pooled `[batch, 768]`.
public struct HunyuanTextEncoder: TextEncoding {
    public let llama: LlamaTextEncoder
    public let clip: CLIPTextEncoder

    public init(llama: LlamaTextEncoder, clip: CLIPTextEncoder) {
        self.llama = llama
        self.clip = clip
    }

    public func encode(_ prompts: [String]) throws -> TextEmbeddings {
        let (states, mask) = try llama.encode(prompts)
        return TextEmbeddings(states: states, mask: mask, pooled: try clip.encode(prompts))
    }
}
