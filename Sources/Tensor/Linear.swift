#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Matrix products with weights, through `cblas_sgemm`.
extension Tensor {
    /// PyTorch-style linear layer: `y = x · Wᵀ + b`.
    /// - Parameters:
    ///   - weight: `[out, in]` (PyTorch `nn.Linear.weight` layout).
    ///   - bias: `[out]` or nil.
    /// - Returns: `[..., out]` for `self` of layout `[..., in]`.
    public func linear(_ weight: Tensor, bias: Tensor? = nil) -> Tensor {
        linear(WeightMatrix(weight), bias: bias)
    }

    /// `linear` with a weight matrix in its stored precision.
    public func linear(_ weight: WeightMatrix, bias: Tensor? = nil) -> Tensor {
        let inFeatures = shape.last ?? 0
        precondition(weight.columns == inFeatures, "linear: input \(shape) vs weight [\(weight.rows), \(weight.columns)]")
        let outFeatures = weight.rows
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for \(outFeatures)") }
        let rows = inFeatures == 0 ? 0 : count / inFeatures
        var outShape = shape
        outShape[outShape.count - 1] = outFeatures
        return data.withUnsafeBufferPointer { x in
            Tensor(shape: outShape) { out in
                guard let o = out.baseAddress else { return }
                guard rows > 0, inFeatures > 0 else { return out.initialize(repeating: 0) }
                bias?.data.withUnsafeBufferPointer { b in
                    RowKernels.linear(x.baseAddress!, rows: rows, xStride: inFeatures, weight: weight,
                                      bias: b.baseAddress!, out: o, outStride: outFeatures)
                } ?? RowKernels.linear(x.baseAddress!, rows: rows, xStride: inFeatures, weight: weight,
                                       bias: nil, out: o, outStride: outFeatures)
            }
        }
    }
}

extension WeightMatrix {
    /// `c = a · Wᵀ + beta · c`: `a` is `[m, columns]` with row stride `lda`, `c` is `[m, rows]`
    /// with row stride `ldc`.
    ///
    /// Float32 weights take one `BLAS.sgemm`. 16-bit weights are widened a panel of `panelRows`
    /// rows at a time into the calling thread's scratch, each panel one single-threaded sgemm on
    /// columns of `c`, the panels spread over `Threads.count` workers. Panels start at multiples
    /// of `BLAS.splitAlignment`, so the result is one sgemm call on the widened matrix bit for bit
    /// with OpenBLAS's AVX-512 kernels and within float rounding with its AVX2 ones, as
    /// `BLAS.sgemm`'s own split is (`WeightMatrixTests`).
    public func multiplyTransposed(_ a: UnsafePointer<Float>, m: Int, lda: Int, beta: Float,
                                   c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, rows > 0 else { return }
        if case .float32(let values) = storage {
            return values.withUnsafeBufferPointer { w in
                BLAS.sgemm(transB: true, m: m, n: rows, k: columns, a: a, lda: lda, b: w.baseAddress!, ldb: columns,
                           beta: beta, c: c, ldc: ldc)
            }
        }
        let workers = m * rows * columns >= BLAS.parallelThreshold ? Threads.count : 1
        let panel = Self.panelRows(rows: rows, columns: columns, workers: workers)
        let panels = (rows + panel - 1) / panel
        let pa = UncheckedPointer(UnsafeMutablePointer(mutating: a)), pc = UncheckedPointer(c)
        let product: @Sendable (Range<Int>) -> Void = { range in
            let scratch = ThreadScratch.floats(panel * columns)
            for p in range {
                let lo = p * panel, count = min(panel, rows - lo)
                widen(rows: lo..<(lo + count), into: scratch)
                BLAS.serialSgemm(transB: true, m: m, n: count, k: columns, a: pa.value!, lda: lda, b: scratch,
                                 ldb: columns, beta: beta, c: pc.value! + lo, ldc: ldc)
            }
        }
        if workers > 1 && panels > 1 {
            Threads.parallelFor(panels, costPerItem: m * panel * columns, product)
        } else {
            product(0..<panels)
        }
    }

    /// Float32 elements of one panel at most: 16 MiB of scratch per thread (a few hundred rows
    /// of a 3072- to 15360-wide matrix), enough rows that repacking the activations for each
    /// panel's sgemm stays a small part of its work. Not tuned by measurement yet.
    static let panelElements = 1 << 22

    /// Rows per panel: a multiple of `BLAS.splitAlignment`, within `panelElements`, and no more
    /// than an equal share per worker so that every worker has a panel.
    static func panelRows(rows: Int, columns: Int, workers: Int) -> Int {
        let align = BLAS.splitAlignment
        let fitting = max(align, panelElements / max(columns, 1) / align * align)
        return min(fitting, BLAS.alignedShare(rows, workers: workers))
    }

    /// The most scratch one thread holds for products with a 16-bit `[rows, columns]` matrix: its
    /// largest panel (one worker's), at most `panelElements` floats. The scratch is kept until
    /// the thread exits, so a thread holds this for the largest matrix it has multiplied.
    public static func scratchBytes(rows: Int, columns: Int) -> Int {
        panelRows(rows: rows, columns: columns, workers: 1) * columns * MemoryLayout<Float>.size
    }
}

/// One Float32 buffer per thread, grown to the largest panel asked for and kept until the thread
/// exits, so 16-bit products neither allocate nor fault in fresh pages on every call. Each
/// thread that multiplies 16-bit weights holds at most `WeightMatrix.panelElements` floats.
enum ThreadScratch {
    /// At least `count` floats, valid on this thread until its next call here.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if let current = pthread_getspecific(key) {
            let capacity = current.load(as: Int.self)
            if capacity >= count { return (current + header).assumingMemoryBound(to: Float.self) }
            current.deallocate()
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: header + max(count, 1) * 4, alignment: header)
        buffer.storeBytes(of: count, as: Int.self)
        pthread_setspecific(key, buffer)
        return (buffer + header).assumingMemoryBound(to: Float.self)
    }

    /// Bytes before the floats: the capacity, padded to a cache line.
    private static let header = 64

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { $0?.deallocate() }
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()
}
