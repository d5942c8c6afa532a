import Testing
@testable import Tensor

/// `NonFiniteValues.find`: the one finiteness check (weights, latents, decoded frames).
@Suite struct NonFiniteTests {
    /// Counted exactly wherever they sit: in the 16-wide vector part, its last lane, or the tail.
    @Test(arguments: [0, 15, 16, 31, 47, 49])
    func findsEveryPosition(position: Int) {
        var t = Tensor(shape: [50], repeating: 1)
        t.data[position] = .nan
        #expect(t.nonFiniteValues == NonFiniteValues(nanCount: 1, infiniteCount: 0, firstIndex: position))
    }

    @Test func countsNaNAndInfinitiesFromTheFirst() {
        var t = Tensor(shape: [100], repeating: -2)
        t.data[40] = .infinity
        t.data[41] = -.infinity
        t.data[70] = .nan
        t.data[99] = Float(bitPattern: 0x7FA0_0001)  // a signalling NaN
        let found = t.nonFiniteValues
        #expect(found == NonFiniteValues(nanCount: 2, infiniteCount: 2, firstIndex: 40))
        #expect(found?.description == "2 NaN and 2 infinite values, the first at element 40")
    }

    /// The extremes of the finite range, subnormals and signed zeros are finite.
    @Test func extremesAreFinite() {
        let values: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
                               -.leastNormalMagnitude, 0, -0, .leastNormalMagnitude / 3]
        #expect(Tensor(shape: [7], data: values).nonFiniteValues == nil)
        #expect(Tensor(shape: [0], data: []).nonFiniteValues == nil)
    }
}
