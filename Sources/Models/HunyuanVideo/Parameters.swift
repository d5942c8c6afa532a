import Foundation
import SafeTensors
import Tensor

/// Where layer parameters come from: a checked safetensors load (`WeightReader`) or seeded
/// random values (benchmarks, tests of shapes). Keys are diffusers' state-dict names.
public protocol ParameterSource: Sendable {
    /// The tensor named `name` in this scope, with exactly `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor
    /// A source whose keys are prefixed by `name.`.
    func scoped(_ name: String) -> any ParameterSource
}

extension WeightReader: ParameterSource {
    public func scoped(_ name: String) -> any ParameterSource { scope(name) }
}

/// Deterministic pseudo-random parameters: each tensor's values depend only on the seed and its
/// full key. Weights (rank ≥ 2) are uniform in ±1/√fan_in (PyTorch's default linear init range);
/// vectors (biases, norm weights) are `1 + 0.1·u` for norms and `0.1·u` otherwise.
public struct RandomParameters: ParameterSource {
    public let seed: UInt64
    public let prefix: String

    public init(seed: UInt64 = 0, prefix: String = "") {
        self.seed = seed
        self.prefix = prefix
    }

    public func scoped(_ name: String) -> any ParameterSource {
        RandomParameters(seed: seed, prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
    }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let key = prefix.isEmpty ? name : "\(prefix).\(name)"
        var state = seed ^ 0x9E37_79B9_7F4A_7C15
        for byte in key.utf8 { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }  // FNV-1a
        let count = shape.reduce(1, *)
        let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 1
        let isNormWeight = shape.count == 1 && key.hasSuffix(".weight")
        let amplitude: Float = shape.count >= 2 ? 1 / Float(fanIn).squareRoot() : 0.1
        let offset: Float = isNormWeight ? 1 : 0
        return Tensor(shape: shape) { buf in
            for i in 0..<count {
                // SplitMix64
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let u = Float(z >> 40) / Float(1 << 24) * 2 - 1
                buf[i] = offset + amplitude * u
            }
        }
    }
}

/// A PyTorch `nn.Linear`: `y = x · Wᵀ + b`.
public struct Linear: Sendable {
    /// `[outFeatures, inFeatures]`, row-major.
    public let weight: [Float]
    /// `[outFeatures]`.
    public let bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int

    /// Loads `weight` `[out, in]` and `bias` `[out]` from `source` (scope = the layer's key).
    public init(_ source: any ParameterSource, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) throws {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = try source.tensor("weight", shape: [outFeatures, inFeatures]).data
        bias = hasBias ? try source.tensor("bias", shape: [outFeatures]).data : nil
    }

    /// One layer whose outputs are the given layers' outputs side by side (same input width),
    /// e.g. `to_q | to_k | to_v` as one gemm.
    public init(fusing layers: [Linear]) {
        precondition(!layers.isEmpty && layers.allSatisfy { $0.inFeatures == layers[0].inFeatures })
        inFeatures = layers[0].inFeatures
        outFeatures = layers.reduce(0) { $0 + $1.outFeatures }
        weight = layers.flatMap(\.weight)
        bias = layers.allSatisfy { $0.bias != nil } ? layers.flatMap { $0.bias! } : nil
    }

    /// `x`: `[..., inFeatures]` → `[..., outFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.linear(Tensor(shape: [outFeatures, inFeatures], data: weight),
                 bias: bias.map { Tensor(shape: [outFeatures], data: $0) })
    }

    /// Raw form: `rows` input rows with stride `xStride` → output rows with stride `outStride`.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, xStride: Int,
                      out: UnsafeMutablePointer<Float>, outStride: Int) {
        weight.withUnsafeBufferPointer { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    RowKernels.linear(x, rows: rows, inFeatures: inFeatures, xStride: xStride, weight: w.baseAddress!,
                                      bias: b.baseAddress!, outFeatures: outFeatures, out: out, outStride: outStride)
                }
            } else {
                RowKernels.linear(x, rows: rows, inFeatures: inFeatures, xStride: xStride, weight: w.baseAddress!,
                                  bias: nil, outFeatures: outFeatures, out: out, outStride: outStride)
            }
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
