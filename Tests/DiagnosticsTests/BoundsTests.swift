import Diagnostics
import Testing

/// `IntegerBound` and `RealBound`: what they allow, and that every value a message suggests is
/// one the bound allows.
@Suite struct BoundsTests {
    static let frames = IntegerBound(1...1033, stride: 4, reason: "the VAE compresses time by 4")
    static let side = IntegerBound(16...4096, stride: 16)
    static let steps = IntegerBound(1...1000)
    static let shift = RealBound<Double>(0...100, includesLower: false, fallback: 1)
    static let cfg = RealBound<Float>(0...100, fallback: 6)

    func suggestions<V>(_ bound: IntegerBound<V>, _ text: String) -> [String] {
        do throws(BoundViolation) {
            _ = try bound.parse(text)
            return []
        } catch {
            return error.suggestions
        }
    }

    // MARK: Integers

    @Test func gridAndSummary() {
        #expect(Self.frames.summary == "4k+1 between 1 and 1033")
        #expect(Self.side.summary == "a multiple of 16 between 16 and 4096")
        #expect(Self.steps.summary == "an integer between 1 and 1000")
        #expect(IntegerBound(1...1034, stride: 4).largest == 1033)
        #expect(Self.frames.contains(129) && !Self.frames.contains(130) && !Self.frames.contains(1037))
    }

    /// Issue #16: "use 99997 or 100001" for frames, whose largest allowed value is 1033; "use
    /// 100000 or 100016" for a 100000-pixel side. The nearest allowed values are inside.
    @Test func suggestionsStayInsideTheBound() {
        #expect(Self.frames.nearest(99999) == [1033])
        #expect(Self.frames.nearest(1034) == [1033])
        #expect(Self.frames.nearest(130) == [129, 133])
        #expect(Self.frames.nearest(-5) == [1])
        #expect(Self.side.nearest(100000) == [4096])
        #expect(Self.side.nearest(100) == [96, 112])
        #expect(Self.side.nearest(8) == [16])
        for bound in [Self.frames, Self.side, Self.steps, IntegerBound(0...51)] {
            for v in [Int.min, -100_000, -1, 0, 1, 2, 15, 17, 130, 1032, 1034, 4095, 4097, 100_000, Int.max] {
                let near = bound.nearest(v)
                #expect(!near.isEmpty && near.allSatisfy(bound.contains), "\(bound.range) \(v): \(near)")
                #expect(bound.violation(v)?.suggestions.compactMap { Int($0) }.allSatisfy(bound.contains) ?? bound.contains(v))
            }
        }
    }

    /// Negative numbers, integers too large for the type, fractions and words all get the
    /// bound in the message; numbers get the nearest allowed value.
    @Test func parsingReportsEveryKindOfBadText() throws {
        #expect(try Self.steps.parse(" 12 ") == 12)
        #expect(try Self.steps.parse("4.0") == 4)  // a whole number as JSON may write it
        #expect(suggestions(Self.steps, "-5") == ["1"])
        #expect(suggestions(Self.steps, "99999999999999999999") == ["1000"])
        #expect(suggestions(Self.steps, "-99999999999999999999") == ["1"])
        #expect(suggestions(Self.steps, "1e30") == ["1000"])
        #expect(suggestions(Self.steps, "2.5") == ["2", "3"])
        #expect(suggestions(Self.frames, "1.5") == ["1", "5"])
        #expect(suggestions(Self.steps, "ten") == [])
        #expect(suggestions(IntegerBound<UInt64>(0...UInt64.max), "-1") == ["0"])
        #expect(try IntegerBound<UInt64>(0...UInt64.max).parse("18446744073709551615") == UInt64.max)
        #expect(throws: BoundViolation(value: "'ten'", allowed: "an integer between 1 and 1000", suggestions: [])) {
            try Self.steps.parse("ten")
        }
    }

    @Test func messages() throws {
        let v = try #require(Self.frames.violation(99999))
        #expect(v.description == "must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); got 99999, use 1033")
        #expect(v.requirement == "must be 4k+1 between 1 and 1033 (the VAE compresses time by 4); use 1033")
        #expect(Self.frames.violation(130)?.description.hasSuffix("got 130, use 129 or 133") == true)
    }

    // MARK: Reals

    @Test func realBounds() throws {
        #expect(Self.shift.summary == "a number above 0 and at most 100")
        #expect(Self.cfg.summary == "a number between 0 and 100")
        #expect(Self.shift.violation(0)?.suggestions == ["1"])  // excluded end: the fallback
        #expect(Self.shift.violation(-3)?.suggestions == ["1"])
        #expect(Self.shift.violation(150)?.suggestions == ["100"])
        #expect(Self.cfg.violation(-1)?.suggestions == ["0"])
        #expect(Self.cfg.violation(.nan)?.suggestions == ["6"])
        #expect(Self.cfg.violation(4.5) == nil && Self.cfg.violation(0) == nil)
        #expect(try Self.cfg.parse("4.5") == 4.5)
        #expect(throws: BoundViolation.self) { try Self.cfg.parse("1e999") }
        #expect(throws: BoundViolation.self) { try Self.shift.parse("seven") }
    }
}
