import Foundation

/// Fused kernels over the last axis ("rows"), spread over `Threads.count` cores.
extension Tensor {
    /// Number of rows when the tensor is viewed as `[rows, shape.last]`.
    @inlinable var rowCount: Int { (shape.last ?? 0) == 0 ? 0 : count / shape.last! }

    /// Runs `body(row pointer, width)` for every row, in parallel.
    @inlinable
    mutating func forEachRow(_ body: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void) {
        let width = shape.last ?? 0
        let rows = rowCount
        data.withUnsafeMutableBufferPointer { buf in
            let p = UncheckedPointer(buf.baseAddress)
            Threads.parallelFor(rows, costPerItem: width) { range in
                for r in range { body(p.value! + r * width, width) }
            }
        }
    }

    /// LayerNorm over the last axis with biased variance, as torch `nn.LayerNorm`.
    /// `weight`/`bias` are `[width]` or nil (no affine, as in HunyuanVideo's AdaLN norms).
    public func layerNorm(eps: Float, weight: Tensor? = nil, bias: Tensor? = nil) -> Tensor {
        var t = self
        let w = weight?.data, b = bias?.data
        t.forEachRow { row, n in
            let (m, inv) = RowKernels.moments(row, n, eps: eps)
            for i in 0..<n {
                var y = (row[i] - m) * inv
                if let w { y *= w[i] }
                if let b { y += b[i] }
                row[i] = y
            }
        }
        return t
    }

    /// RMSNorm over the last axis: `x / sqrt(mean(x²) + eps) · weight`, variance in float32
    /// (diffusers `RMSNorm`, Llama `LlamaRMSNorm`).
    public func rmsNorm(eps: Float, weight: Tensor? = nil) -> Tensor {
        var t = self
        let w = weight?.data
        t.forEachRow { row, n in
            var ss: Float = 0
            for i in 0..<n { ss += row[i] * row[i] }
            let inv = 1 / (ss / Float(n) + eps).squareRoot()
            for i in 0..<n { row[i] = w.map { row[i] * inv * $0[i] } ?? row[i] * inv }
        }
        return t
    }

    /// Softmax over the last axis (max-subtracted, as torch).
    public func softmax() -> Tensor {
        var t = self
        t.forEachRow { row, n in Tensor.softmaxRow(row, n) }
        return t
    }

    /// In-place numerically stable softmax of `n` floats.
    @inlinable
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, row[i]) }
        if m == -.infinity {  // fully masked row: defined as zeros
            for i in 0..<n { row[i] = 0 }
            return
        }
        let inv = 1 / FastMath.expShifted(row, row, n, shift: m)
        for i in 0..<n { row[i] *= inv }
    }
}
