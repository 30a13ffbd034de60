import NIOCore

/// A call's inbound messages as its handler task reads them. Unary and server-streaming calls get
/// their one request before the task starts; client-streaming calls read a stream the event loop
/// feeds, and each message read returns its flow-control credit to the client.
package enum InboundMessages: AsyncSequence, Sendable {
    package typealias Element = ByteBuffer

    case single(ByteBuffer)
    case stream(AsyncThrowingStream<ByteBuffer, any Error>, onConsumed: @Sendable () -> Void)

    package struct AsyncIterator: AsyncIteratorProtocol {
        var single: ByteBuffer?
        var stream: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?
        var onConsumed: (@Sendable () -> Void)?

        package mutating func next() async throws -> ByteBuffer? {
            if stream == nil {
                defer { single = nil }
                return single
            }
            let message = try await stream!.next()
            if message != nil { onConsumed?() }
            return message
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        switch self {
        case .single(let message):
            AsyncIterator(single: message)
        case .stream(let stream, let onConsumed):
            AsyncIterator(stream: stream.makeAsyncIterator(), onConsumed: onConsumed)
        }
    }
}

