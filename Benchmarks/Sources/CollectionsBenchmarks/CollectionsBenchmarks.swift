import ArgumentParser
import BenchmarkSupport
import Foundation

/// Issue 11's collections targets: the worklist of one analyst's customers (on the server's
/// store, through the protocol, and on a replica of the same tenant) and a dunning run over the
/// whole tenant (a fresh one that creates the notices, then repeats that find them all), each
/// beside one hand-written SQL query doing the same reading through the sqlite3 C API on the
/// same file. One JSON line per figure on stdout; progress on stderr.
///
/// The tenant (server file and a replica bootstrapped from it) is generated once per size and
/// kept in the cache directory; each run works on a fresh copy, so the dunning run always starts
/// with no notices.
@main
struct CollectionsBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "CollectionsBenchmarks",
        abstract: "The worklist on the server and on a replica, and the dunning run, each beside one sqlite3 query."
    )

    enum Size: String, ExpressibleByArgument, CaseIterable {
        /// 50,000 customers, 1,000,000 invoices, 10 analysts (5,000 customers each): issue 11's size.
        case full
        /// A twentieth of it, quick enough for CI.
        case ci
    }

    @Option(help: "The tenant's size: full (50,000 customers, 1M invoices) or ci (a twentieth). Default: $DUNLIN_BENCH_SIZE, else ci.")
    var size: Size?
    @Option(help: "Analysts the customers are spread over (the measured one, U0, has customers / analysts).") var analysts = 10
    @Option(help: "Timed worklist runs per figure (after one warm-up); figures are p50 (median), p99, best.") var runs = 50
    @Option(help: "Timed repeated dunning runs (after the fresh one).") var dunningRuns = 5
    @Option(help: "Records per bootstrap batch when the replica is built.") var batch = 500
    @Option(help: "Where generated tenants are kept between runs. Default: $DUNLIN_BENCH_CACHE, else ~/.cache/dunlin-benchmarks.")
    var cache: String?
    @Flag(help: "Generate the tenant again even if the cache holds it.") var rebuild = false

    func validate() throws {
        guard analysts >= 1, runs >= 1, dunningRuns >= 1, batch >= 1 else { throw ValidationError("need analysts, runs, dunning-runs and batch >= 1") }
    }

    func run() throws {
        let size = try benchSize(size, else: .ci)
        let full = TenantPortfolio(customers: 50_000, invoices: 1_000_000, payments: 0, activities: 200_000, analysts: analysts, collections: .morning)
        let portfolio = size == .full ? full : full.divided(by: 20)
        let settings = CollectionsSuite.Settings(runs: runs, dunningRuns: dunningRuns, batch: batch, cache: TenantCache(option: cache), rebuild: rebuild)
        try runBlocking { try await CollectionsSuite(portfolio: portfolio, settings: settings).run() }
    }
}
