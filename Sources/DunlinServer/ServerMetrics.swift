import CoreMetrics
import DunlinServices
import DunlinWire
import NIOConcurrencyHelpers
import NIOCore

/// The server's figures, made through swift-metrics' API on the factory it is given (dunlind gives
/// a Prometheus one and serves it with ``MetricsEndpoint``).
///
/// Every name and label is fixed here, so the set of series is bounded: a method is a path the
/// router answers ("unrouted" for any other), a status is a status name, a refusal reason is a
/// GOAWAY reason, a refused call's detail reason (a tenant limit's, say) or "call_refused", and
/// the only other label is the tenant id. No token, user,
/// customer or amount ever becomes a label.
///
/// | name | type | labels | what |
/// | --- | --- | --- | --- |
/// | `dunlin_connections_total` | counter | | connections accepted |
/// | `dunlin_connections_open` | gauge | | connections open now |
/// | `dunlin_calls_total` | counter | method, status | calls ended, by how |
/// | `dunlin_call_duration_seconds` | histogram | method | from the call's open to its end |
/// | `dunlin_bytes_received_total`, `dunlin_bytes_sent_total` | counter | | socket bytes |
/// | `dunlin_refused_total` | counter | reason | connections closed for a protocol error, a refused credential or a handshake timeout, and calls refused before they ran |
/// | `dunlin_replicas_open` | gauge | tenant | connections that named a replica at HELLO |
/// | `dunlin_sync_pushes_total`, `dunlin_sync_pulls_total` | counter | tenant | pushes, and pulls and bootstraps |
/// | `dunlin_sync_push_records`, `dunlin_sync_pull_records` | histogram | tenant | records per push, per pull |
/// | `dunlin_imported_total` | counter | tenant, what | entries and bank receipts imported (their rate is the import rate) |
/// | `dunlin_store_bytes` | gauge | tenant | a tenant's database file with its write-ahead log, at the scrape |
public final class ServerMetrics: Sendable {
    public let factory: any MetricsFactory

    let connectionsAccepted: Counter
    let connectionsOpen: Meter
    let bytesReceived: Counter
    let bytesSent: Counter

    /// Found again on every call by method and status, or by method: keys that build nothing.
    private let calls = Made<CallKey, Counter>()
    private let timers = Made<String, CoreMetrics.Timer>()
    private let counters = Made<Labels, Counter>()
    private let meters = Made<Labels, Meter>()
    private let recorders = Made<Labels, Recorder>()

    private struct CallKey: Hashable {
        var method: String
        var status: StatusCode
    }

    /// The call-duration histogram, whose buckets ``MetricsEndpoint`` sets finer than the
    /// Prometheus factory's default (which starts at 5 ms; a call here takes 50 µs).
    public static let callDurationLabel = "dunlin_call_duration_seconds"
    /// Records per push and per pull, whose buckets ``MetricsEndpoint`` sets for the same reason.
    public static let recordCountLabels = ["dunlin_sync_push_records", "dunlin_sync_pull_records"]

    public init(factory: any MetricsFactory) {
        self.factory = factory
        connectionsAccepted = Counter(label: "dunlin_connections_total", factory: factory)
        connectionsOpen = Meter(label: "dunlin_connections_open", factory: factory)
        bytesReceived = Counter(label: "dunlin_bytes_received_total", factory: factory)
        bytesSent = Counter(label: "dunlin_bytes_sent_total", factory: factory)
    }

    /// A call ended with `status` after `nanoseconds`. `method` is a routed path, or nil for a
    /// path the router does not know.
    func callEnded(method: String?, status: StatusCode, nanoseconds: Int64) {
        let method = method ?? "unrouted"
        calls.metric(CallKey(method: method, status: status)) {
            Counter(label: "dunlin_calls_total", dimensions: [("method", method), ("status", status.description)], factory: factory)
        }.increment()
        timers.metric(method) {
            CoreMetrics.Timer(label: Self.callDurationLabel, dimensions: [("method", method)], factory: factory)
        }.recordNanoseconds(nanoseconds)
    }

    /// A connection was closed for a protocol error or a refused handshake (`reason`: the GOAWAY
    /// reason), or a call was refused before it ran ("call_refused").
    func refused(_ reason: String) {
        counters.metric("dunlin_refused_total", [("reason", reason)]) { Counter(label: $0, dimensions: $1, factory: factory) }.increment()
    }

    func replicaOpened(tenant: String) { replicasOpen(tenant).increment() }
    func replicaClosed(tenant: String) { replicasOpen(tenant).decrement() }

    private func replicasOpen(_ tenant: String) -> Meter {
        meters.metric("dunlin_replicas_open", [("tenant", tenant)]) { Meter(label: $0, dimensions: $1, factory: factory) }
    }

    /// Sets a tenant's store size (``MetricsEndpoint`` asks for it before each scrape).
    public func storeSize(tenant: String, bytes: Int) {
        meters.metric("dunlin_store_bytes", [("tenant", tenant)]) { Meter(label: $0, dimensions: $1, factory: factory) }.set(bytes)
    }

    private func tenantCounter(_ name: String, _ dimensions: [(String, String)]) -> Counter {
        counters.metric(name, dimensions) { Counter(label: $0, dimensions: $1, factory: factory) }
    }

    private func tenantRecorder(_ name: String, _ tenant: String) -> Recorder {
        recorders.metric(name, [("tenant", tenant)]) { Recorder(label: $0, dimensions: $1, aggregate: true, factory: factory) }
    }
}

extension ServerMetrics: WorkObserver {
    public func observe(_ work: CallWork, tenant: String) {
        switch work {
        case .pushed(let records):
            tenantCounter("dunlin_sync_pushes_total", [("tenant", tenant)]).increment()
            tenantRecorder("dunlin_sync_push_records", tenant).record(records)
        case .pulled(let records):
            tenantCounter("dunlin_sync_pulls_total", [("tenant", tenant)]).increment()
            tenantRecorder("dunlin_sync_pull_records", tenant).record(records)
        case .imported(let count, let what):
            tenantCounter("dunlin_imported_total", [("tenant", tenant), ("what", what.rawValue)]).increment(by: count)
        }
    }
}

/// A metric's name and labels, as a key.
private struct Labels: Hashable {
    var name: String
    var labels: [String]
}

/// Metrics of one kind made once per key, then found again: a swift-metrics handle costs a
/// registry lookup to make, and the server asks for one on every call.
private final class Made<Key: Hashable & Sendable, Metric: Sendable>: Sendable {
    private let made = NIOLockedValueBox([Key: Metric]())

    func metric(_ key: Key, make: () -> Metric) -> Metric {
        made.withLockedValue { made in
            if let metric = made[key] { return metric }
            let metric = make()
            made[key] = metric
            return metric
        }
    }
}

extension Made where Key == Labels {
    func metric(_ name: String, _ dimensions: [(String, String)], make: (String, [(String, String)]) -> Metric) -> Metric {
        metric(Labels(name: name, labels: dimensions.flatMap { [$0.0, $0.1] })) { make(name, dimensions) }
    }
}

/// Counts the bytes a connection's socket reads and writes, first in the pipeline (what TLS or
/// compression make of them is counted as it crosses the socket).
final class ByteCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: ServerMetrics

    init(_ metrics: ServerMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        metrics.bytesReceived.increment(by: unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        metrics.bytesSent.increment(by: unwrapOutboundIn(data).readableBytes)
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ByteCountingHandler: Sendable {}
