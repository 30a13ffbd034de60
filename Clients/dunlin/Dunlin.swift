import ArgumentParser
import DunlinClient
import DunlinWire
import Foundation
import Logging

@main
struct Dunlin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dunlin",
        abstract: "The Dunlin collections client.",
        discussion: """
            Exit codes: 0 success; 64 usage error; otherwise 100 + the gRPC status code of the \
            failure (e.g. 114 UNAVAILABLE: server unreachable, 116 UNAUTHENTICATED, 104 DEADLINE_EXCEEDED).
            """,
        version: "0.1.0",
        subcommands: [
            Ping.self, Echo.self, Info.self,
            Customers.self, Invoices.self, Payments.self, Apply.self, Unapply.self, Entry.self, Ledger.self,
            Aging.self, Statement.self, Unapplied.self,
            ContactsCommand.self, DisputesCommand.self, PromisesCommand.self, TasksCommand.self, LogCommand.self, ActivitiesCommand.self,
            AdminCommand.self,
        ]
    )
}

/// Options every command that talks to a server takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server as HOST:PORT (or set DUNLIN_SERVER).")
    var server = ProcessInfo.processInfo.environment["DUNLIN_SERVER"] ?? "127.0.0.1:7474"

    @Option(help: "API token (or set DUNLIN_TOKEN).")
    var token: String?

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func clientConfiguration() throws -> RPCClient.Configuration {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be HOST:PORT, got \"\(server)\"")
        }
        var host = String(server[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return RPCClient.Configuration(
            host: host, port: port,
            token: token ?? ProcessInfo.processInfo.environment["DUNLIN_TOKEN"] ?? "",
            connectPatience: .milliseconds(Int64(timeout * 1000))
        )
    }

    var callOptions: RPCClient.CallOptions { .init(timeout: .milliseconds(Int64(timeout * 1000))) }

    /// Runs `body` with a connected client, mapping failures to a message on stderr and the
    /// documented exit code.
    func withClient(_ body: (RPCClient) async throws -> Void) async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let client = RPCClient(configuration: try clientConfiguration())
        do {
            try await body(client)
            await client.close()
        } catch let error as RPCError {
            await client.close()
            if json {
                let object: [String: Any] = ["error": ["code": error.code.description, "status": Int(error.code.rawValue), "message": error.message]]
                printJSON(object)
            } else {
                FileHandle.standardError.write(Data("dunlin: \(error.code): \(error.message)\n".utf8))
            }
            throw ExitCode(100 + Int32(error.code.rawValue))
        }
    }
}

func printJSON(_ object: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that a server answers (no credential needed).")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let start = ContinuousClock.now
            let response = try await client.unary(Diagnostics.ping, .init(), options: connection.callOptions)
            let elapsed = ContinuousClock.now - start
            let micros = elapsed.microseconds
            if connection.json {
                printJSON(["server": connection.server, "server_version": response.serverVersion, "round_trip_us": micros])
            } else {
                print("pong from \(connection.server): dunlind \(response.serverVersion), \(String(format: "%.2f", Double(micros) / 1000)) ms")
            }
        }
    }
}

struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a message and print the server's echo (needs a credential).")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Text to echo.")
    var text: String

    @Option(help: "Ask the server to stream the echo this many times.")
    var count: UInt32 = 1

    func run() async throws {
        try await connection.withClient { client in
            if count == 1 {
                var request = Dunlin_V1_EchoRequest()
                request.payload = Data(text.utf8)
                let response = try await client.unary(Diagnostics.echo, request, options: connection.callOptions)
                output(response.payload)
            } else {
                var request = Dunlin_V1_EchoStreamRequest()
                request.payload = Data(text.utf8)
                request.count = count
                for try await response in client.serverStreaming(Diagnostics.echoStream, request, options: connection.callOptions) {
                    output(response.payload)
                }
            }
        }
    }

    private func output(_ payload: Data) {
        let text = String(decoding: payload, as: UTF8.self)
        if connection.json { printJSON(["echo": text]) } else { print(text) }
    }
}

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the server's version, protocol range, limits and methods.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let info = try await client.unary(Diagnostics.info, .init(), options: connection.callOptions)
            let limits = info.limits
            if connection.json {
                printJSON([
                    "server_version": info.serverVersion,
                    "protocol": ["min": info.minProtocolVersion, "max": info.maxProtocolVersion],
                    "limits": [
                        "max_frame_size": limits.maxFrameSize, "max_message_size": limits.maxMessageSize,
                        "max_metadata_size": limits.maxMetadataSize, "max_concurrent_streams": limits.maxConcurrentStreams,
                        "initial_window": limits.initialWindow, "idle_timeout_ms": limits.idleTimeoutMs,
                        "min_ping_interval_ms": limits.minPingIntervalMs, "handshake_timeout_ms": limits.handshakeTimeoutMs,
                    ],
                    "compression": info.compression,
                    "methods": info.methods,
                ])
            } else {
                let rows: [(String, String)] = [
                    ("server", "dunlind \(info.serverVersion)"),
                    ("protocol", "\(info.minProtocolVersion)...\(info.maxProtocolVersion)"),
                    ("max frame", "\(limits.maxFrameSize) bytes"),
                    ("max message", "\(limits.maxMessageSize) bytes"),
                    ("max metadata", "\(limits.maxMetadataSize) bytes"),
                    ("concurrent calls", "\(limits.maxConcurrentStreams) per connection"),
                    ("stream window", "\(limits.initialWindow) bytes"),
                    ("idle timeout", "\(limits.idleTimeoutMs) ms"),
                    ("min ping interval", "\(limits.minPingIntervalMs) ms"),
                    ("handshake timeout", "\(limits.handshakeTimeoutMs) ms"),
                    ("compression", info.compression.joined(separator: ", ")),
                ]
                let width = rows.map(\.0.count).max() ?? 0
                for (name, value) in rows {
                    print(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
                }
                print("methods")
                for method in info.methods { print("  " + method) }
            }
        }
    }
}
