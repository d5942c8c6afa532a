import Dispatch
import Foundation
import Synchronization

/// Runs `body` in a child task and cancels it on SIGINT/SIGTERM (Ctrl-C), then waits for it to
/// clean up (partial outputs removed, manifest records flushed). A second signal exits at once
/// with 130. SIGPIPE is ignored so a consumer that exits early (`| head`) gives EPIPE instead.
enum Interrupt {
    static func run<T: Sendable>(log: Log, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        signal(SIGPIPE, SIG_IGN)
        let task = Task { try await body() }
        let queue = DispatchQueue(label: "bottleneck.signals")
        var sources: [any DispatchSourceSignal] = []
        let seen = SignalCount()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                if seen.increment() > 1 { exit(130) }
                log.warning("interrupted; stopping after cleanup (press Ctrl-C again to quit now)")
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
        return try await task.value
    }
}

/// Counts signals received (shared between the signal sources).
private final class SignalCount: Sendable {
    private let count = Atomic(0)
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}
