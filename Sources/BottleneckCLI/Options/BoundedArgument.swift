import ArgumentParser
import Diagnostics

extension NumericBound {
    /// A `transform:` that reads an option's value and checks it against this bound while the
    /// command line is parsed. Mount the option with `parsing: .unconditional`, so a negative
    /// value reaches the check instead of being taken for a flag ("Missing value").
    /// ArgumentParser prefixes the error with "The value '-5' is invalid for '--steps <n>': ",
    /// so the message says what is allowed and the nearest allowed value.
    var argument: @Sendable (String) throws -> Value {
        { text in
            do throws(BoundViolation) { return try parse(text) } catch { throw ValidationError(error.requirement) }
        }
    }
}
