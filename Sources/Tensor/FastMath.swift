/// Vectorised transcendental functions for the hot loops (softmax, SiLU).
///
/// `exp` follows the Cephes `expf` range reduction and polynomial (relative error about
/// 2 ulp over the float range); arguments below -87.3 (including -inf from masks) give 0.
public enum FastMath {
    public typealias Vector = SIMD8<Float>

    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        // Concrete SIMD operations only: generic conversions (Int32(Float), `rounded`) are not
        // specialised into vector code and were most of the attention time.
        // `addingProduct` is one fused multiply-add per lane (vfmadd with the Tensor target's
        // FMA flag, see Package.swift).
        var xc = x  // (`clamped` is generic and not specialised into vector code either)
        xc.replace(with: -87.3, where: x .< -87.3)
        xc.replace(with: 88.3, where: x .> 88.3)
        // n = round(x·log2 e) via the 1.5·2^23 trick; its integer sits in t's low mantissa bits.
        let t = Vector(repeating: 12_582_912).addingProduct(xc, Vector(repeating: 1.44269504088896341))
        let n = t - 12_582_912
        // ln 2 split in two parts so r = x - n·ln2 keeps full precision (Cephes C1, C2).
        var r = xc.addingProduct(n, Vector(repeating: -0.693359375))
        r = r.addingProduct(n, Vector(repeating: 2.12194440e-4))
        var y = Vector(repeating: 1.9875691500e-4)
        y = Vector(repeating: 1.3981999507e-3).addingProduct(y, r)
        y = Vector(repeating: 8.3334519073e-3).addingProduct(y, r)
        y = Vector(repeating: 4.1665795894e-2).addingProduct(y, r)
        y = Vector(repeating: 1.6666665459e-1).addingProduct(y, r)
        y = Vector(repeating: 5.0000001201e-1).addingProduct(y, r)
        y = (r + 1).addingProduct(y, r * r)
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: Vector.self)
        var result = y * scale
        result.replace(with: 0, where: x .< -87.3)
        return result
    }

    /// `out[i] = exp(x[i] - shift)` for `n` floats; returns the sum of the outputs.
    @inlinable
    public static func expShifted(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                  _ n: Int, shift: Float) -> Float {
        var i = 0
        var acc = Vector(repeating: 0)
        let s = Vector(repeating: shift)
        while i + 8 <= n {
            let v = exp(Vector(loading: x + i) - s)
            v.store(to: out + i)
            acc += v
            i += 8
        }
        var sum = acc.sum()
        if i < n {
            var tail = Vector(repeating: -.infinity)
            for j in 0..<(n - i) { tail[j] = x[i + j] - shift }
            let v = exp(tail)
            for j in 0..<(n - i) { out[i + j] = v[j]; sum += v[j] }
        }
        return sum
    }

    /// Largest of the first `n` floats (`-inf` when `n == 0`).
    ///
    /// Four accumulators hide the `vmaxps` latency. Kept out of line: inlined into the attention
    /// tile loop, LLVM split the compare-and-select into lane shuffles (5 % of a forward).
    @inline(never)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        @inline(__always) func load(_ j: Int) -> Vector { Vector(loading: x + j) }
        var a0 = Vector(repeating: -.infinity), a1 = a0, a2 = a0, a3 = a0
        var i = 0
        while i + 32 <= n {
            a0.replace(with: load(i), where: load(i) .> a0)
            a1.replace(with: load(i + 8), where: load(i + 8) .> a1)
            a2.replace(with: load(i + 16), where: load(i + 16) .> a2)
            a3.replace(with: load(i + 24), where: load(i + 24) .> a3)
            i += 32
        }
        a0.replace(with: a1, where: a1 .> a0)
        a2.replace(with: a3, where: a3 .> a2)
        a0.replace(with: a2, where: a2 .> a0)
        while i + 8 <= n {
            a0.replace(with: load(i), where: load(i) .> a0)
            i += 8
        }
        var m = a0.max()
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }
}

extension SIMD8 where Scalar == Float {
    /// The eight floats at `p` (any alignment): the one vector load of the Tensor kernels.
    @inlinable @inline(__always)
    public init(loading p: UnsafePointer<Float>) { self = UnsafeRawPointer(p).loadUnaligned(as: Self.self) }

    /// Writes the eight lanes to `p` (any alignment).
    @inlinable @inline(__always)
    public func store(to p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}
