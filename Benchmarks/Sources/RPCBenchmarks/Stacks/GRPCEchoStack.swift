import DunlinWire
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf

/// grpc-swift-2 over plaintext HTTP/2 (GRPCNIOTransportHTTP2, NIOPosix) on 127.0.0.1.
///
/// Both ends run on NIO's singleton event loop group, as Dunlin's do unless it says otherwise.
struct GRPCEchoStack: EchoStack {
    /// HTTP/2 settings for both ends. `nil` keeps grpc-swift-nio-transport's defaults (16 KiB
    /// frames; 64 KiB server window, 8 MiB client window).
    struct HTTP2Tuning: Sendable {
        var maxFrameSize: Int
        var targetWindowSize: Int
    }

    let name: String
    let tuning: HTTP2Tuning?

    /// grpc-swift-2 compresses nothing unless a call asks for it; these calls don't.
    var compression: String { "none" }

    init(name: String = "grpc-swift-2", tuning: HTTP2Tuning? = nil) {
        self.name = name
        self.tuning = tuning
    }

    func withServer<Result: Sendable>(
        _ body: (_ port: Int) async throws -> Result
    ) async throws -> Result {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .plaintext,
            config: .defaults { config in
                // The 1 MiB streaming messages must fit; the default is 4 MiB, stated for clarity.
                config.rpc.maxRequestPayloadSize = 4 << 20
                if let tuning = self.tuning {
                    config.http2.maxFrameSize = tuning.maxFrameSize
                    config.http2.targetWindowSize = tuning.targetWindowSize
                }
            }
        )
        let server = GRPCServer(transport: transport, services: [GRPCEchoService()])

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            do {
                guard let port = try await transport.listeningAddress.ipv4?.port else {
                    throw BenchmarkError.setup("grpc-swift-2 server is not listening on IPv4")
                }
                let result = try await body(port)
                server.beginGracefulShutdown()
                try await group.waitForAll()
                return result
            } catch {
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
        // One GRPCClient per connection: a client resolves 127.0.0.1:port to one subchannel
        // (pick-first), which is one HTTP/2 connection.
        let clients = try (0..<count).map { _ in
            GRPCClient(
                transport: try HTTP2ClientTransport.Posix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .plaintext,
                    config: .defaults { config in
                        if let tuning = self.tuning {
                            config.http2.maxFrameSize = tuning.maxFrameSize
                            config.http2.targetWindowSize = tuning.targetWindowSize
                        }
                    }
                )
            )
        }

        return try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask { try await client.runConnections() }
            }
            do {
                let result = try await body(clients.map { GRPCEchoConnection(client: $0) })
                for client in clients { client.beginGracefulShutdown() }
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

struct GRPCEchoConnection: EchoConnection {
    let client: GRPCClient<HTTP2ClientTransport.Posix>

    func echo(_ request: Dunlin_V1_EchoRequest) async throws -> Dunlin_V1_EchoResponse {
        try await client.unary(
            request: ClientRequest(message: request),
            descriptor: GRPCDiagnostics.echo,
            serializer: ProtobufSerializer<Dunlin_V1_EchoRequest>(),
            deserializer: ProtobufDeserializer<Dunlin_V1_EchoResponse>(),
            options: .defaults
        ) { response in
            try response.message
        }
    }

    func echoStream(
        _ request: Dunlin_V1_EchoStreamRequest,
        onMessage: @escaping @Sendable (_ payloadBytes: Int) -> Void
    ) async throws {
        try await client.serverStreaming(
            request: ClientRequest(message: request),
            descriptor: GRPCDiagnostics.echoStream,
            serializer: ProtobufSerializer<Dunlin_V1_EchoStreamRequest>(),
            deserializer: ProtobufDeserializer<Dunlin_V1_EchoResponse>(),
            options: .defaults
        ) { response in
            for try await message in response.messages {
                onMessage(message.payload.count)
            }
        }
    }
}
