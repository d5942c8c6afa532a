import ArgumentParser
import Diagnostics
import Foundation
import Tensor

/// How both executables (`bottleneck`, `bottleneck-bench`) run their root command.
extension AsyncParsableCommand {
    /// Parses the command line and runs the command; every error is printed to stderr as
    /// `<commandName>: error: …` (`userMessage(for:)`, then a usage hint for usage errors) and
    /// the process exits non-zero: `exitStatus(error)` where it gives one, else ArgumentParser's
    /// status (64 for usage errors, else 1). Help and version go to stdout with status 0.
    /// First of all it relaunches the process on faster OpenBLAS kernels where OpenBLAS took the
    /// CPU for an unknown one (`relaunchOnFasterBLASKernels`).
    public static func runAsTool(exitStatus: @Sendable (any Error) -> Int32? = { _ in nil }) async {
        relaunchOnFasterBLASKernels()
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

/// Replaces this process by the same executable with the same arguments and `OPENBLAS_CORETYPE`
/// set, when `BLAS.relaunchCoreType` names faster kernels than OpenBLAS chose at load time (it
/// reads the variable only then). The relaunched process finds the variable set and runs on. The
/// process ID stays, so a parent waiting for it or signalling it sees no difference. If the exec
/// fails the run goes on here, on OpenBLAS's own kernels, with the environment as it was.
func relaunchOnFasterBLASKernels() {
    guard let core = BLAS.relaunchCoreType else { return }
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    unsetenv("OPENBLAS_CORETYPE")
}
