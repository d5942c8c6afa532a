import Synchronization

/// A single-consumer, multi-producer FIFO with a fixed capacity, connecting two pipeline stages.
///
/// - `send(_:)` suspends while the queue holds `capacity` items (backpressure; nothing is ever
///   dropped) and resumes when the consumer takes one.
/// - The consumer reads the queue as an `AsyncSequence`; iteration ends after `finish()`, or
///   throws the error given to `finish(throwing:)` once every queued item has been read.
/// - Cancellation: a cancelled `send` throws `CancellationError` and its item is not enqueued.
///   When the consumer stops reading (its task is cancelled while waiting, or it calls
///   `cancel()`), the queue closes: queued items are discarded and every waiting or later
///   `send` throws `CancellationError`, so producers never stay blocked on a reader that is gone.
///
/// Capacity is counted in items (a frame batch, a latent tensor), is small (2 by default), and
/// `maxBufferedCount` reports the high-water mark so tests can check it is never exceeded. An
/// item handed directly to a consumer that is already waiting is never counted as buffered.
public final class BoundedQueue<Element: Sendable>: Sendable {
    /// Most items the queue holds before `send` suspends.
    public let capacity: Int
    private let state: Mutex<State>

    private struct Producer {
        var id: UInt64
        var element: Element
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var buffer: [Element] = []
        var head = 0
        var producers: [Producer] = []
        var consumer: (id: UInt64, continuation: CheckedContinuation<Element?, any Error>)?
        var finished = false
        var failure: (any Error)?
        var cancelled = false
        var nextID: UInt64 = 0
        var highWater = 0

        var bufferedCount: Int { buffer.count - head }

        mutating func popFirst() -> Element? {
            guard head < buffer.count else { return nil }
            let e = buffer[head]
            head += 1
            if head > 16 && head * 2 > buffer.count {
                buffer.removeFirst(head)
                head = 0
            }
            return e
        }

        mutating func push(_ e: Element) {
            buffer.append(e)
            highWater = Swift.max(highWater, bufferedCount)
        }

        mutating func makeID() -> UInt64 {
            nextID &+= 1
            return nextID
        }
    }

    private enum SendAction {
        case resume(Result<Void, any Error>)
        case handOff(CheckedContinuation<Element?, any Error>)
        case wait
    }

    private enum NextAction {
        case value(Element, Producer?)
        case end((any Error)?)
        case cancelled([Producer])
        case wait
    }

    /// Creates an empty queue. `capacity` below 1 is raised to 1.
    public init(capacity: Int = 2) {
        self.capacity = Swift.max(1, capacity)
        self.state = Mutex(State())
    }

    /// Items currently buffered (not counting producers waiting for room).
    public var bufferedCount: Int { state.withLock { $0.bufferedCount } }
    /// Largest number of items ever buffered at once; never above `capacity`.
    public var maxBufferedCount: Int { state.withLock { $0.highWater } }
    /// Producers currently suspended in `send` because the queue is full.
    public var waitingProducerCount: Int { state.withLock { $0.producers.count } }
    /// Whether the consumer has stopped reading (`cancel()` or a cancelled read).
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    // MARK: Producer side

    /// Appends `element`, suspending while the queue is full.
    /// - Throws: `CancellationError` if the calling task is cancelled before the item is
    ///   enqueued or the consumer has stopped reading; `BoundedQueueClosedError` after `finish`.
    public func send(_ element: Element) async throws {
        try Task.checkCancellation()
        let id = state.withLock { $0.makeID() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let action: SendAction = state.withLock { s in
                    if s.cancelled || Task.isCancelled { return .resume(.failure(CancellationError())) }
                    if s.finished { return .resume(.failure(BoundedQueueClosedError())) }
                    if let consumer = s.consumer {
                        s.consumer = nil
                        return .handOff(consumer.continuation)
                    }
                    if s.bufferedCount < capacity && s.producers.isEmpty {
                        s.push(element)
                        return .resume(.success(()))
                    }
                    s.producers.append(Producer(id: id, element: element, continuation: c))
                    return .wait
                }
                switch action {
                case .resume(let r): c.resume(with: r)
                case .handOff(let consumer):
                    consumer.resume(returning: element)
                    c.resume()
                case .wait: break
                }
            }
        } onCancel: {
            let waiting: Producer? = state.withLock { s in
                guard let i = s.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.producers.remove(at: i)
            }
            waiting?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Ends the stream: the consumer reads what is queued, then sees the end (or `error`).
    /// Calling it again has no effect.
    public func finish(throwing error: (any Error)? = nil) {
        let consumer: CheckedContinuation<Element?, any Error>? = state.withLock { s in
            guard !s.finished else { return nil }
            s.finished = true
            s.failure = error
            guard s.bufferedCount == 0, s.producers.isEmpty, let c = s.consumer else { return nil }
            s.consumer = nil
            if error != nil { s.failure = nil }
            return c.continuation
        }
        if let consumer {
            if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
        }
    }

    // MARK: Consumer side

    /// Stops reading: discards queued items and fails every waiting and future `send` with
    /// `CancellationError`. A consumer waiting in `next()` also gets `CancellationError`.
    public func cancel() {
        let (producers, consumer): ([Producer], CheckedContinuation<Element?, any Error>?) =
            state.withLock { s in
                s.cancelled = true
                s.buffer.removeAll()
                s.head = 0
                let p = s.producers
                s.producers.removeAll()
                let c = s.consumer?.continuation
                s.consumer = nil
                return (p, c)
            }
        for p in producers { p.continuation.resume(throwing: CancellationError()) }
        consumer?.resume(throwing: CancellationError())
    }

    /// The next item, `nil` at the end; throws the `finish(throwing:)` error once.
    /// Only one task may read at a time (a programmer error otherwise).
    public func next() async throws -> Element? {
        let id = state.withLock { $0.makeID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Element?, any Error>) in
                let action: NextAction = state.withLock { s in
                    if s.cancelled { return .cancelled([]) }
                    if let e = s.popFirst() {
                        var moved: Producer?
                        if !s.producers.isEmpty {
                            moved = s.producers.removeFirst()
                            s.push(moved!.element)
                        }
                        return .value(e, moved)
                    }
                    if !s.producers.isEmpty {
                        // Capacity is at least 1, so this happens only while a handed-off
                        // producer races; take its element directly.
                        let p = s.producers.removeFirst()
                        return .value(p.element, p)
                    }
                    if s.finished {
                        let f = s.failure
                        s.failure = nil
                        return .end(f)
                    }
                    if Task.isCancelled {
                        s.cancelled = true
                        let p = s.producers
                        s.producers.removeAll()
                        return .cancelled(p)
                    }
                    precondition(s.consumer == nil, "BoundedQueue supports one consumer at a time")
                    s.consumer = (id, c)
                    return .wait
                }
                switch action {
                case .value(let e, let producer):
                    producer?.continuation.resume()
                    c.resume(returning: e)
                case .end(let error):
                    if let error { c.resume(throwing: error) } else { c.resume(returning: nil) }
                case .cancelled(let producers):
                    for p in producers { p.continuation.resume(throwing: CancellationError()) }
                    c.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let isWaiting = state.withLock { $0.consumer?.id == id }
            if isWaiting { cancel() }
        }
    }
}

/// Thrown by `BoundedQueue.send` after the queue was finished (a programmer error in a stage).
/// Internal, and no part of the module's error shape: the stage runner finishes a queue only
/// after its producer's last send, so this never reaches a caller unless the runner has a bug,
/// and then its description says so.
struct BoundedQueueClosedError: Error, Sendable, CustomStringConvertible {
    var description: String { "internal error: item sent to a finished stage queue" }
}

extension BoundedQueue: AsyncSequence {
    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: BoundedQueue
        public mutating func next() async throws -> Element? { try await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: self) }
}
