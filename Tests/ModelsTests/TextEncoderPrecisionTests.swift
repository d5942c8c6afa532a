import Foundation
import SafeTensors
import Tensor
import TestSupport
import Testing
@testable import Models

/// The text encoders with their 16-bit weight matrices and embedding tables kept as stored
/// (views of the mapped file, widened a panel or a looked-up row at a time) against the same
/// weights expanded to Float32 at load: the shipped float16 MiniLM, and the float32 CLIP and
/// Llama parity fixtures written again in bfloat16 and float16.
@Suite(.serialized) struct TextEncoderPrecisionTests {
    static let minilm = TestPaths.path("pipelines/shapes/text_encoder")

    /// The fixture's `text_encoder/` with every tensor rounded to `storage`, in a temporary folder.
    static func rounded(_ fixture: String, to storage: StorageType) throws -> String {
        let source = TestPaths.fixture(fixture + "/text_encoder")
        let file = try SafeTensorsFile(path: source + "/model.safetensors")
        let dir = try makeTemporaryDirectory(prefix: "text-precision")
        try FileManager.default.copyItem(atPath: source + "/config.json", toPath: dir + "/config.json")
        try SafeTensorsWriter.write(try file.names.map { ($0, try file.tensor($0)) }, to: dir + "/model.safetensors",
                                    storage: storage)
        return dir
    }

    /// Kept and expanded outputs agree within the parity tolerance (the same stored values;
    /// only how each product is split differs, which moves at most the last bits).
    static func expectSame(_ kept: Tensor, _ expanded: Tensor, _ name: String) {
        let err = kept.maxAbsDifference(expanded)
        print("\(name): kept vs expanded max abs difference \(err) (kernels \(BLAS.coreName))")
        #expect(kept.shape == expanded.shape && err <= textParityTolerance, "\(name): max abs difference \(err)")
    }

    /// Each tensor a load read is kept or converted as `rule` says (every text encoder keeps its
    /// rank-2 tensors), and the kept ones hold two bytes a weight.
    static func expectTwoBytesPerWeight(_ records: [RecordingParameters.Record],
                                        rule: ([Int]) -> Bool = { $0.count >= 2 },
                                        sourceLocation: SourceLocation = #_sourceLocation) {
        let (kept, _) = keptAndConvertedBytes(records, rule: rule, sourceLocation: sourceLocation)
        let weights = records.filter { rule($0.shape) }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(weights > 0 && kept == 2 * weights, sourceLocation: sourceLocation)
    }

    // MARK: MiniLM

    @Test func miniLMKeptGivesTheExpandedOutput() throws {
        let ids = try TestPaths.expectedJSON("text-minilm")["ids"] as! [[Int]]
        let n = ids.map(\.count).max()!
        let batch = TokenIds(ids: ids.map { $0 + Array(repeating: 0, count: n - $0.count) }, lengths: ids.map(\.count))
        let kept = try BertTextEncoder(directory: Self.minilm)
        let expanded = try BertTextEncoder(directory: Self.minilm, matrices: .float32)
        Self.expectSame(try kept(batch), try expanded(batch), "MiniLM")
    }

    /// Every matrix and embedding table of the shipped float16 MiniLM stays 16-bit, two bytes a
    /// weight; the embedding tables are the tensors `isEmbeddingTable` names (no product scratch).
    @Test func miniLMKeepsTwoBytesPerWeight() throws {
        let c = try ModelConfigFile.load(BertConfiguration.self, directory: Self.minilm)
        let archive = try WeightArchive(directory: Self.minilm, baseName: BertTextEncoder.weightsName)
        let recorder = RecordingParameters(WeightReader(archive))
        _ = try BertTextEncoder(configuration: c, parameters: recorder)
        Self.expectTwoBytesPerWeight(recorder.records, rule: BertTextEncoder.readsAsMatrix)
        #expect(archive.keys.filter(BertTextEncoder.isEmbeddingTable)
                == ["embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
                    "embeddings.word_embeddings.weight"])
    }

    // MARK: CLIP and Llama, rounded to 16 bits

    @Test(arguments: [StorageType.bf16, .f16])
    func clipKeptGivesTheExpandedOutput(storage: StorageType) throws {
        let dir = try Self.rounded("text-clip", to: storage)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = try TestPaths.expectedJSON("text-clip")["ids"] as! [[Int]]
        let kept = try CLIPTextModel(directory: dir)(ids), expanded = try CLIPTextModel(directory: dir, matrices: .float32)(ids)
        Self.expectSame(kept.lastHiddenState, expanded.lastHiddenState, "CLIP \(storage) last_hidden_state")
        Self.expectSame(kept.projected!, expanded.projected!, "CLIP \(storage) text_embeds")

        let c = try ModelConfigFile.load(CLIPTextConfiguration.self, directory: dir)
        let recorder = RecordingParameters(WeightReader(try WeightArchive(directory: dir, baseName: "model")))
        _ = try CLIPTextModel(configuration: c, parameters: recorder, textModel: "text_model", projection: true)
        Self.expectTwoBytesPerWeight(recorder.records)
    }

    @Test(arguments: [StorageType.bf16, .f16])
    func llamaKeptGivesTheExpandedOutput(storage: StorageType) throws {
        let dir = try Self.rounded("text-llama", to: storage)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = try TestPaths.expectedJSON("text-llama")["template_ids"] as! [[Int]]
        let batch = TokenIds(ids: ids, lengths: ids.map(\.count))
        let kept = try LlamaTextModel(directory: dir), expanded = try LlamaTextModel(directory: dir, matrices: .float32)
        Self.expectSame(try kept.hiddenStates(batch, skip: 0), try expanded.hiddenStates(batch, skip: 0),
                        "Llama \(storage) last_hidden_state")

        let c = try ModelConfigFile.load(LlamaConfiguration.self, directory: dir)
        let recorder = RecordingParameters(WeightReader(try WeightArchive(directory: dir, baseName: "model")))
        _ = try LlamaTextModel(configuration: c, parameters: recorder, layers: c.numHiddenLayers)
        Self.expectTwoBytesPerWeight(recorder.records)
    }
}
