import Foundation
import TestSupport
import Testing
@testable import Tensor

@Suite struct ResampleTests {
    /// All filters, up and down and mixed, against the numpy reference (itself checked against
    /// Pillow's float resize to 3.6e-7).
    @Test func matchesReference() throws {
        let fixture = try Fixture.json("resample.json")
        let input = Tensor(shape: Fixture.ints(fixture["input_shape"]), data: Fixture.floats(fixture["input"]))
        var worst: Float = 0
        for case let c as [String: Any] in fixture["cases"] as! [Any] {
            let filter = ResampleFilter(rawValue: c["filter"] as! String)!
            let out = input.resampledVideo(to: Fixture.ints(c["size"]), filter: filter)
            worst = max(worst, maxAbsError(out.data, Fixture.floats(c["output"])).error)
        }
        #expect(worst < 1e-5)
    }

    /// `.area` with antialiasing is exact 2×2 averaging for a factor-2 downsample.
    @Test func areaIsAveraging() {
        let x = Tensor(shape: [1, 1, 4, 4, 1], data: (0..<16).map(Float.init))
        let y = x.resampledVideo(to: [1, 2, 2], filter: .area)
        #expect(y.data == [2.5, 4.5, 10.5, 12.5])
    }

    @Test(arguments: ResampleFilter.allCases)
    func constantsStayConstantAndIdentityIsExact(filter: ResampleFilter) {
        let c = Tensor(shape: [1, 3, 6, 10, 2], repeating: 0.75)
        for size in [[3, 12, 20], [3, 3, 5], [2, 8, 7]] {
            let y = c.resampledVideo(to: size, filter: filter)
            #expect(y.shape == [1] + size + [2])
            #expect(y.data.allSatisfy { abs($0 - 0.75) < 1e-6 })
        }
        let x = Tensor(shape: [1, 2, 3, 4, 2], data: (0..<48).map { Float($0).squareRoot() })
        #expect(x.resampledVideo(to: [2, 3, 4], filter: filter) == x)
    }

    /// Upsampling by 2 then area-downsampling by 2 returns a smooth signal up to interpolation error.
    @Test func lanczosRoundTripOfSmoothSignal() {
        let n = 16
        let x = Tensor(shape: [1, 1, n, n, 1], data: (0..<(n * n)).map { i in
            Float(sin(Double(i / n) * 0.3) * cos(Double(i % n) * 0.25))
        })
        let up = x.resampledVideo(to: [1, 2 * n, 2 * n], filter: .lanczos3)
        let back = up.resampledVideo(to: [1, n, n], filter: .area)
        var interior: Float = 0
        for i in 3..<(n - 3) { for j in 3..<(n - 3) { interior = max(interior, abs(back.data[i * n + j] - x.data[i * n + j])) } }
        #expect(interior < 0.02)
    }
}
