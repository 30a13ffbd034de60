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
    @Option(help: """
        Run the whole suite once per invoice count, smallest first, side by side (for example 10000,100000,1000000): \
        customers are invoices/20 and the statement's items min(10000, invoices/10) at each scale; \
        --customers, --invoices and --statement-items are then ignored.
        """) var scales: String?

    func validate() throws {
        guard customers >= 2, invoices > statementItems, statementItems >= 1, chunk >= 1, runs >= 1 else {
            throw ValidationError("need customers >= 2, invoices > statement-items >= 1, chunk >= 1, runs >= 1")
        }
    }

    func run() throws {
        let root = directory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-store-bench-\(UUID().uuidString)")
        defer { if directory == nil { try? FileManager.default.removeItem(at: root) } }
        var portfolios = [Portfolio(customers: customers, invoices: invoices, statementItems: statementItems)]
        if let scales {
            let counts = scales.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 40 }) else { throw ValidationError("--scales: invoice counts of at least 40, comma-separated") }
            portfolios = counts.compactMap { $0 }.sorted().map { Portfolio(customers: $0 / 20, invoices: $0, statementItems: min(10_000, $0 / 10)) }
        }
        for portfolio in portfolios {
            // Each scale in its own directory: a fresh store, removed before the next.
            let base = root.appendingPathComponent("\(portfolio.invoices)")
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            let settings = Suite.Settings(chunk: chunk, runs: runs, sqlite3: sqlite3, directory: base, compress: compress)
            try runBlocking { try await Suite(portfolio: portfolio, settings: settings).run() }
            if directory == nil { try? FileManager.default.removeItem(at: base) }
        }
    }
}
