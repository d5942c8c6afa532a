import Foundation
import SafeTensors
import Synchronization
import Tensor

/// Where layer parameters come from: a checked safetensors load (`WeightReader`) or seeded
/// random values (benchmarks, tests of shapes). Keys are the checkpoint's state-dict names
/// (diffusers' for the transformer, transformers' for the text encoders).
public protocol ParameterSource: Sendable {
    /// The tensor named `name` in this scope, with exactly `shape`, as Float32.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor
    /// The tensor named `name` (exactly `shape`, `[rows, …]`) as a weight matrix
    /// `[shape[0], product of the rest]`, in the precision the source keeps it in.
    func matrix(_ name: String, shape: [Int]) throws -> WeightMatrix
    /// A source whose keys are prefixed by `name.`.
    func scoped(_ name: String) -> any ParameterSource
}

extension WeightReader: ParameterSource {
    public func scoped(_ name: String) -> any ParameterSource { scope(name) }
}

/// Reads through another source and keeps every tensor and matrix it hands out, by full key, in
/// the order they were read: the parameters a model was built from (to write them as a
/// checkpoint, or to count what the model holds). Matrices are the values the model keeps.
public struct RecordingParameters: ParameterSource {
    public enum Value: Sendable {
        case tensor(Tensor)
        case matrix(WeightMatrix)
    }

    public struct Record: Sendable {
        public let key: String
        public let shape: [Int]
        public let value: Value

        /// The values as a Float32 tensor of the stored shape.
        public var tensor: Tensor {
            switch value {
            case .tensor(let t): t
            case .matrix(let m): Tensor(shape: shape, data: m.widened())
            }
        }
    }

    private let base: any ParameterSource
    private let prefix: String
    private let log: RecordLog

    public init(_ base: any ParameterSource) {
        self.init(base: base, prefix: "", log: RecordLog())
    }

    private init(base: any ParameterSource, prefix: String, log: RecordLog) {
        self.base = base
        self.prefix = prefix
        self.log = log
    }

    /// Everything read so far, through this source and every source scoped from it.
    public var records: [Record] { log.records.withLock { $0 } }

    public func scoped(_ name: String) -> any ParameterSource {
        RecordingParameters(base: base.scoped(name), prefix: key(name), log: log)
    }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let t = try base.tensor(name, shape: shape)
        log.records.withLock { $0.append(Record(key: key(name), shape: shape, value: .tensor(t))) }
        return t
    }

    public func matrix(_ name: String, shape: [Int]) throws -> WeightMatrix {
        let m = try base.matrix(name, shape: shape)
        log.records.withLock { $0.append(Record(key: key(name), shape: shape, value: .matrix(m))) }
        return m
    }

    /// Writes everything read so far as one safetensors file in `storage` (streamed: one
    /// tensor in Float32 at a time), e.g. a random model as the checkpoint it stands for.
    public func write(to path: String, storage: StorageType) throws {
        let records = self.records
        try SafeTensorsWriter.write(names: records.map(\.key), shapes: records.map(\.shape), to: path,
                                    storage: storage) { records[$0].tensor }
    }

    private func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    private final class RecordLog: Sendable {
        let records = Mutex<[Record]>([])
    }
}

/// Deterministic pseudo-random parameters: each tensor's values depend only on the seed and its
/// full key. Weights (rank ≥ 2) are uniform in ±1/√fan_in (PyTorch's default linear init range);
/// vectors (biases, norm weights) are `1 + 0.1·u` for norms and `0.1·u` otherwise. With a 16-bit
/// `precision` every value is rounded to it and matrices are kept in it, as a checkpoint stored
/// in that precision would load (a model of real width in half the memory).
public struct RandomParameters: ParameterSource {
    public let seed: UInt64
    public let prefix: String
    public let precision: WeightMatrix.Precision

    public init(seed: UInt64 = 0, prefix: String = "", precision: WeightMatrix.Precision = .float32) {
        self.seed = seed
        self.prefix = prefix
        self.precision = precision
    }

    public func scoped(_ name: String) -> any ParameterSource {
        RandomParameters(seed: seed, prefix: prefix.isEmpty ? name : "\(prefix).\(name)", precision: precision)
    }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        if precision != .float32 { return Tensor(shape: shape, data: try matrix(name, shape: shape).widened()) }
        var values = Values(seed: seed, key: prefix.isEmpty ? name : "\(prefix).\(name)", shape: shape)
        return Tensor(shape: shape) { buf in
            for i in buf.indices { buf[i] = values.next() }
        }
    }

    public func matrix(_ name: String, shape: [Int]) throws -> WeightMatrix {
        let (rows, columns) = (shape.first ?? 1, shape.dropFirst().reduce(1, *))
        guard precision != .float32 else {
            return WeightMatrix(rows: rows, columns: columns, values: try tensor(name, shape: shape).data)
        }
        let round: (Float) -> UInt16 = precision == .float16 ? { HalfPrecision.half(fromFloat: $0) }
                                                             : { HalfPrecision.bfloat16(fromFloat: $0) }
        var values = Values(seed: seed, key: prefix.isEmpty ? name : "\(prefix).\(name)", shape: shape)
        let bits = [UInt16](unsafeUninitializedCapacity: rows * columns) { buf, count in
            for i in 0..<(rows * columns) { buf[i] = round(values.next()) }
            count = rows * columns
        }
        return WeightMatrix(rows: rows, columns: columns, precision: precision, bits: bits)
    }

    /// The values of one key: SplitMix64 seeded by FNV-1a of the key, scaled for the shape.
    private struct Values {
        var state: UInt64
        let amplitude: Float, offset: Float

        init(seed: UInt64, key: String, shape: [Int]) {
            state = seed ^ 0x9E37_79B9_7F4A_7C15
            for byte in key.utf8 { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }  // FNV-1a
            let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
            amplitude = shape.count >= 2 ? 1 / Float(fanIn).squareRoot() : 0.1
            offset = shape.count == 1 && key.hasSuffix(".weight") ? 1 : 0  // norm weights
        }

        mutating func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return offset + amplitude * (Float(z >> 40) / Float(1 << 24) * 2 - 1)
        }
    }
}

/// A PyTorch `nn.Linear`: `y = x · Wᵀ + b`.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`, in its stored precision.
    public let weight: WeightMatrix
    /// `[outFeatures]`.
    public let bias: [Float]?
    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }

    /// Loads `weight` `[out, in]` and `bias` `[out]` from `source` (scope = the layer's key).
    public init(_ source: any ParameterSource, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
        try self.init(source, weightShape: [outFeatures, inFeatures], bias: hasBias)
    }

    /// A layer whose stored weight has `weightShape` `[out, …]`, used as `[out, product of the
    /// rest]` (a conv kernel over non-overlapping patches).
    init(_ source: any ParameterSource, weightShape: [Int], bias hasBias: Bool = true) throws {
        weight = try source.matrix("weight", shape: weightShape)
        bias = hasBias ? try source.tensor("bias", shape: [weightShape[0]]).data : nil
    }

    /// One layer whose outputs are the given layers' outputs side by side (same input width),
    /// e.g. `to_q | to_k | to_v` as one gemm.
    public init(fusing layers: [Linear]) {
        weight = WeightMatrix(stacking: layers.map(\.weight))
        bias = layers.allSatisfy { $0.bias != nil } ? layers.flatMap { $0.bias! } : nil
    }

    /// `x`: `[..., inFeatures]` → `[..., outFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(weight, bias: bias.map { Tensor(shape: [outFeatures], data: $0) })
    }

    /// Raw form: `rows` input rows with stride `xStride` → output rows with stride `outStride`.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, xStride: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int) {
        if let bias {
            bias.withUnsafeBufferPointer { b in
                RowKernels.linear(x, rows: rows, xStride: xStride, weight: weight, bias: b.baseAddress!, out: out,
                                  outStride: outStride)
            }
        } else {
            RowKernels.linear(x, rows: rows, xStride: xStride, weight: weight, bias: nil, out: out, outStride: outStride)
        }
    }
}

/// Uninitialised Float32 scratch owned by one forward call; freed by `deallocate()`.
struct Scratch {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
    }
    func deallocate() { pointer.deallocate() }
}
