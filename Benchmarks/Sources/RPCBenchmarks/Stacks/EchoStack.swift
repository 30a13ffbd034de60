import DunlinWire

/// One RPC implementation under test: a server it starts in this process on 127.0.0.1 and the
/// client connections it opens to that server.
///
/// Every stack serves the same two calls with the same messages (`Dunlin_V1_EchoRequest`,
/// `Dunlin_V1_EchoResponse`, `Dunlin_V1_EchoStreamRequest`), so the figures compare the RPC layers
/// and nothing else.
protocol EchoStack: Sendable {
    /// The `impl` field of every JSON line this stack produces.
    var name: String { get }

    /// How messages are compressed on the wire ("none" or "deflate"), reported with the figures.
    var compression: String { get }

    /// Starts a server on an ephemeral loopback port, runs `body` with that port, then shuts the
    /// server down and waits for it to stop (also when `body` throws).
    func withServer<Result: Sendable>(
        _ body: (_ port: Int) async throws -> Result
    ) async throws -> Result

    /// Opens `count` independent connections to `port`, runs `body` with them, then closes them.
    func withConnections<Result: Sendable>(
        port: Int,
        count: Int,
        _ body: ([any EchoConnection]) async throws -> Result
    ) async throws -> Result
}

/// One client connection (one TCP connection) that carries many concurrent calls.
protocol EchoConnection: Sendable {
    /// One unary Echo call.
    func echo(_ request: Dunlin_V1_EchoRequest) async throws -> Dunlin_V1_EchoResponse

    /// One server-streaming EchoStream call. `onMessage` is called with each response's payload
    /// size as it arrives, so throughput can be attributed to the instant the bytes arrived.
    func echoStream(
        _ request: Dunlin_V1_EchoStreamRequest,
        onMessage: @escaping @Sendable (_ payloadBytes: Int) -> Void
    ) async throws
}

/// Answers Echo at once, without I/O or serialization: run through the same harness, it shows what
/// the harness itself costs (pacing timers, task hops), the floor under every stack's figures.
struct ImmediateEchoConnection: EchoConnection {
    func echo(_ request: Dunlin_V1_EchoRequest) async throws -> Dunlin_V1_EchoResponse {
        var response = Dunlin_V1_EchoResponse()
        response.payload = request.payload
        return response
    }

    func echoStream(
        _ request: Dunlin_V1_EchoStreamRequest,
        onMessage: @escaping @Sendable (_ payloadBytes: Int) -> Void
    ) async throws {
        for _ in 0..<request.count { onMessage(request.payload.count) }
    }
}
