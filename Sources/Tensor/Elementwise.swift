import Foundation

/// Element-wise arithmetic and activations, spread over `Threads.count` cores.
extension Tensor {
    /// Applies `f` to every element in place.
    @inlinable
    public mutating func apply(costPerItem: Int = 4, _ f: @Sendable (Float) -> Float) {
        let n = count
        data.withUnsafeMutableBufferPointer { buf in
            let p = UncheckedPointer(buf.baseAddress)
            Threads.parallelFor(n, costPerItem: costPerItem) { range in
                for i in range { p.value![i] = f(p.value![i]) }
            }
        }
    }

    /// `self += other` element-wise (same shape).
    public mutating func add(_ other: Tensor) { combine(other) { $0 + $1 } }
    /// `self *= other` element-wise (same shape).
    public mutating func multiply(_ other: Tensor) { combine(other) { $0 * $1 } }
    /// `self += scale * other` element-wise (same shape): the Euler update and residual adds.
    public mutating func add(_ other: Tensor, scaledBy scale: Float) {
        combine(other) { $0 + scale * $1 }
    }
    /// `self *= s`.
    public mutating func scale(by s: Float) { apply(costPerItem: 1) { $0 * s } }

    /// `self[i] = f(self[i], other[i])` for tensors of equal shape.
    @inlinable
    public mutating func combine(_ other: Tensor, _ f: @Sendable (Float, Float) -> Float) {
        precondition(shape == other.shape, "element-wise: \(shape) vs \(other.shape)")
        let n = count
        other.data.withUnsafeBufferPointer { b in
            data.withUnsafeMutableBufferPointer { a in
                let pa = UncheckedPointer(a.baseAddress)
                let pb = UncheckedPointer(UnsafeMutablePointer(mutating: b.baseAddress))
                Threads.parallelFor(n) { range in
                    for i in range { pa.value![i] = f(pa.value![i], pb.value![i]) }
                }
            }
        }
    }

    /// SiLU (`x·sigmoid(x)`), as torch `F.silu` (vectorised, `FastMath.exp`).
    public func silu() -> Tensor {
        var t = self
        let n = count
        t.data.withUnsafeMutableBufferPointer { b in
            if let p = b.baseAddress { RowKernels.silu(p, rows: 1, cols: n, stride: n) }
        }
        return t
    }

    /// GELU with the tanh approximation, as torch `F.gelu(approximate="tanh")` (vectorised).
    public func geluTanh() -> Tensor {
        var t = self
        let width = shape.last ?? 0
        let rows = width == 0 ? 0 : count / width
        t.data.withUnsafeMutableBufferPointer { b in
            if let p = b.baseAddress { RowKernels.geluTanh(p, rows: rows, cols: width, stride: width) }
        }
        return t
    }

    /// GELU with the exact erf form, as torch `F.gelu` (BERT's "gelu").
    public func geluErf() -> Tensor {
        var t = self
        t.apply(costPerItem: 8) { x in 0.5 * x * (1 + Foundation.erf(x * 0.7071067811865476)) }
        return t
    }

    /// Quick GELU, `x·sigmoid(1.702·x)` (CLIP's "quick_gelu").
    public func quickGelu() -> Tensor {
        var t = self
        t.apply { $0 / (1 + Foundation.exp(-1.702 * $0)) }
        return t
    }
}

/// A raw pointer that may cross into `concurrentPerform` workers. Each worker writes a
/// disjoint index range, and the owning buffer outlives the parallel region, so sharing is safe.
public struct UncheckedPointer<T>: @unchecked Sendable {
    public let value: UnsafeMutablePointer<T>?
    @inlinable public init(_ value: UnsafeMutablePointer<T>?) { self.value = value }
}
