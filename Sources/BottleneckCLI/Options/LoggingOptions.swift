import ArgumentParser
import Diagnostics

/// How progress and diagnostics are shown (always on stderr).
struct LoggingOptions: ParsableArguments {
    enum ProgressStyle: String, CaseIterable, ExpressibleByArgument {
        /// A bar on stderr, drawn only when stderr is a terminal.
        case bar
        /// One JSON object per event on stderr.
        case json
        /// Nothing but warnings and errors.
        case none
    }

    @Option(help: "Progress display on stderr.")
    var progress: ProgressStyle = .bar

    @Flag(name: .shortAndLong, help: "Only print errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print debug details.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    var log: Log { Log(level: quiet ? .error : verbose ? .debug : .info) }
}
