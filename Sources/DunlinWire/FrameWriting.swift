import NIOCore

extension ChannelHandlerContext {
    /// Writes a frame without flushing. A large payload goes out as its own buffer after the
    /// header, so it is not copied.
    public func writeFrame(_ frame: Frame) {
        let length = frame.payload.readableBytes
        if length >= 16 * 1024 {
            var header = channel.allocator.buffer(capacity: Frame.headerSize)
            Frame.writeHeader(type: frame.type, flags: frame.flags, streamID: frame.streamID, length: length, into: &header)
            write(NIOAny(header), promise: nil)
            write(NIOAny(frame.payload), promise: nil)
        } else {
            write(NIOAny(frame.encoded(allocator: channel.allocator)), promise: nil)
        }
    }
}

/// Writes a connection's frames, coalescing flushes: frames written while the event loop is busy
/// go out in one flush when it next turns. Event-loop bound, like the handler that owns it.
public final class FrameOutbox {
    private let context: ChannelHandlerContext
    private var flushScheduled = false

    public init(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Writes a frame; it is flushed when the event loop next turns.
    public func write(_ frame: Frame) {
        context.writeFrame(frame)
        flushSoon()
    }

    /// Writes raw bytes (the client's preface and HELLO) and flushes at once.
    public func writeNow(_ bytes: ByteBuffer) {
        context.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    /// Writes a frame and flushes at once.
    public func writeNow(_ frame: Frame) {
        context.writeFrame(frame)
        context.flush()
    }

    /// Sends a GOAWAY and closes the connection.
    public func goAwayAndClose(_ goAway: Frame) {
        writeNow(goAway)
        context.close(promise: nil)
    }

    /// Sends the pending messages that may go now: the socket is writable and the stream has
    /// credit. Each waiter is resumed once its message is written, or with the error that stopped it.
    public func drain(
        _ pending: inout PendingSends<CheckedContinuation<Void, any Error>>,
        machine: inout ConnectionStateMachine,
        only streamID: UInt32?
    ) {
        let writable = context.channel.isWritable
        pending.drain(only: streamID, canSend: { writable && machine.canSend($0) }) { id, entry in
            do {
                context.writeFrame(try machine.messageFrame(id, message: entry.message))
                entry.waiter.resume()
            } catch {
                entry.waiter.resume(throwing: error)
            }
        }
        flushSoon()
    }

    private func flushSoon() {
        guard !flushScheduled else { return }
        flushScheduled = true
        let outbox = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            outbox.value.flushScheduled = false
            outbox.value.context.flush()
        }
    }
}

@available(*, unavailable)
extension FrameOutbox: Sendable {}

/// Outbound messages waiting for flow-control credit or for the socket to drain, per stream, in
/// order. Each carries a waiter the runtime resumes once the message is written (or fails).
public struct PendingSends<Waiter>: ~Copyable {
    public struct Entry {
        public var message: ByteBuffer
        public var endStream: Bool
        public var waiter: Waiter

        public init(message: ByteBuffer, endStream: Bool, waiter: Waiter) {
            self.message = message
            self.endStream = endStream
            self.waiter = waiter
        }
    }

    private var queues: [UInt32: [Entry]] = [:]

    public init() {}

    public var isEmpty: Bool { queues.isEmpty }

    public func hasPending(_ streamID: UInt32) -> Bool { queues[streamID] != nil }

    public mutating func append(_ streamID: UInt32, _ entry: Entry) {
        queues[streamID, default: []].append(entry)
    }

    /// Sends what can be sent: for each stream (or just `only`), entries in order while `canSend`
    /// says yes. `send` writes one entry and returns whether the stream may go on.
    public mutating func drain(only: UInt32? = nil, canSend: (UInt32) -> Bool, send: (UInt32, Entry) -> Void) {
        let ids = only.map { [$0] } ?? Array(queues.keys)
        for id in ids {
            guard var queue = queues[id] else { continue }
            var sent = 0
            while sent < queue.count, canSend(id) {
                send(id, queue[sent])
                sent += 1
            }
            queue.removeFirst(sent)
            queues[id] = queue.isEmpty ? nil : queue
        }
    }

    /// Removes a stream's entries (the stream ended), handing each waiter to `fail`.
    public mutating func remove(_ streamID: UInt32, fail: (Waiter) -> Void) {
        for entry in queues.removeValue(forKey: streamID) ?? [] {
            fail(entry.waiter)
        }
    }

    /// Removes everything (the connection closed).
    public mutating func removeAll(fail: (Waiter) -> Void) {
        for (_, queue) in queues {
            for entry in queue { fail(entry.waiter) }
        }
        queues = [:]
    }
}
