import DunlinWire

/// Dunlin's own server and client (DunlinServer, DunlinClient) on 127.0.0.1.
///
/// Placeholder until the runtime lands: every use fails with a setup error.
struct DunlinEchoStack: EchoStack {
    let name: String

    func withServer<Result: Sendable>(
        _ body: (_ port: Int) async throws -> Result
    ) async throws -> Result {
        throw BenchmarkError.setup("the Dunlin runtime (DunlinServer/DunlinClient) is not available yet")
    }

    func withConnections<Result: Sendable>(
        port: Int,
        count: Int,
        _ body: ([any EchoConnection]) async throws -> Result
    ) async throws -> Result {
        throw BenchmarkError.setup("the Dunlin runtime (DunlinServer/DunlinClient) is not available yet")
    }
}
