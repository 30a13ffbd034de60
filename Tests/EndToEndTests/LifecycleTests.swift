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
        let idle = try await RawConnection.connect(port: server.port)
        _ = try await idle.handshake()
        let key = "finish-\(UUID().uuidString.prefix(8))"
        let inFlight = Task {
            try await busy.unary(ProbeService.slow, .with { $0.payload = Data(key.utf8); $0.delayMs = 600 })
        }
        await ProbeService.shared.started(key)
        let stopped = Task { try await server.stop() }

        // The idle connection is told GOAWAY at once and closed, having nothing to finish. (An OPEN
        // crossing that GOAWAY is refused as unprocessed: ServerTimerTests, gracefulDrain.)
        let goAway = try await idle.goAway()
        #expect(goAway.reason == .noError)
        try await idle.waitClosed()
        // The call in flight completes normally.
        let response = try await inFlight.value
        #expect(String(decoding: response.payload, as: UTF8.self) == key)
        try await stopped.value
        // Nothing listens any more.
        let late = server.client(patience: .milliseconds(300))
        await #expect(throws: RPCError.self) { _ = try await late.unary(Diagnostics.ping, .init()) }
        await idle.close()
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
