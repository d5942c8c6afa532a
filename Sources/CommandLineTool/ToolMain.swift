import ArgumentParser
import Diagnostics
import Foundation

/// How both executables (`bottleneck`, `bottleneck-bench`) run their root command.
extension AsyncParsableCommand {
    /// Parses the command line and runs the command; every error is printed to stderr as
    /// `<commandName>: error: …` (`userMessage(for:)`, then a usage hint for usage errors) and
    /// the process exits non-zero: `exitStatus(error)` where it gives one, else ArgumentParser's
    /// status (64 for usage errors, else 1). Help and version go to stdout with status 0.
    public static func runAsTool(exitStatus: @Sendable (any Error) -> Int32? = { _ in nil }) async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let name = configuration.commandName ?? String(describing: Self.self)
            if code == .success {
                FileHandle.standardOutput.write(Data((fullMessage(for: error) + "\n").utf8))
            } else if !(error is ExitCode) {
                Log.writeStderr("\(name): error: \(userMessage(for: error))\n")
                if code == .validationFailure {
                    Log.writeStderr("see '\(name) help' for usage\n")
                }
            }
            Foundation.exit(exitStatus(error) ?? code.rawValue)
        }
    }

    /// The text after `<commandName>: error: `: ArgumentParser's message for the error, except
    /// for Foundation's file errors (`FileErrorText`), which it would print as a raw dump.
    public static func userMessage(for error: any Error) -> String {
        if error is CancellationError { return "interrupted" }
        return FileErrorText.message(error) ?? message(for: error)
    }
}
