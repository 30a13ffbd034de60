import DunlinClient
import DunlinServer
import DunlinCore
import DunlinServices
import DunlinTLS
import DunlinWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// A real server on 127.0.0.1 with a free port, run for the length of one test.
struct TestServer {
    let server: RPCServer
    let port: Int
    private let task: Task<Void, any Error>

    static let tokens: [String: Dunlin_V1_Principal] = {
        var analyst = Dunlin_V1_Principal()
        analyst.id = "u-ana"
        analyst.name = "Ana Reyes"
        analyst.tenantID = "t-acme"
        analyst.role = "analyst"
        return ["good-token": analyst]
    }()

    static func start(
        limits: ConnectionLimits = .defaults, services: [any RPCService] = [DiagnosticsService(), ProbeService.shared],
        grace: Duration = .seconds(5), port: Int = 0, tokens: [String: Dunlin_V1_Principal] = TestServer.tokens,
        authenticator: (any Authenticator)? = nil, tls: ServerTLS? = nil, clientCertificates: (any ClientCertificatePolicy)? = nil
    ) async throws -> TestServer {
        var logger = Logger(label: "test.dunlind")
        logger.logLevel = .critical
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: port, limits: limits, shutdownGracePeriod: grace, tls: tls),
            services: services,
            authenticator: authenticator ?? StaticTokenAuthenticator(tokens),
            clientCertificates: clientCertificates,
            logger: logger
        )
        let task = Task { try await server.run() }
        let port = try await server.listeningPort
        return TestServer(server: server, port: port, task: task)
    }

    /// A client of this server. Its connect patience is long by default: a test waits for the
    /// connection, not for a loaded machine to beat a clock; tests of patience pass their own.
    func client(
        token: String = "good-token", keepalive: RPCClient.Keepalive = .init(), patience: Duration = .seconds(30), tls: ClientTLS? = nil
    ) -> RPCClient {
        var logger = Logger(label: "test.client")
        logger.logLevel = .critical
        return RPCClient(
            configuration: .init(host: "127.0.0.1", port: port, token: token, connectPatience: patience, keepalive: keepalive, tls: tls),
            logger: logger
        )
    }

    /// Begins a graceful shutdown and waits for `run()` to return.
    func stop() async throws {
        server.beginShutdown()
        try await task.value
    }
}

/// Methods that let tests see inside the server: how many responses a stream produced, and
/// whether a handler started and saw cancellation, as events a test can await.
final class ProbeService: RPCService, Sendable {
    static let shared = ProbeService()

    static let flood = MethodDescriptor<Dunlin_V1_EchoStreamRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.test.Probe/Flood", kind: .serverStreaming
    )
    static let hang = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.test.Probe/Hang", kind: .unary
    )
    static let slow = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.test.Probe/Slow", kind: .unary
    )
    static let fail = MethodDescriptor<Dunlin_V1_EchoRequest, Dunlin_V1_EchoResponse>(
        path: "/dunlin.test.Probe/Fail", kind: .unary
    )

    struct Counters: Sendable {
        var written: [String: Int] = [:]
        var started: Set<String> = []
        var cancelled: Set<String> = []
    }

    private struct State {
        var counters = Counters()
        /// Tests waiting for a condition on the counters.
        var waiters: [(condition: @Sendable (Counters) -> Bool, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = NIOLockedValueBox(State())

    func written(_ key: String) -> Int { state.withLockedValue { $0.counters.written[key] ?? 0 } }

    /// Returns once the handler of the call keyed `key` has started: an event, not a poll.
    func started(_ key: String) async { await until { $0.started.contains(key) } }

    /// Returns once the handler of the call keyed `key` has seen its cancellation.
    func cancelled(_ key: String) async { await until { $0.cancelled.contains(key) } }

    private func until(_ condition: @escaping @Sendable (Counters) -> Bool) async {
        await withCheckedContinuation { continuation in
            let holds = state.withLockedValue { state in
                if condition(state.counters) { return true }
                state.waiters.append((condition, continuation))
                return false
            }
            if holds { continuation.resume() }
        }
    }

    private func update(_ change: (inout Counters) -> Void) {
        let ready = state.withLockedValue { state in
            change(&state.counters)
            let counters = state.counters
            let ready = state.waiters.filter { $0.condition(counters) }
            state.waiters.removeAll { $0.condition(counters) }
            return ready.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    func register(in router: inout Router) {
        // Writes `payload` until cancelled, counting writes under the key in the payload's first 16 bytes.
        router.serverStreaming(Self.flood) { request, writer, _ in
            let key = String(decoding: request.payload.prefix(16), as: UTF8.self)
            var response = Dunlin_V1_EchoResponse()
            response.payload = request.payload
            do {
                while true {
                    try await writer.write(response)
                    self.update { $0.written[key, default: 0] += 1 }
                }
            } catch {
                self.update { _ = $0.cancelled.insert(key) }
                throw error
            }
        }
        // Never answers; records its cancellation under the payload as key.
        router.unary(Self.hang) { request, _ in
            let key = String(decoding: request.payload, as: UTF8.self)
            self.update { _ = $0.started.insert(key) }
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                self.update { _ = $0.cancelled.insert(key) }
                throw error
            }
            return Dunlin_V1_EchoResponse()
        }
        // Answers after `delayMs`, recording when it starts, so tests know a call is in flight.
        router.unary(Self.slow) { request, _ in
            let key = String(decoding: request.payload, as: UTF8.self)
            self.update { _ = $0.started.insert(key) }
            try await Task.sleep(for: .milliseconds(request.delayMs))
            return .with { $0.payload = request.payload }
        }
        router.unary(Self.fail) { request, _ in
            throw RPCError(.failedPrecondition, "refused: \(String(decoding: request.payload, as: UTF8.self))",
                           details: [.with { $0.field = "payload"; $0.reason = "test" }])
        }
    }
}

/// A bare TCP connection for speaking bytes the real client never would.
final class RawConnection: Sendable {
    let channel: Channel
    private let collector: Collector

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let state = NIOLockedValueBox((bytes: ByteBuffer(), closed: false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            state.withLockedValue { _ = $0.bytes.writeBuffer(&incoming) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLockedValue { $0.closed = true }
        }

        // With remote half-closure allowed, the server's close arrives as end of input.
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .inputClosed = event as? ChannelEvent {
                state.withLockedValue { $0.closed = true }
            }
            context.fireUserInboundEventTriggered(event)
        }
    }

    private init(channel: Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// A bare connection; with `tls`, the bytes travel inside TLS (the server's certificate is
    /// not checked: these tests are about what the server does with what arrives).
    static func connect(port: Int, receiveBuffer: Int? = nil, tls: Bool = false) async throws -> RawConnection {
        let collector = Collector()
        let tlsContext: NIOSSLContext? = try tls ? {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            configuration.applicationProtocols = ["dunlin/1"]
            return try NIOSSLContext(configuration: configuration)
        }() : nil
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        let channel = try await bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tlsContext, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// Stops reading from the socket, so the kernel buffers fill and the server sees backpressure.
    func stopReading() async throws {
        try await channel.setOption(.autoRead, value: false).get()
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    func send(_ frames: Frame...) async throws {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        try await send(buffer)
    }

    /// Preface and an authenticated HELLO.
    func handshake(token: String = "good-token") async throws -> Dunlin_V1_Welcome {
        var buffer = ByteBuffer()
        Preface.current.write(into: &buffer)
        var hello = Dunlin_V1_Hello()
        hello.token = token
        hello.acceptCompression = ["deflate"]
        ConnectionStateMachine.protobufFrame(.hello, streamID: 0, hello).write(into: &buffer)
        try await send(buffer)
        let frame = try await nextFrame()
        guard frame.type == .welcome else { throw RawError("expected WELCOME, got \(frame.type)") }
        return try Dunlin_V1_Welcome(buffer: frame.payload)
    }

    var isClosed: Bool { collector.state.withLockedValue { $0.closed } }

    private let decoder = NIOLockedValueBox(FrameDecoder(limits: .init(maxFrameSize: 64 << 20), expectsPreface: false))

    /// The next frame the server sent, waiting up to `timeout`.
    func nextFrame(timeout: Duration = .seconds(5)) async throws -> Frame {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let item = try collector.state.withLockedValue { state in
                try decoder.withLockedValue { try $0.next(from: &state.bytes) }
            }
            if case .frame(let frame) = item { return frame }
            if isClosed, item == nil {
                throw RawError("connection closed with no further frame")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw RawError("no frame within \(timeout)")
    }

    /// Reads frames until a GOAWAY, and returns it.
    func goAway(timeout: Duration = .seconds(5)) async throws -> Dunlin_V1_GoAway {
        while true {
            let frame = try await nextFrame(timeout: timeout)
            if frame.type == .goAway { return try Dunlin_V1_GoAway(buffer: frame.payload) }
        }
    }

    /// Waits until the server has closed the connection.
    func waitClosed(timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            guard ContinuousClock.now < deadline else { throw RawError("server did not close the connection within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func close() async {
        try? await channel.close()
    }
}

struct RawError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Frame {
    static func open(_ streamID: UInt32, _ method: String, timeoutUs: UInt64 = 0, flags: FrameFlags = []) -> Frame {
        var open = Dunlin_V1_CallOpen()
        open.method = method
        open.timeoutUs = timeoutUs
        return ConnectionStateMachine.protobufFrame(.open, flags: flags, streamID: streamID, open)
    }

    static func message(_ streamID: UInt32, _ message: some SwiftProtobufMessage, flags: FrameFlags = []) -> Frame {
        ConnectionStateMachine.protobufFrame(.message, flags: flags, streamID: streamID, message)
    }
}

import SwiftProtobuf
typealias SwiftProtobufMessage = SwiftProtobuf.Message

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(10))
    }
    return true
}

/// Certificates made in the test process with swift-certificates, written to a temporary folder:
/// the server's own (for 127.0.0.1, ::1 and localhost, valid from an hour ago for a month by the
/// ``WallClock``, so `DUNLIN_CLOCK_OFFSET` moves it with everything else) and variants a client
/// must refuse.
struct TestCertificates {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Writes `pair` as NAME-cert.pem and NAME-key.pem and returns them as a server identity.
    func write(_ pair: CertificateAndKey, as name: String) throws -> ServerTLS {
        let certificate = directory.appendingPathComponent("\(name)-cert.pem")
        let key = directory.appendingPathComponent("\(name)-key.pem")
        try Data(try pair.certificatePEM.utf8).write(to: certificate)
        try Data(try pair.privateKeyPEM.utf8).write(to: key)
        return ServerTLS(certificateFile: certificate.path, keyFile: key.path)
    }

    /// A self-signed server certificate for `names`, valid `from`...`to` seconds around now.
    func server(_ name: String, names: [String] = ["127.0.0.1", "::1", "localhost"], from: TimeInterval = -3600, to: TimeInterval = 30 * 86_400)
        throws -> (tls: ServerTLS, fingerprint: CertificateFingerprint)
    {
        let now = WallClock.system.now()
        let pair = try CertificateAndKey.selfSigned(
            commonName: name, names: names, notBefore: now.addingTimeInterval(from), notAfter: now.addingTimeInterval(to)
        )
        return (try write(pair, as: name), try pair.fingerprint)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
