import DunlinWire
import NIOCore

/// A call's inbound messages as its handler task reads them. Unary and server-streaming calls get
/// their one request before the task starts; client-streaming calls read a stream the event loop
/// feeds, and each message read returns its flow-control credit to the client.
enum InboundMessages: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    case single(ByteBuffer)
    case stream(AsyncThrowingStream<ByteBuffer, any Error>, onConsumed: @Sendable () -> Void)

    struct AsyncIterator: AsyncIteratorProtocol {
        var single: ByteBuffer?
        var stream: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?
        var onConsumed: (@Sendable () -> Void)?

        mutating func next() async throws -> ByteBuffer? {
            if stream == nil {
                defer { single = nil }
                return single
            }
            let message = try await stream!.next()
            if message != nil { onConsumed?() }
            return message
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        switch self {
        case .single(let message):
            AsyncIterator(single: message)
        case .stream(let stream, let onConsumed):
            AsyncIterator(stream: stream.makeAsyncIterator(), onConsumed: onConsumed)
        }
    }
}

/// Where a handler task's responses go: hops to the connection's event loop.
struct MessageSink: Sendable {
    let streamID: UInt32
    let connection: NIOLoopBound<ServerConnectionHandler>

    /// Sends one message, returning once it is written to the socket (or failing if the call ended).
    func send(_ message: ByteBuffer) async throws {
        let loop = connection.eventLoop
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            loop.execute {
                connection.value.send(streamID, message, continuation: continuation)
            }
        }
    }

    /// Sends the call's only response followed by END OK, without waiting: the first message of a
    /// stream always has credit.
    func sendLast(_ message: ByteBuffer) async throws {
        connection.eventLoop.execute {
            connection.value.respond(streamID, message)
        }
    }
}
