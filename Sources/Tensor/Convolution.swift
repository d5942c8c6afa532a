import Dispatch
import Foundation

/// A 3-D convolution kernel packed for the direct (register-blocked) convolution.
///
/// The PyTorch `nn.Conv3d.weight` `[out, in, kT, kH, kW]` is repacked once, at load, to
/// `[kT, kH, kW, in, paddedOut]`: one row of output-channel weights per (tap, input channel),
/// padded with zeros to a multiple of 8 columns so every row is whole 8-lane vectors.
public struct Conv3dKernel: Sendable {
    public let kernelFrames: Int, kernelHeight: Int, kernelWidth: Int
    public let inChannels: Int, outChannels: Int
    /// `outChannels` rounded up to a multiple of 8.
    public let paddedOutChannels: Int
    /// Layout `[kT·kH·kW·inChannels, paddedOutChannels]` (`[kT, kH, kW, in, paddedOut]`),
    /// row-major; pad columns 0. In the weight's stored precision: Float32, or F16/BF16 values
    /// repacked as they are and widened to Float32 for the duration of each convolution call, so
    /// a 16-bit checkpoint's kernels stay resident at 2 bytes a weight and only the layer that
    /// runs exists in Float32 (`widenedBytes`).
    public let packed: WeightMatrix
    /// `[paddedOutChannels]`: the bias (zeros when the conv has none), zero-padded.
    public let paddedBias: [Float]

    /// Number of (temporal, vertical, horizontal) taps.
    public var taps: Int { kernelFrames * kernelHeight * kernelWidth }

    /// - Parameters:
    ///   - weight: PyTorch `[out, in, kT, kH, kW]` read as a matrix `[out, in·kT·kH·kW]`, in its
    ///     stored precision (`ParameterSource.matrix`), which the packed kernel keeps.
    ///   - bias: `[out]` or nil.
    public init(weight: WeightMatrix, kernelFrames kt: Int, kernelHeight kh: Int, kernelWidth kw: Int, bias: Tensor?) {
        let taps = kt * kh * kw
        precondition(taps > 0 && weight.columns % taps == 0,
                     "conv3d weight [\(weight.rows), \(weight.columns)] for a \(kt)×\(kh)×\(kw) kernel")
        let (co, ci) = (weight.rows, weight.columns / taps)
        precondition(bias == nil || bias!.shape == [co], "conv3d bias \(bias!.shape) for \(co) outputs")
        (outChannels, inChannels, kernelFrames, kernelHeight, kernelWidth) = (co, ci, kt, kh, kw)
        let padded = Self.padded(co)
        paddedOutChannels = padded
        // Element (o, c, tap) of the weight goes to row tap·in + c, column o.
        func repacked<Element: BitwiseCopyable>(_ zero: Element, _ value: (_ row: Int, _ column: Int) -> Element) -> [Element] {
            var packed = [Element](repeating: zero, count: taps * ci * padded)
            for o in 0..<co {
                for c in 0..<ci {
                    for t in 0..<taps { packed[(t * ci + c) * padded + o] = value(o, c * taps + t) }
                }
            }
            return packed
        }
        switch weight.storage {
        case .float32(let values):
            packed = WeightMatrix(rows: taps * ci, columns: padded,
                                  values: repacked(0) { values[$0 * weight.columns + $1] })
        case .packed(let precision, _):
            packed = WeightMatrix(rows: taps * ci, columns: padded, precision: precision, bits: repacked(0) {
                weight.bits(row: $0).loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self)
            })
        }
        var paddedBias = [Float](repeating: 0, count: padded)
        if let bias { for o in 0..<co { paddedBias[o] = bias.data[o] } }
        self.paddedBias = paddedBias
    }

    /// A Float32 kernel from a PyTorch weight `[out, in, kT, kH, kW]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 5, "conv3d weight must be [out, in, kT, kH, kW], got \(weight.shape)")
        let s = weight.shape
        self.init(weight: WeightMatrix(rows: s[0], columns: s[1] * s[2] * s[3] * s[4], values: weight.data),
                  kernelFrames: s[2], kernelHeight: s[3], kernelWidth: s[4], bias: bias)
    }

    /// Bytes of the Float32 weights one call convolves with: a 16-bit kernel's widened copy,
    /// held for the duration of the call (`[taps·inChannels, paddedOutChannels]` floats).
    public static func widenedBytes(inChannels: Int, outChannels: Int, taps: Int) -> Int {
        taps * inChannels * padded(outChannels) * MemoryLayout<Float>.size
    }

    /// `outChannels` rounded up to whole 8-lane vectors.
    private static func padded(_ outChannels: Int) -> Int { (outChannels + 7) / 8 * 8 }
}

/// What a convolution reads outside the image (above, below, left and right of it).
public enum ConvolutionPadding: Sendable {
    /// The nearest edge pixel (`F.pad(…, "replicate")`, HunyuanVideo's causal convs).
    case replicate
    /// Zeros (`nn.Conv2d(padding=k // 2)`, diffusers' 2-D VAE).
    case zeros
}

extension Tensor {
    /// Stride-1 causal 3-D convolution with replicate padding, as diffusers
    /// `HunyuanVideoCausalConv3d` (`F.pad(x, (kW//2, kW//2, kH//2, kH//2, kT-1, 0), "replicate")`
    /// then `nn.Conv3d`).
    ///
    /// Direct convolution, no im2col: each output row (one frame, one image row) is computed in
    /// register tiles of 4 pixels × 16 output channels (8 × 8 for a last 8-channel block) that
    /// run over all `kT·kH·kW` taps and input channels (`RowConvolver`). The VAE's convolutions
    /// have 3–64 output channels, where a gemm (OpenBLAS) runs far below its peak and the im2col
    /// copy and packing cost as much as the product; here a column block's weights stay in
    /// cache and its accumulators in registers. Output rows are spread over the cores.
    ///
    /// - Parameters:
    ///   - kernel: the packed weights.
    ///   - past: the `kT − 1` frames that precede `self` in time (a streaming cache), layout
    ///     `[kT − 1, H, W, Cin]`; nil means the start of the video, where the first frame is
    ///     repeated (replicate padding in time).
    /// - Returns: `[T, H, W, Cout]` for `self` of layout `[T, H, W, Cin]` (channels last).
    public func causalConv3d(_ kernel: Conv3dKernel, past: Tensor? = nil) -> Tensor {
        convolved(kernel, past: past, padding: .replicate)
    }

    /// Stride-1 2-D convolution with zero padding of `k/2`, as torch `nn.Conv2d(k, padding=k//2)`
    /// on each image of a batch: the same direct kernel as `causalConv3d`, with one temporal tap.
    /// - Parameter kernel: packed from a `[out, in, kH, kW]` weight viewed as `[out, in, 1, kH, kW]`.
    /// - Returns: `[B, H, W, Cout]` for `self` of layout `[B, H, W, Cin]` (channels last).
    public func conv2d(_ kernel: Conv3dKernel) -> Tensor {
        precondition(kernel.kernelFrames == 1, "conv2d: kernel has \(kernel.kernelFrames) temporal taps")
        return convolved(kernel, past: nil, padding: .zeros)
    }

    /// `causalConv3d` and `conv2d`: `padding` applies in height and width; in time the first
    /// frame (or `past`) is repeated.
    private func convolved(_ kernel: Conv3dKernel, past: Tensor?, padding: ConvolutionPadding) -> Tensor {
        precondition(rank == 4 && shape[3] == kernel.inChannels,
                     "conv3d: input \(shape) vs kernel in=\(kernel.inChannels)")
        let (frames, height, width, cin) = (shape[0], shape[1], shape[2], shape[3])
        let pastCount = kernel.kernelFrames - 1
        if let past {
            precondition(past.shape == [pastCount, height, width, cin],
                         "conv3d: past \(past.shape), expected \([pastCount, height, width, cin])")
        }
        let outShape = [frames, height, width, kernel.outChannels]
        guard frames > 0, height > 0, width > 0 else { return Tensor(shape: outShape) }
        let frameSize = height * width * cin
        let pastData = past?.data ?? []
        // Float32 weights for this call only: a 16-bit kernel's widened copy, freed on return.
        let weights = kernel.packed.widened()
        return data.withUnsafeBufferPointer { x in
            pastData.withUnsafeBufferPointer { pb in
                let px = UncheckedPointer(UnsafeMutablePointer(mutating: x.baseAddress!))
                let pp = UncheckedPointer(UnsafeMutablePointer(mutating: pb.baseAddress))
                // Source position s (output frame t reads s = t + dt − (kT − 1)) → its frame.
                let source: @Sendable (Int) -> UnsafePointer<Float> = { s in
                    if s >= 0 { return UnsafePointer(px.value! + s * frameSize) }
                    if past != nil { return UnsafePointer(pp.value! + (pastCount + s) * frameSize) }
                    return UnsafePointer(px.value!)  // before the video: frame 0 repeated
                }
                return weights.withUnsafeBufferPointer { w in
                    let pw = UncheckedPointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                    return Tensor(shape: outShape) { o in
                        let po = UncheckedPointer(o.baseAddress)
                        let cost = width * kernel.taps * cin * kernel.outChannels
                        Threads.parallelFor(frames * height, costPerItem: cost) { rows in
                            var rowConvolver = RowConvolver(kernel: kernel, weights: pw.value!, height: height,
                                                            width: width, padding: padding)
                            defer { rowConvolver.deallocate() }
                            for row in rows {
                                rowConvolver.convolve(frame: row / height, row: row % height, source: source,
                                                      into: po.value! + row * width * kernel.outChannels)
                            }
                        }
                    }
                }
            }
        }
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

/// One worker's state for `Tensor.causalConv3d` and `Tensor.conv2d`.
///
/// Holds padded copies of the source rows the current output row reads: slot
/// `(dt, hh mod kH)` holds row `hh` of the frame read through temporal tap `dt`, padded by
/// `kW/2` pixels on each side (copies of its edge pixels, or zeros), so every pixel of the row
/// is computed by the same register tile with no clamping. With zero padding, a row above or
/// below the image is one extra all-zero slot. Moving down one row reuses `kT·(kH − 1)` of the `kT·kH`
/// slots, so the copies cost about one input row per temporal tap per output row.
struct RowConvolver {
    typealias Lanes = SIMD8<Float>
    let kernel: Conv3dKernel
    /// `kernel.packed` as Float32, `[kT·kH·kW·Cin, paddedOutChannels]`.
    let weights: UnsafePointer<Float>
    let height: Int, width: Int
    let padding: ConvolutionPadding
    /// Pixels per padded row: the row, its padding, and room for a tile running past the end.
    let paddedWidth: Int
    /// Layout `[kT·kH slots + 1 zero row, paddedWidth, Cin]`.
    let rows: UnsafeMutablePointer<Float>
    /// The frame and row each slot holds (nil: nothing yet).
    var heldFrame: [UnsafePointer<Float>?], heldRow: [Int]
    /// `[kT·kH·kW]`: pixel 0's input for each tap, in the weights' `[kT, kH, kW]` order.
    let taps: UnsafeMutablePointer<UnsafePointer<Float>>
    /// `[8 pixels, 16 channels]`: a tile's output when the tile runs past the end of the row.
    let spill: UnsafeMutablePointer<Float>

    static let widestTile = 8

    init(kernel: Conv3dKernel, weights: UnsafePointer<Float>, height: Int, width: Int, padding: ConvolutionPadding) {
        (self.kernel, self.weights, self.height, self.width, self.padding) = (kernel, weights, height, width, padding)
        paddedWidth = Swift.max(width, Self.widestTile) + 2 * (kernel.kernelWidth / 2)
        let slots = kernel.kernelFrames * kernel.kernelHeight
        rows = .allocate(capacity: (slots + 1) * paddedWidth * kernel.inChannels)
        rows.initialize(repeating: 0, count: (slots + 1) * paddedWidth * kernel.inChannels)
        heldFrame = Array(repeating: nil, count: slots)
        heldRow = Array(repeating: -1, count: slots)
        taps = .allocate(capacity: kernel.taps)
        spill = .allocate(capacity: Self.widestTile * 16)
    }

    func deallocate() {
        rows.deallocate()
        taps.deallocate()
        spill.deallocate()
    }

    /// Output row `h` of output frame `t`, `[W, Cout]`, into `out`. `source(s)` is the frame
    /// `[H, W, Cin]` at source position `s` (negative: before the chunk).
    mutating func convolve(frame t: Int, row h: Int, source: (Int) -> UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>) {
        let (kt, kh, kw) = (kernel.kernelFrames, kernel.kernelHeight, kernel.kernelWidth)
        let cin = kernel.inChannels
        let zeroRow = rows + kt * kh * paddedWidth * cin
        var k = 0
        for dt in 0..<kt {
            let frame = source(t + dt - (kt - 1))
            for dh in 0..<kh {
                let unclamped = h + dh - kh / 2
                let base: UnsafeMutablePointer<Float>
                if padding == .zeros && (unclamped < 0 || unclamped >= height) {
                    base = zeroRow
                } else {
                    let hh = Swift.min(Swift.max(unclamped, 0), height - 1)
                    let slot = dt * kh + hh % kh
                    base = rows + slot * paddedWidth * cin
                    if heldFrame[slot] != frame || heldRow[slot] != hh {
                        pad(frame + hh * width * cin, into: base)
                        (heldFrame[slot], heldRow[slot]) = (frame, hh)
                    }
                }
                for dw in 0..<kw { taps[k] = UnsafePointer(base + dw * cin); k += 1 }
            }
        }
        let cout = kernel.outChannels, ldw = kernel.paddedOutChannels
        kernel.paddedBias.withUnsafeBufferPointer { paddedBias in
            var col = 0
            while col < ldw {
                // 16 columns in 4-pixel tiles, a last 8 in 8-pixel tiles: 8 accumulators either way.
                let block = ldw - col >= 16 ? 16 : 8, tile = block == 16 ? 4 : 8
                let columns = Swift.min(block, cout - col)
                let w = weights + col, bias = paddedBias.baseAddress! + col
                var p = 0
                while p < width {
                    let whole = p + tile <= width
                    let dst = whole ? out + p * cout + col : spill
                    let ldo = whole ? cout : 16
                    if block == 16 {
                        Self.tile4x16(taps, kernel.taps, p * cin, cin, w, ldw, bias, dst, ldo, whole ? columns : 16)
                    } else {
                        Self.tile8x8(taps, kernel.taps, p * cin, cin, w, ldw, bias, dst, ldo, whole ? columns : 8)
                    }
                    if !whole {
                        for i in 0..<(width - p) {
                            (out + (p + i) * cout + col).update(from: spill + i * 16, count: columns)
                        }
                    }
                    p += tile
                }
                col += block
            }
        }
    }

    /// Copies one source row `[W, Cin]` into a slot with `kW/2` padding pixels each side
    /// (replicated edge pixels, or zeros).
    private func pad(_ row: UnsafePointer<Float>, into slot: UnsafeMutablePointer<Float>) {
        let cin = kernel.inChannels, half = kernel.kernelWidth / 2
        (slot + half * cin).update(from: row, count: width * cin)
        for i in 0..<half {
            let left = slot + i * cin, right = slot + (half + width + i) * cin
            switch padding {
            case .replicate:
                left.update(from: row, count: cin)
                right.update(from: row + (width - 1) * cin, count: cin)
            case .zeros:
                left.update(repeating: 0, count: cin)
                right.update(repeating: 0, count: cin)
            }
        }
    }

    /// Stores the first `columns` (≤ 8) lanes of `v` at `p`.
    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ columns: Int) {
        if columns >= 8 { v.store(to: p) } else { for j in 0..<Swift.max(columns, 0) { p[j] = v[j] } }
    }

    /// 8 consecutive pixels × 8 output channels. Pixel `i` of tap `k` reads
    /// `taps[k] + offset + i·cin`; weights row `(k, c)` is at `w + (k·cin + c)·ldw`.
    /// Eight independent accumulators cover the FMA latency; more spill on 16 AVX registers.
    static func tile8x8(_ taps: UnsafePointer<UnsafePointer<Float>>, _ tapCount: Int, _ offset: Int, _ cin: Int,
                        _ w: UnsafePointer<Float>, _ ldw: Int, _ bias: UnsafePointer<Float>,
                        _ out: UnsafeMutablePointer<Float>, _ ldo: Int, _ columns: Int) {
        let b = Lanes(loading: bias)
        var (a0, a1, a2, a3, a4, a5, a6, a7) = (b, b, b, b, b, b, b, b)
        var wr = w
        for k in 0..<tapCount {
            let x0 = taps[k] + offset, x1 = x0 + cin, x2 = x1 + cin, x3 = x2 + cin
            let x4 = x3 + cin, x5 = x4 + cin, x6 = x5 + cin, x7 = x6 + cin
            for c in 0..<cin {
                let wv = Lanes(loading: wr)
                wr += ldw
                a0 = a0.addingProduct(Lanes(repeating: x0[c]), wv)
                a1 = a1.addingProduct(Lanes(repeating: x1[c]), wv)
                a2 = a2.addingProduct(Lanes(repeating: x2[c]), wv)
                a3 = a3.addingProduct(Lanes(repeating: x3[c]), wv)
                a4 = a4.addingProduct(Lanes(repeating: x4[c]), wv)
                a5 = a5.addingProduct(Lanes(repeating: x5[c]), wv)
                a6 = a6.addingProduct(Lanes(repeating: x6[c]), wv)
                a7 = a7.addingProduct(Lanes(repeating: x7[c]), wv)
            }
        }
        store(a0, out, columns); store(a1, out + ldo, columns)
        store(a2, out + 2 * ldo, columns); store(a3, out + 3 * ldo, columns)
        store(a4, out + 4 * ldo, columns); store(a5, out + 5 * ldo, columns)
        store(a6, out + 6 * ldo, columns); store(a7, out + 7 * ldo, columns)
    }

    /// 4 consecutive pixels × 16 output channels; addressing as `tile8x8`.
    static func tile4x16(_ taps: UnsafePointer<UnsafePointer<Float>>, _ tapCount: Int, _ offset: Int, _ cin: Int,
                         _ w: UnsafePointer<Float>, _ ldw: Int, _ bias: UnsafePointer<Float>,
                         _ out: UnsafeMutablePointer<Float>, _ ldo: Int, _ columns: Int) {
        let b0 = Lanes(loading: bias), b1 = Lanes(loading: bias + 8)
        var (a0, a1, a2, a3, a4, a5, a6, a7) = (b0, b1, b0, b1, b0, b1, b0, b1)
        var wr = w
        for k in 0..<tapCount {
            let x0 = taps[k] + offset, x1 = x0 + cin, x2 = x1 + cin, x3 = x2 + cin
            for c in 0..<cin {
                let w0 = Lanes(loading: wr), w1 = Lanes(loading: wr + 8)
                wr += ldw
                var v = Lanes(repeating: x0[c])
                a0 = a0.addingProduct(v, w0); a1 = a1.addingProduct(v, w1)
                v = Lanes(repeating: x1[c])
                a2 = a2.addingProduct(v, w0); a3 = a3.addingProduct(v, w1)
                v = Lanes(repeating: x2[c])
                a4 = a4.addingProduct(v, w0); a5 = a5.addingProduct(v, w1)
                v = Lanes(repeating: x3[c])
                a6 = a6.addingProduct(v, w0); a7 = a7.addingProduct(v, w1)
            }
        }
        store(a0, out, columns); store(a1, out + 8, columns - 8)
        store(a2, out + ldo, columns); store(a3, out + ldo + 8, columns - 8)
        store(a4, out + 2 * ldo, columns); store(a5, out + 2 * ldo + 8, columns - 8)
        store(a6, out + 3 * ldo, columns); store(a7, out + 3 * ldo + 8, columns - 8)
    }
}
