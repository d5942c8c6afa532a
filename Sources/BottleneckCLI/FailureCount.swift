import Synchronization

/// Items that failed during a run (counted from events, read after the run).
final class FailureCount: Sendable {
    private let value = Atomic(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
