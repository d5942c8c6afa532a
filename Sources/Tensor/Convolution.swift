import Dispatch
import Foundation

/// A 3-D convolution kernel packed for a channels-last gemm.
///
/// The PyTorch `nn.Conv3d.weight` `[out, in, kT, kH, kW]` is repacked once, at load, to
/// `[kT, kH, kW, in, out]`, i.e. a `[kT·kH·kW·in, out]` matrix whose row order matches the
/// im2col rows built by `Tensor.causalConv3d`.
public struct Conv3dKernel: Sendable {
    public let kernelFrames: Int, kernelHeight: Int, kernelWidth: Int
    public let inChannels: Int, outChannels: Int
    /// Layout `[kT, kH, kW, inChannels, outChannels]`, Float32, row-major.
    public let packed: [Float]
    /// `[outChannels]` or nil.
    public let bias: [Float]?

    /// Rows of the packed matrix: `kT·kH·kW·inChannels`.
    public var reduction: Int { kernelFrames * kernelHeight * kernelWidth * inChannels }

    /// - Parameters:
    ///   - weight: PyTorch layout `[out, in, kT, kH, kW]`.
    ///   - bias: `[out]` or nil.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 5, "conv3d weight must be [out, in, kT, kH, kW], got \(weight.shape)")
        let (co, ci, kt, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3],
                                    weight.shape[4])
        precondition(bias == nil || bias!.shape == [co], "conv3d bias \(bias!.shape) for \(co) outputs")
        (outChannels, inChannels, kernelFrames, kernelHeight, kernelWidth) = (co, ci, kt, kh, kw)
        self.packed = weight.permuted([2, 3, 4, 1, 0]).data
        self.bias = bias?.data
    }
}

extension Tensor {
    /// Upper bound on the im2col scratch of `causalConv3d`, in floats (2 MiB, so a tile stays in cache between its im2col write and the gemm): the conv never
    /// materialises the whole `[voxels, k³·Cin]` matrix, only tiles of at most this size.
    public static let convolutionScratchFloats = 1 << 19

    /// Stride-1 causal 3-D convolution with replicate padding, as diffusers
    /// `HunyuanVideoCausalConv3d` (`F.pad(x, (kW//2, kW//2, kH//2, kH//2, kT-1, 0), "replicate")`
    /// then `nn.Conv3d`), computed as a gemm `[pixels, k³·Cin] × [k³·Cin, Cout]` over im2col
    /// tiles of at most `convolutionScratchFloats` floats.
    ///
    /// - Parameters:
    ///   - kernel: the packed weights.
    ///   - past: the `kT − 1` frames that precede `self` in time (a streaming cache), layout
    ///     `[kT − 1, H, W, Cin]`; nil means the start of the video, where the first frame is
    ///     repeated (replicate padding in time).
    /// - Returns: `[T, H, W, Cout]` for `self` of layout `[T, H, W, Cin]` (channels last).
    public func causalConv3d(_ kernel: Conv3dKernel, past: Tensor? = nil) -> Tensor {
        precondition(rank == 4 && shape[3] == kernel.inChannels,
                     "conv3d: input \(shape) vs kernel in=\(kernel.inChannels)")
        let (frames, height, width, cin) = (shape[0], shape[1], shape[2], shape[3])
        let pastCount = kernel.kernelFrames - 1
        if let past {
            precondition(past.shape == [pastCount, height, width, cin],
                         "conv3d: past \(past.shape), expected \([pastCount, height, width, cin])")
        }
        let cout = kernel.outChannels
        let pixels = height * width
        var out = Tensor(shape: [frames, height, width, cout], repeating: 0)
        guard frames > 0, pixels > 0 else { return out }
        if let bias = kernel.bias {
            out.data.withUnsafeMutableBufferPointer { o in
                let p = UncheckedPointer(o.baseAddress)
                Threads.parallelFor(frames * pixels, costPerItem: cout) { range in
                    for r in range { for j in 0..<cout { p.value![r * cout + j] = bias[j] } }
                }
            }
        }
        let beta: Float = kernel.bias == nil ? 0 : 1
        // 1×1×1: the input already is the im2col matrix.
        if kernel.kernelFrames == 1 && kernel.kernelHeight == 1 && kernel.kernelWidth == 1 {
            data.withUnsafeBufferPointer { x in
                kernel.packed.withUnsafeBufferPointer { w in
                    out.data.withUnsafeMutableBufferPointer { o in
                        BLAS.sgemm(m: frames * pixels, n: cout, k: cin, a: x.baseAddress!, lda: cin,
                                   b: w.baseAddress!, ldb: cout, beta: beta, c: o.baseAddress!,
                                   ldc: cout)
                    }
                }
            }
            return out
        }
        let (kt, kh, kw) = (kernel.kernelFrames, kernel.kernelHeight, kernel.kernelWidth)
        let reduction = kernel.reduction
        let tilePixels = Swift.max(1, Swift.min(pixels, Tensor.convolutionScratchFloats / reduction))
        let tilesPerFrame = (pixels + tilePixels - 1) / tilePixels
        let tiles = frames * tilesPerFrame
        let frameSize = pixels * cin
        let pastData = past?.data ?? []
        // Each worker builds its own im2col tile and runs a single-threaded sgemm on it, so the
        // two never wait on each other tile by tile.
        let workers = Swift.min(Threads.count, tiles)
        data.withUnsafeBufferPointer { x in
            pastData.withUnsafeBufferPointer { pb in
                kernel.packed.withUnsafeBufferPointer { w in
                    out.data.withUnsafeMutableBufferPointer { o in
                        let px = UncheckedPointer(UnsafeMutablePointer(mutating: x.baseAddress!))
                        let pp = UncheckedPointer(UnsafeMutablePointer(mutating: pb.baseAddress))
                        let pw = UncheckedPointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                        let po = UncheckedPointer(o.baseAddress)
                        let hasPast = past != nil
                        let work: @Sendable (Int) -> Void = { worker in
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: tilePixels * reduction)
                            defer { col.deallocate() }
                            for tile in stride(from: worker, to: tiles, by: workers) {
                                let t = tile / tilesPerFrame
                                let p0 = (tile % tilesPerFrame) * tilePixels
                                let rows = Swift.min(tilePixels, pixels - p0)
                                // Source frame of each temporal tap (causal, cache or replicate).
                                var taps = [UnsafePointer<Float>](repeating: UnsafePointer(px.value!), count: kt)
                                for dt in 0..<kt {
                                    let s = t + dt - (kt - 1)
                                    if s >= 0 { taps[dt] = UnsafePointer(px.value! + s * frameSize) }
                                    else if hasPast { taps[dt] = UnsafePointer(pp.value! + (pastCount + s) * frameSize) }
                                }
                                for r in 0..<rows {
                                    let p = p0 + r
                                    let h = p / width, wq = p % width
                                    var dst = col + r * reduction
                                    for dt in 0..<kt {
                                        let src = taps[dt]
                                        for dh in 0..<kh {
                                            let hh = Swift.min(Swift.max(h + dh - kh / 2, 0), height - 1)
                                            let rowBase = src + hh * width * cin
                                            let w0 = wq - kw / 2
                                            if w0 >= 0 && w0 + kw <= width {
                                                // interior: the kw taps are contiguous
                                                Tensor.copyFloats(rowBase + w0 * cin, dst, kw * cin)
                                                dst += kw * cin
                                            } else {
                                                for dw in 0..<kw {
                                                    let ww = Swift.min(Swift.max(w0 + dw, 0), width - 1)
                                                    Tensor.copyFloats(rowBase + ww * cin, dst, cin)
                                                    dst += cin
                                                }
                                            }
                                        }
                                    }
                                }
                                BLAS.serialSgemm(m: rows, n: cout, k: reduction, a: col, lda: reduction,
                                           b: pw.value!, ldb: cout, beta: beta,
                                           c: po.value! + (t * pixels + p0) * cout, ldc: cout)
                            }
                        }
                        if workers > 1 {
                            DispatchQueue.concurrentPerform(iterations: workers, execute: work)
                        } else {
                            work(0)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Copies `n` floats with 8-wide vector moves (short copies: cheaper than `memmove` calls).
    @inlinable
    static func copyFloats(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            UnsafeMutableRawPointer(dst + i).storeBytes(
                of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { dst[i] = src[i]; i += 1 }
    }

    /// The `count` frames that precede the frame after `self` in a causal stream: the last
    /// `count` frames of `past ++ self`, where a nil `past` stands for the first frame of `self`
    /// repeated (the replicate padding at the start of the video). Used to carry a causal
    /// convolution's cache from one chunk to the next.
    /// Layout: `[count, H, W, C]` for `self` of layout `[T, H, W, C]`.
    public func causalHistory(past: Tensor?, count: Int) -> Tensor {
        precondition(rank == 4 && shape[0] > 0, "causal history of \(shape)")
        let frames = shape[0]
        if count == 0 { return Tensor(shape: [0] + Array(shape.dropFirst()), data: []) }
        if frames >= count { return slice(rows: (frames - count)..<frames) }
        let before = past ?? Tensor.concatenate(rows: Array(repeating: slice(rows: 0..<1), count: count))
        let joined = Tensor.concatenate(rows: [before, self])
        return joined.slice(rows: (joined.shape[0] - count)..<joined.shape[0])
    }
}
