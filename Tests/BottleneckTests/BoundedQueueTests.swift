import Foundation
import Synchronization
import Testing
@testable import Bottleneck

/// `BoundedQueue`: capacity, order, backpressure, errors, cancellation.
@Suite struct BoundedQueueTests {
    // MARK: Capacity and order

    /// A fast producer and a slow consumer: the queue never holds more than its capacity and
    /// every item arrives, in order.
    @Test(arguments: [1, 2, 5])
    func neverExceedsCapacityAndKeepsOrder(capacity: Int) async throws {
        let queue = BoundedQueue<Int>(capacity: capacity)
        let producer = Task {
            for i in 0..<200 { try await queue.send(i) }
            queue.finish()
        }
        var received: [Int] = []
        for try await value in queue {
            #expect(queue.bufferedCount <= capacity)
            received.append(value)
            if value % 7 == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        try await producer.value
        #expect(received == Array(0..<200))
        #expect(queue.maxBufferedCount <= capacity)
        #expect(queue.maxBufferedCount >= 1)
    }

    @Test func defaultCapacityIsTwo() {
        #expect(BoundedQueue<Int>().capacity == 2)
        #expect(BoundedQueue<Int>(capacity: 0).capacity == 1)
    }

    /// `send` stays suspended while the queue is full and returns once the consumer takes one.
    @Test func producerSuspendsWhenFull() async throws {
        let queue = BoundedQueue<Int>(capacity: 2)
        let sent = Atomic<Int>(0)
        let producer = Task {
            for i in 0..<5 {
                try await queue.send(i)
                sent.add(1, ordering: .relaxed)
            }
        }
        try await waitUntil { queue.waitingProducerCount == 1 }
        #expect(sent.load(ordering: .relaxed) == 2)
        #expect(queue.bufferedCount == 2)
        #expect(try await queue.next() == 0)
        try await waitUntil { sent.load(ordering: .relaxed) == 3 && queue.waitingProducerCount == 1 }
        #expect(queue.bufferedCount == 2)
        for expected in 1..<5 { #expect(try await queue.next() == expected) }
        try await producer.value
        #expect(sent.load(ordering: .relaxed) == 5)
    }

    // MARK: Errors

    /// Items sent before `finish(throwing:)` are delivered, then the error, then the end.
    @Test func errorPropagatesAfterQueuedItems() async throws {
        struct Boom: Error, Equatable {}
        let queue = BoundedQueue<Int>(capacity: 3)
        try await queue.send(1)
        try await queue.send(2)
        queue.finish(throwing: Boom())
        #expect(try await queue.next() == 1)
        #expect(try await queue.next() == 2)
        await #expect(throws: Boom.self) { try await queue.next() }
        #expect(try await queue.next() == nil)
    }

    /// A consumer waiting on an empty queue is woken by `finish(throwing:)`.
    @Test func waitingConsumerGetsError() async throws {
        struct Boom: Error {}
        let queue = BoundedQueue<Int>()
        let consumer = Task { try await queue.next() }
        try await Task.sleep(for: .milliseconds(20))
        queue.finish(throwing: Boom())
        await #expect(throws: Boom.self) { try await consumer.value }
    }

    @Test func sendAfterFinishThrows() async throws {
        let queue = BoundedQueue<Int>()
        queue.finish()
        await #expect(throws: BoundedQueueClosedError.self) { try await queue.send(1) }
    }

    // MARK: Cancellation

    /// The consumer task is cancelled while the producer is blocked on a full queue: the
    /// producer is released with `CancellationError` instead of hanging.
    @Test func consumerCancellationUnblocksProducer() async throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        let producer = Task {
            var i = 0
            while true {
                try await queue.send(i)
                i += 1
            }
        }
        let consumer = Task {
            var n = 0
            for try await _ in queue {
                n += 1
                if n == 3 { try await Task.sleep(for: .seconds(60)) }
            }
        }
        try await waitUntil { queue.waitingProducerCount == 1 }
        consumer.cancel()
        // The sleeping consumer wakes with CancellationError; tell the queue it stopped reading.
        _ = await consumer.result
        queue.cancel()
        await #expect(throws: CancellationError.self) { try await producer.value }
        #expect(queue.isCancelled)
    }

    /// A consumer cancelled while waiting in `next()` closes the queue by itself.
    @Test func cancelledWaitingConsumerClosesQueue() async throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        let consumer = Task { try await queue.next() }
        try await Task.sleep(for: .milliseconds(20))
        consumer.cancel()
        await #expect(throws: CancellationError.self) { try await consumer.value }
        #expect(queue.isCancelled)
        await #expect(throws: CancellationError.self) { try await queue.send(1) }
    }

    /// A producer task cancelled while suspended in `send` throws and its item is not queued.
    @Test func cancelledProducerDoesNotEnqueue() async throws {
        let queue = BoundedQueue<Int>(capacity: 1)
        try await queue.send(0)
        let producer = Task { try await queue.send(1) }
        try await waitUntil { queue.waitingProducerCount == 1 }
        producer.cancel()
        await #expect(throws: CancellationError.self) { try await producer.value }
        queue.finish()
        var all: [Int] = []
        for try await v in queue { all.append(v) }
        #expect(all == [0])
    }
}

/// Polls `condition` every millisecond for up to 5 s.
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<5000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("condition not reached in 5 s")
}
