@testable import DunlinServer
import DunlinServices
import DunlinWire
import Foundation
import NIOCore
import Synchronization
import Testing

/// Non-blocking unary methods (`Router.nonBlockingUnary`): answered on the connection's event loop,
/// in the read that brought their request, with the task path's credential check, error mapping,
/// deadlines and cancellation. On a `NIOAsyncTestingChannel`, so "answered in the same read" is
/// something the test can see: the response is written before `writeInbound` returns.
@Suite("Non-blocking unary calls, answered on the event loop", .timeLimit(.minutes(1)))
struct EventLoopAnswerTests {
    static let limits = ServerTimerTests.limits

    /// A handshaken connection whose router holds `probe`, watching its event loop.
    static func connect(_ probe: LoopProbe, authenticator: (any Authenticator)? = nil) async throws -> ServerConnection {
        var connection = try await ServerConnection.accept(limits: limits, probe: probe, authenticator: authenticator)
        probe.watch(connection.channel.eventLoop)
        _ = try await connection.handshake()
        return connection
    }

    @Test("a non-blocking call runs on the connection's event loop and is answered in the read that brought its request")
    func answeredOnTheLoop() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe)

        try await connection.call(1, LoopProbe.answer.path, key: "k1")
        let message = try await connection.nextFrame(waiting: false)
        #expect(message.type == .message && message.streamID == 1)
        #expect(try Dunlin_V1_EchoResponse(buffer: message.payload).payload == Data("k1".utf8))
        let end = try await connection.end(waiting: false)
        #expect(end.stream == 1 && end.status.code == StatusCode.ok.rawValue)
        #expect(probe.runs == [.init(key: "k1", onEventLoop: true, role: "analyst")])
    }

    @Test("Echo without a delay is answered in the read that brought it; asked to wait, it waits on a task and answers all the same")
    func echo() async throws {
        var connection = try await ServerConnection.accept(limits: Self.limits, probe: DiagnosticsService())
        _ = try await connection.handshake()

        try await connection.send(
            ServerConnection.open(1, Diagnostics.echo.path),
            ConnectionStateMachine.protobufFrame(.message, flags: .endStream, streamID: 1, Dunlin_V1_EchoRequest.with { $0.payload = Data("now".utf8) })
        )
        #expect(try await connection.nextFrame(waiting: false).type == .message)
        #expect(try await connection.end(waiting: false).status.code == StatusCode.ok.rawValue)

        // A delay of 1 ms on a task, whose clock the testing loop does not move: the answer is
        // awaited as a write, never timed.
        try await connection.send(
            ServerConnection.open(3, Diagnostics.echo.path),
            ConnectionStateMachine.protobufFrame(.message, flags: .endStream, streamID: 3, Dunlin_V1_EchoRequest.with { $0.payload = Data("later".utf8); $0.delayMs = 1 })
        )
        let later = try await connection.nextFrame()
        #expect(later.type == .message && later.streamID == 3)
        #expect(try Dunlin_V1_EchoResponse(buffer: later.payload).payload == Data("later".utf8))
        #expect(try await connection.end().status.code == StatusCode.ok.rawValue)
    }

    @Test("a handler's RPCError keeps its code and message, any other error is INTERNAL, and the connection goes on")
    func errors() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe)

        try await connection.call(1, LoopProbe.refuse.path, key: "r")
        let refused = try await connection.end(waiting: false)
        #expect(refused.stream == 1 && refused.status.code == StatusCode.failedPrecondition.rawValue)
        #expect(refused.status.message == "refused r")

        try await connection.call(3, LoopProbe.crash.path, key: "c")
        let crashed = try await connection.end(waiting: false)
        #expect(crashed.stream == 3 && crashed.status.code == StatusCode.internal.rawValue)
        #expect(!crashed.status.message.contains("ProbeCrash"))

        try await connection.call(5, LoopProbe.answer.path, key: "after")
        #expect(try await connection.nextFrame(waiting: false).type == .message)
        #expect(try await connection.end(waiting: false).status.code == StatusCode.ok.rawValue)
        #expect(connection.isOpen)
    }

    @Test("a request that is not the method's message is a protocol error: GOAWAY and close, the handler never runs")
    func undecodableRequest() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe)

        // Field 1, length 5, then one byte: truncated.
        try await connection.send(
            ServerConnection.open(1, LoopProbe.answer.path),
            Frame(type: .message, flags: .endStream, streamID: 1, payload: ByteBuffer(bytes: [0x0A, 0x05, 0x01]))
        )
        let goAway = try await connection.goAway(waiting: false)
        #expect(goAway.message.contains("stream 1") && goAway.message.contains(LoopProbe.answer.path))
        #expect(!connection.isOpen)
        #expect(probe.runs.isEmpty)
    }

    @Test("a deadline that passes before the request arrives ends the call with DEADLINE_EXCEEDED, and the handler never runs")
    func deadline() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe)

        try await connection.send(ServerConnection.open(1, LoopProbe.answer.path, timeoutUs: 5_000))
        await connection.advance(by: .milliseconds(4))
        #expect(try await connection.isQuiet())
        await connection.advance(by: .milliseconds(1))
        let end = try await connection.end(waiting: false)
        #expect(end.stream == 1 && end.status.code == StatusCode.deadlineExceeded.rawValue)

        try await connection.send(ServerConnection.request(1, key: "late"))
        #expect(try await connection.isQuiet())
        #expect(probe.runs.isEmpty)
        #expect(connection.isOpen)
    }

    @Test("a CANCEL before the request arrives: the handler never runs, and the next call is answered")
    func cancelled() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe)

        try await connection.send(ServerConnection.open(1, LoopProbe.answer.path), Frame(type: .cancel, streamID: 1))
        try await connection.send(ServerConnection.request(1, key: "cancelled"))
        #expect(try await connection.isQuiet())

        try await connection.call(3, LoopProbe.answer.path, key: "next")
        #expect(try await connection.nextFrame(waiting: false).streamID == 3)
        #expect(try await connection.end(waiting: false).status.code == StatusCode.ok.rawValue)
        #expect(probe.runs == [.init(key: "next", onEventLoop: true, role: "analyst")])
    }

    @Test("the per-call credential check holds: a refused credential ends the call with its status before the handler runs")
    func refusedCredential() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe, authenticator: RecheckingAuthenticator(recheck: .refuse))

        try await connection.call(1, LoopProbe.answer.path, key: "k")
        let end = try await connection.end(waiting: false)
        #expect(end.status.code == StatusCode.unauthenticated.rawValue && end.status.message == "token revoked")
        #expect(probe.runs.isEmpty)
    }

    @Test("the handler runs as the principal the re-check returns (a demotion holds at once)")
    func demotedCredential() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe, authenticator: RecheckingAuthenticator(recheck: .demote))

        try await connection.call(1, LoopProbe.answer.path, key: "k")
        #expect(try await connection.nextFrame(waiting: false).type == .message)
        #expect(probe.runs == [.init(key: "k", onEventLoop: true, role: "viewer")])
    }

    @Test("a credential that cannot be re-checked without I/O sends the call to a task: answered all the same, off the loop")
    func recheckNeedsIO() async throws {
        let probe = LoopProbe()
        var connection = try await Self.connect(probe, authenticator: RecheckingAuthenticator(recheck: .needsIO))

        try await connection.call(1, LoopProbe.answer.path, key: "k")
        let message = try await connection.nextFrame()
        #expect(message.type == .message && message.streamID == 1)
        #expect(try await connection.end().status.code == StatusCode.ok.rawValue)
        #expect(probe.runs == [.init(key: "k", onEventLoop: false, role: "analyst")])
    }
}

/// Non-blocking handlers that record each run: its key (the request's payload), whether it ran on
/// the event loop the test named, and the role it ran as.
final class LoopProbe: RPCService {
    struct Run: Equatable, Sendable {
        var key: String
        var onEventLoop: Bool
        var role: String
    }

    struct ProbeCrash: Error {}

    static let answer = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.test.Loop/Answer", kind: .unary)
    static let refuse = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.test.Loop/Refuse", kind: .unary)
    static let crash = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.test.Loop/Crash", kind: .unary)

    private let loop = Mutex<(any EventLoop)?>(nil)
    private let recorded = Mutex<[Run]>([])

    var runs: [Run] { recorded.withLock { $0 } }

    /// The connection's event loop, which runs are checked against.
    func watch(_ eventLoop: any EventLoop) {
        loop.withLock { $0 = eventLoop }
    }

    func register(in router: inout Router) {
        router.nonBlockingUnary(Self.answer) { request, context in
            let key = String(decoding: request.payload, as: UTF8.self)
            let onEventLoop = self.loop.withLock { $0?.inEventLoop ?? false }
            self.recorded.withLock { $0.append(Run(key: key, onEventLoop: onEventLoop, role: context.principal.role)) }
            return .with { $0.payload = request.payload }
        }
        router.nonBlockingUnary(Self.refuse) { request, _ in
            throw RPCError(.failedPrecondition, "refused \(String(decoding: request.payload, as: UTF8.self))")
        }
        router.nonBlockingUnary(Self.crash) { _, _ in
            throw ProbeCrash()
        }
    }
}

/// Lets HELLO's "good-token" in as the analyst, then answers the per-call re-check as told: at once
/// with a refusal or a demotion, or only by awaiting (as a store-backed authenticator does).
struct RecheckingAuthenticator: Authenticator {
    enum Recheck: Sendable {
        case refuse
        case demote
        case needsIO
    }

    let recheck: Recheck

    func authenticate(_ hello: Dunlin_V1_Hello) async throws(RPCError) -> Dunlin_V1_Principal {
        guard hello.token == "good-token" else { throw RPCError(.unauthenticated, "the token is not valid") }
        return ServerConnection.analyst
    }

    func recheck(_ principal: Dunlin_V1_Principal) async throws(RPCError) -> Dunlin_V1_Principal {
        try checked(principal).get()
    }

    func recheckWithoutWaiting(_ principal: Dunlin_V1_Principal) -> Result<Dunlin_V1_Principal, RPCError>? {
        recheck == .needsIO ? nil : checked(principal)
    }

    private func checked(_ principal: Dunlin_V1_Principal) -> Result<Dunlin_V1_Principal, RPCError> {
        switch recheck {
        case .refuse: .failure(RPCError(.unauthenticated, "token revoked"))
        case .demote: .success(Dunlin_V1_Principal.with { $0 = principal; $0.role = "viewer" })
        case .needsIO: .success(principal)
        }
    }
}
