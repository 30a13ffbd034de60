import ArgumentParser
import BenchmarkSupport
import Foundation

/// Issue 12's performance target: a month of bank lines (``RemittanceMonth``) written as one BAI2
/// file of `--lines` lines, imported through `Cash.ImportBankFile` (client streaming, over
/// 127.0.0.1) into a tenant holding the month's portfolio, timed from the first byte sent to the
/// summary received; beside it the parts that can be timed in process (the file read, the
/// matcher's index built, the matching) and their sum, the in-memory floor; and both hit rates,
/// counted from the receipts and applications the import wrote. One JSON line per figure on
/// stdout; progress on stderr.
///
/// The tenant is generated once per size and generator version and kept in the cache directory;
/// each import works on a fresh copy of it, since an import changes it.
@main
struct CashBenchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "CashBenchmarks",
        abstract: "Import and match a BAI2 file of a generated month against its portfolio, through a real server."
    )

    enum Size: String, ExpressibleByArgument, CaseIterable {
        /// 50,000 customers with about 1,000,000 open invoices, a file of 100,000 lines: issue 12's size.
        case full
        /// 2,000 customers with about 40,000 open invoices, a file of 4,000 lines: quick enough for CI.
        case ci
    }

    @Option(help: "full (50,000 customers, ~1M open invoices, 100,000 lines) or ci (2,000, ~40,000, 4,000). Default: $DUNLIN_BENCH_SIZE, else ci.")
    var size: Size?
    @Option(help: "Timed imports, each on a fresh copy of the tenant; figures are the median, best and worst (0: the in-process parts only, no tenant).")
    var runs = 5
    @Option(help: "Timed runs of each in-process part (file read, index, matching) after one warm-up.") var partRuns = 5
    @Option(help: "The generator's seed (the month and the portfolio).") var seed: UInt64 = 2026_11
    @Option(help: "Where generated tenants are kept between runs. Default: $DUNLIN_BENCH_CACHE, else ~/.cache/dunlin-benchmarks.")
    var cache: String?
    @Flag(help: "Generate the tenant again even if the cache holds it.") var rebuild = false
    @Option(help: "Also write the BAI2 file here (to look at it, or to import it with dunlin cash import).") var keepFile: String?
    @Option(help: "Keep the last run's tenant here: before.sqlite (migrated, before the import) and after.sqlite (imported), to replay the import's writes in the sqlite3 shell.")
    var keepTenant: String?

    func validate() throws {
        guard runs >= 0, partRuns >= 1 else { throw ValidationError("need runs >= 0 and part-runs >= 1") }
    }

    func run() throws {
        let size = try benchSize(size, else: .ci)
        let shape: CashSuite.Shape =
            switch size {
            case .full: CashSuite.Shape(customers: 50_000, invoicesPerCustomer: 2...38, lines: 100_000)
            case .ci: CashSuite.Shape(customers: 2_000, invoicesPerCustomer: 2...38, lines: 4_000)
            }
        let settings = CashSuite.Settings(
            runs: runs, partRuns: partRuns, seed: seed, cache: TenantCache(option: cache), rebuild: rebuild,
            keepFile: keepFile.map { URL(fileURLWithPath: $0) }, keepTenant: keepTenant.map { URL(fileURLWithPath: $0) }
        )
        try runBlocking { try await CashSuite(shape: shape, settings: settings).run() }
    }
}
