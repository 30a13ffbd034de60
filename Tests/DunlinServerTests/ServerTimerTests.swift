@testable import DunlinServer
import DunlinServices
import DunlinWire
import Foundation
import NIOCore
import Testing

/// The server connection's timers, on a `NIOAsyncTestingChannel` whose clock only the test moves:
/// each case checks that nothing happens a millisecond before the limit and that the limit's
/// action happens at it. No socket and no sleep, so they hold however loaded the machine is.
@Suite("Server connection timers, on the event loop's clock", .timeLimit(.minutes(1)))
struct ServerTimerTests {
    static let tick = Duration.milliseconds(1)

    static var limits: ConnectionLimits {
        var limits = ConnectionLimits.defaults
        limits.handshakeTimeout = .seconds(10)
        limits.idleTimeout = .seconds(300)
        limits.minPingInterval = .seconds(5)
        limits.maxPingStrikes = 2
        return limits
    }

    @Test("no preface and HELLO within the handshake timeout: GOAWAY HANDSHAKE_TIMEOUT and close, not a moment sooner")
    func handshakeTimeout() async throws {
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: CallProbe())
        var preface = ByteBuffer()
        Preface.current.write(into: &preface)
        try await connection.channel.writeInbound(preface)
        #expect(try await connection.expectGoAway(.handshakeTimeout, after: Self.limits.handshakeTimeout))
    }

    @Test("a completed handshake stops the handshake timer")
    func handshakeInTime() async throws {
        var limits = Self.limits
        limits.idleTimeout = limits.handshakeTimeout * 3
        var connection = try await ServerConnection.accept(limits: limits, probe: CallProbe())
        await connection.advance(by: limits.handshakeTimeout - Self.tick)
        _ = try await connection.handshake()
        await connection.advance(by: limits.handshakeTimeout * 2)
        #expect(try await connection.isQuiet())
        #expect(connection.isOpen)
    }

    @Test("a connection with no call gets GOAWAY IDLE_TIMEOUT at the idle timeout, and pings do not keep it open")
    func idleTimeout() async throws {
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: CallProbe())
        _ = try await connection.handshake()
        await connection.advance(by: Self.limits.idleTimeout / 2)
        try await connection.ping(1)
        #expect(try await connection.nextFrame(waiting: false).type == .pong)
        #expect(try await connection.expectGoAway(.idleTimeout, after: Self.limits.idleTimeout / 2))
    }

    @Test("a call in flight keeps the connection from idling; the idle timer restarts when it ends")
    func busyIsNotIdle() async throws {
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: probe)
        _ = try await connection.handshake()
        try await connection.call(1, CallProbe.held.path, key: "long")
        #expect(await events.next() == .started("long"))
        await connection.advance(by: Self.limits.idleTimeout * 3)
        #expect(try await connection.isQuiet())
        #expect(connection.isOpen)

        probe.release("long")
        #expect(try await connection.nextFrame().type == .message)
        let end = try await connection.end()
        #expect(end.stream == 1 && end.status.code == StatusCode.ok.rawValue)
        #expect(try await connection.expectGoAway(.idleTimeout, after: Self.limits.idleTimeout))
    }

    @Test("pings at the minimum interval are answered forever; the third too early in a row is GOAWAY PING_ABUSE")
    func pingInterval() async throws {
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: CallProbe())
        _ = try await connection.handshake()
        for value in UInt64(1)...6 {
            try await connection.ping(value)
            let pong = try await connection.nextFrame(waiting: false)
            #expect(pong.type == .pong && pong.payload.getInteger(at: pong.payload.readerIndex, as: UInt64.self) == value)
            await connection.advance(by: Self.limits.minPingInterval)
        }
        // Two strikes are tolerated, and a ping on time clears them.
        for value in UInt64(10)...12 {
            try await connection.ping(value)
            #expect(try await connection.nextFrame(waiting: false).type == .pong)
            await connection.advance(by: Self.limits.minPingInterval - Self.tick)
        }
        await connection.advance(by: Self.tick)
        try await connection.ping(13)
        #expect(try await connection.nextFrame(waiting: false).type == .pong)
        for value in UInt64(14)...15 {
            await connection.advance(by: Self.limits.minPingInterval - Self.tick)
            try await connection.ping(value)
            #expect(try await connection.nextFrame(waiting: false).type == .pong)
        }
        #expect(connection.isOpen)
        await connection.advance(by: Self.limits.minPingInterval - Self.tick)
        try await connection.ping(16)
        let goAway = try await connection.goAway(waiting: false)
        #expect(goAway.reason == .pingAbuse)
        #expect(!connection.isOpen)
    }

    @Test("the deadline in OPEN ends the call with DEADLINE_EXCEEDED when it passes, and the handler is cancelled")
    func deadline() async throws {
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: probe)
        _ = try await connection.handshake()
        try await connection.call(1, CallProbe.hang.path, key: "slow", timeoutUs: 300_000)
        #expect(await events.next() == .started("slow"))
        await connection.advance(by: .milliseconds(300) - Self.tick)
        #expect(try await connection.isQuiet())
        await connection.advance(by: Self.tick)
        let end = try await connection.end(waiting: false)
        #expect(end.stream == 1)
        #expect(end.status.code == StatusCode.deadlineExceeded.rawValue)
        // The handler saw its cancellation: the test waits for that event, not for a clock.
        #expect(await events.next() == .cancelled("slow"))
        #expect(connection.isOpen)
    }

    @Test("a CANCEL from the client stops the handler, and the connection goes on serving")
    func clientCancel() async throws {
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: probe)
        _ = try await connection.handshake()
        try await connection.call(1, CallProbe.hang.path, key: "abandoned", timeoutUs: 300_000)
        #expect(await events.next() == .started("abandoned"))
        try await connection.send(Frame(type: .cancel, streamID: 1, payload: ByteBuffer()))
        #expect(await events.next() == .cancelled("abandoned"))
        // The call is gone: its deadline passing later writes nothing.
        await connection.advance(by: .seconds(1))
        #expect(try await connection.isQuiet())
        try await connection.call(3, CallProbe.held.path, key: "next")
        #expect(await events.next() == .started("next"))
        probe.release("next")
        #expect(try await connection.nextFrame().type == .message)
        #expect(try await connection.end().status.code == StatusCode.ok.rawValue)
    }

    @Test("graceful shutdown: GOAWAY NO_ERROR, calls in flight finish, a later OPEN is refused unprocessed, then close")
    func gracefulDrain() async throws {
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: probe)
        _ = try await connection.handshake()
        try await connection.call(1, CallProbe.held.path, key: "in-flight")
        #expect(await events.next() == .started("in-flight"))

        connection.channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        let goAway = try await connection.goAway()
        #expect(goAway.reason == .noError)
        #expect(goAway.lastStreamID == 1)
        #expect(goAway.code == StatusCode.unavailable.rawValue)

        // An OPEN that crossed the GOAWAY is refused, marked safe to retry elsewhere.
        try await connection.call(3, CallProbe.held.path, key: "late")
        let refused = try await connection.end()
        #expect(refused.stream == 3)
        #expect(RPCError(status: refused.status).isUnprocessed)
        // Draining is not idling: the call in flight may take as long as it takes.
        await connection.advance(by: Self.limits.idleTimeout * 2)
        #expect(try await connection.isQuiet())
        #expect(connection.isOpen)

        probe.release("in-flight")
        let response = try await connection.nextFrame()
        #expect(response.type == .message && response.streamID == 1)
        let end = try await connection.end()
        #expect(end.stream == 1 && end.status.code == StatusCode.ok.rawValue)
        try await connection.channel.closeFuture.get()
        #expect(!connection.isOpen)
    }

    @Test("graceful shutdown of a connection with no call sends GOAWAY and closes at once")
    func gracefulIdle() async throws {
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: CallProbe())
        _ = try await connection.handshake()
        connection.channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        #expect(try await connection.goAway().reason == .noError)
        try await connection.channel.closeFuture.get()
    }
}
