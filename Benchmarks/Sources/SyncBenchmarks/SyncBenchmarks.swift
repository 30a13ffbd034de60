import ArgumentParser
import BenchmarkSupport
import Foundation

/// Issue 4's sync targets, measured through the protocol: a real `RPCServer` on 127.0.0.1 serving
/// two file-backed tenants (the full portfolio and one a hundredth of its size) with the Sync
/// service, and real replicas driven by `SyncEngine` as `dunlin sync` drives them. Bootstraps a
/// replica, measures the wire bytes of a snapshot, the empty sync at both sizes (with and without
/// the invariant check), a pull of `--ledger-pull` ledger changes set beside the bootstrap, a pull
/// of `--changes` server changes of mixed kinds and a push of as many local ones;
/// then restores the same rows into SQLite with the `sqlite3` shell (the limit for the replica's
/// writes), so the bootstrap is also a ratio. One JSON line per figure on stdout; progress on stderr.
@main
struct SyncBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "SyncBenchmarks",
        abstract: "Bootstrap, pull, push and the empty sync through the protocol, with a sqlite3 restore as the peer."
    )

    @Option(help: "Customers of the large tenant.") var customers = 50_000
    @Option(help: "Invoices of the large tenant.") var invoices = 1_000_000
    @Option(help: "Payments (unapplied) of the large tenant.") var payments = 300_000
    @Option(help: "Activities of the large tenant.") var activities = 1_000_000
    @Option(help: "The small tenant (for the empty sync's flatness) is the large one divided by this.") var smallDivisor = 100
    @Option(help: "Server changes pulled, and local changes pushed, in the pull and push figures.") var changes = 10_000
    @Option(help: "Server changes pulled in the figure set beside the bootstrap: invoices paid in full, a payment and its application each.")
    var ledgerPull = 20_000
    @Option(help: "Records per pulled batch and changes per push call (SyncEngine.batchSize; the server caps it).") var batch = 500
    @Option(help: "Timed runs of the empty sync; the figures are the median and the best.") var runs = 21
    @Option(help: "Compress messages over 1 KiB (deflate), as dunlind and the CLI do by default.") var compress = true
    @Option(help: "The sqlite3 shell for the peer restore.") var sqlite3 = "/usr/bin/sqlite3"
    @Option(help: "Directory for the databases (default: a new temporary one, removed afterwards).") var directory: String?

    func validate() throws {
        guard customers >= 2, invoices >= 1, payments >= 0, activities >= 0, smallDivisor >= 1, changes >= 10, batch >= 1, runs >= 1 else {
            throw ValidationError("need customers >= 2, invoices >= 1, small-divisor >= 1, changes >= 10, batch >= 1, runs >= 1")
        }
        guard customers / smallDivisor >= 2 else { throw ValidationError("the small tenant needs at least 2 customers") }
        guard ledgerPull >= 2, ledgerPull / 2 <= invoices else { throw ValidationError("ledger-pull pays one invoice per two changes: need 2 <= ledger-pull <= 2 x invoices") }
    }

    func run() throws {
        let base = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-sync-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: base) } }
        let large = TenantPortfolio(customers: customers, invoices: invoices, payments: payments, activities: activities)
        let settings = SyncSuite.Settings(
            changes: changes, ledgerPull: ledgerPull, batch: batch, runs: runs, compress: compress, sqlite3: sqlite3, directory: base
        )
        try runBlocking { try await SyncSuite(large: large, small: large.divided(by: smallDivisor), settings: settings).run() }
    }
}
