import Testing
@testable import Tensor

/// Reference: torch `F.pad(x, (kw//2, kw//2, kh//2, kh//2, kt−1, 0), "replicate")` + `conv3d`,
/// written naively over `[T, H, W, C]` with PyTorch weights `[out, in, kt, kh, kw]`.
func naiveCausalConv(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
    let (t, h, wd, ci) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (co, kt, kh, kw) = (w.shape[0], w.shape[2], w.shape[3], w.shape[4])
    var out = Tensor(shape: [t, h, wd, co])
    for f in 0..<t { for y in 0..<h { for xq in 0..<wd { for o in 0..<co {
        var s = b.data[o]
        for dt in 0..<kt { for dy in 0..<kh { for dx in 0..<kw { for i in 0..<ci {
            let sf = max(f + dt - (kt - 1), 0)
            let sy = min(max(y + dy - kh / 2, 0), h - 1), sx = min(max(xq + dx - kw / 2, 0), wd - 1)
            s += x.data[((sf * h + sy) * wd + sx) * ci + i]
                * w.data[(((o * ci + i) * kt + dt) * kh + dy) * kw + dx]
        } } } }
        out.data[((f * h + y) * wd + xq) * co + o] = s
    } } } }
    return out
}

/// Reference: torch `nn.Conv2d(k, padding=k // 2)` (zeros outside the image), written naively
/// over each image of `[B, H, W, C]` with PyTorch weights `[out, in, kh, kw]`.
func naiveConv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
    let (n, h, wd, ci) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (co, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    var out = Tensor(shape: [n, h, wd, co])
    for f in 0..<n { for y in 0..<h { for xq in 0..<wd { for o in 0..<co {
        var s = b.data[o]
        for dy in 0..<kh { for dx in 0..<kw { for i in 0..<ci {
            let sy = y + dy - kh / 2, sx = xq + dx - kw / 2
            guard sy >= 0, sy < h, sx >= 0, sx < wd else { continue }
            s += x.data[((f * h + sy) * wd + sx) * ci + i] * w.data[((o * ci + i) * kh + dy) * kw + dx]
        } } }
        out.data[((f * h + y) * wd + xq) * co + o] = s
    } } } }
    return out
}

@Suite struct ConvolutionTests {
    /// The 2-D conv of diffusers' image VAE pads with zeros (the causal conv replicates edges):
    /// 1×1 and 3×3 kernels, a batch of 2 images that must not read each other's rows, rows
    /// wider than a tile with a partial last tile, and 16- and 8-column output blocks.
    @Test(arguments: [[2, 4, 13, 5, 24, 3], [3, 3, 9, 3, 19, 3], [2, 5, 6, 4, 8, 1], [1, 1, 1, 2, 3, 3]])
    func conv2dMatchesNaiveZeroPaddedConv(shape: [Int]) {
        let (n, h, w, cin, cout, k) = (shape[0], shape[1], shape[2], shape[3], shape[4], shape[5])
        let x = Tensor(shape: [n, h, w, cin], data: testValues(n * h * w * cin, seed: 31))
        let wt = Tensor(shape: [cout, cin, k, k], data: testValues(cout * cin * k * k, seed: 32))
        let b = Tensor(shape: [cout], data: testValues(cout, seed: 33))
        let y = x.conv2d(Conv3dKernel(weight: wt.reshaped([cout, cin, 1, k, k]), bias: b))
        #expect(y.maxAbsDifference(naiveConv2d(x, wt, b)) < 1e-5)
    }

    @Test(arguments: [1, 3])
    func causalConvMatchesNaiveReplicatePaddedConv(kernel: Int) {
        let x = Tensor(shape: [4, 3, 5, 6], data: testValues(360, seed: 7))
        let w = Tensor(shape: [5, 6, kernel, kernel, kernel], data: testValues(30 * kernel * kernel * kernel, seed: 8))
        let b = Tensor(shape: [5], data: testValues(5, seed: 9))
        let y = x.causalConv3d(Conv3dKernel(weight: w, bias: b))
        #expect(y.maxAbsDifference(naiveCausalConv(x, w, b)) < 1e-5)
    }

    /// Rows wider than a register tile (whole tiles, a partial last tile, both edge pixels) and
    /// output channels in 16- and 8-column blocks, the last one partly used.
    @Test(arguments: [[3, 4, 13, 5, 24], [2, 3, 9, 3, 19], [2, 2, 17, 8, 8]])
    func causalConvTilesMatchNaiveConv(shape: [Int]) {
        let (t, h, w, cin, cout) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let x = Tensor(shape: [t, h, w, cin], data: testValues(t * h * w * cin, seed: 21))
        let wt = Tensor(shape: [cout, cin, 3, 3, 3], data: testValues(cout * cin * 27, seed: 22))
        let b = Tensor(shape: [cout], data: testValues(cout, seed: 23))
        let y = x.causalConv3d(Conv3dKernel(weight: wt, bias: b))
        #expect(y.maxAbsDifference(naiveCausalConv(x, wt, b)) < 1e-5)
    }

    /// Chunked convolution with the carried `k − 1` frame cache equals the whole-tensor conv.
    @Test func chunkedConvWithHistoryEqualsWholeConv() {
        let x = Tensor(shape: [7, 4, 3, 2], data: testValues(168, seed: 3))
        let k = Conv3dKernel(weight: Tensor(shape: [3, 2, 3, 3, 3], data: testValues(162, seed: 4)), bias: nil)
        let whole = x.causalConv3d(k)
        var past: Tensor? = nil
        var parts: [Tensor] = []
        for range in [0..<1, 1..<4, 4..<7] {
            let chunk = x.slice(rows: range)
            parts.append(chunk.causalConv3d(k, past: past))
            past = chunk.causalHistory(past: past, count: 2)
        }
        #expect(Tensor.concatenate(rows: parts).maxAbsDifference(whole) < 1e-5)
    }

    // MARK: 16-bit kernels

    /// A 16-bit kernel stays 16-bit (`packed` at 2 bytes a weight) and convolves bit for bit as
    /// the Float32 kernel of its widened values (issue #18), in 2-D (zero padding) and 3-D
    /// (causal): the weight in two blocks of rows (`WeightMatrix(stacking:)`), the reference
    /// values widened one at a time rather than by `HalfPrecision.widen`, and the result checked
    /// against the naive convolution too, so a wrong widening or a wrong layout fails.
    @Test(arguments: [(WeightMatrix.Precision.float16, 1), (.bfloat16, 1), (.float16, 3), (.bfloat16, 3)])
    func sixteenBitKernelConvolvesAsItsWidenedValues(precision: WeightMatrix.Precision, kernelFrames kt: Int) {
        let (cin, cout, k, firstRows) = (5, 19, 3, 7)
        let columns = cin * kt * k * k
        let bits = testValues(cout * columns, seed: 41).map {
            precision == .float16 ? HalfPrecision.half(fromFloat: $0) : HalfPrecision.bfloat16(fromFloat: $0)
        }
        let weight = WeightMatrix(stacking: [
            WeightMatrix(rows: firstRows, columns: columns, precision: precision, bits: Array(bits[..<(firstRows * columns)])),
            WeightMatrix(rows: cout - firstRows, columns: columns, precision: precision,
                         bits: Array(bits[(firstRows * columns)...])),
        ])
        let b = Tensor(shape: [cout], data: testValues(cout, seed: 42))
        let kernel = Conv3dKernel(weight: weight, kernelFrames: kt, kernelHeight: k, kernelWidth: k, bias: b)
        #expect(kernel.packed.precision == precision)
        #expect(kernel.packed.storedBytes == 2 * columns * 24)  // 19 outputs padded to 24

        let wt = Tensor(shape: [cout, cin, kt, k, k], data: bits.map {
            precision == .float16 ? HalfPrecision.float(fromHalf: $0) : HalfPrecision.float(fromBFloat16: $0)
        })
        let widened = Conv3dKernel(weight: wt, bias: b)
        let x = Tensor(shape: [3, 4, 9, cin], data: testValues(3 * 4 * 9 * cin, seed: 43))
        let (y, expected, naive) = kt == 1
            ? (x.conv2d(kernel), x.conv2d(widened), naiveConv2d(x, wt.reshaped([cout, cin, k, k]), b))
            : (x.causalConv3d(kernel), x.causalConv3d(widened), naiveCausalConv(x, wt, b))
        #expect(y.data.map(\.bitPattern) == expected.data.map(\.bitPattern))
        #expect(y.maxAbsDifference(naive) < 1e-5)
    }

    @Test func groupNormMatchesDefinitionAndMergesChunks() {
        let x = Tensor(shape: [3, 2, 2, 8], data: testValues(96, seed: 11).map { $0 * 3 + 1 })
        let w = testValues(8, seed: 12), b = testValues(8, seed: 13)
        let y = x.groupNorm(groups: 2, eps: 1e-6, weight: w, bias: b)
        for g in 0..<2 {
            var values: [Double] = []
            for r in 0..<12 { for c in (g * 4)..<(g * 4 + 4) { values.append(Double(x.data[r * 8 + c])) } }
            let mean = values.reduce(0, +) / 48
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 48
            for r in 0..<12 { for c in (g * 4)..<(g * 4 + 4) {
                let e = (Double(x.data[r * 8 + c]) - mean) / (variance + 1e-6).squareRoot() * Double(w[c]) + Double(b[c])
                #expect(abs(Double(y.data[r * 8 + c]) - e) < 1e-5)
            } }
        }
        var merged = x.slice(rows: 0..<1).groupNormStatistics(groups: 2)
        merged.merge(x.slice(rows: 1..<3).groupNormStatistics(groups: 2))
        let z = x.groupNorm(groups: 2, eps: 1e-6, weight: w, bias: b, statistics: merged, silu: true)
        #expect(z.maxAbsDifference(y.silu()) < 1e-5)
    }

    @Test func nearestUpsampleRepeatsPixels() {
        let x = Tensor(shape: [2, 1, 2, 1], data: [1, 2, 3, 4])
        let y = x.upsampledNearest(frames: 2, height: 2, width: 2)
        #expect(y.shape == [4, 2, 4, 1])
        #expect(Array(y.data[0..<8]) == [1, 1, 2, 2, 1, 1, 2, 2])
        #expect(Array(y.data[16..<24]) == [3, 3, 4, 4, 3, 3, 4, 4])
    }
}
