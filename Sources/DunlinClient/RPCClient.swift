import DunlinWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf

/// A Dunlin RPC client: one multiplexed connection to a server, opened on first use and reopened
/// with exponential backoff when it drops. Many calls may be in flight at once.
///
/// ```swift
/// let client = RPCClient(configuration: .init(host: "127.0.0.1", port: 7474, token: token))
/// let reply = try await client.unary(Diagnostics.echo, request)
/// for try await message in client.serverStreaming(Diagnostics.echoStream, streamRequest) { ... }
/// await client.close()
/// ```
public final class RPCClient: Sendable {
    public struct Keepalive: Sendable, Hashable {
        /// A PING is sent after the connection has been quiet this long; nil turns keepalive off.
        /// Default 30 s (never below the server's minimum ping interval).
        public var interval: Duration?
        /// A PING unanswered this long means the connection is dead. Default 10 s.
        public var timeout: Duration

        public init(interval: Duration? = .seconds(30), timeout: Duration = .seconds(10)) {
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// Exponential backoff between connection attempts.
    public struct Backoff: Sendable, Hashable {
        /// Wait after the first failure. Default 100 ms.
        public var initial: Duration
        /// Each further wait is this many times the last. Default 2.
        public var multiplier: Double
        /// Waits never exceed this. Default 30 s.
        public var maximum: Duration
        /// Each wait is randomly shortened or lengthened by up to this fraction. Default 0.2.
        public var jitter: Double

        public init(initial: Duration = .milliseconds(100), multiplier: Double = 2, maximum: Duration = .seconds(30), jitter: Double = 0.2) {
            self.initial = initial
            self.multiplier = multiplier
            self.maximum = maximum
            self.jitter = jitter
        }

        /// The wait before attempt `attempt` (1 = the first retry).
        public func delay(attempt: Int) -> Duration {
            let base = Double(initial.milliseconds) * pow(multiplier, Double(max(0, attempt - 1)))
            let capped = min(base, Double(maximum.milliseconds))
            let jittered = capped * (1 + Double.random(in: -jitter...jitter))
            return .milliseconds(Int64(max(0, jittered)))
        }
    }

    public struct Configuration: Sendable, Hashable {
        public var host: String
        /// Default 7474.
        public var port: Int
        /// The API token sent in HELLO; empty connects anonymously (Ping and Info only).
        public var token: String
        public var replicaID: String
        public var clientVersion: String
        public var schemaVersion: UInt32
        /// What this client accepts from the server (frame size, window, ...).
        public var limits: ConnectionLimits
        /// Whether requests of 1 KiB or more are deflated when the server accepts it. Default true.
        public var compressRequests: Bool
        /// How long one TCP connect and handshake may take. Default 5 s.
        public var connectTimeout: Duration
        /// How long a call without its own timeout keeps retrying to connect. Default 10 s.
        public var connectPatience: Duration
        public var backoff: Backoff
        public var keepalive: Keepalive
        /// TLS, and how the server is verified; nil for plain TCP. ``TransportRequest`` holds the
        /// CLI's rules for choosing it. Default nil.
        public var tls: ClientTLS?

        /// "HOST:PORT" (an IPv6 host in brackets, "[::1]:7474") split, or nil if it is not one.
        public static func hostAndPort(_ address: String) -> (host: String, port: Int)? {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return (host, port)
        }

        public init(
            host: String = "127.0.0.1",
            port: Int = 7474,
            token: String = "",
            replicaID: String = "",
            clientVersion: String = "dunlin/0.1.0",
            schemaVersion: UInt32 = 0,
            limits: ConnectionLimits = .defaults,
            compressRequests: Bool = true,
            connectTimeout: Duration = .seconds(5),
            connectPatience: Duration = .seconds(10),
            backoff: Backoff = Backoff(),
            keepalive: Keepalive = Keepalive(),
            tls: ClientTLS? = nil
        ) {
            self.host = host
            self.port = port
            self.token = token
            self.replicaID = replicaID
            self.clientVersion = clientVersion
            self.schemaVersion = schemaVersion
            self.limits = limits
            self.compressRequests = compressRequests
            self.connectTimeout = connectTimeout
            self.connectPatience = connectPatience
            self.backoff = backoff
            self.keepalive = keepalive
            self.tls = tls
        }
    }

    /// Per-call options.
    public struct CallOptions: Sendable, Hashable {
        /// How long the caller waits; the server is told, and both sides end the call with
        /// DEADLINE_EXCEEDED when it passes. nil = no deadline.
        public var timeout: Duration?
        public var metadata: [String: [UInt8]]
        /// How long the call keeps retrying to connect when there is no connection, never longer
        /// than `timeout`. nil: until `timeout`, or for the configuration's `connectPatience`
        /// when the call has none. A long call (a pull, a large push batch) sets it, so a server
        /// that is away is reported after the user's patience, not after the call's deadline.
        public var connectPatience: Duration?

        public init(timeout: Duration? = nil, metadata: [String: [UInt8]] = [:], connectPatience: Duration? = nil) {
            self.timeout = timeout
            self.metadata = metadata
            self.connectPatience = connectPatience
        }

        public static var defaults: CallOptions { CallOptions() }

        /// How long to wait for a connection, given the client's default patience.
        func connectionWait(default patience: Duration) -> Duration {
            let wait = connectPatience ?? timeout ?? patience
            return timeout.map { min($0, wait) } ?? wait
        }
    }

    private enum State {
        case idle
        case connecting(EventLoopFuture<Connection>)
        case ready(Connection)
        case closed
    }

    /// A handshaken connection.
    struct Connection: Sendable {
        let channel: Channel
        let handler: NIOLoopBound<ClientConnectionHandler>
        let welcome: Dunlin_V1_Welcome
        /// Set by the handler when the connection takes no new calls (GOAWAY received).
        let draining: NIOLockedValueBox<Bool>

        var eventLoop: EventLoop { channel.eventLoop }
    }

    /// Attempts for a unary call refused before the server processed it.
    static let maxTransparentRetries = 3

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = NIOLockedValueBox(State.idle)
    private let failures = NIOLockedValueBox((count: 0, retryAt: ContinuousClock.now))
    /// The TLS context and server check, made once; a CA or client-certificate file that cannot
    /// be read fails every connection attempt with INVALID_ARGUMENT naming it.
    private let tlsSetup: Result<ClientTLSSetup, RPCError>?

    public init(configuration: Configuration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "dunlin.client")) {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        tlsSetup = configuration.tls.map { tls in
            Result { try ClientTLSSetup(tls, host: configuration.host) }.mapError { RPCError(.invalidArgument, "TLS: \($0)") }
        }
    }

    /// Connects (if not connected) and returns the server's WELCOME: the principal, limits and version.
    @discardableResult
    public func connect(timeout: Duration? = nil) async throws -> Dunlin_V1_Welcome {
        try await connection(deadline: ContinuousClock.now + (timeout ?? configuration.connectPatience)).welcome
    }

    /// How many calls on the open connection wait for one of the server's concurrent-stream
    /// slots (0 when not connected): for diagnostics, and for tests that need a call queued.
    public func callsWaitingForStream() async -> Int {
        let current: Connection? = state.withLockedValue { state in
            if case .ready(let connection) = state { return connection }
            return nil
        }
        guard let current else { return 0 }
        let handler = current.handler
        return (try? await current.eventLoop.submit { handler.value.waitingCount }.get()) ?? 0
    }

    /// Forgets earlier failed connection attempts, so the next call tries at once instead of
    /// waiting out the backoff they built up: for a caller with its own schedule of retries
    /// (`dunlin sync --watch`), whose every retry should reach for the server.
    public func forgetFailedAttempts() {
        failures.withLockedValue { $0 = (0, ContinuousClock.now) }
    }

    /// Closes the connection; calls in flight fail with CANCELLED. The client can connect again.
    public func close() async {
        let current: Connection? = state.withLockedValue { state in
            defer { state = .idle }
            if case .ready(let connection) = state { return connection }
            return nil
        }
        guard let current else { return }
        let handler = current.handler
        current.eventLoop.execute { handler.value.leave() }
        try? await current.channel.closeFuture.get()
    }

    // MARK: Calls

    public func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = .defaults
    ) async throws -> Response {
        let message = try request.serializedBuffer()
        // A call the server never saw (it sent GOAWAY first) is sent again on a new connection.
        var attempt = 1
        while true {
            do {
                let reply = try await singleResponseCall(method.path, options: options, request: message, body: nil)
                return try decode(reply, method.path)
            } catch let error as RPCError where error.isUnprocessed && attempt < Self.maxTransparentRetries {
                attempt += 1
            }
        }
    }

    /// Streams requests from `body` (each `write` waits for flow-control credit), half-closes when
    /// `body` returns, and returns the server's one response.
    public func clientStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, options: CallOptions = .defaults,
        _ body: @escaping @Sendable (RequestWriter<Request>) async throws -> Void
    ) async throws -> Response {
        let reply = try await singleResponseCall(method.path, options: options, request: nil) { writer in
            try await body(RequestWriter(base: writer))
        }
        return try decode(reply, method.path)
    }

    /// Sends every request of a sequence, then returns the server's one response.
    public func clientStreaming<Request, Response, Requests: Sequence & Sendable>(
        _ method: MethodDescriptor<Request, Response>, requests: Requests, options: CallOptions = .defaults
    ) async throws -> Response where Requests.Element == Request {
        try await clientStreaming(method, options: options) { writer in
            for request in requests { try await writer.write(request) }
        }
    }

    /// A server-streaming call. The call starts when iteration starts; leaving the loop early, or
    /// cancelling the iterating task, cancels the call on the server.
    public func serverStreaming<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = .defaults
    ) -> ServerStream<Response> {
        ServerStream(client: self, path: method.path, request: Result { try request.serializedBuffer() }, options: options)
    }

    private func decode<Response: SwiftProtobuf.Message>(_ buffer: ByteBuffer, _ path: String) throws -> Response {
        do {
            return try Response(buffer: buffer)
        } catch {
            throw RPCError(.internal, "the server's response to \(path) is not a valid message: \(error)")
        }
    }

    private func singleResponseCall(
        _ path: String, options: CallOptions, request: ByteBuffer?,
        body: (@Sendable (RawRequestWriter) async throws -> Void)?
    ) async throws -> ByteBuffer {
        let start = ContinuousClock.now
        let connection = try await connection(deadline: start + options.connectionWait(default: configuration.connectPatience))
        let remaining = options.timeout.map { start + $0 - ContinuousClock.now }
        if let remaining, remaining <= .zero {
            throw RPCError.deadlineExceededUnsent("deadline exceeded while connecting")
        }
        guard let body else {
            return try await unaryCall(path, options: options, request: request, timeout: remaining, on: connection)
        }
        let token = CallToken()
        let handler = connection.handler
        let loop = connection.eventLoop
        defer { loop.execute { handler.value.release(token: token.id) } }
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                let response = ResponseBox()
                // The requests are written only once the call is started on the event loop: a
                // write that ran first found no call, failed, and left the call open on the
                // server with no requests and no half-close, both sides waiting for ever.
                let started = AsyncStream<Void>.makeStream()
                group.addTask {
                    try await withCheckedThrowingContinuation { continuation in
                        loop.execute {
                            handler.value.startCall(
                                token: token.id, path: path, timeout: remaining, metadata: options.metadata,
                                request: request, responses: .single(continuation, received: nil)
                            )
                            started.continuation.finish()
                        }
                    }
                }
                group.addTask {
                    for await _ in started.stream {}
                    do {
                        try await body(RawRequestWriter(token: token, handler: handler))
                    } catch {
                        // Whatever ended the writing ends the call too, so the answer never
                        // waits on a server that waits on requests. When the call had
                        // already ended (the server refused the first message, say), this
                        // changes nothing and its status is the answer.
                        loop.execute { handler.value.cancel(token: token) }
                        if error is CallEnded { return nil }
                        throw error
                    }
                    loop.execute { handler.value.halfClose(token: token.id) }
                    return nil
                }
                while let result = try await group.next() {
                    if let result { response.value = result }
                }
                return response.value!
            }
        } onCancel: {
            loop.execute { handler.value.cancel(token: token) }
        }
    }

    /// A call with its one request in hand: started on the event loop and answered from there,
    /// with no child task and no hop back to the loop afterwards (the call forgets its token as
    /// it ends; only a cancelled caller releases it).
    private func unaryCall(
        _ path: String, options: CallOptions, request: ByteBuffer?, timeout: Duration?, on connection: Connection
    ) async throws -> ByteBuffer {
        let token = CallToken()
        let handler = connection.handler
        let loop = connection.eventLoop
        defer {
            if Task.isCancelled { loop.execute { handler.value.release(token: token.id) } }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                loop.execute {
                    handler.value.startCall(
                        token: token.id, path: path, timeout: timeout, metadata: options.metadata,
                        request: request, responses: .single(continuation, received: nil), forgetsToken: true
                    )
                }
            }
        } onCancel: {
            loop.execute { handler.value.cancel(token: token) }
        }
    }

    func startStream(
        path: String, request: ByteBuffer, options: CallOptions,
        continuation: AsyncThrowingStream<ClientConnectionHandler.Inbound, any Error>.Continuation
    ) async throws -> (NIOLoopBound<ClientConnectionHandler>, CallToken) {
        let start = ContinuousClock.now
        let connection = try await connection(deadline: start + options.connectionWait(default: configuration.connectPatience))
        let remaining = options.timeout.map { start + $0 - ContinuousClock.now }
        let token = CallToken()
        let handler = connection.handler
        connection.eventLoop.execute {
            handler.value.startCall(
                token: token.id, path: path, timeout: remaining, metadata: options.metadata,
                request: request, responses: .stream(continuation)
            )
        }
        return (handler, token)
    }

    // MARK: Connection management

    /// The current connection, or a new one; retries with backoff until `deadline`.
    func connection(deadline: ContinuousClock.Instant) async throws -> Connection {
        var lastError: (any Error)?
        while true {
            try Task.checkCancellation()
            let waitUntil = failures.withLockedValue { $0.count > 0 ? $0.retryAt : ContinuousClock.now }
            if waitUntil > ContinuousClock.now {
                guard waitUntil < deadline else {
                    throw RPCError(.unavailable, "cannot reach \(configuration.host):\(configuration.port): \(lastError.map { "\($0)" } ?? "previous attempts failed; backing off")")
                }
                try await Task.sleep(until: waitUntil)
            }
            do {
                let connection = try await currentOrNewConnection().get()
                failures.withLockedValue { $0 = (0, ContinuousClock.now) }
                return connection
            } catch let error as RPCError where !Self.isRetryable(error) {
                throw error
            } catch {
                lastError = error
                let backoff = configuration.backoff
                let attempt = failures.withLockedValue { failures in
                    failures.count += 1
                    failures.retryAt = ContinuousClock.now + backoff.delay(attempt: failures.count)
                    return failures.count
                }
                logger.debug("connect failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                if ContinuousClock.now >= deadline {
                    throw RPCError(.unavailable, "cannot reach \(configuration.host):\(configuration.port): \(error)")
                }
            }
        }
    }

    /// Errors from a handshake that another attempt would not fix.
    private static func isRetryable(_ error: RPCError) -> Bool {
        switch error.code {
        case .unauthenticated, .permissionDenied, .failedPrecondition, .invalidArgument: false
        default: true
        }
    }

    private func currentOrNewConnection() -> EventLoopFuture<Connection> {
        state.withLockedValue { state in
            switch state {
            case .ready(let connection):
                if connection.channel.isActive, !connection.draining.withLockedValue({ $0 }) {
                    return connection.eventLoop.makeSucceededFuture(connection)
                }
            case .connecting(let future):
                return future
            case .idle, .closed:
                break
            }
            let future = establish()
            state = .connecting(future)
            future.whenComplete { [self] result in
                self.state.withLockedValue { state in
                    guard case .connecting(let pending) = state, pending === future else { return }
                    switch result {
                    case .success(let connection): state = .ready(connection)
                    case .failure: state = .idle
                    }
                }
            }
            return future
        }
    }

    private func establish() -> EventLoopFuture<Connection> {
        let loop = group.next()
        let tls: ClientTLSSetup?
        switch tlsSetup {
        case .none: tls = nil
        case .success(let setup): tls = setup
        case .failure(let error): return loop.makeFailedFuture(error)
        }
        let outcome = TLSOutcome()
        let address = "\(configuration.host):\(configuration.port)"
        let promise = loop.makePromise(of: Dunlin_V1_Welcome.self)
        let configuration = self.configuration
        let hello = {
            var hello = Dunlin_V1_Hello()
            hello.token = configuration.token
            hello.replicaID = configuration.replicaID
            hello.clientVersion = configuration.clientVersion
            hello.schemaVersion = configuration.schemaVersion
            return hello
        }()
        let logger = self.logger
        let handlerBox = NIOLockedValueBox<NIOLoopBound<ClientConnectionHandler>?>(nil)
        let draining = NIOLockedValueBox(false)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The preface and HELLO (with its token) are written into TLS, which holds
                    // them until the server's certificate has passed the check.
                    if let tls {
                        try channel.pipeline.syncOperations.addHandlers(try tls.handlers(host: configuration.host, outcome: outcome))
                    }
                    let handler = ClientConnectionHandler(
                        hello: hello, limits: configuration.limits, compressRequests: configuration.compressRequests,
                        keepalive: configuration.keepalive, logger: logger, welcomePromise: promise, draining: draining
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameByteDecoder(FrameDecoder(limits: .init(configuration.limits), expectsPreface: false)))
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                    handlerBox.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
        let handshakeTimeout = configuration.connectTimeout
        return bootstrap.connect(host: configuration.host, port: configuration.port).flatMap { channel in
            let timer = loop.scheduleTask(in: TimeAmount(handshakeTimeout)) {
                promise.fail(RPCError(.unavailable, "no WELCOME within \(handshakeTimeout.milliseconds) ms"))
                channel.close(promise: nil)
            }
            return promise.futureResult.map { welcome in
                timer.cancel()
                return Connection(channel: channel, handler: handlerBox.withLockedValue { $0! }, welcome: welcome, draining: draining)
            }.flatMapErrorThrowing { error in
                timer.cancel()
                channel.close(promise: nil)
                throw outcome.explain(error, address: address)
            }
        }.flatMapErrorThrowing { error in
            // A connect that never happened leaves the promise unfulfilled: fail it so it does not leak.
            promise.fail(error)
            throw error
        }
    }
}

/// Identifies one call to the connection handler before its stream id exists.
final class CallToken: Sendable {
    var id: ObjectIdentifier { ObjectIdentifier(self) }
}

private final class ResponseBox: @unchecked Sendable {
    // Written and read only by the task-group loop in one task.
    var value: ByteBuffer?
}

/// Sends raw request messages on a client-streaming call.
/// A request written to a call that has already ended: the call's own outcome (the server's
/// status) is what its caller gets, not this.
struct CallEnded: Error, CustomStringConvertible {
    var description: String { "CANCELLED: the call has ended" }
}

struct RawRequestWriter: Sendable {
    let token: CallToken
    let handler: NIOLoopBound<ClientConnectionHandler>

    func write(_ message: ByteBuffer) async throws {
        let handler = self.handler
        let token = self.token
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            handler.eventLoop.execute { handler.value.send(token: token.id, message, continuation: continuation) }
        }
    }
}

/// Sends the requests of a client-streaming call; each `write` waits for flow-control credit.
public struct RequestWriter<Request: SwiftProtobuf.Message>: Sendable {
    let base: RawRequestWriter

    public func write(_ request: Request) async throws {
        try await base.write(try request.serializedBuffer())
    }
}

/// The responses of a server-streaming call, in order. Ends when the server ends the call with OK;
/// throws ``RPCError`` with the server's status otherwise.
public struct ServerStream<Response: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    public typealias Element = Response

    let client: RPCClient
    let path: String
    let request: Result<ByteBuffer, any Error>
    let options: RPCClient.CallOptions

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ServerStream
        var base: AsyncThrowingStream<ClientConnectionHandler.Inbound, any Error>.AsyncIterator?
        var call: (NIOLoopBound<ClientConnectionHandler>, CallToken)?

        init(stream: ServerStream) {
            self.stream = stream
        }

        public mutating func next() async throws -> Response? {
            if base == nil {
                let (inbound, continuation) = AsyncThrowingStream<ClientConnectionHandler.Inbound, any Error>.makeStream()
                let call = try await stream.client.startStream(
                    path: stream.path, request: try stream.request.get(), options: stream.options, continuation: continuation
                )
                continuation.onTermination = { termination in
                    let (handler, token) = call
                    handler.eventLoop.execute {
                        if case .cancelled = termination { handler.value.cancel(token: token) }
                        handler.value.release(token: token.id)
                    }
                }
                self.call = call
                base = inbound.makeAsyncIterator()
            }
            guard let inbound = try await base!.next() else { return nil }
            if let (handler, token) = call {
                handler.eventLoop.execute { handler.value.consumed(token: token.id, size: inbound.size) }
            }
            do {
                return try Response(buffer: inbound.message)
            } catch {
                throw RPCError(.internal, "the server's response to \(stream.path) is not a valid message: \(error)")
            }
        }
    }
}
