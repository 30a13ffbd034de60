@testable import DunlinServer
import DunlinServices
import DunlinWire
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import Synchronization

/// One server connection handler on a `NIOAsyncTestingChannel`: the test writes the client's
/// bytes, reads the frames the server writes, and moves the event loop's clock. No socket, and no
/// real time: every timer of the handler fires when the test advances the loop past it.
struct ServerConnection {
    let channel: NIOAsyncTestingChannel
    let limits: ConnectionLimits
    private var written = ByteBuffer()
    private var decoder = FrameDecoder(limits: .init(maxFrameSize: 64 << 20), expectsPreface: false)

    /// The principal "good-token" stands for.
    static let analyst = Dunlin_V1_Principal.with { $0.id = "u-ana"; $0.tenantID = "t-acme"; $0.role = "analyst" }
    /// The principal "other-token" stands for: an analyst of another tenant.
    static let otherTenant = Dunlin_V1_Principal.with { $0.id = "u-oto"; $0.tenantID = "t-other"; $0.role = "analyst" }

    /// A connection just accepted: the handshake timer runs from now. The authenticator defaults
    /// to a static one that knows "good-token" and "other-token". Connections given one `gate`
    /// (or `metrics`) share it, as a server's do; `channel` puts several on one testing loop, so
    /// one clock moves them all.
    static func accept(
        limits: ConnectionLimits, probe: any RPCService, authenticator: (any Authenticator)? = nil,
        gate: TenantGate? = nil, metrics: ServerMetrics? = nil, channel: NIOAsyncTestingChannel = NIOAsyncTestingChannel()
    ) async throws -> ServerConnection {
        var router = Router()
        // Diagnostics first: a probe may answer one of its paths its own way.
        DiagnosticsService().register(in: &router)
        probe.register(in: &router)
        var configuration = ServerConnectionHandler.Configuration(
            limits: limits, serverVersion: "test", compressResponses: false, minimumSchemaVersion: SyncMethods.schemaVersion
        )
        configuration.gate = gate
        configuration.metrics = metrics
        var logger = Logger(label: "test.connection")
        logger.logLevel = .critical
        let authenticator = authenticator ?? StaticTokenAuthenticator(["good-token": analyst, "other-token": otherTenant])
        try await channel.testingEventLoop.executeInContext { [router, logger, configuration] in
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(FrameByteDecoder(FrameDecoder(limits: .init(limits), expectsPreface: true)))
            )
            try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(
                router: router, authenticator: authenticator, configuration: configuration,
                logger: logger, connectionID: "c1"
            ))
        }
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 7474)).get()
        return ServerConnection(channel: channel, limits: limits)
    }

    /// Preface and HELLO; returns the server's WELCOME.
    mutating func handshake(token: String = "good-token", replicaID: String = "") async throws -> Dunlin_V1_Welcome {
        var bytes = ByteBuffer()
        Preface.current.write(into: &bytes)
        ConnectionStateMachine.protobufFrame(.hello, streamID: 0, Dunlin_V1_Hello.with {
            $0.token = token
            $0.replicaID = replicaID
            if !replicaID.isEmpty { $0.schemaVersion = SyncMethods.schemaVersion }
        }).write(into: &bytes)
        try await channel.writeInbound(bytes)
        let welcome = try await nextFrame()
        guard welcome.type == .welcome else { throw UnexpectedFrame(welcome) }
        return try Dunlin_V1_Welcome(buffer: welcome.payload)
    }

    /// Writes the client's frames, in one read.
    func send(_ frames: Frame...) async throws {
        var bytes = ByteBuffer()
        for frame in frames { frame.write(into: &bytes) }
        try await channel.writeInbound(bytes)
    }

    /// Opens a unary call on `stream` whose one request is `key`, with a deadline if given.
    func call(_ stream: UInt32, _ method: String, key: String, timeoutUs: UInt64 = 0) async throws {
        try await send(Self.open(stream, method, timeoutUs: timeoutUs), Self.request(stream, key: key))
    }

    /// The OPEN of a call on `stream`, with a deadline if given.
    static func open(_ stream: UInt32, _ method: String, timeoutUs: UInt64 = 0) -> Frame {
        ConnectionStateMachine.protobufFrame(.open, streamID: stream, Dunlin_V1_CallOpen.with { $0.method = method; $0.timeoutUs = timeoutUs })
    }

    /// A call's one request, `key` as its payload, ending the client's side of the stream.
    static func request(_ stream: UInt32, key: String) -> Frame {
        ConnectionStateMachine.protobufFrame(.message, flags: .endStream, streamID: stream, Dunlin_V1_EchoRequest.with { $0.payload = Data(key.utf8) })
    }

    func ping(_ value: UInt64) async throws {
        var payload = ByteBuffer()
        payload.writeInteger(value)
        try await send(Frame(type: .ping, payload: payload))
    }

    /// Moves the event loop's clock, running every timer that falls due.
    func advance(by amount: Duration) async {
        await channel.testingEventLoop.advanceTime(by: TimeAmount(amount))
    }

    /// The next frame the server writes. Waiting, it waits for the write (never for a clock): for
    /// what a handler task sends. Not waiting, the frame must be written already, and is thrown
    /// for otherwise: for what a timer or a read writes, which advancing or writing into the
    /// loop has run (a timer that fails to fire then fails the test at once instead of hanging it).
    mutating func nextFrame(waiting: Bool = true) async throws -> Frame {
        if !waiting { await channel.testingEventLoop.run() }
        while true {
            if case .frame(let frame)? = try decoder.next(from: &written) { return frame }
            var bytes: ByteBuffer
            if waiting {
                bytes = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
            } else {
                guard let written = try await channel.readOutbound(as: ByteBuffer.self) else { throw NothingWritten() }
                bytes = written
            }
            written.writeBuffer(&bytes)
        }
    }

    /// The next frame, which must be a GOAWAY.
    mutating func goAway(waiting: Bool = true) async throws -> Dunlin_V1_GoAway {
        let frame = try await nextFrame(waiting: waiting)
        guard frame.type == .goAway else { throw UnexpectedFrame(frame) }
        return try Dunlin_V1_GoAway(buffer: frame.payload)
    }

    /// The next frame, which must be an END; its stream and status.
    mutating func end(waiting: Bool = true) async throws -> (stream: UInt32, status: Dunlin_V1_Status) {
        let frame = try await nextFrame(waiting: waiting)
        guard frame.type == .end else { throw UnexpectedFrame(frame) }
        return (frame.streamID, try Dunlin_V1_Status(buffer: frame.payload))
    }

    /// Advances the clock to a millisecond before `limit` from now, checks the server wrote nothing
    /// and kept the connection, then the last millisecond: the next frame must be GOAWAY `reason`
    /// with its UNAVAILABLE code, and the connection closed.
    mutating func expectGoAway(_ reason: Dunlin_V1_GoAwayReason, after limit: Duration) async throws -> Bool {
        let tick = Duration.milliseconds(1)
        await advance(by: limit - tick)
        guard try await isQuiet(), isOpen else { return false }
        await advance(by: tick)
        let goAway = try await goAway(waiting: false)
        return goAway.reason == reason && goAway.code == StatusCode.unavailable.rawValue && !isOpen
    }

    /// Whether the server has written nothing more (after the loop ran what was due).
    mutating func isQuiet() async throws -> Bool {
        await channel.testingEventLoop.run()
        if written.readableBytes > 0 { return false }
        return try await channel.readOutbound(as: ByteBuffer.self) == nil
    }

    var isOpen: Bool { channel.isActive }
}

struct NothingWritten: Error {}

struct UnexpectedFrame: Error, CustomStringConvertible {
    let frame: Frame
    init(_ frame: Frame) { self.frame = frame }
    var description: String { "unexpected \(frame.type) frame on stream \(frame.streamID)" }
}

/// Handlers that tell the test what they are doing, as events it awaits: `Hang` runs until it is
/// cancelled, `Held` until the test releases it. Each call's request payload is its key.
final class CallProbe: RPCService {
    enum Event: Equatable, Sendable {
        case started(String)
        case cancelled(String)
    }

    static let hang = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.test.Probe/Hang", kind: .unary)
    static let held = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(path: "/dunlin.test.Probe/Held", kind: .unary)

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let releases = Mutex<[String: CheckedContinuation<Void, Never>]>([:])

    init() {
        (events, continuation) = AsyncStream.makeStream()
    }

    /// Lets the `Held` call with this key answer (it must have started).
    func release(_ key: String) {
        releases.withLock { $0.removeValue(forKey: key) }?.resume()
    }

    func register(in router: inout Router) {
        router.unary(Self.hang) { request, _ in
            let key = String(decoding: request.payload, as: UTF8.self)
            self.continuation.yield(.started(key))
            // A stream nobody yields to or finishes: its iteration ends only when the task is cancelled.
            let (never, holder) = AsyncStream<Void>.makeStream()
            for await _ in never {}
            holder.finish()  // (held until here, so the stream cannot end on its own)
            self.continuation.yield(.cancelled(key))
            throw CancellationError()
        }
        router.unary(Self.held) { request, _ in
            let key = String(decoding: request.payload, as: UTF8.self)
            await withCheckedContinuation { waiter in
                self.releases.withLock { $0[key] = waiter }
                self.continuation.yield(.started(key))
            }
            return .with { $0.payload = request.payload }
        }
    }
}
