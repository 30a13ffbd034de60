import ArgumentParser
import DunlinServices
import DunlinCore
import Foundation
import DunlinServer
import DunlinStore
import DunlinTLS
import DunlinWire
import Logging
import ServiceLifecycle

@main
struct Dunlind: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dunlind",
        abstract: "The Dunlin accounts-receivable server.",
        version: DunlinVersion.current,
        subcommands: [Serve.self, Init.self, Demo.self, CertificateCommand.self, ClientCACommand.self, Check.self, Backup.self, Restore.self],
        defaultSubcommand: Serve.self
    )

    /// Refuses to start with an unreadable DUNLIN_CLOCK_OFFSET (exit 64), then runs the command.
    static func main() async {
        if let problem = WallClock.environmentProblem {
            FileHandle.standardError.write(Data("dunlind: \(problem)\n".utf8))
            Foundation.exit(64)
        }
        await main(nil)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the Dunlin protocol until SIGTERM or SIGINT.",
        discussion: """
            On SIGTERM or SIGINT the server stops accepting connections, sends every client GOAWAY, \
            lets calls in flight finish (up to --grace-period seconds) and exits 0.

            TLS: with --tls-cert and --tls-key, or the data directory's own certificate (made by \
            `dunlind init`), the server speaks TLS (ALPN dunlin/1). Without a certificate it serves plain \
            TCP on a loopback address only; elsewhere it refuses to start (exit 64) unless given \
            --insecure-plaintext.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port and prints it).")
    var port = RPCServer.Configuration.defaultPort

    @Option(help: "PEM certificate chain (leaf first) to serve TLS with, instead of the data directory's own.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Serve plain TCP even with a certificate, on any address (behind a TLS-terminating proxy). Tokens and data cross the network in clear.")
    var insecurePlaintext = false

    @Option(help: "Seconds calls in flight may take to finish after SIGTERM.")
    var gracePeriod = 30

    @Option(help: "Largest frame payload accepted, in bytes.")
    var maxFrameSize = ConnectionLimits.defaults.maxFrameSize

    @Option(help: "Calls open at once per connection.")
    var maxConcurrentStreams = ConnectionLimits.defaults.maxConcurrentStreams

    @Option(help: "Seconds a connection may stay without calls before it is closed.")
    var idleTimeout = 300

    @Option(help: "Data directory made by `dunlind init`: control database and tenant files. Without it the server holds no tenants and accepts only --dev-token credentials.")
    var data: String?

    @Option(
        name: .customLong("dev-token"),
        help: "A token that authenticates as a development analyst (repeatable). Until tenants and users exist, the only way to call methods that need a credential."
    )
    var devTokens: [String] = []

    @Option(help: "Longest lifetime, in days, of a token issued or rotated with an expiry (a token without one is only made on request).")
    var maxTokenLifetime = Int(ControlStore.defaultMaxTokenLifetime / 86_400_000)

    @Option(help: "The mail command released emails are handed to, words separated by spaces, run without a shell; it reads the message on stdin and takes the recipients from its headers (sendmail -t).")
    var sendmail = Sendmail.standard.joined(separator: " ")

    @Option(help: "Where letters and copies of emails are written, a folder per tenant (default: <data>/outbox).")
    var outbox: String?

    @Option(help: "The From address of emails of a tenant whose letterhead names no email.")
    var mailFrom = "dunlin@localhost"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// How log lines are written to standard error.
    enum LogFormat: String, ExpressibleByArgument, CaseIterable {
        /// swift-log's text lines, for a person at a terminal.
        case text
        /// One JSON object per line (``JSONLinesLogHandler``), for journald and log shippers.
        case json
    }

    @Option(help: "Log lines on standard error: text, or json (one JSON object per line, keys sorted).")
    var logFormat: LogFormat = .text

    @Option(help: "Serve the server's metrics in Prometheus' text format at http://<metrics-host>:<port>/metrics (0 picks a free port and prints it). Without it, no metrics are kept.")
    var metricsPort: Int?

    @Option(help: "Calls one tenant's callers may have open at once, across all connections (a tenant's own limit, set with `dunlin admin tenant limits`, takes precedence).")
    var tenantMaxCalls = TenantLimits.defaults.maxCalls

    @Option(help: "Of those, streaming calls (syncs, watches, imports, exports) one tenant may have open at once.")
    var tenantMaxStreams = TenantLimits.defaults.maxStreams

    @Option(help: "Calls one tenant may open per second, sustained (a burst of two seconds' worth is let through).")
    var tenantCallsPerSecond = TenantLimits.defaults.callsPerSecond

    @Option(help: "MiB of requests one import call of a tenant may send.")
    var tenantMaxImportMb = Int(TenantLimits.defaults.maxImportBytes >> 20)

    /// The --tenant-* options, checked: each positive, streams no more than calls, the import size
    /// in bytes without overflow.
    func tenantLimitDefaults() throws -> TenantLimits {
        guard tenantMaxImportMb > 0, tenantMaxImportMb <= Int(Int64.max >> 20) else {
            throw ValidationError("--tenant-max-import-mb is a positive number of MiB; got \(tenantMaxImportMb)")
        }
        let limits = TenantLimits(
            maxCalls: tenantMaxCalls, maxStreams: tenantMaxStreams, callsPerSecond: tenantCallsPerSecond, maxImportBytes: Int64(tenantMaxImportMb) << 20
        )
        if let problem = TenantLimits.problem(limits) {
            let option = [
                "max_calls": "--tenant-max-calls", "max_streams": "--tenant-max-streams",
                "calls_per_second": "--tenant-calls-per-second", "max_import_bytes": "--tenant-max-import-mb",
            ][problem.field] ?? problem.field
            throw ValidationError("\(option): \(problem.message)")
        }
        return limits
    }

    @Option(help: "Address the metrics listen on. They name tenant ids: keep them on loopback or a private network.")
    var metricsHost = "127.0.0.1"

    /// --max-token-lifetime in milliseconds, converted with checks.
    func maxTokenLifetimeMilliseconds() throws -> Int64 {
        guard maxTokenLifetime > 0, let days = Int64(exactly: maxTokenLifetime),
              case let (milliseconds, overflow) = days.multipliedReportingOverflow(by: 86_400_000), !overflow else {
            throw ValidationError("--max-token-lifetime is a positive number of days; got \(maxTokenLifetime)")
        }
        return milliseconds
    }

    static var developmentPrincipal: Dunlin_V1_Principal {
        var principal = Dunlin_V1_Principal()
        principal.id = "dev"
        principal.name = "Development analyst"
        principal.tenantID = "dev"
        principal.role = "analyst"
        return principal
    }

    func run() async throws {
        try await serve()
    }

    /// Serves until SIGTERM or SIGINT. `onListening` runs once the socket is bound, with the port
    /// it listens on (the one the system chose for `--port 0`), before the "dunlind listening on"
    /// line: `dunlind demo` writes its hints there, so they name the real port.
    func serve(onListening: (@Sendable (_ port: Int) -> Void)? = nil) async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level is one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")); got \(logLevel)")
        }
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLinesLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "dunlind")
        let tls: ServerTLS?
        do {
            tls = try ServerTransport.choose(
                host: host, certificateFile: tlsCert, keyFile: tlsKey, dataDirectory: data.map { URL(fileURLWithPath: $0) },
                insecurePlaintext: insecurePlaintext
            )
        } catch {
            throw ValidationError(error.message)
        }
        var limits = ConnectionLimits.defaults
        limits.maxFrameSize = maxFrameSize
        limits.maxMessageSize = maxFrameSize
        limits.maxConcurrentStreams = maxConcurrentStreams
        limits.idleTimeout = .seconds(idleTimeout)
        var services: [any RPCService] = [DiagnosticsService()]
        var scheduledRuns: ScheduledDunningRuns?
        var storeSizes: (@Sendable (ServerMetrics) -> Void)?
        var tenantGate: TenantGate?
        let limitDefaults = try tenantLimitDefaults()
        var clientCertificates: (any ClientCertificatePolicy)?
        var authenticator: any Authenticator = StaticTokenAuthenticator(
            Dictionary(devTokens.map { ($0, Self.developmentPrincipal) }, uniquingKeysWith: { first, _ in first })
        )
        if let data {
            guard devTokens.isEmpty else {
                throw ValidationError("--dev-token is for a server without --data; with --data, issue tokens with `dunlin admin token issue`")
            }
            let control: ControlStore
            do {
                control = try ControlStore(URL(fileURLWithPath: data), maxTokenLifetime: try maxTokenLifetimeMilliseconds())
            } catch let error as ControlError {
                FileHandle.standardError.write(Data("dunlind: \(error.message)\n".utf8))
                throw ExitCode(100 + Int32(StatusCode.failedPrecondition.rawValue))
            }
            let tenants = try TenantDirectory(control: control, logger: Logger(label: "dunlind.tenants"))
            guard let mailCommand = Sendmail(commandLine: sendmail) else { throw ValidationError("--sendmail names no command") }
            if !mailCommand.isInstalled {
                logger.warning(
                    "no mail command: released emails wait in the queue (notices show why) until one is given",
                    metadata: ["sendmail": "\(sendmail)", "hint": "install an MTA, or --sendmail \"msmtp -t -i\""]
                )
            }
            let delivery = NoticeDelivery(
                configuration: DeliveryConfiguration(
                    sendmail: mailCommand, outbox: outbox.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: data).appendingPathComponent("outbox"),
                    from: mailFrom
                ),
                directory: DeliveryDirectory(
                    person: { tenantID, userID in
                        guard let user = try? control.user(userID), user.tenantID == tenantID else { return nil }
                        return NoticePerson(name: user.name, email: user.email)
                    },
                    tenantName: { tenantID in (try? control.tenant(tenantID))?.name ?? tenantID }
                )
            )
            services += [
                AdminService(tenants: tenants, limitDefaults: limitDefaults), ReceivablesService(tenants: tenants), RecordsService(tenants: tenants),
                DunningService(tenants: tenants, authority: true, delivery: delivery), CashService(tenants: tenants, authority: true),
                CloseService(tenants: tenants, authority: true),
                SyncService(tenants: tenants),
            ]
            authenticator = TokenAuthenticator(control: control)
            storeSizes = { metrics in Self.reportStoreSizes(control, to: metrics) }
            tenantGate = TenantGate(defaults: limitDefaults, control: control)
            clientCertificates = TenantClientCertificates { try control.clientCertificateAuthorities(tenantID: $0) }
            scheduledRuns = ScheduledDunningRuns(tenants: tenants, delivery: delivery)
        }
        var metrics: ServerMetrics?
        var metricsEndpoint: MetricsEndpoint?
        if let metricsPort {
            guard (0...65_535).contains(metricsPort) else { throw ValidationError("--metrics-port is 0 to 65535; got \(metricsPort)") }
            let (made, registry) = MetricsEndpoint.prometheus()
            let sizes = storeSizes
            metricsEndpoint = MetricsEndpoint(host: metricsHost, port: metricsPort, registry: registry, refresh: { sizes?(made) })
            metrics = made
        }
        let server = RPCServer(
            configuration: .init(host: host, port: port, limits: limits, shutdownGracePeriod: .seconds(gracePeriod), tls: tls),
            services: services,
            authenticator: authenticator,
            clientCertificates: clientCertificates,
            logger: logger,
            metrics: metrics,
            tenantGate: tenantGate
        )
        var lifecycle: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
        if let scheduledRuns { lifecycle.append(.init(service: scheduledRuns)) }
        if let metricsEndpoint {
            lifecycle.append(.init(service: metricsEndpoint))
            Task {
                if let address = try? await metricsEndpoint.listeningAddress {
                    let line = "dunlind metrics on http://\(address.ipAddress ?? metricsHost):\(address.port ?? 0)/metrics\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                }
            }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: lifecycle,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        // Read before listening: a certificate file that is not one stops the server here.
        let fingerprint: CertificateFingerprint?
        do {
            fingerprint = try tls?.fingerprint()
        } catch {
            throw ValidationError("\(error)")
        }
        // An expired or not yet valid certificate is served, with a warning naming its dates:
        // clients judge the dates by their own clocks (PROTOCOL.md §2.1).
        if let warning = try? tls?.datesWarning(at: WallClock.system.now()) {
            logger.warning("\(warning)")
        }
        Task {
            if let address = try? await server.listeningAddress {
                onListening?(address.port ?? port)
                // One line on stdout, so scripts (and tests) can find the port; with TLS, then the
                // certificate's fingerprint, the one clients pin.
                var line = "dunlind listening on \(address.ipAddress ?? host):\(address.port ?? port)\n"
                if let fingerprint { line += "dunlind TLS certificate \(fingerprint)\n" }
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        try await group.run()
    }
}

extension Serve {
    /// Each live tenant's database file with its write-ahead log, as the metrics' store sizes.
    static func reportStoreSizes(_ control: ControlStore, to metrics: ServerMetrics) {
        for tenant in (try? control.allTenants()) ?? [] {
            let file = control.tenantFile(tenant.id).path
            let bytes = [file, file + "-wal"].reduce(0) { sum, path in
                sum + ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0)
            }
            metrics.storeSize(tenant: tenant.id, bytes: bytes)
        }
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a data directory: the control database and a server admin, whose token is printed once.",
        discussion: """
            The token is shown only now: the server keeps its SHA-256, never the token. Keep it like a \
            password; with it, `dunlin admin ...` creates tenants, their users and their tokens. Refuses a \
            directory that already holds a control database (exit 109, FAILED_PRECONDITION).

            It also makes the server's self-signed TLS certificate, DIR/tls/server-cert.pem with its key \
            DIR/tls/server-key.pem (0600), valid 825 days for localhost, 127.0.0.1, ::1, this machine's \
            host name and every --tls-name, and prints its SHA-256 fingerprint: clients pin it at \
            `dunlin login`. `dunlind certificate` replaces it.

            With --tls-cert and --tls-key it makes none and keeps the given pair there instead (a CA's \
            certificate chain, leaf first, and its key), after checking both files are PEM and the key is \
            the certificate's: a file that is not, or a key of another certificate, exits 103 \
            (INVALID_ARGUMENT) naming it, before anything is created. A certificate out of its dates \
            is kept, with a warning naming them.
            """
    )

    @Option(help: "The data directory to create (or an empty one to fill).")
    var data: String

    @Option(help: "The server admin's name.")
    var adminName = "Server admin"

    @Option(help: "The server admin's email (optional).")
    var adminEmail = ""

    @Option(name: .customLong("tls-name"), help: "Another host name or address clients reach the server by, put in its certificate (repeatable).")
    var tlsNames: [String] = []

    @Option(help: "PEM certificate chain (leaf first) to keep as the server's, instead of making a self-signed one.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give --tls-cert and --tls-key together") }
        if tlsCert != nil, !tlsNames.isEmpty { throw ValidationError("--tls-name names a self-signed certificate; a given --tls-cert keeps its own names") }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: data)
        // A given pair is checked before anything is created.
        if let tlsCert, let tlsKey {
            do {
                let (chain, _) = try CertificateAndKey.read(certificateFile: tlsCert, keyFile: tlsKey)
                if let problem = chain[0].datesProblem(at: WallClock.system.now()) {
                    FileHandle.standardError.write(Data("dunlind init: warning: the certificate \(tlsCert) \(problem)\n".utf8))
                }
            } catch {
                FileHandle.standardError.write(Data("dunlind init: \(error)\n".utf8))
                throw ExitCode(100 + Int32(StatusCode.invalidArgument.rawValue))
            }
        }
        let token: IssuedToken
        do {
            (_, token) = try ControlStore.initialize(directory, adminName: adminName, adminEmail: adminEmail)
        } catch let error as ControlError {
            FileHandle.standardError.write(Data("dunlind: \(error.message)\n".utf8))
            throw ExitCode(100 + Int32(RPCError(error).code.rawValue))
        }
        let files = ServerCertificateFiles(dataDirectory: directory)
        let fingerprint = if let tlsCert, let tlsKey {
            try files.install(certificateFile: tlsCert, keyFile: tlsKey)
        } else {
            try files.createSelfSigned(names: tlsNames)
        }
        if json {
            let object: [String: String] = [
                "data": directory.path, "user_id": token.record.userID, "token_id": token.record.id, "token": token.token.plaintext,
                "tls_fingerprint": fingerprint.description,
            ]
            let encoded = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: encoded, as: UTF8.self))
        } else {
            print("""
                Initialised \(directory.path) with server admin \(token.record.userID).
                Server-admin token (shown once, never stored; keep it like a password):

                  \(token.token.plaintext)

                TLS certificate (\(tlsCert == nil ? "self-signed" : "given"), \(files.certificateFile.path)):

                  \(fingerprint)

                Clients compare this fingerprint with the one `dunlin login` shows before they trust it.

                Next: dunlind serve --data \(directory.path)
                      DUNLIN_TOKEN=<the token> dunlin admin tenant create ID --name NAME --currency USD --time-zone America/New_York
                """)
        }
    }
}

/// Each tenant's scheduled dunning run (its setting `dunning.run_time`), once a tenant day the
/// follow-up tasks of broken promises and the evaluation of its escalation rules, and the delivery
/// of released notices still queued (the first pass also settles deliveries a stopped server left
/// half done), checked every minute while the server runs, starting at once; stops at graceful
/// shutdown.
struct ScheduledDunningRuns: Service {
    let tenants: TenantDirectory
    let delivery: NoticeDelivery
    let scheduler = DunningScheduler()

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let tenants = activeTenants()
                scheduler.tick(tenants)
                scheduler.followUps(tenants)
                scheduler.escalations(tenants)
                scheduler.portalTasks(tenants)
                for tenant in tenants { await delivery.deliver(tenant) }
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }

    /// The active tenants' handles; one that cannot be opened now is left for the next minute.
    private func activeTenants() -> [TenantHandle] {
        ((try? tenants.control.allTenants()) ?? []).filter { $0.status == .active }.compactMap { try? tenants.tenant($0.id) }
    }
}
