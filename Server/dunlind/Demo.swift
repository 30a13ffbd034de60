import ArgumentParser
import DunlinServices
import DunlinCore
import DunlinServer
import DunlinStore
import DunlinTLS
import DunlinWire
import Foundation

/// `dunlind demo`: the quick start. Makes a data directory with a demo tenant holding a realistic
/// portfolio, issues tokens for its manager, an analyst and a viewer, prints what to type next, then serves.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create (or reuse) a data directory with a demo tenant and its portfolio, print tokens, and serve it.",
        discussion: """
            The first run initialises DIR, creates tenant "demo" (USD base, America/Chicago) with customers in \
            US and Philippine time zones, invoices in several currencies across every aging bucket, payments, \
            unapplied and unidentified cash, two dunning policies and a held customer, and users Mia (manager), Ana and \
            Ben (analysts) and Val (viewer: reads, never writes). Every run issues \
            fresh tokens for Mia, Ana and Val (older ones stay valid until revoked) and writes them to DIR/demo-tokens.env \
            (DUNLIN_TOKEN, DUNLIN_ANALYST_TOKEN, DUNLIN_VIEWER_TOKEN; DUNLIN_ADMIN_TOKEN on the first run).

            The demo serves TLS with the data directory's self-signed certificate (made on the first run, \
            like `dunlind init` does); demo-tokens.env sets DUNLIN_FINGERPRINT to its fingerprint, which the \
            CLI pins. --insecure-plaintext serves plain TCP instead.
            """
    )

    @Option(help: "The data directory (created on first run).")
    var data = "dunlin-data"

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = RPCServer.Configuration.defaultPort

    @Option(help: "The mail command released emails are handed to (as for serve).")
    var sendmail = Sendmail.standard.joined(separator: " ")

    @Option(help: "Where letters and copies of emails are written (default: DIR/outbox).")
    var outbox: String?

    @Option(help: "Serve the metrics at http://127.0.0.1:<port>/metrics (as for serve; 0 picks a free port).")
    var metricsPort: Int?
    @Flag(help: "Serve plain TCP instead of TLS.")
    var insecurePlaintext = false

    static let tenantID = "demo"
    static let viewerEmail = "val@demo.example"

    func run() async throws {
        let directory = URL(fileURLWithPath: data)
        var adminToken: String?
        if !ControlStore.isInitialized(directory) {
            let (_, admin) = try ControlStore.initialize(directory, adminName: "Demo server admin", adminEmail: "")
            adminToken = admin.token.plaintext
        }
        let certificates = ServerCertificateFiles(dataDirectory: directory)
        if certificates.existing == nil { try certificates.createSelfSigned(names: host == "127.0.0.1" ? [] : [host]) }
        let fingerprint = insecurePlaintext ? nil : try certificates.existing?.fingerprint()
        let control = try ControlStore(directory)
        let users = try Self.seedIfNeeded(control)
        let tokens = DemoTokens(
            manager: try control.issueToken(userID: users.manager.id, device: "mia-laptop", expiresAt: nil).token.plaintext,
            analyst: try control.issueToken(userID: users.analyst.id, device: "ana-laptop", expiresAt: nil).token.plaintext,
            viewer: try control.issueToken(userID: users.viewer.id, device: "val-laptop", expiresAt: nil).token.plaintext,
            admin: adminToken
        )

        let serve = try Serve.parse(
            ["--data", directory.path, "--host", host, "--port", "\(port)", "--sendmail", sendmail] + (outbox.map { ["--outbox", $0] } ?? [])
                + (metricsPort.map { ["--metrics-port", "\($0)"] } ?? [])
                + (insecurePlaintext ? ["--insecure-plaintext"] : [])
        )
        // The hints name the port the server really listens on (the system's choice for --port 0),
        // so they are written once it is bound, before its "dunlind listening on" line.
        try await serve.serve { [host] port in
            do {
                try Self.writeHints(directory: directory, host: host, port: port, fingerprint: fingerprint, tokens: tokens)
            } catch {
                FileHandle.standardError.write(Data("dunlind demo: could not write \(directory.path)/demo-tokens.env: \(error)\n".utf8))
            }
        }
    }

    /// The tokens one run issues: the server admin's only on the run that initialised the directory.
    struct DemoTokens: Sendable {
        var manager: String
        var analyst: String
        var viewer: String
        var admin: String?
    }

    /// Writes DIR/demo-tokens.env and prints what to type next, naming `host:port`.
    private static func writeHints(directory: URL, host: String, port: Int, fingerprint: CertificateFingerprint?, tokens: DemoTokens) throws {
        let address = "\(host):\(port)"
        var env = """
            # Written by `dunlind demo`. Source it: . \(directory.path)/demo-tokens.env
            export DUNLIN_SERVER=\(address)
            export DUNLIN_TOKEN=\(tokens.manager)
            export DUNLIN_ANALYST_TOKEN=\(tokens.analyst)
            export DUNLIN_VIEWER_TOKEN=\(tokens.viewer)

            """
        // The server's certificate, which the CLI pins (TLS even on 127.0.0.1).
        if let fingerprint { env += "export DUNLIN_FINGERPRINT=\(fingerprint)\n" }
        if let admin = tokens.admin { env += "export DUNLIN_ADMIN_TOKEN=\(admin)\n" }
        let envFile = directory.appendingPathComponent("demo-tokens.env")
        try env.write(to: envFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: envFile.path)

        // Written unbuffered, so it shows before the server's own line even when stdout is a pipe.
        FileHandle.standardOutput.write(Data("""
            Demo tenant "\(Self.tenantID)" is ready in \(directory.path); tokens are in \(envFile.path).

            In another terminal:
              . \(envFile.path)
              dunlin customers list
              dunlin aging
              dunlin unapplied
              dunlin statement CUS-1007
              dunlin payments record --id PAY-NEW-1 --customer CUS-1007 --amount 1000.00 --currency USD
              dunlin apply --source PAY-NEW-1 --invoice <an INV id from the statement> --amount 1000.00
              dunlin aging          # and see it move
              dunlin dunning policy list
              dunlin dunning run                          # notices at several levels, queued
              dunlin dunning preview                      # what they say
              dunlin dunning release                      # fees and interest posted; escalations made
              dunlin escalations list                     # tasks for Mia, placements with agencies

            Work like an analyst on a laptop, offline first (a local replica, then sync):
              dunlin login --server \(host):\(port) --token "$DUNLIN_ANALYST_TOKEN"\(fingerprint == nil ? "" : " --fingerprint \"$DUNLIN_FINGERPRINT\"")
              dunlin customers list                       # from the replica: works with the server stopped
              dunlin log call --customer CUS-1007 --outcome "promised Friday"
              dunlin status                               # 1 pending change
              dunlin sync                                 # pushed and pulled; or keep `dunlin sync --watch` running

            Read only, as Val (viewer): a write is refused (exit 107, PERMISSION_DENIED):
              DUNLIN_TOKEN="$DUNLIN_VIEWER_TOKEN" dunlin aging --server "$DUNLIN_SERVER"

            """.utf8))
    }

    /// Creates the demo tenant, its users and its portfolio on the first run; finds them after (and
    /// adds the viewer to a directory made before there was one).
    static func seedIfNeeded(_ control: ControlStore) throws -> (manager: UserRecord, analyst: UserRecord, viewer: UserRecord) {
        if try control.tenant(tenantID) == nil {
            let (_, store) = try control.createTenant(id: tenantID, name: "Dunlin Demo Co", baseCurrency: "USD", timeZone: "America/Chicago")
            // Ana works from Manila and Ben from New York: their worklists follow their own days.
            let ana = try control.createUser(tenantID: tenantID, name: "Ana Reyes", email: "ana@demo.example", role: .analyst, timeZone: "Asia/Manila")
            let ben = try control.createUser(tenantID: tenantID, name: "Ben Carter", email: "ben@demo.example", role: .analyst, timeZone: "America/New_York")
            let mia = try control.createUser(tenantID: tenantID, name: "Mia Santos", email: "mia@demo.example", role: .manager)
            let today = WallClock.system.today(in: TimeZone(identifier: "America/Chicago")!)
            let portfolio = DemoPortfolio(today: today, analysts: [ana.id, ben.id])
            try store.upsert(portfolio.customers)
            try store.post(portfolio.entries)
            try store.upsert(portfolio.policies)
            try store.upsert(portfolio.holds)
            try store.upsert(portfolio.contacts)
            try store.upsert(portfolio.templates)
            try store.upsert(portfolio.letterhead)
            // Escalations (the policies' escalate levels, the rules a manager adds) land with Mia.
            try store.upsert([TenantSetting(id: TenantSetting.escalationManager, value: mia.id)])
        }
        let users = try control.users(tenantID: tenantID).items
        guard let manager = users.first(where: { $0.email == "mia@demo.example" }),
            let analyst = users.first(where: { $0.email == "ana@demo.example" })
        else {
            throw ValidationError("the demo tenant exists but its users Mia and Ana are missing; use a fresh --data directory")
        }
        let viewer = try users.first(where: { $0.email == Self.viewerEmail })
            ?? control.createUser(tenantID: tenantID, name: "Val Ortiz", email: Self.viewerEmail, role: .viewer)
        return (manager, analyst, viewer)
    }
}
