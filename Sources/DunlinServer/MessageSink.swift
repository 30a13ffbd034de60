import DunlinServices
import DunlinWire
import NIOCore

/// Where a handler task's responses go: hops to the connection's event loop.
struct MessageSink: CallSink {
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
