import Foundation

/// Running sums of a GroupNorm layer's input, per group, in Float64.
///
/// Statistics of disjoint parts of a tensor (e.g. chunks of frames) merge exactly, so a
/// streaming decoder can gather the statistics of a whole video chunk by chunk.
public struct GroupNormStatistics: Sendable, Equatable {
    public let groups: Int
    /// Σx per group.
    public var sum: [Double]
    /// Σx² per group.
    public var sumOfSquares: [Double]
    /// Elements accumulated per group.
    public var count: Int

    public init(groups: Int) {
        self.groups = groups
        sum = [Double](repeating: 0, count: groups)
        sumOfSquares = [Double](repeating: 0, count: groups)
        count = 0
    }

    /// Adds the sums of another, disjoint part of the same tensor.
    public mutating func merge(_ other: GroupNormStatistics) {
        precondition(other.groups == groups, "merging statistics of \(other.groups) and \(groups) groups")
        for g in 0..<groups {
            sum[g] += other.sum[g]
            sumOfSquares[g] += other.sumOfSquares[g]
        }
        count += other.count
    }

    /// Mean of group `g`.
    public func mean(_ g: Int) -> Double { sum[g] / Double(max(count, 1)) }
    /// Biased variance of group `g` (as torch `GroupNorm`).
    public func variance(_ g: Int) -> Double {
        let m = mean(g)
        return max(0, sumOfSquares[g] / Double(max(count, 1)) - m * m)
    }
}

extension Tensor {
    /// Per-group sums of `self`, layout `[..., C]` (channels last; channel `c` is in group
    /// `c / (C / groups)`, as torch `GroupNorm`). Statistics run over every position.
    public func groupNormStatistics(groups: Int) -> GroupNormStatistics {
        let channels = shape.last ?? 0
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(channels) channels, \(groups) groups")
        let rows = channels == 0 ? 0 : count / channels
        let perGroup = channels / groups
        let parts = max(1, min(Threads.count, rows))
        var result = GroupNormStatistics(groups: groups)
        result.count = rows * perGroup
        // Per-channel sums, vectorised across the channels of a row (a group has only 2–8
        // channels in the VAE, too few for per-group loops); Float partial sums of at most
        // `blockRows` rows go into Float64, and channels fold into groups at the end.
        let blockRows = 16
        var partials = [Double](repeating: 0, count: parts * channels * 2)
        data.withUnsafeBufferPointer { x in
            partials.withUnsafeMutableBufferPointer { pb in
                let px = UncheckedPointer(UnsafeMutablePointer(mutating: x.baseAddress))
                let pp = UncheckedPointer(pb.baseAddress)
                let chunk = (rows + parts - 1) / parts
                Threads.parallelFor(parts, costPerItem: max(1, rows * channels / parts)) { range in
                    let sum = UnsafeMutablePointer<Float>.allocate(capacity: 2 * channels)
                    defer { sum.deallocate() }
                    let squares = sum + channels
                    for part in range {
                        let acc = pp.value! + part * channels * 2
                        var lo = part * chunk
                        let end = min(rows, lo + chunk)
                        while lo < end {
                            let hi = min(end, lo + blockRows)
                            sum.update(repeating: 0, count: 2 * channels)
                            for r in lo..<hi {
                                let row = px.value! + r * channels
                                var c = 0
                                while c + 8 <= channels {
                                    let v = SIMD8<Float>(loading: row + c)
                                    let s = SIMD8<Float>(loading: sum + c)
                                    let q = SIMD8<Float>(loading: squares + c)
                                    (s + v).store(to: sum + c)
                                    q.addingProduct(v, v).store(to: squares + c)
                                    c += 8
                                }
                                while c < channels { sum[c] += row[c]; squares[c] += row[c] * row[c]; c += 1 }
                            }
                            for c in 0..<channels {
                                acc[c] += Double(sum[c])
                                acc[channels + c] += Double(squares[c])
                            }
                            lo = hi
                        }
                    }
                }
            }
        }
        for part in 0..<parts {
            for c in 0..<channels {
                result.sum[c / perGroup] += partials[part * channels * 2 + c]
                result.sumOfSquares[c / perGroup] += partials[part * channels * 2 + channels + c]
            }
        }
        return result
    }

    /// GroupNorm with affine parameters, as torch `nn.GroupNorm(groups, C, eps)`, optionally
    /// followed by SiLU (fused; every decoder GroupNorm but the attention's is followed by one).
    ///
    /// - Parameters:
    ///   - statistics: the sums to normalise with; nil computes them from `self`. A streaming
    ///     decoder passes the statistics of the whole video here.
    ///   - weight, bias: `[C]`.
    /// - Returns: same layout as `self`, `[..., C]` (channels last).
    public func groupNorm(groups: Int, eps: Float, weight: [Float], bias: [Float],
                          statistics: GroupNormStatistics? = nil, silu: Bool = false) -> Tensor {
        var out = self
        out.formGroupNorm(groups: groups, eps: eps, weight: weight, bias: bias, statistics: statistics, silu: silu)
        return out
    }

    /// `groupNorm` in place: no second tensor when `self` is uniquely referenced (a decoder
    /// normalising a conv's output it no longer needs).
    public mutating func formGroupNorm(groups: Int, eps: Float, weight: [Float], bias: [Float],
                                       statistics: GroupNormStatistics? = nil, silu: Bool = false) {
        let channels = shape.last ?? 0
        precondition(weight.count == channels && bias.count == channels,
                     "GroupNorm: weight \(weight.count), bias \(bias.count) for \(channels) channels")
        let stats = statistics ?? groupNormStatistics(groups: groups)
        precondition(stats.groups == groups, "GroupNorm: statistics of \(stats.groups) groups, expected \(groups)")
        let perGroup = channels / groups
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let g = c / perGroup
            let inv = 1 / (stats.variance(g) + Double(eps)).squareRoot()
            scale[c] = Float(inv * Double(weight[c]))
            shift[c] = Float(Double(bias[c]) - stats.mean(g) * inv * Double(weight[c]))
        }
        let rows = channels == 0 ? 0 : count / channels
        scale.withUnsafeBufferPointer { scb in
            shift.withUnsafeBufferPointer { shb in
                data.withUnsafeMutableBufferPointer { buf in
                    let p = UncheckedPointer(buf.baseAddress)
                    let sc = UncheckedPointer(UnsafeMutablePointer(mutating: scb.baseAddress))
                    let sh = UncheckedPointer(UnsafeMutablePointer(mutating: shb.baseAddress))
                    Threads.parallelFor(rows, costPerItem: channels * 4) { range in
                        for r in range {
                            let row = p.value! + r * channels
                            var c = 0
                            while c + 8 <= channels {
                                let v = SIMD8<Float>(loading: row + c)
                                let a = SIMD8<Float>(loading: sc.value! + c)
                                let b = SIMD8<Float>(loading: sh.value! + c)
                                let y = b.addingProduct(v, a)
                                (silu ? RowKernels.silu(y) : y).store(to: row + c)
                                c += 8
                            }
                            while c < channels {
                                let y = row[c] * sc.value![c] + sh.value![c]
                                row[c] = silu ? y / (1 + Foundation.exp(-y)) : y
                                c += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// Nearest-neighbour upsampling of a channels-last video `[T, H, W, C]` by integer factors,
    /// as torch `F.interpolate(mode="nearest", scale_factor=(frames, height, width))`.
    /// - Returns: `[T·frames, H·height, W·width, C]`.
    public func upsampledNearest(frames ft: Int, height fh: Int, width fw: Int) -> Tensor {
        precondition(rank == 4, "upsample expects [T, H, W, C], got \(shape)")
        let (t, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let (ot, oh, ow) = (t * ft, h * fh, w * fw)
        return data.withUnsafeBufferPointer { src in
            let ps = UncheckedPointer(UnsafeMutablePointer(mutating: src.baseAddress))
            return Tensor(shape: [ot, oh, ow, c]) { dst in
                let pd = UncheckedPointer(dst.baseAddress)
                Threads.parallelFor(ot * oh, costPerItem: ow * c) { range in
                    for row in range {
                        let (f, y) = (row / oh, row % oh)
                        let srcRow = ps.value! + ((f / ft) * h + y / fh) * w * c
                        let dstRow = pd.value! + row * ow * c
                        for x in 0..<ow { (dstRow + x * c).update(from: srcRow + (x / fw) * c, count: c) }
                    }
                }
            }
        }
    }
}
