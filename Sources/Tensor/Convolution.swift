import Dispatch
import Foundation

/// A 3-D convolution kernel packed for a channels-last gemm.
///
/// The PyTorch `nn.Conv3d.weight` `[out, in, kT, kH, kW]` is repacked once, at load, to
/// `[kH, kW, in, kT, out]`, i.e. a `[kH·kW·in, kT·out]` matrix: its rows match the 2-D im2col
/// rows of one input frame built by `Tensor.causalConv3d`, and its column block `dt` holds the
/// weights of temporal tap `dt`.
public struct Conv3dKernel: Sendable {
    public let kernelFrames: Int, kernelHeight: Int, kernelWidth: Int
    public let inChannels: Int, outChannels: Int
    /// Layout `[kH, kW, inChannels, kT, outChannels]`, Float32, row-major.
    public let packed: [Float]
    /// `[outChannels]` or nil.
    public let bias: [Float]?

    /// Rows of the packed matrix (the 2-D im2col width): `kH·kW·inChannels`.
    public var reduction: Int { kernelHeight * kernelWidth * inChannels }

    /// - Parameters:
    ///   - weight: PyTorch layout `[out, in, kT, kH, kW]`.
    ///   - bias: `[out]` or nil.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 5, "conv3d weight must be [out, in, kT, kH, kW], got \(weight.shape)")
        let (co, ci, kt, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3],
                                    weight.shape[4])
        precondition(bias == nil || bias!.shape == [co], "conv3d bias \(bias!.shape) for \(co) outputs")
        (outChannels, inChannels, kernelFrames, kernelHeight, kernelWidth) = (co, ci, kt, kh, kw)
        self.packed = weight.permuted([3, 4, 1, 2, 0]).data
        self.bias = bias?.data
    }
}

extension Tensor {
    /// Upper bound on the per-core scratch of `causalConv3d`, in floats (2 MiB): the conv never
    /// materialises a whole im2col matrix, only tiles of rows (im2col plus gemm output) of at
    /// most this size.
    public static let convolutionScratchFloats = 1 << 19

    /// Stride-1 causal 3-D convolution with replicate padding, as diffusers
    /// `HunyuanVideoCausalConv3d` (`F.pad(x, (kW//2, kW//2, kH//2, kH//2, kT-1, 0), "replicate")`
    /// then `nn.Conv3d`).
    ///
    /// Computed frame by frame: each input frame's 2-D im2col tile `[pixels, kH·kW·Cin]` is
    /// multiplied once by all `kT` temporal taps side by side (`[kH·kW·Cin, kT·Cout]`), and
    /// column block `dt` is added to the output frame that reads this frame through tap `dt`.
    /// Against one gemm per output frame over a `kT·kH·kW·Cin` im2col this builds and packs a
    /// third of the im2col data, and the gemm is `kT` times wider (`Cout` is 16–64 in the VAE).
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
        // The output starts as the bias (or zeros); every gemm result is added to it.
        var out = Tensor(shape: [frames, height, width, cout]) { buf in
            let p = UncheckedPointer(buf.baseAddress)
            let bias = kernel.bias
            Threads.parallelFor(frames * pixels, costPerItem: cout) { range in
                for r in range {
                    let row = p.value! + r * cout
                    if let bias { bias.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: cout) } }
                    else { row.update(repeating: 0, count: cout) }
                }
            }
        }
        guard frames > 0, pixels > 0 else { return out }
        // 1×1×1: the input already is the im2col matrix.
        if kernel.kernelFrames == 1 && kernel.kernelHeight == 1 && kernel.kernelWidth == 1 {
            data.withUnsafeBufferPointer { x in
                kernel.packed.withUnsafeBufferPointer { w in
                    out.data.withUnsafeMutableBufferPointer { o in
                        BLAS.sgemm(m: frames * pixels, n: cout, k: cin, a: x.baseAddress!, lda: cin,
                                   b: w.baseAddress!, ldb: cout, beta: 1, c: o.baseAddress!, ldc: cout)
                    }
                }
            }
            return out
        }
        let (kt, kh, kw) = (kernel.kernelFrames, kernel.kernelHeight, kernel.kernelWidth)
        let reduction = kernel.reduction, wide = kt * cout
        // Input frames in time order, each with the source positions s it stands for (output
        // frame t reads position s = t + dt − (kT − 1) through tap dt). Without a cache the
        // positions before the video all repeat frame 0, so frame 0 is multiplied only once.
        let frameSize = pixels * cin
        let sources: [(frame: Int, positions: [Int])] = past == nil  // frame < 0: past frame pastCount + frame
            ? [(0, Array(-pastCount...0))] + (1..<frames).map { ($0, [$0]) }
            : (-pastCount..<frames).map { ($0, [$0]) }
        // Pixel tiles are split evenly over the workers; a worker keeps its tiles for every
        // frame, so workers write disjoint output rows and never wait on each other.
        let workers = Swift.min(Threads.count, pixels)
        let maxTileRows = Swift.max(1, Tensor.convolutionScratchFloats / (reduction + wide))
        let perWorker = (pixels + workers * maxTileRows - 1) / (workers * maxTileRows)
        let tileRows = (pixels + workers * perWorker - 1) / (workers * perWorker)
        let tiles = (pixels + tileRows - 1) / tileRows
        let pastData = past?.data ?? []
        data.withUnsafeBufferPointer { x in
            pastData.withUnsafeBufferPointer { pb in
                kernel.packed.withUnsafeBufferPointer { w in
                    out.data.withUnsafeMutableBufferPointer { o in
                        let px = UncheckedPointer(UnsafeMutablePointer(mutating: x.baseAddress!))
                        let pp = UncheckedPointer(UnsafeMutablePointer(mutating: pb.baseAddress))
                        let pw = UncheckedPointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                        let po = UncheckedPointer(o.baseAddress)
                        let work: @Sendable (Int) -> Void = { worker in
                            let col = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * (reduction + wide))
                            defer { col.deallocate() }
                            let product = col + tileRows * reduction
                            for source in sources {
                                let src = source.frame >= 0 ? UnsafePointer(px.value! + source.frame * frameSize)
                                    : UnsafePointer(pp.value! + (pastCount + source.frame) * frameSize)
                                for tile in stride(from: worker, to: tiles, by: workers) {
                                    let p0 = tile * tileRows
                                    let rows = Swift.min(tileRows, pixels - p0)
                                    Tensor.im2col(src, height: height, width: width, channels: cin,
                                                  kernelHeight: kh, kernelWidth: kw,
                                                  pixels: p0..<(p0 + rows), into: col)
                                    BLAS.serialSgemm(m: rows, n: wide, k: reduction, a: col, lda: reduction,
                                                     b: pw.value!, ldb: wide, c: product, ldc: wide)
                                    for s in source.positions {
                                        for dt in 0..<kt {
                                            let t = s + pastCount - dt
                                            guard t >= 0 && t < frames else { continue }
                                            Tensor.addRows(product + dt * cout, stride: wide, rows: rows, cols: cout,
                                                           into: po.value! + (t * pixels + p0) * cout)
                                        }
                                    }
                                }
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

    /// Writes the 2-D im2col rows of `pixels` (row-major positions) of one frame `[H, W, C]`
    /// with replicate padding: row `r` holds the `kH × kW` neighbourhood of pixel
    /// `pixels.lowerBound + r`, `[kH, kW, C]` row-major.
    static func im2col(_ frame: UnsafePointer<Float>, height: Int, width: Int, channels cin: Int,
                       kernelHeight kh: Int, kernelWidth kw: Int, pixels: Range<Int>,
                       into col: UnsafeMutablePointer<Float>) {
        var dst = col
        for p in pixels {
            let h = p / width, wq = p % width
            for dh in 0..<kh {
                let hh = Swift.min(Swift.max(h + dh - kh / 2, 0), height - 1)
                let rowBase = frame + hh * width * cin
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

    /// `out[r, 0..<cols] += x[r, 0..<cols]` for `rows` rows; `x` rows are `stride` apart,
    /// `out` rows are contiguous.
    static func addRows(_ x: UnsafePointer<Float>, stride: Int, rows: Int, cols: Int,
                        into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let src = x + r * stride, dst = out + r * cols
            var i = 0
            while i + 8 <= cols {
                let a = SIMD8<Float>(loading: dst + i)
                let b = SIMD8<Float>(loading: src + i)
                (a + b).store(to: dst + i)
                i += 8
            }
            while i < cols { dst[i] += src[i]; i += 1 }
        }
    }

    /// Copies `n` floats with 8-wide vector moves (short copies: cheaper than `memmove` calls).
    @inlinable
    static func copyFloats(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            SIMD8<Float>(loading: src + i).store(to: dst + i)
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
