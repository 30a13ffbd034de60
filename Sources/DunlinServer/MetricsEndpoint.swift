import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The server's metrics in Prometheus' text format, on their own HTTP port: `GET /metrics`
/// answers 200 with every figure ``ServerMetrics`` lists; any other path is 404 and any other
/// method 405. It listens on 127.0.0.1 unless told otherwise (`dunlind serve --metrics-host`):
/// the figures name tenant ids, which are for the operator only.
///
/// Run it in the same `ServiceGroup` as the ``RPCServer``: it stops at graceful shutdown.
public final class MetricsEndpoint: Service, Sendable {
    public let host: String
    public let port: Int
    public let registry: PrometheusCollectorRegistry
    /// Runs before each scrape is written: what is read rather than counted (the stores' sizes).
    private let refresh: @Sendable () -> Void
    private let logger: Logger
    private let group: any EventLoopGroup
    private let listener = NIOLockedValueBox<Channel?>(nil)
    private let addressWaiters = NIOLockedValueBox(AddressWaiters())

    /// A connection without a request for this long is closed.
    static let idleTimeout = TimeAmount.seconds(60)

    public init(
        host: String = "127.0.0.1", port: Int, registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void = {},
        logger: Logger = Logger(label: "dunlind.metrics"), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.refresh = refresh
        self.logger = logger
        self.group = group
    }

    /// A registry and the server's metrics made on it, with histogram buckets that fit what they
    /// measure: call durations from 50 µs, record counts from 1.
    public static func prometheus() -> (ServerMetrics, PrometheusCollectorRegistry) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ServerMetrics.callDurationLabel] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(30),
        ]
        for label in ServerMetrics.recordCountLabels {
            factory.valueHistogramBuckets[label] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
        }
        return (ServerMetrics(factory: factory), registry)
    }

    /// The address it listens on, once it does.
    public var listeningAddress: SocketAddress {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                addressWaiters.withLockedValue { $0.wait(continuation) }
            }
        }
    }

    public func run() async throws {
        let registry = self.registry
        let refresh = self.refresh
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry, refresh: refresh))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            addressWaiters.withLockedValue { $0.fail(error) }
            throw error
        }
        listener.withLockedValue { $0 = channel }
        let address = channel.localAddress!
        logger.info("metrics listening", metadata: ["address": "\(address)"])
        addressWaiters.withLockedValue { $0.resolve(address) }
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Answers one HTTP/1.1 connection's requests, in order (the pipeline handler keeps them so).
private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () -> Void
    private var request: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void) {
        self.registry = registry
        self.refresh = refresh
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        let body: [UInt8]
        var headers = HTTPHeaders()
        switch (head.method, path) {
        case (.GET, "/metrics"), (.HEAD, "/metrics"):
            refresh()
            status = .ok
            body = registry.emitToBuffer()
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        case (_, "/metrics"):
            status = .methodNotAllowed
            body = Array("GET /metrics only\n".utf8)
            headers.add(name: "Allow", value: "GET, HEAD")
        default:
            status = .notFound
            body = Array("the metrics are at /metrics\n".utf8)
        }
        if status != .ok { headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension ScrapeHandler: Sendable {}
