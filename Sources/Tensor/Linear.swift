/// Matrix products on tensors, through `cblas_sgemm`.
extension Tensor {
    /// PyTorch-style linear layer: `y = x · Wᵀ + b`.
    /// - Parameters:
    ///   - weight: `[out, in]` (PyTorch `nn.Linear.weight` layout).
    ///   - bias: `[out]` or nil.
    /// - Returns: `[..., out]` for `self` of layout `[..., in]`.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let inFeatures = shape.last ?? 0
        precondition(weight.rank == 2 && weight.shape[1] == inFeatures,
                     "linear: input \(shape) vs weight \(weight.shape)")
        let outFeatures = weight.shape[0]
        let rows = inFeatures == 0 ? 0 : count / inFeatures
        var outShape = shape
        outShape[outShape.count - 1] = outFeatures
        var out = Tensor(shape: outShape, repeating: 0)
        if rows == 0 || outFeatures == 0 { return out }
        if let bias {
            precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for \(outFeatures)")
            out.data.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows { for j in 0..<outFeatures { o[r * outFeatures + j] = bias.data[j] } }
            }
        }
        data.withUnsafeBufferPointer { x in
            weight.data.withUnsafeBufferPointer { w in
                out.data.withUnsafeMutableBufferPointer { o in
                    BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                               a: x.baseAddress!, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                               beta: bias == nil ? 0 : 1, c: o.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return out
    }
}
