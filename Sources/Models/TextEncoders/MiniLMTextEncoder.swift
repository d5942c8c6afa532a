import Foundation
import Tensor
import Tokenizers

/// The default pipeline's text encoder: sentence-transformers all-MiniLM-L6-v2.
/// `states` = BERT `last_hidden_state` `[batch, tokens, 384]` (right padded to the longest
/// prompt, at most `maxLength`), `pooled` = mean over real tokens, L2-normalised `[batch, 384]`
/// (sentence-transformers `Pooling(mean)` + `Normalize`, i.e. `SentenceTransformer.encode`).
public struct MiniLMTextEncoder: TextEncoding {
    public let tokenizer: WordPieceTokenizer
    public let model: BertTextEncoder

    /// - Parameters:
    ///   - textEncoder: folder with `config.json` and `model.safetensors`.
    ///   - tokenizerDirectory: folder with `vocab.txt` (or `tokenizer.json`).
    ///   - maxLength: tokens per prompt including `[CLS]`/`[SEP]` (training contract: 32).
    public init(directory textEncoder: String, tokenizerDirectory: String, maxLength: Int = 32) throws {
        tokenizer = try WordPieceTokenizer(directory: tokenizerDirectory, maxLength: maxLength)
        model = try BertTextEncoder(directory: textEncoder)
    }

    public func encode(_ prompts: [String]) throws -> TextEmbeddings {
        guard !prompts.isEmpty else { throw TextEncoderError(.emptyBatch) }
        let batch = tokenizer.encodeBatch(prompts)
        let states = try model(TokenIds(ids: batch.ids, lengths: batch.lengths))
        return TextEmbeddings(states: states, mask: batch.mask, pooled: Self.meanPooled(states, lengths: batch.lengths))
    }

    /// Masked mean over the first `lengths[b]` tokens, then `x / max(‖x‖₂, 1e-12)`
    /// (torch `F.normalize`). `states`: `[batch, tokens, width]` → `[batch, width]`.
    public static func meanPooled(_ states: Tensor, lengths: [Int]) -> Tensor {
        let (b, n, d) = (states.shape[0], states.shape[1], states.shape[2])
        var out = [Float](repeating: 0, count: b * d)
        for i in 0..<b {
            var sum = [Double](repeating: 0, count: d)
            let count = max(min(lengths[i], n), 0)
            for t in 0..<count {
                let base = (i * n + t) * d
                for c in 0..<d { sum[c] += Double(states.data[base + c]) }
            }
            let mean = sum.map { $0 / Double(max(count, 1)) }
            let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for c in 0..<d { out[i * d + c] = Float(mean[c] / norm) }
        }
        return Tensor(shape: [b, d], data: out)
    }
}
