import Diagnostics
import Dispatch
import Foundation
import Synchronization

/// Runs `body` in a child task and cancels it on SIGINT (Ctrl-C) or SIGTERM, then waits for it
/// to clean up (partial outputs removed, manifest records flushed) and throws `Interruption`,
/// so the process exits with 128 + the signal's number, as a shell reports a process killed by
/// it: 130 for SIGINT, 143 for SIGTERM. A second signal exits at once with that status.
/// SIGPIPE is ignored so a consumer that exits early (`| head`) gives EPIPE instead.
enum Interrupt {
    static func run<T: Sendable>(log: Log, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        signal(SIGPIPE, SIG_IGN)
        let task = Task { try await body() }
        let queue = DispatchQueue(label: "bottleneck.signals")
        var sources: [any DispatchSourceSignal] = []
        let received = ReceivedSignals()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                if received.record(sig) > 1 { exit(Interruption(signal: sig).exitStatus) }
                log.warning("interrupted by \(Interruption.name(of: sig)); stopping after cleanup "
                            + "(press Ctrl-C again to quit now)")
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            for s in sources { s.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        do {
            return try await task.value
        } catch {
            if let first = received.first { throw Interruption(signal: first) }
            throw error
        }
    }
}

/// A run stopped by a signal, after its cleanup. `Bottleneck.main` exits with `exitStatus`.
struct Interruption: Error, CustomStringConvertible {
    var signal: Int32
    /// 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
    var exitStatus: Int32 { 128 + signal }
    var description: String { "interrupted by \(Self.name(of: signal))" }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}

/// The signals received so far (shared between the signal sources): how many, and the first.
private final class ReceivedSignals: Sendable {
    private let state = Mutex((count: 0, first: Int32?.none))

    /// Records `signal` and returns how many have arrived, this one included.
    func record(_ signal: Int32) -> Int {
        state.withLock { s in
            s.count += 1
            if s.first == nil { s.first = signal }
            return s.count
        }
    }

    var first: Int32? { state.withLock { $0.first } }
}
