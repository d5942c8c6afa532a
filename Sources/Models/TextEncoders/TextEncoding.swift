import Diagnostics
import Foundation
import SafeTensors
import Tensor

/// Text conditioning for the video transformer.
public struct TextEmbeddings: Sendable {
    /// Per-token states. Layout: `[batch, tokens, width]`, Float32, row-major; items are right
    /// padded to one length (padded rows hold the model's output at the pad tokens).
    public var states: Tensor
    /// `[batch][tokens]`: true for real tokens, false for padding.
    public var mask: [[Bool]]
    /// Sentence-level vector. Layout: `[batch, pooledWidth]`, Float32.
    public var pooled: Tensor

    public init(states: Tensor, mask: [[Bool]], pooled: Tensor) {
        self.states = states
        self.mask = mask
        self.pooled = pooled
    }
}

/// A prompt encoder the pipeline can call.
public protocol TextEncoding: Sendable {
    /// Encodes a batch of prompts (one item per prompt, same order).
    func encode(_ prompts: [String]) throws -> TextEmbeddings
}

/// Failures of the text encoders that are not tokenizer or safetensors errors, in the shape of
/// the module's other errors: `subject` is the file the error is about (`missingFile`,
/// `badConfiguration`), else `TextEncoderErrorKind.input` (the prompts being encoded).
public typealias TextEncoderError = ContextError<TextEncoderErrorKind>

/// The cases of `TextEncoderError`.
public enum TextEncoderErrorKind: ErrorKind {
    /// A required file is absent; the subject is the path that was expected.
    case missingFile
    /// The subject (`config.json`) is unreadable or has an invalid value at `key`.
    case badConfiguration(key: String, reason: String)
    /// A token id is outside the embedding table.
    case tokenOutOfRange(id: Int, vocabularySize: Int)
    /// The sequence is longer than the position table.
    case sequenceTooLong(length: Int, maximum: Int)
    /// The requested hidden layer does not exist.
    case layerOutOfRange(skip: Int, layers: Int)
    /// An empty prompt batch.
    case emptyBatch

    /// The subject of the errors that are about the encoder's input rather than a file.
    public static let input = "prompts"

    public func description(subject: String) -> String {
        switch self {
        case .missingFile: "text encoder file not found: expected \(subject)"
        case .badConfiguration(let key, let reason): "\(subject): \(key): \(reason)"
        case .tokenOutOfRange(let id, let n): "token id \(id) is outside the vocabulary (size \(n))"
        case .sequenceTooLong(let l, let m): "sequence of \(l) tokens exceeds the \(m) position embeddings"
        case .layerOutOfRange(let k, let n): "cannot skip \(k) hidden layers of a \(n)-layer model"
        case .emptyBatch: "no prompts to encode"
        }
    }
}

extension ContextError where Kind == TextEncoderErrorKind {
    /// An error about the prompts being encoded (subject `TextEncoderErrorKind.input`).
    init(_ kind: Kind) { self.init(kind, subject: Kind.input) }
}

/// Reading a `config.json` into a `Decodable` struct, with the path in every error.
enum ModelConfigFile {
    static func load<T: Decodable>(_ type: T.Type, directory: String) throws -> T {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: path) else {
            throw TextEncoderError(.missingFile, subject: path)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch let e as DecodingError {
            var key = "", reason = "\(e)"
            switch e {
            case .keyNotFound(let k, let ctx): key = (ctx.codingPath + [k]).map(\.stringValue).joined(separator: "."); reason = "missing"
            case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
                key = ctx.codingPath.map(\.stringValue).joined(separator: "."); reason = ctx.debugDescription
            @unknown default: break
            }
            throw TextEncoderError(.badConfiguration(key: key, reason: reason), subject: path)
        } catch let e as TextEncoderError {
            throw e
        } catch {
            throw TextEncoderError(.badConfiguration(key: "", reason: (error as NSError).localizedDescription), subject: path)
        }
    }

    static func invalid(_ directory: String, _ key: String, _ reason: String) -> TextEncoderError {
        TextEncoderError(.badConfiguration(key: key, reason: reason),
                         subject: (directory as NSString).appendingPathComponent("config.json"))
    }
}

// MARK: - Layers shared by the text encoders

/// `nn.LayerNorm` with affine weight and bias `[width]`.
struct TextLayerNorm: Sendable {
    let weight: Tensor, bias: Tensor, eps: Float

    init(_ w: any ParameterSource, width: Int, eps: Float) throws {
        weight = try w.tensor("weight", shape: [width])
        bias = try w.tensor("bias", shape: [width])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(eps: eps, weight: weight, bias: bias) }
}

/// Embedding lookup: `table` is `[vocab, width]` in its stored precision; returns Float32
/// `[ids.count, width]` (only the rows looked up are widened).
func embeddingRows(_ table: WeightMatrix, _ ids: [Int]) throws -> Tensor {
    for id in ids where id < 0 || id >= table.rows {
        throw TextEncoderError(.tokenOutOfRange(id: id, vocabularySize: table.rows))
    }
    return Tensor(shape: [ids.count, table.columns], data: table.gatheredRows(ids))
}

/// Repeats each of `kvHeads` heads `groups` times along axis 2 (grouped-query attention):
/// `[batch, tokens, kvHeads, d] -> [batch, tokens, kvHeads·groups, d]` (transformers `repeat_kv`).
func repeatHeads(_ x: Tensor, groups: Int) -> Tensor {
    if groups == 1 { return x }
    let (b, n, h, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.data.withUnsafeBufferPointer { src in
        Tensor(shape: [b, n, h * groups, d]) { dst in
            for row in 0..<(b * n) {
                for head in 0..<h {
                    let s = (row * h + head) * d
                    for g in 0..<groups {
                        let o = (row * h * groups + head * groups + g) * d
                        for i in 0..<d { dst[o + i] = src[s + i] }
                    }
                }
            }
        }
    }
}
