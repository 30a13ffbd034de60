@testable import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import NIOCore
import NIOEmbedded
import Prometheus
import Testing

/// The per-tenant limits (``TenantGate``) on connections over `NIOAsyncTestingChannel`s that share
/// one testing event loop: one gate for all of them as in a server, and one clock only the test
/// moves, so the rate's refill is exact and no test waits on time.
@Suite("Tenant limits across connections, on the event loop's clock", .timeLimit(.minutes(1)))
struct TenantLimitTests {
    static let limits = ConnectionLimits.defaults

    /// A gate holding every tenant to `limits`.
    static func gate(_ limits: TenantLimits) -> TenantGate { TenantGate { _ in limits } }

    /// An authenticated connection on `loop` through `gate` (and `metrics`), as `token`.
    static func connect(
        _ loop: NIOAsyncTestingEventLoop, _ gate: TenantGate, probe: CallProbe, token: String = "good-token", metrics: ServerMetrics? = nil
    ) async throws -> ServerConnection {
        var connection = try await ServerConnection.accept(
            limits: limits, probe: probe, gate: gate, metrics: metrics, channel: NIOAsyncTestingChannel(loop: loop)
        )
        _ = try await connection.handshake(token: token)
        return connection
    }

    /// The END `connection` writes next: its stream, status code, and first detail. A refusal is
    /// written in the read that brought the OPEN, so it is looked for without waiting: a gate that
    /// let the call through fails the test at once (NothingWritten) instead of hanging it.
    static func end(_ connection: inout ServerConnection, waiting: Bool = false) async throws -> (stream: UInt32, code: StatusCode, detail: Dunlin_V1_ErrorDetail?) {
        let (stream, status) = try await connection.end(waiting: waiting)
        return (stream, StatusCode(rawValue: status.code) ?? .unknown, status.details.first)
    }

    @Test("calls and streams are counted per tenant across connections: past either limit a call ends RESOURCE_EXHAUSTED with its reason and a retry hint, another tenant's calls open at the same moment, and an ended call frees its place")
    func openCalls() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let gate = Self.gate(TenantLimits(maxCalls: 2, maxStreams: 1, callsPerSecond: 1_000, maxImportBytes: 1 << 20))
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var first = try await Self.connect(loop, gate, probe: probe)
        var second = try await Self.connect(loop, gate, probe: probe)
        let other = try await Self.connect(loop, gate, probe: probe, token: "other-token")

        // A client-streaming Sum left open is t-acme's one stream.
        try await first.send(ServerConnection.open(1, Diagnostics.sum.path))
        #expect(gate.usage("t-acme") == (1, 1))
        // Its second stream, on another connection, is refused.
        try await second.send(ServerConnection.open(1, Diagnostics.sum.path))
        let refusedStream = try await Self.end(&second)
        #expect(refusedStream.stream == 1 && refusedStream.code == .resourceExhausted)
        #expect(refusedStream.detail?.reason == "tenant_streams" && refusedStream.detail?.retryAfterMs == 1_000)

        // A unary call is its second call; a third is refused, on either connection.
        try await second.call(3, CallProbe.held.path, key: "a")
        #expect(await events.next() == .started("a"))
        try await first.call(3, CallProbe.held.path, key: "b")
        let refusedCall = try await Self.end(&first)
        #expect(refusedCall.stream == 3 && refusedCall.code == .resourceExhausted)
        #expect(refusedCall.detail?.reason == "tenant_calls" && (refusedCall.detail?.retryAfterMs ?? 0) > 0)
        #expect(gate.usage("t-acme") == (2, 1))

        // Another tenant is not held back by t-acme's load.
        try await other.call(1, CallProbe.held.path, key: "c")
        #expect(await events.next() == .started("c"))
        try await other.send(ServerConnection.open(3, Diagnostics.sum.path))
        #expect(gate.usage("t-other") == (2, 1))

        // "a" ends (its answer and END OK): t-acme may open a call again.
        probe.release("a")
        _ = try await second.nextFrame()
        #expect(try await Self.end(&second, waiting: true).code == .ok)
        #expect(gate.usage("t-acme") == (1, 1))
        try await first.call(5, CallProbe.held.path, key: "d")
        #expect(await events.next() == .started("d"))

        // A connection that closes gives back what its calls held.
        try await first.channel.close()
        #expect(gate.usage("t-acme") == (0, 0))
        probe.release("c")
        probe.release("d")
    }

    @Test("a tenant opening calls faster than its rate: the burst of two seconds' worth passes, the next is refused with the exact wait, and after that wait it passes")
    func rate() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let gate = Self.gate(TenantLimits(maxCalls: 100, maxStreams: 10, callsPerSecond: 5, maxImportBytes: 1 << 20))
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await Self.connect(loop, gate, probe: probe)
        let other = try await Self.connect(loop, gate, probe: probe, token: "other-token")
        for n in 0..<10 {
            try await connection.call(UInt32(2 * n + 1), CallProbe.hang.path, key: "h\(n)")
            #expect(await events.next() == .started("h\(n)"))
        }
        try await connection.call(21, CallProbe.hang.path, key: "late")
        let refused = try await Self.end(&connection)
        #expect(refused.stream == 21 && refused.code == .resourceExhausted)
        // At 5 a second, one call's credit is back after 200 ms.
        #expect(refused.detail?.reason == "tenant_rate" && refused.detail?.retryAfterMs == 200)

        // The other tenant's bucket is its own.
        try await other.call(1, CallProbe.hang.path, key: "other")
        #expect(await events.next() == .started("other"))

        await loop.advanceTime(by: .milliseconds(199))
        try await connection.call(23, CallProbe.hang.path, key: "early")
        let early = try await Self.end(&connection)
        #expect(early.code == .resourceExhausted && early.detail?.retryAfterMs == 1)
        await loop.advanceTime(by: .milliseconds(1))
        try await connection.call(25, CallProbe.hang.path, key: "on time")
        #expect(await events.next() == .started("on time"))
        try await connection.channel.close()
        try await other.channel.close()
    }

    @Test("a client-streaming call that sends more than its tenant's import size ends RESOURCE_EXHAUSTED tenant_import_size; its handler never sees the end of its requests")
    func importSize() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let gate = Self.gate(TenantLimits(maxCalls: 10, maxStreams: 10, callsPerSecond: 1_000, maxImportBytes: 25))
        var connection = try await Self.connect(loop, gate, probe: CallProbe())
        // 11 bytes each: a tag and a 10-byte varint.
        let part = Dunlin_V1_SumRequest.with { $0.value = -1 }
        try await connection.send(ServerConnection.open(1, Diagnostics.sum.path))
        for _ in 0..<2 {
            try await connection.send(ConnectionStateMachine.protobufFrame(.message, streamID: 1, part))
        }
        #expect(try await connection.isQuiet(), "two parts are within 25 bytes")
        try await connection.send(ConnectionStateMachine.protobufFrame(.message, flags: .endStream, streamID: 1, part))
        let refused = try await Self.end(&connection)
        #expect(refused.code == .resourceExhausted && refused.detail?.reason == "tenant_import_size")
        #expect(gate.usage("t-acme") == (0, 0))
        // The connection serves on.
        try await connection.call(3, Diagnostics.echo.path, key: "still here")
        _ = try await connection.nextFrame()
        #expect(try await Self.end(&connection, waiting: true).code == .ok)
    }

    @Test("the metrics count calls by method and status, refusals by reason, and open replicas per tenant, which go down when the connection closes")
    func metrics() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let (metrics, registry) = MetricsEndpoint.prometheus()
        let gate = Self.gate(TenantLimits(maxCalls: 1, maxStreams: 1, callsPerSecond: 1_000, maxImportBytes: 100))
        let probe = CallProbe()
        var events = probe.events.makeAsyncIterator()
        var connection = try await ServerConnection.accept(
            limits: Self.limits, probe: probe, gate: gate, metrics: metrics, channel: NIOAsyncTestingChannel(loop: loop)
        )
        _ = try await connection.handshake(replicaID: "r" + String(repeating: "a", count: 32))
        #expect(registry.emitToString().contains("dunlin_replicas_open{tenant=\"t-acme\"} 1"), "\(registry.emitToString())")

        try await connection.call(1, Diagnostics.echo.path, key: "x")
        _ = try await connection.nextFrame()
        _ = try await connection.end()
        try await connection.call(3, "/dunlin.v1.Nowhere/Nothing", key: "y")
        _ = try await connection.end()
        try await connection.call(5, CallProbe.held.path, key: "held")
        #expect(await events.next() == .started("held"))
        try await connection.call(7, CallProbe.held.path, key: "over")
        _ = try await connection.end(waiting: false)  // refused in the read that brought it
        let text = registry.emitToString()
        for line in [
            "dunlin_calls_total{method=\"\(Diagnostics.echo.path)\",status=\"OK\"} 1",
            "dunlin_calls_total{method=\"unrouted\",status=\"UNIMPLEMENTED\"} 1",
            "dunlin_calls_total{method=\"\(CallProbe.held.path)\",status=\"RESOURCE_EXHAUSTED\"} 1",
            "dunlin_refused_total{reason=\"call_refused\"} 1",
            "dunlin_refused_total{reason=\"tenant_calls\"} 1",
        ] {
            #expect(text.contains(line), "\(line) in \(text)")
        }
        #expect(!text.contains("Nowhere"))
        probe.release("held")
        _ = try await connection.nextFrame()
        _ = try await connection.end()
        try await connection.channel.close()
        #expect(registry.emitToString().contains("dunlin_replicas_open{tenant=\"t-acme\"} 0"))
    }
}
