/// Conversions between 16-bit storage formats and Float32 (weights are computed in float32).
public enum HalfPrecision {
    /// IEEE 754 binary16 bits to Float32 (exact; subnormals, inf and NaN preserved).
    @inlinable
    public static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal half: value = mantissa · 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// Float32 to binary16 bits, rounding to nearest even (used by the safetensors writer).
    @inlinable
    public static func half(fromFloat value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xff)
        var mantissa = bits & 0x7f_ffff
        if exponent == 0xff { return sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0) }
        var e = exponent - 127 + 15
        if e >= 0x1f { return sign | 0x7c00 }
        if e <= 0 {
            if e < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - e)
            var half = mantissa >> shift
            let rest = mantissa & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && (half & 1) == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = mantissa >> 13
        let rest = mantissa & 0x1fff
        if rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1) {
            half += 1
            if half == 0x400 { half = 0; e += 1 }
            if e >= 0x1f { return sign | 0x7c00 }
        }
        return sign | UInt16(e) << 10 | UInt16(half)
    }

    /// bfloat16 bits (the upper half of a float32) to Float32.
    @inlinable
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float32 to bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN; used by the
    /// safetensors writer and seeded 16-bit weights).
    @inlinable
    public static func bfloat16(fromFloat value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7fff + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    /// Widens `count` 16-bit values of `format` at `source` (any alignment; little-endian, as
    /// safetensors stores them and x86-64 and arm64 load them) to
    /// Float32, exactly as `float(fromHalf:)` / `float(fromBFloat16:)` do, 16 at a time (F16C's
    /// `vcvtph2ps` for float16, a shift for bfloat16). Not inlinable: it must be compiled with
    /// this module's F16C flag, which other modules do not have.
    public static func widen(_ format: WeightMatrix.Precision, _ source: UnsafeRawPointer, count: Int,
                             into destination: UnsafeMutablePointer<Float>) {
        let out = UnsafeMutableRawPointer(destination)
        var i = 0
        switch format {
        case .float16:
            while i + 16 <= count {
                let h = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<Float16>.self)
                out.storeBytes(of: SIMD16<Float>(h), toByteOffset: 4 * i, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count {
                destination[i] = float(fromHalf: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                i += 1
            }
        case .bfloat16:
            while i + 16 <= count {
                let h = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
                out.storeBytes(of: SIMD16<UInt32>(truncatingIfNeeded: h) &<< 16, toByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                i += 16
            }
            while i < count {
                destination[i] = float(fromBFloat16: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                i += 1
            }
        case .float32:
            out.copyMemory(from: source, byteCount: 4 * count)
        }
    }
}
