/// The events of one run, as an `AsyncSequence`: iterating starts the run, and each event
/// arrives as it happens (`GenerationEvent`). Iterate it once.
///
/// Cancelling the iterating task stops the run: the stages stop between steps and chunks, the
/// output being written is removed, committed outputs stay, and only then does iteration throw
/// `CancellationError`, so a caller that exits after it leaves no partial file behind. A run
/// whose stages fail for an item reports `.failed` and goes on; iteration throws only for what
/// stops the whole run.
public struct GenerationEvents: AsyncSequence, Sendable {
    public typealias Element = GenerationEvent
    public typealias Failure = any Error

    /// Runs the work, reporting each event through the function it is given.
    private let run: @Sendable (@escaping @Sendable (GenerationEvent) -> Void) async throws -> Void

    init(_ run: @escaping @Sendable (@escaping @Sendable (GenerationEvent) -> Void) async throws -> Void) {
        self.run = run
    }

    public func makeAsyncIterator() -> Iterator {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let task = Task { [run] in
            do {
                try await run { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
        return Iterator(events: stream.makeAsyncIterator(), run: task)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var events: AsyncThrowingStream<GenerationEvent, any Error>.Iterator
        let run: Task<Void, Never>

        public mutating func next() async throws -> GenerationEvent? {
            if let event = try await events.next() { return event }
            // The stream ended: the run finished, or the iterating task was cancelled (the
            // stream then ends at once and cancels the run). Wait for the stages' cleanup.
            await run.value
            try Task.checkCancellation()
            return nil
        }
    }
}
