import DunlinClient
import DunlinServer
import DunlinStore
import DunlinWire
import Logging

/// Dunlin's own server and client (DunlinServer's `RPCServer` with its `DiagnosticsService`,
/// DunlinClient's `RPCClient`) on 127.0.0.1, authenticated with a static token because Echo is not
/// a pre-authentication method.
struct DunlinEchoStack: EchoStack {
    let name: String
    /// Whether messages of 1 KiB or more are deflated (the runtime's default is to deflate both
    /// ways). The 64-byte unary calls are below the threshold either way.
    let deflate: Bool
    /// The per-stream window the client grants the server (`ConnectionLimits.initialWindow`);
    /// nil keeps the runtime's default (1 MiB).
    var clientWindow: Int? = nil
    /// Whether the server keeps Prometheus metrics and holds the tenant to its limits, as
    /// `dunlind serve --data … --metrics-port` does (limits high enough never to refuse a call).
    var metered = false

    var compression: String { deflate ? "deflate" : "none" }

    private static let token = "benchmark-token"

    /// The log handler `dunlind` bootstraps (StreamLogHandler on stderr), at warning level so no
    /// line is written on the measured paths. What the runtime does with its logger per call
    /// (setting metadata, say) is still paid, as it is in `dunlind`.
    private static var logger: Logger {
        var logger = Logger(label: "benchmark.dunlin") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return logger
    }

    func withServer<Result: Sendable>(
        _ body: (_ port: Int) async throws -> Result
    ) async throws -> Result {
        var principal = Dunlin_V1_Principal()
        principal.id = "u-benchmark"
        principal.name = "Benchmark"
        principal.tenantID = "t-benchmark"
        principal.role = "analyst"
        let server = RPCServer(
            configuration: RPCServer.Configuration(
                host: "127.0.0.1",
                port: 0,
                compressResponses: deflate,
                shutdownGracePeriod: .seconds(5)
            ),
            services: [DiagnosticsService()],
            authenticator: StaticTokenAuthenticator([Self.token: principal]),
            logger: Self.logger,
            metrics: metered ? MetricsEndpoint.prometheus().0 : nil,
            tenantGate: metered
                ? TenantGate { _ in TenantLimits(maxCalls: 1 << 20, maxStreams: 1 << 20, callsPerSecond: Int(Int32.max), maxImportBytes: 1 << 30) }
                : nil
        )

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            do {
                let port = try await server.listeningPort
                let result = try await body(port)
                server.beginShutdown()
                try await group.waitForAll()
                return result
            } catch {
                server.beginShutdown()
                group.cancelAll()
                throw error
            }
        }
    }

    func withConnections<Result: Sendable>(
        port: Int,
        count: Int,
        _ body: ([any EchoConnection]) async throws -> Result
    ) async throws -> Result {
        // One RPCClient holds one connection.
        var limits = ConnectionLimits.defaults
        if let clientWindow { limits.initialWindow = clientWindow }
        let clients = (0..<count).map { _ in
            RPCClient(
                configuration: RPCClient.Configuration(
                    host: "127.0.0.1",
                    port: port,
                    token: Self.token,
                    limits: limits,
                    compressRequests: deflate
                ),
                logger: Self.logger
            )
        }
        do {
            for client in clients { try await client.connect() }
            let result = try await body(clients.map { DunlinEchoConnection(client: $0) })
            for client in clients { await client.close() }
            return result
        } catch {
            for client in clients { await client.close() }
            throw error
        }
    }
}

struct DunlinEchoConnection: EchoConnection {
    let client: RPCClient

    func echo(_ request: Dunlin_V1_EchoRequest) async throws -> Dunlin_V1_EchoResponse {
        try await client.unary(Diagnostics.echo, request)
    }

    func echoStream(
        _ request: Dunlin_V1_EchoStreamRequest,
        onMessage: @escaping @Sendable (_ payloadBytes: Int) -> Void
    ) async throws {
        for try await message in client.serverStreaming(Diagnostics.echoStream, request) {
            onMessage(message.payload.count)
        }
    }
}
