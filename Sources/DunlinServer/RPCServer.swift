import DunlinServices
import DunlinTLS
import DunlinWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The Dunlin RPC server: accepts connections, speaks the wire protocol on each, and runs the
/// registered services' handlers as async tasks.
///
/// Run it in a swift-service-lifecycle `ServiceGroup`: on graceful shutdown (SIGTERM, SIGINT) it
/// stops accepting, sends every connection GOAWAY, lets calls in flight finish (up to
/// `shutdownGracePeriod`), then returns.
public final class RPCServer: Service, Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Address to listen on. Default "127.0.0.1".
        public var host: String
        /// Port to listen on; 0 picks a free one. Default 7474.
        public var port: Int
        /// Limits every connection is held to. Default ``ConnectionLimits/defaults``.
        public var limits: ConnectionLimits
        /// Whether responses of 1 KiB or more are deflated for clients that accept it. Default true.
        public var compressResponses: Bool
        /// How long calls in flight may take to finish after shutdown begins. Default 30 s.
        public var shutdownGracePeriod: Duration
        /// Reported in WELCOME and Info.
        public var serverVersion: String
        /// The oldest replica schema a client may announce in HELLO (0 there means "no replica" and
        /// is always let in, but such a connection may not call Sync). An older client is refused
        /// with FAILED_PRECONDITION and told to upgrade before it reads or writes anything.
        /// Default ``DunlinWire/SyncMethods/schemaVersion``.
        public var minimumSchemaVersion: UInt32
        /// TLS with this certificate and key, or nil for plain TCP (PROTOCOL.md §2.1;
        /// ``ServerTransport`` holds the rules `dunlind serve` applies). Default nil.
        public var tls: ServerTLS?

        public static let defaultPort = 7474

        public init(
            host: String = "127.0.0.1",
            port: Int = Configuration.defaultPort,
            limits: ConnectionLimits = .defaults,
            compressResponses: Bool = true,
            shutdownGracePeriod: Duration = .seconds(30),
            serverVersion: String = DunlinVersion.current,
            minimumSchemaVersion: UInt32 = SyncMethods.schemaVersion,
            tls: ServerTLS? = nil
        ) {
            self.host = host
            self.port = port
            self.limits = limits
            self.compressResponses = compressResponses
            self.shutdownGracePeriod = shutdownGracePeriod
            self.serverVersion = serverVersion
            self.minimumSchemaVersion = minimumSchemaVersion
            self.tls = tls
        }
    }

    private enum State {
        case idle
        case listening(Channel)
        case stopped
    }

    public let configuration: Configuration
    private let router: Router
    private let authenticator: any Authenticator
    private let clientCertificates: (any ClientCertificatePolicy)?
    private let logger: Logger
    private let group: any EventLoopGroup
    private let metrics: ServerMetrics?
    private let gate: TenantGate?
    private let state = NIOLockedValueBox(State.idle)
    private let connections = NIOLockedValueBox([ObjectIdentifier: Channel]())
    private let addressWaiters = NIOLockedValueBox(AddressWaiters())

    public init(
        configuration: Configuration,
        services: [any RPCService],
        authenticator: any Authenticator = StaticTokenAuthenticator(),
        clientCertificates: (any ClientCertificatePolicy)? = nil,
        logger: Logger = Logger(label: "dunlind"),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metrics: ServerMetrics? = nil,
        tenantGate: TenantGate? = nil
    ) {
        var router = Router()
        for service in services { service.register(in: &router) }
        DiagnosticsService.registerInfo(in: &router, configuration: configuration)
        self.configuration = configuration
        self.router = router
        self.authenticator = authenticator
        self.clientCertificates = clientCertificates
        self.logger = logger
        self.group = group
        self.metrics = metrics
        self.gate = tenantGate
    }

    /// The address the server listens on, once it does. Waits for `run()` to bind.
    public var listeningAddress: SocketAddress {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                addressWaiters.withLockedValue { $0.wait(continuation) }
            }
        }
    }

    /// The bound port (useful with port 0).
    public var listeningPort: Int {
        get async throws { try await listeningAddress.port ?? configuration.port }
    }

    public func run() async throws {
        let channel: Channel
        do {
            channel = try await bind()
        } catch {
            addressWaiters.withLockedValue { $0.fail(error) }
            throw error
        }
        let address = channel.localAddress!
        var metadata: Logger.Metadata = ["address": "\(address)"]
        if let tls = configuration.tls { metadata["tls_fingerprint"] = "\((try? tls.fingerprint())?.description ?? "?")" }
        logger.info("listening", metadata: metadata)
        addressWaiters.withLockedValue { $0.resolve(address) }
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        try await drainConnections()
        logger.info("stopped")
    }

    /// Stops accepting and asks every connection to finish its calls and close. `run()` returns
    /// once they have (or the grace period is over).
    public func beginShutdown() {
        let listener: Channel? = state.withLockedValue { state in
            defer { state = .stopped }
            if case .listening(let channel) = state { return channel }
            return nil
        }
        guard let listener else { return }
        logger.info("shutting down: finishing calls in flight, refusing new ones")
        listener.close(promise: nil)
        for channel in connections.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        }
    }

    private func drainConnections() async throws {
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while ContinuousClock.now < deadline {
            if connections.withLockedValue({ $0.isEmpty }) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = connections.withLockedValue { Array($0.values) }
        logger.warning("grace period over; closing connections", metadata: ["count": "\(remaining.count)"])
        for channel in remaining { try? await channel.close() }
    }

    private func bind() async throws -> Channel {
        let router = self.router
        let authenticator = self.authenticator
        let logger = self.logger
        let connections = self.connections
        let handlerConfiguration = ServerConnectionHandler.Configuration(
            limits: configuration.limits,
            serverVersion: configuration.serverVersion,
            compressResponses: configuration.compressResponses,
            minimumSchemaVersion: configuration.minimumSchemaVersion,
            metrics: metrics,
            gate: gate,
            clientCertificates: configuration.tls == nil ? nil : clientCertificates
        )
        let decoderLimits = FrameDecoder.Limits(configuration.limits)
        let nextID = NIOLockedValueBox(0)
        let state = self.state
        let metrics = self.metrics
        // With a client-certificate policy, every client is asked for a certificate; whatever it
        // presents is taken here and judged at HELLO, by the tenant its token names.
        let asksClientCertificates = clientCertificates != nil
        let tlsContext = try configuration.tls.map {
            try DunlinTLS.serverContext(certificateFile: $0.certificateFile, keyFile: $0.keyFile, requestClientCertificates: asksClientCertificates)
        }

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                let accepting = state.withLockedValue { if case .listening = $0 { true } else { false } }
                guard accepting else { return channel.close() }
                let id = nextID.withLockedValue { $0 += 1; return $0 }
                let key = ObjectIdentifier(channel)
                connections.withLockedValue { $0[key] = channel }
                if let metrics {
                    metrics.connectionsAccepted.increment()
                    metrics.connectionsOpen.increment()
                }
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.removeValue(forKey: key) }
                    metrics?.connectionsOpen.decrement()
                }
                return channel.eventLoop.makeCompletedFuture {
                    if let metrics {
                        try channel.pipeline.syncOperations.addHandler(ByteCountingHandler(metrics))
                    }
                    if let tlsContext {
                        // The preface and everything after it inside TLS; the handshake counts
                        // against the handshake timeout (the connection handler's timer runs
                        // from accept).
                        try channel.pipeline.syncOperations.addHandler(PlaintextOnTLSPort())
                        try channel.pipeline.syncOperations.addHandler(
                            asksClientCertificates
                                ? NIOSSLServerHandler(context: tlsContext) { _, verdict in verdict.succeed(.certificateVerified) }
                                : NIOSSLServerHandler(context: tlsContext)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameByteDecoder(FrameDecoder(limits: decoderLimits, expectsPreface: true)))
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        ServerConnectionHandler(
                            router: router, authenticator: authenticator, configuration: handlerConfiguration,
                            logger: logger, connectionID: "c\(id)"
                        )
                    )
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let stillWanted = state.withLockedValue { state in
            guard case .idle = state else { return false }
            state = .listening(channel)
            return true
        }
        if !stillWanted {
            try? await channel.close()
            throw RPCError(.unavailable, "server was shut down before it started")
        }
        return channel
    }
}

/// Callers of a listener's `listeningAddress` waiting for its bind.
struct AddressWaiters {
    private var result: Result<SocketAddress, any Error>?
    private var waiters: [CheckedContinuation<SocketAddress, any Error>] = []

    mutating func wait(_ continuation: CheckedContinuation<SocketAddress, any Error>) {
        if let result { continuation.resume(with: result) } else { waiters.append(continuation) }
    }

    mutating func resolve(_ address: SocketAddress) { complete(.success(address)) }
    mutating func fail(_ error: any Error) { complete(.failure(error)) }

    private mutating func complete(_ result: Result<SocketAddress, any Error>) {
        self.result = result
        for waiter in waiters { waiter.resume(with: result) }
        waiters = []
    }
}

