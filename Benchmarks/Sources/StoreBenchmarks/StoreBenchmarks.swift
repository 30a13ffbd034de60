import ArgumentParser
import BenchmarkSupport
import DunlinClient
import DunlinCore
import DunlinServer
import DunlinStore
import DunlinWire
import Foundation
import Logging

/// Issue 3's store targets, measured through the protocol: a real `RPCServer` on 127.0.0.1 with
/// one file-backed tenant, and a real `RPCClient`. Imports customers and invoices, ages the
/// portfolio and prints a large customer's statement; then loads the same invoice rows into a bare
/// SQLite file with the `sqlite3` shell (the physical limit for this store), so the import is also
/// a ratio. Prints one JSON line per figure on stdout; progress goes to stderr.
///
/// Synchronous `run` (blocking the main thread on the async suite), like RPCBenchmarks, so the
/// binary can run under valgrind.
@main
struct StoreBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "StoreBenchmarks",
        abstract: "Import, aging and statement through the protocol, with a sqlite3 bulk load as the peer."
    )

    @Option(help: "Customers to import.") var customers = 50_000
    @Option(help: "Invoices to import.") var invoices = 1_000_000
    @Option(help: "Open invoices of the one large customer whose statement is measured (part of --invoices).") var statementItems = 10_000
    @Option(help: "Entries per ImportEntries message.") var chunk = 5_000
    @Option(help: "Timed runs of each report; the figures are the median and the best.") var runs = 9
    @Option(help: "The sqlite3 shell for the peer load.") var sqlite3 = "/usr/bin/sqlite3"
    @Option(help: "Compress messages over 1 KiB (deflate), as dunlind and the CLI do by default.") var compress = true
    @Option(help: "Directory for the databases (default: a new temporary one, removed afterwards).") var directory: String?

    func validate() throws {
        guard customers >= 2, invoices > statementItems, statementItems >= 1, chunk >= 1, runs >= 1 else {
            throw ValidationError("need customers >= 2, invoices > statement-items >= 1, chunk >= 1, runs >= 1")
        }
    }

    func run() throws {
        let base = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-store-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(at: base) } }
        let portfolio = Portfolio(customers: customers, invoices: invoices, statementItems: statementItems)
        let settings = Suite.Settings(chunk: chunk, runs: runs, sqlite3: sqlite3, directory: base, compress: compress)
        try runBlocking { try await Suite(portfolio: portfolio, settings: settings).run() }
    }
}
