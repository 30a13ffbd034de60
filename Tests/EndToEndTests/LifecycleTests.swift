import DunlinClient
import DunlinServer
import DunlinServices
import DunlinWire
import Foundation
import NIOCore
import NIOPosix
import Testing

@Suite("Connection and server life", .timingSensitive, .timeLimit(.minutes(10)))
struct LifecycleTests {
    @Test("graceful shutdown finishes calls in flight, refuses new ones, then returns")
    func gracefulShutdown() async throws {
        let server = try await TestServer.start()
        let busy = server.client()
        let idle = server.client()
        _ = try await idle.connect()
        let key = "finish-\(UUID().uuidString.prefix(8))"
        let inFlight = Task {
            try await busy.unary(ProbeService.slow, .with { $0.payload = Data(key.utf8); $0.delayMs = 600 })
        }
        #expect(try await eventually { ProbeService.shared.wasStarted(key) })
        let stopped = Task { try await server.stop() }
        try await Task.sleep(for: .milliseconds(100))

        // The idle connection was told GOAWAY: its next call is refused, never half-run.
        let refused = await #expect(throws: RPCError.self) {
            _ = try await idle.unary(Diagnostics.echo, .init(), options: .init(timeout: .milliseconds(500)))
        }
        #expect(refused?.code == .unavailable || refused?.code == .deadlineExceeded)
        // The call in flight completes normally.
        let response = try await inFlight.value
        #expect(String(decoding: response.payload, as: UTF8.self) == key)
        try await stopped.value
        // Nothing listens any more.
        let late = server.client(patience: .milliseconds(300))
        await #expect(throws: RPCError.self) { _ = try await late.unary(Diagnostics.ping, .init()) }
    }

    @Test("a connection with no call is closed after the idle timeout, and the client reconnects")
    func idleTimeout() async throws {
        // 1 s, not less: on a loaded 2-core machine a fresh connection can sit for a few hundred
        // milliseconds between WELCOME and its first call, and would be idled out before it.
        var limits = ConnectionLimits.defaults
        limits.idleTimeout = .seconds(1)
        let server = try await TestServer.start(limits: limits)
        let raw = try await RawConnection.connect(port: server.port)
        _ = try await raw.handshake()
        let goAway = try await raw.goAway(timeout: .seconds(3))
        #expect(goAway.reason == .idleTimeout)
        try await raw.waitClosed()

        let client = server.client()
        let first = try await client.connect()
        _ = try await client.unary(Diagnostics.echo, .init())
        try await Task.sleep(for: .milliseconds(2_000))
        _ = try await client.unary(Diagnostics.echo, .init())
        #expect(try await client.connect().connectionID != first.connectionID)
        await client.close()
        try await server.stop()
    }

    @Test("a call in flight keeps the connection from idling out")
    func busyIsNotIdle() async throws {
        var limits = ConnectionLimits.defaults
        limits.idleTimeout = .seconds(1)
        let server = try await TestServer.start(limits: limits)
        let client = server.client()
        let response = try await client.unary(Diagnostics.echo, .with { $0.payload = Data("slow".utf8); $0.delayMs = 2_500 })
        #expect(response.payload == Data("slow".utf8))
        await client.close()
        try await server.stop()
    }

    @Test("keepalive pings are answered and keep a quiet connection alive")
    func keepaliveAnswered() async throws {
        var limits = ConnectionLimits.defaults
        limits.minPingInterval = .milliseconds(50)
        let server = try await TestServer.start(limits: limits)
        let client = server.client(keepalive: .init(interval: .milliseconds(100), timeout: .milliseconds(500)))
        let first = try await client.connect()
        try await Task.sleep(for: .milliseconds(800))
        _ = try await client.unary(Diagnostics.echo, .init())
        #expect(try await client.connect().connectionID == first.connectionID)
        await client.close()
        try await server.stop()
    }

    @Test("a server that stops answering pings fails the calls in flight with UNAVAILABLE")
    func keepaliveTimeout() async throws {
        let silent = try await SilentServer.start()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = RPCClient(
            configuration: .init(port: silent.port, token: "t", keepalive: .init(interval: .milliseconds(300), timeout: .milliseconds(300))),
            logger: logger
        )
        let start = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) {
            _ = try await client.unary(Diagnostics.echo, .init())
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("keepalive") == true)
        // Well before the 10 s connect patience: the keepalive (300 ms + 300 ms) ended it, not a timeout.
        #expect(ContinuousClock.now - start < .seconds(8))
        await client.close()
        try await silent.channel.close()
    }

    @Test("the client reconnects with backoff once the server is back")
    func reconnect() async throws {
        let first = try await TestServer.start()
        let port = first.port
        // Patience bounds how long a call waits for a connection; 2 s keeps the first call safe on a
        // loaded machine and still fails the call fast once the server is gone.
        let client = first.client(patience: .seconds(2))
        _ = try await client.unary(Diagnostics.echo, .init())
        try await first.stop()

        let down = await #expect(throws: RPCError.self) { _ = try await client.unary(Diagnostics.echo, .init()) }
        #expect(down?.code == .unavailable)

        let second = try await TestServer.start(port: port)
        let response = try await client.unary(Diagnostics.echo, .with { $0.payload = Data("back".utf8) }, options: .init(timeout: .seconds(3)))
        #expect(response.payload == Data("back".utf8))
        await client.close()
        try await second.stop()
    }

    @Test("backoff grows geometrically, within its jitter, up to the cap")
    func backoffSchedule() {
        let backoff = RPCClient.Backoff(initial: .milliseconds(100), multiplier: 2, maximum: .seconds(1), jitter: 0.2)
        for (attempt, base) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let delay = backoff.delay(attempt: attempt).milliseconds
            #expect(delay >= Int64(Double(base) * 0.8) && delay <= Int64(Double(base) * 1.2), "attempt \(attempt): \(delay) ms")
        }
    }
}

import Logging

/// A peer that completes the handshake with a canned WELCOME and then never says anything again:
/// no PONG, no response. What a hung server looks like from the client.
struct SilentServer {
    let channel: Channel
    let port: Int

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let welcomed = NIOLockedValueBox(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let first = welcomed.withLockedValue { welcomed in
                defer { welcomed = true }
                return !welcomed
            }
            guard first else { return }
            var welcome = Dunlin_V1_Welcome()
            welcome.version = 1
            welcome.limits = ConnectionLimits.defaults.wire
            welcome.limits.minPingIntervalMs = 0
            let frame = ConnectionStateMachine.protobufFrame(.welcome, streamID: 0, welcome)
            context.writeAndFlush(NIOAny(frame.encoded()), promise: nil)
        }
    }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Handler()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentServer(channel: channel, port: channel.localAddress!.port!)
    }
}

import NIOConcurrencyHelpers
