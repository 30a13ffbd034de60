@testable import DunlinClient
import DunlinWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

/// The client connection handler on a `NIOAsyncTestingChannel`: the test plays the server, frame
/// by frame, and moves the event loop's clock, which drives every timer of the handler.
private struct ClientConnection {
    let channel: NIOAsyncTestingChannel
    let handler: NIOLoopBound<ClientConnectionHandler>
    private var written = ByteBuffer()
    private var decoder = FrameDecoder(limits: .init(maxFrameSize: 64 << 20), expectsPreface: true)

    /// Connects and completes the handshake: the client's preface and HELLO, the server's WELCOME
    /// (which lets the client ping as often as it likes).
    static func handshaken(keepalive: RPCClient.Keepalive) async throws -> ClientConnection {
        let channel = NIOAsyncTestingChannel()
        let welcomed = channel.eventLoop.makePromise(of: Dunlin_V1_Welcome.self)
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        let handler = try await channel.testingEventLoop.executeInContext { [logger] in
            let handler = ClientConnectionHandler(
                hello: .with { $0.token = "good-token" }, limits: .defaults, compressRequests: false, keepalive: keepalive,
                logger: logger, welcomePromise: welcomed, draining: NIOLockedValueBox(false)
            )
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(FrameByteDecoder(FrameDecoder(limits: .init(.defaults), expectsPreface: false)))
            )
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 7474)).get()
        var connection = ClientConnection(channel: channel, handler: handler)
        guard case .preface = try await connection.next() else { throw ClientTestError("no preface first") }
        guard case .frame(let hello) = try await connection.next(), hello.type == .hello else { throw ClientTestError("no HELLO") }
        var welcome = Dunlin_V1_Welcome()
        welcome.version = 1
        welcome.limits = ConnectionLimits.defaults.wire
        welcome.limits.minPingIntervalMs = 0
        try await connection.send(ConnectionStateMachine.protobufFrame(.welcome, streamID: 0, welcome))
        _ = try await welcomed.futureResult.get()
        return connection
    }

    func send(_ frame: Frame) async throws {
        try await channel.writeInbound(frame.encoded())
    }

    func advance(by amount: Duration) async {
        await channel.testingEventLoop.advanceTime(by: TimeAmount(amount))
    }

    /// The next item the client writes. Waiting, it waits for the write: for what a call's task
    /// sends. Not waiting, it must be written already: for what a timer writes once the clock has
    /// been advanced to it (a timer that fails to fire then fails the test at once).
    mutating func next(waiting: Bool = true) async throws -> InboundItem {
        if !waiting { await channel.testingEventLoop.run() }
        while true {
            if let item = try decoder.next(from: &written) { return item }
            var bytes: ByteBuffer
            if waiting {
                bytes = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            } else {
                guard let written = try await channel.readOutbound(as: ByteBuffer.self) else { throw ClientTestError("nothing written") }
                bytes = written
            }
            written.writeBuffer(&bytes)
        }
    }

    mutating func nextFrame(waiting: Bool = true) async throws -> Frame {
        guard case .frame(let frame) = try await next(waiting: waiting) else { throw ClientTestError("a second preface") }
        return frame
    }

    mutating func isQuiet() async throws -> Bool {
        await channel.testingEventLoop.run()
        if written.readableBytes > 0 { return false }
        return try await channel.readOutbound(as: ByteBuffer.self) == nil
    }

    /// Starts a unary call through the handler, as `RPCClient` does; its result arrives later.
    func startCall(timeout: Duration?) -> Task<ByteBuffer, any Error> {
        let handler = self.handler
        let token = CallToken()
        return Task {
            try await withCheckedThrowingContinuation { continuation in
                handler.eventLoop.execute {
                    handler.value.startCall(
                        token: token.id, path: "/dunlin.v1.Diagnostics/Echo", timeout: timeout, metadata: [:],
                        request: ByteBuffer(string: "x"), responses: .single(continuation, received: nil)
                    )
                }
            }
        }
    }
}

private struct ClientTestError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

@Suite("Client connection timers, on the event loop's clock", .timeLimit(.minutes(1)))
struct ClientTimerTests {
    static let keepalive = RPCClient.Keepalive(interval: .seconds(30), timeout: .seconds(10))
    static let tick = Duration.milliseconds(1)

    @Test("a quiet connection is pinged after the keepalive interval; a PONG in time keeps it open")
    func keepalivePing() async throws {
        var connection = try await ClientConnection.handshaken(keepalive: Self.keepalive)
        await connection.advance(by: .seconds(30) - Self.tick)
        #expect(try await connection.isQuiet())
        await connection.advance(by: Self.tick)
        let ping = try await connection.nextFrame(waiting: false)
        #expect(ping.type == .ping)
        try await connection.send(Frame(type: .pong, payload: ping.payload))
        await connection.advance(by: .seconds(10))
        #expect(connection.channel.isActive)
        // Quiet again: the next interval brings the next PING.
        await connection.advance(by: .seconds(20))
        #expect(try await connection.nextFrame(waiting: false).type == .ping)
    }

    @Test("frames from the server count as liveness: no PING while it talks")
    func noPingWhileTalking() async throws {
        var connection = try await ClientConnection.handshaken(keepalive: Self.keepalive)
        for value in UInt64(1)...5 {
            await connection.advance(by: .seconds(20))
            var payload = ByteBuffer()
            payload.writeInteger(value)
            try await connection.send(Frame(type: .ping, payload: payload))
            #expect(try await connection.nextFrame(waiting: false).type == .pong, "the client answers the server's PING")
        }
        #expect(try await connection.isQuiet())
    }

    @Test("a PING not answered within the keepalive timeout: GOAWAY KEEPALIVE_TIMEOUT, close, and calls in flight fail UNAVAILABLE")
    func keepaliveTimeout() async throws {
        var connection = try await ClientConnection.handshaken(keepalive: Self.keepalive)
        let call = connection.startCall(timeout: nil)
        #expect(try await connection.nextFrame().type == .open)
        #expect(try await connection.nextFrame().type == .message)
        await connection.advance(by: .seconds(30))
        #expect(try await connection.nextFrame(waiting: false).type == .ping)
        await connection.advance(by: .seconds(10) - Self.tick)
        #expect(try await connection.isQuiet())
        #expect(connection.channel.isActive)
        await connection.advance(by: Self.tick)
        let frame = try await connection.nextFrame(waiting: false)
        #expect(frame.type == .goAway)
        #expect(try Dunlin_V1_GoAway(buffer: frame.payload).reason == .keepaliveTimeout)
        #expect(!connection.channel.isActive)
        let error = await #expect(throws: RPCError.self) { try await call.value }
        #expect(error?.code == .unavailable)
    }

    @Test("the client's deadline fails the call with DEADLINE_EXCEEDED and sends CANCEL for its stream")
    func deadline() async throws {
        var connection = try await ClientConnection.handshaken(keepalive: .init(interval: nil))
        let call = connection.startCall(timeout: .milliseconds(300))
        let open = try await connection.nextFrame()
        #expect(open.type == .open)
        #expect(try Dunlin_V1_CallOpen(buffer: open.payload).timeoutUs == 300_000)
        #expect(try await connection.nextFrame().type == .message)
        await connection.advance(by: .milliseconds(300) - Self.tick)
        #expect(try await connection.isQuiet())
        await connection.advance(by: Self.tick)
        let cancel = try await connection.nextFrame(waiting: false)
        #expect(cancel.type == .cancel && cancel.streamID == open.streamID)
        let error = await #expect(throws: RPCError.self) { try await call.value }
        #expect(error?.code == .deadlineExceeded)
        #expect(connection.channel.isActive, "a deadline ends the call, not the connection")
    }
}
