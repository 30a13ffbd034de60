import Foundation

/// Hands chunks from async code (a client-streaming call) to a blocking consumer (a GRDB write
/// transaction, whose closure is synchronous), with backpressure: at most `capacity` chunks wait,
/// and a sender beyond that suspends (it never blocks a thread) until the consumer takes one.
///
/// The sender calls ``send(_:)`` then ``finish(throwing:)``; the consumer calls ``next()``, which
/// blocks its thread (GRDB's writer, not a Swift concurrency thread) until a chunk, the end, or
/// the sender's failure arrives. A consumer that stops early calls ``close()``: pending and later
/// sends return `false` at once, so the sender never waits on a consumer that is gone.
public final class ImportFeed<Element: Sendable>: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var buffer: [Element] = []
    private var finished = false
    private var failure: (any Error)?
    private var closed = false
    private var waitingSender: CheckedContinuation<Void, Never>?
    private let capacity: Int

    public init(capacity: Int = 2) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Queues a chunk, waiting while `capacity` chunks are queued. Returns `false` (dropping the
    /// chunk) when the consumer has closed the feed.
    public func send(_ element: Element) async -> Bool {
        while true {
            switch offer(element) {
            case .queued: return true
            case .closed: return false
            case .full:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    waitForRoom(continuation)
                }
            }
        }
    }

    private enum Offer { case queued, closed, full }

    private func offer(_ element: Element) -> Offer {
        condition.lock()
        defer { condition.unlock() }
        if closed { return .closed }
        guard buffer.count < capacity else { return .full }
        buffer.append(element)
        condition.signal()
        return .queued
    }

    private func waitForRoom(_ continuation: CheckedContinuation<Void, Never>) {
        condition.lock()
        if closed || buffer.count < capacity {
            condition.unlock()
            continuation.resume()
        } else {
            waitingSender = continuation
            condition.unlock()
        }
    }

    /// Ends the feed: after the queued chunks, ``next()`` returns nil, or throws `error` if given.
    public func finish(throwing error: (any Error)? = nil) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer is done (finished or failed): later sends are dropped.
    public func close() {
        condition.lock()
        closed = true
        buffer.removeAll()
        let sender = waitingSender
        waitingSender = nil
        condition.unlock()
        sender?.resume()
    }

    /// The next chunk, blocking until one arrives; nil at the end; after the chunks already
    /// queued, throws the sender's failure (so a refusal earlier in the stream is still found
    /// first: queued chunks are at most `capacity`).
    public func next() throws -> Element? {
        condition.lock()
        while buffer.isEmpty && !finished {
            condition.wait()
        }
        guard !buffer.isEmpty else {
            let failure = self.failure
            condition.unlock()
            if let failure { throw failure }
            return nil
        }
        let element = buffer.removeFirst()
        let sender = waitingSender
        waitingSender = nil
        condition.unlock()
        sender?.resume()
        return element
    }
}
