import ArgumentParser
import Foundation
import DunlinServer
import DunlinWire
import Logging
import ServiceLifecycle

@main
struct Dunlind: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dunlind",
        abstract: "The Dunlin accounts-receivable server.",
        version: DunlinVersion.current,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the Dunlin protocol until SIGTERM or SIGINT.",
        discussion: """
            On SIGTERM or SIGINT the server stops accepting connections, sends every client GOAWAY, \
            lets calls in flight finish (up to --grace-period seconds) and exits 0.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port and prints it).")
    var port = RPCServer.Configuration.defaultPort

    @Option(help: "Seconds calls in flight may take to finish after SIGTERM.")
    var gracePeriod = 30

    @Option(help: "Largest frame payload accepted, in bytes.")
    var maxFrameSize = ConnectionLimits.defaults.maxFrameSize

    @Option(help: "Calls open at once per connection.")
    var maxConcurrentStreams = ConnectionLimits.defaults.maxConcurrentStreams

    @Option(help: "Seconds a connection may stay without calls before it is closed.")
    var idleTimeout = 300

    @Option(
        name: .customLong("dev-token"),
        help: "A token that authenticates as a development analyst (repeatable). Until tenants and users exist, the only way to call methods that need a credential."
    )
    var devTokens: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    static var developmentPrincipal: Dunlin_V1_Principal {
        var principal = Dunlin_V1_Principal()
        principal.id = "dev"
        principal.name = "Development analyst"
        principal.tenantID = "dev"
        principal.role = "analyst"
        return principal
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "dunlind")
        var limits = ConnectionLimits.defaults
        limits.maxFrameSize = maxFrameSize
        limits.maxMessageSize = maxFrameSize
        limits.maxConcurrentStreams = maxConcurrentStreams
        limits.idleTimeout = .seconds(idleTimeout)
        let server = RPCServer(
            configuration: .init(host: host, port: port, limits: limits, shutdownGracePeriod: .seconds(gracePeriod)),
            services: [DiagnosticsService()],
            authenticator: StaticTokenAuthenticator(Dictionary(devTokens.map { ($0, Self.developmentPrincipal) }, uniquingKeysWith: { first, _ in first })),
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        Task {
            if let address = try? await server.listeningAddress {
                // One line on stdout, so scripts (and tests) can find the port.
                let line = "dunlind listening on \(address.ipAddress ?? host):\(address.port ?? port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        }
        try await group.run()
    }
}
