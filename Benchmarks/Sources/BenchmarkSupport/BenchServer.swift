import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation

/// A tenant served by an in-process server on 127.0.0.1, as the benchmarks that call a real
/// server use it: tenant `t-bench` (base currency USD, time zone UTC), token `bench` a manager of
/// it, logging off.
public enum BenchServer {
    /// The tenant `t-bench` over `store`.
    public static func tenant(_ store: TenantStore) -> TenantHandle {
        TenantHandle(id: "t-bench", store: store, baseCurrency: .usd, timeZone: TimeZone(identifier: "UTC")!)
    }

    /// A real server on 127.0.0.1 (a free port) with `services`; its task ends after
    /// `beginShutdown()`.
    public static func serve(_ services: [any RPCService]) async throws -> (server: RPCServer, serving: Task<Void, any Error>, port: Int) {
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0), services: services,
            authenticator: StaticTokenAuthenticator(["bench": .with { $0.id = "u-bench"; $0.tenantID = "t-bench"; $0.role = "manager" }]),
            logger: quietLogger(label: "bench.dunlind")
        )
        let serving = Task { try await server.run() }
        return (server, serving, try await server.listeningPort)
    }
}
