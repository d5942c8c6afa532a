/// The NaN and infinite elements of Float32 data: the one finiteness check, run where values
/// enter (weights and latents read from a file) or arise (the sampler's latents after each step,
/// each batch of decoded frames). A NaN that gets past it turns into an all-black video.
public struct NonFiniteValues: Sendable, Equatable, CustomStringConvertible {
    public var nanCount: Int
    public var infiniteCount: Int
    /// Row-major index of the first non-finite element.
    public var firstIndex: Int

    public init(nanCount: Int, infiniteCount: Int, firstIndex: Int) {
        self.nanCount = nanCount
        self.infiniteCount = infiniteCount
        self.firstIndex = firstIndex
    }

    /// `3 NaN and 1 infinite value(s), the first at element 17`, to follow "holds".
    public var description: String {
        var parts: [String] = []
        if nanCount > 0 { parts.append("\(nanCount) NaN") }
        if infiniteCount > 0 { parts.append("\(infiniteCount) infinite") }
        let total = nanCount + infiniteCount
        return parts.joined(separator: " and ") + (total == 1 ? " value" : " values")
            + ", the first at element \(firstIndex)"
    }

    /// The non-finite elements of `values`, or nil when every one is finite.
    ///
    /// One pass over the bits, 16 lanes at a time (a float is NaN or infinite exactly when its
    /// exponent bits are all ones); only data that holds one is counted element by element.
    public static func find(in values: UnsafeBufferPointer<Float>) -> NonFiniteValues? {
        guard let base = values.baseAddress else { return nil }
        return find(UnsafeRawPointer(base), count: values.count, exponent: UInt32(0x7f80_0000), mantissa: 0x7f_ffff)
    }

    /// The non-finite elements of `count` 16-bit values of `format` at `bits` (any alignment):
    /// the same pass on weights kept in their stored precision (`WeightMatrix`).
    public static func find(_ format: WeightMatrix.Precision, _ bits: UnsafeRawPointer, count: Int) -> NonFiniteValues? {
        switch format {
        case .float32: find(bits, count: count, exponent: UInt32(0x7f80_0000), mantissa: 0x7f_ffff)
        case .float16: find(bits, count: count, exponent: UInt16(0x7c00), mantissa: 0x3ff)
        case .bfloat16: find(bits, count: count, exponent: UInt16(0x7f80), mantissa: 0x7f)
        }
    }

    /// NaN: exponent bits all ones and a mantissa; infinity: all ones and none.
    private static func find<Bits: FixedWidthInteger & SIMDScalar>(_ raw: UnsafeRawPointer, count n: Int,
                                                                   exponent: Bits, mantissa: Bits) -> NonFiniteValues? {
        let stride = MemoryLayout<Bits>.size
        let mask = SIMD16<Bits>(repeating: exponent)
        var i = 0
        while i + 16 <= n {
            let bits = raw.loadUnaligned(fromByteOffset: stride * i, as: SIMD16<Bits>.self)
            if any(bits & mask .== mask) { break }
            i += 16
        }
        var found: NonFiniteValues?
        while i < n {
            let x = raw.loadUnaligned(fromByteOffset: stride * i, as: Bits.self)
            if x & exponent == exponent {
                if found == nil { found = NonFiniteValues(nanCount: 0, infiniteCount: 0, firstIndex: i) }
                if x & mantissa != 0 { found!.nanCount += 1 } else { found!.infiniteCount += 1 }
            }
            i += 1
        }
        return found
    }
}

extension Tensor {
    /// The tensor's NaN and infinite elements, or nil when all are finite (one vectorised pass).
    public var nonFiniteValues: NonFiniteValues? {
        data.withUnsafeBufferPointer { NonFiniteValues.find(in: $0) }
    }
}
