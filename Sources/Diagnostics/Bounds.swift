/// The accepted values of numeric inputs (flags, keys of plan and batch files). Each bound is
/// written once, as a constant next to the field it limits, and the check, the error message
/// and the help text all read it, so a message never suggests a value the check refuses.

/// A value outside a bound: what was given, what is allowed, and the allowed values nearest to it.
public struct BoundViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// The value as given (`-5`, `99999999999999999999`, `'ten'`).
    public var value: String
    /// What is allowed, e.g. `4k+1 between 1 and 1033 (the VAE compresses time by 4)`.
    public var allowed: String
    /// The allowed values nearest the given one: one or two, always inside the bound.
    public var suggestions: [String]

    public init(value: String, allowed: String, suggestions: [String]) {
        self.value = value
        self.allowed = allowed
        self.suggestions = suggestions
    }

    /// `must be …; got …, use …`, to follow the input's name.
    public var description: String {
        "must be \(allowed); got \(value)" + (suggestions.isEmpty ? "" : ", use " + alternatives)
    }

    /// `must be …; use …`, for callers that already quote the value (ArgumentParser writes
    /// "The value '-5' is invalid for '--steps <n>': " before it).
    public var requirement: String {
        "must be \(allowed)" + (suggestions.isEmpty ? "" : "; use " + alternatives)
    }

    private var alternatives: String { suggestions.joined(separator: " or ") }
}

/// What `IntegerBound` and `RealBound` have in common, for code that checks either.
public protocol NumericBound: Sendable {
    associatedtype Value
    /// The violation `value` makes, or nil when it is allowed.
    func violation(_ value: Value) -> BoundViolation?
    /// Reads `text`, or throws the violation it makes.
    func parse(_ text: String) throws(BoundViolation) -> Value
}

/// Whole numbers in a closed range, optionally on a grid: `lower + k·stride` (frames are
/// `4k + 1` from 1, pixel sides multiples of 16 from 16).
public struct IntegerBound<Value: FixedWidthInteger & Sendable>: NumericBound, Equatable {
    public var range: ClosedRange<Value>
    /// Distance between allowed values (1: every integer in `range`).
    public var stride: Value
    /// Why the range or grid, shown in messages (not in help), e.g. "the VAE compresses time by 4".
    public var reason: String?

    public init(_ range: ClosedRange<Value>, stride: Value = 1, reason: String? = nil) {
        precondition(stride > 0, "a bound's stride is positive")
        self.range = range
        self.stride = stride
        self.reason = reason
    }

    /// The largest allowed value (the upper end, rounded down onto the grid).
    public var largest: Value { range.lowerBound + (range.upperBound - range.lowerBound) / stride * stride }

    public func contains(_ value: Value) -> Bool {
        range.contains(value) && (value - range.lowerBound) % stride == 0
    }

    /// `4k+1 between 1 and 1033`, `a multiple of 16 between 16 and 4096`,
    /// `an integer between 1 and 1000`: for help texts.
    public var summary: String {
        let span = "between \(range.lowerBound) and \(largest)"
        if stride == 1 { return "an integer \(span)" }
        let offset = range.lowerBound % stride
        return offset == 0 ? "a multiple of \(stride) \(span)" : "\(stride)k+\(offset) \(span)"
    }

    /// `summary` with the reason, for messages.
    public var allowed: String { summary + (reason.map { " (\($0))" } ?? "") }

    /// The allowed values nearest `value`: itself when allowed, else the neighbours on the grid
    /// inside the range (one at either end).
    public func nearest(_ value: Value) -> [Value] {
        if value <= range.lowerBound { return [range.lowerBound] }
        if value >= largest { return [largest] }
        let below = range.lowerBound + (value - range.lowerBound) / stride * stride
        return below == value ? [value] : [below, below + stride]
    }

    /// The violation `value` makes, or nil when it is allowed.
    public func violation(_ value: Value) -> BoundViolation? {
        contains(value) ? nil : violation(given: "\(value)", suggesting: nearest(value))
    }

    /// Reads `text`: an integer (optional sign, surrounding spaces ignored), or a decimal that
    /// is a whole number (`4.0`, `1e3`, as JSON may write one).
    /// - Throws: `BoundViolation` for an integer outside the bound (also one too large for
    ///   `Value`), a fraction, or text that is not a number; the suggestions are the allowed
    ///   values nearest a number, none for other text.
    public func parse(_ text: String) throws(BoundViolation) -> Value {
        let t = text.trimmingSpaces
        if let v = Value(t) {
            if let violation = violation(v) { throw violation }
            return v
        }
        let digits = t.first == "-" || t.first == "+" ? t.dropFirst() : Substring(t)
        if !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) {  // an integer beyond Value's range
            throw violation(given: t, suggesting: [t.first == "-" ? range.lowerBound : largest])
        }
        guard let d = Double(t), d.isFinite else { throw violation(given: "'\(text)'", suggesting: []) }
        if let v = Value(exactly: d) {  // a whole number written as a decimal (`4.0`, `1e3`)
            if let violation = violation(v) { throw violation }
            return v
        }
        if d <= Double(range.lowerBound) { throw violation(given: t, suggesting: [range.lowerBound]) }
        if d >= Double(largest) { throw violation(given: t, suggesting: [largest]) }
        // A fraction inside the range: the allowed values either side of it.
        let below = nearest(Value(d.rounded(.down))).first!
        let above = nearest(Value(d.rounded(.up))).last!
        throw violation(given: t, suggesting: below == above ? [below] : [below, above])
    }

    private func violation(given: String, suggesting values: [Value]) -> BoundViolation {
        BoundViolation(value: given, allowed: allowed, suggestions: values.map { "\($0)" })
    }
}

/// Finite real numbers between `lower` (included or not) and `upper` (included).
public struct RealBound<Value: BinaryFloatingPoint & LosslessStringConvertible & Sendable>: NumericBound, Equatable {
    public var lower: Value
    public var upper: Value
    /// Whether `lower` itself is allowed (a guidance scale of 0 is; a shift of 0 is not).
    public var includesLower: Bool
    /// Suggested where no end of the range is near: for a value at or below an excluded lower
    /// end, or one that is not finite. Must be allowed.
    public var fallback: Value
    /// Why the range, shown in messages.
    public var reason: String?

    public init(_ range: ClosedRange<Value>, includesLower: Bool = true, fallback: Value, reason: String? = nil) {
        lower = range.lowerBound
        upper = range.upperBound
        self.includesLower = includesLower
        self.fallback = fallback
        self.reason = reason
        precondition(contains(fallback), "a bound's fallback is allowed")
    }

    public func contains(_ value: Value) -> Bool {
        value.isFinite && (includesLower ? value >= lower : value > lower) && value <= upper
    }

    /// `a number between 0 and 100`, `a number above 0 and at most 100`: for help texts.
    public var summary: String {
        includesLower ? "a number between \(Self.text(lower)) and \(Self.text(upper))"
            : "a number above \(Self.text(lower)) and at most \(Self.text(upper))"
    }

    /// `summary` with the reason, for messages.
    public var allowed: String { summary + (reason.map { " (\($0))" } ?? "") }

    /// The violation `value` makes, or nil when it is allowed.
    public func violation(_ value: Value) -> BoundViolation? {
        if contains(value) { return nil }
        let nearest = value > upper ? upper : value < lower && includesLower ? lower : fallback
        return BoundViolation(value: Self.text(value), allowed: allowed, suggestions: [Self.text(nearest)])
    }

    /// Reads `text`; an integer beyond `Value`'s range reads as infinite (and is refused).
    /// - Throws: `BoundViolation` for a number outside the bound or text that is not a number.
    public func parse(_ text: String) throws(BoundViolation) -> Value {
        guard let v = Value(text.trimmingSpaces) else {
            throw BoundViolation(value: "'\(text)'", allowed: allowed, suggestions: [Self.text(fallback)])
        }
        if let violation = violation(v) { throw violation }
        return v
    }

    /// `7` rather than `7.0`; other values as Swift prints them.
    static func text(_ value: Value) -> String {
        let d = Double(value)
        return d.isFinite && d == d.rounded() && abs(d) < 1e15 ? "\(Int64(d))" : "\(value)"
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
