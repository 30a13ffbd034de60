import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinServices
import DunlinStore
import DunlinTLS
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
            failure (e.g. 114 UNAVAILABLE: server unreachable, 116 UNAUTHENTICATED, 104 DEADLINE_EXCEEDED, \
            109 FAILED_PRECONDITION: among others, a replica whose first sync has not finished, \
            reason "not_bootstrapped" in --json).

            TLS: the server's certificate refused is 116 with reason certificate_changed, certificate_expired, \
            certificate_not_yet_valid, certificate_untrusted or certificate_wrong_host; a TLS client against \
            a plain TCP port is 109 (reason server_not_tls), a plain client against a TLS port 109 too.
            """,
        version: DunlinVersion.current,
        subcommands: [
            Ping.self, Echo.self, Info.self,
            Customers.self, Invoices.self, Payments.self, Apply.self, Unapply.self, Entry.self, Ledger.self,
            WorklistCommand.self, SettingsCommand.self, Aging.self, Statement.self, Unapplied.self,
            ReportCommand.self,
            ContactsCommand.self, DisputesCommand.self, PromisesCommand.self, TasksCommand.self, LogCommand.self, ActivitiesCommand.self,
            DunningCommand.self, NoticesCommand.self, EscalationsCommand.self, CashCommand.self, RequestsCommand.self, SQLCommand.self, MetricsCommand.self, RatesCommand.self, CloseCommand.self,
            TicketsCommand.self, TeamsCommand.self,
            Login.self, SyncCommand.self, Status.self, ConflictsCommand.self, ExceptionsCommand.self,
            AdminCommand.self,
        ]
    )

    /// Refuses to start with an unreadable DUNLIN_CLOCK_OFFSET (exit 64), then runs the command.
    static func main() async {
        if let problem = WallClock.environmentProblem {
            FileHandle.standardError.write(Data("dunlin: \(problem)\n".utf8))
            Foundation.exit(64)
        }
        await main(nil)
    }
}

/// A `--timeout` the conversions to milliseconds can take: positive, at most a year.
func validateTimeout(_ seconds: Double) throws {
    guard seconds > 0, seconds <= 31_536_000 else {
        throw ValidationError("--timeout is seconds, more than 0 and at most 31536000; got \(seconds)")
    }
}

/// A token read from a file, or from standard input for "-": the first line, trimmed, so it never
/// has to appear on a command line (where other local users see it in the process list).
func readToken(from path: String) throws -> String {
    let data: Data
    do {
        data = path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw ValidationError("--token-file: cannot read \(path): \(error.localizedDescription)")
    }
    let token = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first
        .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    guard !token.isEmpty else {
        throw ValidationError("--token-file: \(path == "-" ? "standard input" : path) holds no token")
    }
    return token
}

/// Options every command takes. Where a command goes:
/// - `--server` given: straight to that server, with `--token`/DUNLIN_TOKEN;
/// - otherwise, if the profile (`--profile`, DUNLIN_PROFILE, else "default") exists, the
///   receivables and records commands answer from its local replica, offline, and `dunlin sync`
///   reconciles; server-only commands (ping, info, admin) use the profile's server and token;
/// - otherwise the server in DUNLIN_SERVER, else 127.0.0.1:7474.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Server as HOST:PORT (or set DUNLIN_SERVER, used when there is no profile). Given, commands skip the local replica.")
    var server: String?

    @Option(help: "API token (or set DUNLIN_TOKEN). Other local users can see it in the process list: prefer --token-file.")
    var token: String?

    @Option(help: "Read the API token from this file, or from standard input if \"-\".")
    var tokenFile: String?

    @Option(help: "Sync profile (or set DUNLIN_PROFILE; default \"default\"), made by `dunlin login`.")
    var profile: String?

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 10

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @OptionGroup var transport: TransportOptions

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func validate() throws {
        try validateTimeout(timeout)
        if token != nil, tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
    }

    /// The token given on the command line (`--token-file`, else `--token`), else DUNLIN_TOKEN.
    func explicitToken() throws -> String? {
        if let tokenFile { return try readToken(from: tokenFile) }
        return token ?? environment["DUNLIN_TOKEN"]
    }

    var profileName: String { profile ?? environment["DUNLIN_PROFILE"] ?? "default" }

    /// The profile to use, unless a server was named explicitly.
    func activeProfile() throws -> Profile? {
        guard server == nil else { return nil }
        let loaded = try Profile.load(profileName)
        if loaded == nil, profile != nil || environment["DUNLIN_PROFILE"] != nil {
            throw ValidationError("no profile \"\(profileName)\": run `dunlin login --server HOST:PORT --token-file FILE --profile \(profileName)`")
        }
        return loaded
    }

    var serverAddress: String { server ?? environment["DUNLIN_SERVER"] ?? "127.0.0.1:7474" }

    func clientConfiguration() throws -> RPCClient.Configuration {
        let profile = try activeProfile()
        let address = profile?.server ?? serverAddress
        guard let (host, port) = RPCClient.Configuration.hostAndPort(address) else {
            throw ValidationError("--server must be HOST:PORT, got \"\(address)\"")
        }
        return RPCClient.Configuration(
            host: host, port: port,
            token: try explicitToken() ?? profile?.token ?? "",
            connectPatience: .milliseconds(Int64(timeout * 1000)),
            tls: try transport.resolve(host: host, saved: profile?.transport)
        )
    }

    var callOptions: RPCClient.CallOptions { .init(timeout: .milliseconds(Int64(timeout * 1000))) }

    /// Runs `body` with a connected client, mapping failures to a message on stderr and the
    /// documented exit code: for commands only a server can answer.
    func withClient(_ body: (RPCClient) async throws -> Void) async throws {
        bootstrapLogging()
        let client = RPCClient(configuration: try clientConfiguration())
        do {
            try await body(client)
            await client.close()
        } catch {
            await client.close()
            throw report(error)
        }
    }

    /// Runs `body` against the profile's local replica when there is one (see the type's notes),
    /// else against the server.
    func withCaller(_ body: (any UnaryCaller) async throws -> Void) async throws {
        guard let profile = try activeProfile() else { return try await withClient { try await body($0) } }
        bootstrapLogging()
        do {
            try await body(try Replica(profile: profile))
        } catch {
            throw report(error)
        }
    }

    private func bootstrapLogging() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
    }

    /// Prints a failure as text or JSON and returns the exit code for it (100 + status code).
    func report(_ error: any Error) -> any Error {
        let failure: RPCError
        switch error {
        case let error as RPCError: failure = error
        case let error as DomainError: failure = RPCError(error)
        case let error as StoreError: failure = RPCError(error)
        default: return error
        }
        if json {
            var described: [String: Any] = ["code": failure.code.description, "status": Int(failure.code.rawValue), "message": failure.message]
            // What a script branches on beyond the status, e.g. "not_bootstrapped".
            if let reason = failure.details.first(where: { !$0.reason.isEmpty })?.reason { described["reason"] = reason }
            printJSON(["error": described])
        } else {
            FileHandle.standardError.write(Data("dunlin: \(failure.code): \(terminalSafe(failure.message))\n".utf8))
        }
        return ExitCode(100 + Int32(failure.code.rawValue))
    }
}

/// How to reach the server: TLS and how its certificate is verified, or plain TCP (PROTOCOL.md
/// §2.1). Given options win; then DUNLIN_FINGERPRINT or DUNLIN_CA_FILE; then what the profile
/// saved at login; then the host decides (plain TCP to a loopback address, TLS verified by the
/// system's trust store elsewhere).
struct TransportOptions: ParsableArguments {
    @Option(help: "The server certificate's SHA-256 fingerprint to pin (or set DUNLIN_FINGERPRINT): TLS, and only that certificate is accepted.")
    var fingerprint: String?

    @Option(help: "Trust server certificates signed by a CA in this PEM file (or set DUNLIN_CA_FILE): TLS.")
    var caFile: String?

    @Flag(help: "TLS verified by the system's trust store (/etc/ssl/certs), also to a loopback address.")
    var tls = false

    @Flag(help: "Plain TCP to a server that is not on a loopback address. Tokens and data cross the network in clear.")
    var insecurePlaintext = false

    @Option(help: "A PEM client certificate, for a tenant whose server asks for one (mutual TLS).")
    var clientCert: String?

    @Option(help: "The PEM private key of --client-cert.")
    var clientKey: String?

    /// What was asked on the command line, else in the environment, else `saved`.
    func request(saved: TransportRequest?) throws -> TransportRequest {
        let environment = ProcessInfo.processInfo.environment
        var parsedFingerprint: CertificateFingerprint?
        if let fingerprint {
            guard let parsed = CertificateFingerprint(fingerprint) else {
                throw ValidationError("--fingerprint is a SHA-256 fingerprint, 64 hex digits (\"sha256:\" and colons allowed); got \"\(fingerprint)\"")
            }
            parsedFingerprint = parsed
        }
        let given = TransportRequest(
            fingerprint: parsedFingerprint, caFile: caFile, tls: tls ? true : nil, insecurePlaintext: insecurePlaintext ? true : nil,
            clientCertificateFile: clientCert, clientKeyFile: clientKey
        )
        if !given.isEmpty { return given }
        if let saved, !saved.isEmpty { return saved }
        if let text = environment["DUNLIN_FINGERPRINT"], !text.isEmpty {
            guard let parsed = CertificateFingerprint(text) else {
                throw ValidationError("DUNLIN_FINGERPRINT is not a SHA-256 fingerprint: \"\(text)\"")
            }
            return TransportRequest(fingerprint: parsed)
        }
        if let file = environment["DUNLIN_CA_FILE"], !file.isEmpty { return TransportRequest(caFile: file) }
        return TransportRequest()
    }

    /// TLS settings for `host`, or nil for plain TCP; a contradiction exits 64.
    func resolve(host: String, saved: TransportRequest?) throws -> ClientTLS? {
        do {
            return try request(saved: saved).resolve(host: host)
        } catch let error as TransportConfigurationError {
            throw ValidationError(error.message)
        }
    }
}

/// Every item of a paged list (PROTOCOL.md §16.1, "Paging"), in order: `page` reads the page
/// after a cursor ("" for the first) and answers its items and the next cursor ("" after the last).
func everyPage<Item>(_ page: (_ cursor: String) async throws -> (items: [Item], next: String)) async throws -> [Item] {
    var items: [Item] = []
    var cursor = ""
    repeat {
        let (more, next) = try await page(cursor)
        items += more
        cursor = next
    } while !cursor.isEmpty
    return items
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
                printJSON(["server": connection.serverAddress, "server_version": response.serverVersion, "round_trip_us": micros])
            } else {
                say("pong from \(connection.serverAddress): dunlind \(response.serverVersion), \(String(format: "%.2f", Double(micros) / 1000)) ms")
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
        if connection.json { printJSON(["echo": text]) } else { say(text) }
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
                    say(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
                }
                say("methods")
                for method in info.methods { say("  " + method) }
            }
        }
    }
}
