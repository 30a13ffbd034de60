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
