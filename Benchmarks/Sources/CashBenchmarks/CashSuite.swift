import BenchmarkSupport
import Crypto
import DunlinClient
import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import SwiftProtobuf

/// The measured run, in order: the month generated and written as BAI2; the parts in process (the
/// file read, the matcher's index built from the portfolio, the matching), each timed alone; the
/// cached tenant (generated first if missing); then `runs` imports through a real server, each on
/// a fresh copy of the tenant, with the hit rates counted from what each import wrote.
struct CashSuite {
    struct Shape: Sendable {
        var customers: Int
        var invoicesPerCustomer: ClosedRange<Int>
        /// Lines of the BAI2 file, headers and trailers included.
        var lines: Int
    }

    struct Settings: Sendable {
        var runs: Int
        var partRuns: Int
        var seed: UInt64
        var cache: TenantCache
        var rebuild: Bool
        var keepFile: URL?
        /// Where the last run's tenant is kept, before and after its import.
        var keepTenant: URL?
    }

    /// What each of the file's receipts should have matched, keyed by the identity the BAI2
    /// reader gives it, and how it identifies what it pays.
    struct Truth {
        var expected: [ExpectedMatch]
        var kinds: [String: RemittanceMonth.Kind]
    }

    let shape: Shape
    let settings: Settings

    /// The tenant's generated rows, written with the store's own writes: bump when ``write(_:to:)``
    /// or ``teach(_:to:)`` writes something else.
    static let tenantVersion = 2
    static let target = 10_000.0

    func run() async throws {
        emit(["bench": "environment", "load_average": loadAverage(), "cores": ProcessInfo.processInfo.activeProcessorCount,
              "customers": shape.customers, "lines": shape.lines, "seed": settings.seed])
        progress("generating the month: \(shape.customers) customers, \(shape.lines) lines")
        let (month, generating) = try await measured {
            RemittanceMonth(seed: settings.seed, customerCount: shape.customers, receiptCount: shape.lines, invoicesPerCustomer: shape.invoicesPerCustomer)
        }
        guard let file = BAI2File(month: month.receipts, lines: shape.lines) else {
            throw BenchError("the month's \(month.receipts.count) bank lines do not fill a file of \(shape.lines) lines")
        }
        if let keep = settings.keepFile { try file.data.write(to: keep) }
        let continued = file.lines - file.receipts.count - 2 - 2 * Set(file.receipts.map(\.bookingDate)).count
        emit(["bench": "month", "seconds": round(generating, 2), "customers": month.customers.count, "open_invoices": month.invoices.count,
              "aliases": month.aliases.count, "generated_lines": month.receipts.count, "file_receipts": file.receipts.count,
              "file_lines": file.lines, "file_bytes": file.data.count, "records_16": file.receipts.count,
              "records_88_and_accounts": continued,
              "via": "RemittanceMonth (DunlinCore) v\(RemittanceMonth.version), seed \(settings.seed); BAI2File writes its first lines that fill the file"])

        let (truth, floor) = try await parts(month, file)
        guard settings.runs > 0 else { return }
        let cached = try await cachedTenant(month)
        try await imports(cached: cached, file: file, truth: truth, floor: floor, invoices: month.invoices.count)
    }

    // MARK: The parts, in process

    /// The file read, the index built and the matching, each timed alone; the hit rates of the
    /// matching of what the file says (as the import sees it) and, for reference, of the
    /// generator's receipts with payer name, account and references in their own fields (as the
    /// matching tests see them). Returns the truth by the reader's
    /// identities and the floor: the three medians' sum, in seconds.
    private func parts(_ month: RemittanceMonth, _ file: BAI2File) async throws -> (Truth, Double) {
        progress("in process: the BAI2 file read")
        var receipts: [BankReceipt] = []
        let parseTimes = try await repeated(runs: settings.partRuns) { receipts = try BankFileReader.receipts(file.data, format: .bai2).receipts }
        try checkRoundTrip(read: receipts, file: file)
        let truth = Self.truth(month, read: receipts, written: file.receipts)

        progress("in process: the matcher's index built from the portfolio")
        let invoices = month.invoices, customers = month.customers, aliases = month.aliases
        var index = MatchIndex(invoices: [], customers: [])
        let indexTimes = try await repeated(runs: settings.partRuns) {
            index = MatchIndex(invoices: invoices, customers: customers, aliases: aliases)
        }

        progress("in process: the matching")
        var matches: [CashMatch] = []
        let matchTimes = try await repeated(runs: settings.partRuns) {
            var working = index
            matches = CashMatcher().match(receipts, in: &working)
        }
        let medians = [parseTimes, indexTimes, matchTimes].map { $0.sorted()[$0.count / 2] }
        let common: [String: Any] = ["lines": file.lines, "receipts": receipts.count, "open_invoices": invoices.count, "customers": customers.count]
        emit(figure("bai2_read", parseTimes, target: Self.target, extra: common.merging([
            "lines_per_second": Int(Double(file.lines) / medians[0]),
            "via": "BankFileReader.receipts(data, format: .bai2): every record read, every total and count checked"]) { a, _ in a }))
        emit(figure("match_index", indexTimes, target: Self.target, extra: common.merging([
            "via": "MatchIndex(invoices:customers:aliases:) over the month's open invoices, customers and learned aliases (as the import builds it)"]) { a, _ in a }))
        emit(figure("match", matchTimes, target: Self.target, extra: common.merging([
            "receipts_per_second": Int(Double(receipts.count) / medians[2]),
            "via": "CashMatcher().match(receipts, in: &index) over the file's receipts in file order (a copy of the built index each run)"]) { a, _ in a }))
        let floor = medians.reduce(0, +)
        emit(["bench": "parse_match_floor", "impl": "in-process", "median_ms": round(floor * 1_000, 2), "target_ms": Self.target, "met": floor * 1_000 <= Self.target,
              "via": "the medians of bai2_read, match_index and match added: the import's work with no store, no network, no ledger read or write"])
        emit(["bench": "hit_rates", "source": "bai2_in_process"].merging(Self.rates(matches, truth)) { a, _ in a })

        progress("in process: the generator's receipts with their fields (the matching tests' view)")
        var fresh = index
        let fielded = CashMatcher().match(file.receipts, in: &fresh)
        emit(["bench": "hit_rates", "source": "fields_in_process"]
            .merging(Self.rates(fielded, Truth(expected: month.expected, kinds: month.kinds))) { a, _ in a })
        return (truth, floor)
    }

    /// The reader gives back what was written: one receipt per 16 record, in file order, with
    /// its amount, currency, direction, booking day and text.
    private func checkRoundTrip(read: [BankReceipt], file: BAI2File) throws {
        guard read.count == file.receipts.count else { throw BenchError("read \(read.count) receipts of \(file.receipts.count) written") }
        for (position, (got, wrote)) in zip(read, file.receipts).enumerated() {
            let text = file.texts[position]
            guard got.amount == wrote.amount, got.direction == wrote.direction, got.bookingDate == wrote.bookingDate, got.remittance == text else {
                throw BenchError("receipt \(position) read back as \(got.amount) \(got.direction) \(got.bookingDate) '\(got.remittance)', written as \(wrote.amount) \(wrote.direction) \(wrote.bookingDate) '\(text)'")
            }
        }
    }

    /// The generator's expectations keyed by the identities the reader gave the receipts.
    static func truth(_ month: RemittanceMonth, read: [BankReceipt], written: [BankReceipt]) -> Truth {
        let byGenerated = Dictionary(uniqueKeysWithValues: month.expected.map { ($0.receiptIdentity, $0) })
        var truth = Truth(expected: [], kinds: [:])
        for (got, wrote) in zip(read, written) {
            truth.kinds[got.identity] = month.kinds[wrote.identity]
            if var expected = byGenerated[wrote.identity] {
                expected.receiptIdentity = got.identity
                truth.expected.append(expected)
            }
        }
        return truth
    }

    /// Both hit rates and the wrong-customer count as JSON fields, with the misses of each level
    /// and the wrong customers by the kind of receipt.
    static func rates(_ matches: [CashMatch], _ truth: Truth) -> [String: Any] {
        let rates = MatchHitRates.measure(matches, expected: truth.expected)
        let right = Dictionary(uniqueKeysWithValues: truth.expected.map { ($0.receiptIdentity, $0) })
        var headerMisses: [String: Int] = [:], invoiceMisses: [String: Int] = [:], wrong: [String: Int] = [:]
        for match in matches {
            guard let expected = right[match.receiptIdentity], match.status != .notACredit else { continue }
            let kind = truth.kinds[match.receiptIdentity]?.rawValue ?? "?"
            let owns = match.status == .matched || match.status == .customerOnly || match.status == .ambiguous
            let posted = match.status == .matched || match.status == .customerOnly
            if posted, match.customerID != expected.customerID { wrong[kind, default: 0] += 1 }
            if let customer = expected.customerID, !(owns && match.customerID == customer) { headerMisses[kind, default: 0] += 1 }
            if !expected.invoiceIDs.isEmpty, !(match.status == .matched && match.customerID == expected.customerID
                && Set(match.applications.map(\.invoiceID)) == expected.invoiceIDs) {
                invoiceMisses[kind, default: 0] += 1
            }
        }
        return [
            "credits": rates.receipts, "header_right": rates.rightCustomer, "header_of": rates.identifiable,
            "header_pct": Double(rates.headerBasisPoints) / 100, "invoice_right": rates.rightInvoices, "invoice_of": rates.payingInvoices,
            "invoice_pct": Double(rates.invoiceBasisPoints) / 100, "wrong_customer": rates.wrongCustomer,
            "wrong_customer_pct": Double(rates.wrongCustomerBasisPoints) / 100, "ambiguous_applied": rates.ambiguousApplied,
            "header_misses_by_kind": headerMisses, "invoice_misses_by_kind": invoiceMisses, "wrong_customer_by_kind": wrong,
        ]
    }

    // MARK: The tenant

    /// The month's portfolio as a tenant's store (`server.sqlite`), generated when missing. The
    /// name carries the size, the seed, the generator's version and ``tenantVersion``.
    private func cachedTenant(_ month: RemittanceMonth) async throws -> URL {
        let name = "cash-\(month.customers.count)c-\(month.invoices.count)i-s\(settings.seed)-m\(RemittanceMonth.version)-t\(Self.tenantVersion)"
        return try await settings.cache.tenant(name, rebuild: settings.rebuild) { directory in
            let store = try TenantStore(path: directory.appendingPathComponent("server.sqlite").path)
            progress("generating the tenant: \(month.customers.count) customers, \(month.invoices.count) open invoices")
            try Self.write(month, to: store)
            progress("teaching the tenant the month's \(month.aliases.count) learned payer aliases")
            try Self.teach(month, to: store)
        }
    }

    /// The portfolio through the store's own batch writes (change log and derived balances as the
    /// RPCs leave them), 50,000 rows a transaction: each customer with its number and name, each
    /// open invoice for its open balance, its number as the reference, issued 30 days before it
    /// is due.
    static func write(_ month: RemittanceMonth, to store: TenantStore) throws {
        let chunk = 50_000
        for first in stride(from: 0, to: month.customers.count, by: chunk) {
            try store.upsert(month.customers[first..<min(first + chunk, month.customers.count)].map {
                Customer(id: $0.id, number: $0.number, name: $0.name)
            })
        }
        for first in stride(from: 0, to: month.invoices.count, by: chunk) {
            try store.post(month.invoices[first..<min(first + chunk, month.invoices.count)].map { invoice in
                let due = invoice.dueDate ?? CivilDate(year: 2026, month: 11, day: 30)!
                return LedgerEntry(
                    id: invoice.id, kind: .invoice, customerID: invoice.customerID, amount: invoice.openBalance, date: due.adding(days: -30),
                    dueDate: due, reference: invoice.number
                )
            })
        }
    }

    /// Teaches the month's learned payer aliases the way a tenant learns them: an earlier import
    /// (a file of October 30th, one keyed ACH line per alias: `ORIG CO NAME:` a trade name, or
    /// `ORIG ID:` an account) in which no line identified a customer, then each line's payment
    /// posted by hand on the alias's customer under the receipt's payment id, as `dunlin cash
    /// assign` does. One manual match per alias (the generator's counts only matter when two
    /// customers were taught one key, which it never does).
    static func teach(_ month: RemittanceMonth, to store: TenantStore) throws {
        let day = CivilDate(year: 2026, month: 10, day: 30)!
        let lines = month.aliases.enumerated().map { position, alias in
            BankReceipt(
                identity: "taught:\(position)", format: "bai2", account: "", amount: Money(minorUnits: 100_00 + Int64(position), currency: .usd),
                direction: .credit, bookingDate: day, payerName: alias.kind == .name ? alias.key : "",
                payerAccount: alias.kind == .account ? alias.key : "", remittance: "PAYMENT", line: 0
            )
        }
        guard let file = BAI2File(month: lines, lines: nil, keyed: true) else { throw BenchError("no file of the taught aliases") }
        let summary = try store.importBankFile(
            name: "taught.bai2", format: "bai2", digest: SHA256.hash(data: file.data), bytes: Int64(file.data.count),
            receipts: try BAI2.receipts(file.data), by: "u-bench", at: Date(timeIntervalSince1970: Double(day.daysSinceEpoch + 1) * 86_400),
            decide: { receipts, _ in receipts.map { _ in CashDecision(outcome: .unidentified) } }
        )
        let payments = zip(summary.receipts, month.aliases).map { receipt, alias in
            LedgerEntry(
                id: CashReceipt.paymentID(forReceipt: receipt.id), kind: .payment, customerID: alias.customerID, amount: receipt.receipt.amount,
                date: day, reference: receipt.receipt.bankReference, memo: "assigned by hand"
            )
        }
        guard summary.receipts.count == month.aliases.count else { throw BenchError("taught \(summary.receipts.count) of \(month.aliases.count) aliases") }
        try store.post(payments)
    }

    // MARK: The imports

    /// `runs` imports of the file through `Cash.ImportBankFile` over 127.0.0.1, each into a fresh
    /// copy of the cached tenant, timed from the first request written to the response decoded
    /// (the connection is opened and the handshake done before, by one ListBankFiles call). The
    /// file goes as `dunlin cash import` sends it: 1 MiB a message, the name and format on the
    /// first. A call that fails (a response over the message limit, say) is timed to its error and
    /// counted in `failed_runs`, with the error in `response_error`; the hit rates are counted
    /// from the store either way.
    private func imports(cached: URL, file: BAI2File, truth: Truth, floor: Double, invoices: Int) async throws {
        var times: [Double] = [], cpu: [Double] = []
        var last: [String: Any] = [:]
        var failures = 0
        for run in 1...settings.runs {
            let work = try TenantCache.workingCopy(of: cached, label: "cash")
            defer { try? FileManager.default.removeItem(at: work) }
            let store = try TenantStore(path: work.appendingPathComponent("server.sqlite").path)
            if let keep = settings.keepTenant, run == settings.runs { try Self.keep(work, as: "before", in: keep) }
            let (server, serving, port) = try await BenchServer.serve([CashService(tenants: FixedTenants([BenchServer.tenant(store)]), authority: true)])
            let client = RPCClient(configuration: .init(host: "127.0.0.1", port: port, token: "bench"), logger: quietLogger(label: "bench.client"))
            _ = try await client.unary(Cash.listBankFiles, .init())
            progress("import \(run) of \(settings.runs)")
            let data = file.data
            let cpuBefore = processCPUSeconds()
            let started = ContinuousClock.now
            var response: Dunlin_V1_ImportBankFileResponse?
            var failure: String?
            do {
                response = try await client.clientStreaming(Cash.importBankFile) { writer in
                    var offset = 0
                    repeat {
                        let end = min(offset + (1 << 20), data.count)
                        try await writer.write(.with {
                            if offset == 0 {
                                $0.name = "month.bai2"
                                $0.format = "auto"
                            }
                            $0.content = data.subdata(in: offset..<end)
                        })
                        offset = end
                    } while offset < data.count
                }
            } catch {
                // Measured all the same: what the import wrote is in the store either way.
                failure = "\(error)"
                progress("import \(run) failed: \(error)")
            }
            times.append(seconds(ContinuousClock.now - started))
            cpu.append(processCPUSeconds() - cpuBefore)
            await client.close()
            server.beginShutdown()
            try await serving.value
            guard let file = try store.bankFiles().items.first(where: { $0.name == "month.bai2" }), file.newReceipts == file.receipts else {
                throw BenchError("the import wrote no file, or skipped receipts as already imported")
            }
            let written = try Self.receipts(of: file.id, in: store)
            guard written.count == file.receipts else { throw BenchError("the import wrote \(written.count) receipts of \(file.receipts)") }
            var outcomes: [String: Int] = [:]
            for receipt in written { outcomes[receipt.outcome.rawValue, default: 0] += 1 }
            let rates = Self.rates(written.map(Self.match), truth)
            emit(["bench": "hit_rates", "source": "import", "run": run].merging(rates) { a, _ in a })
            last = [
                "outcomes": outcomes, "response_bytes": try response?.serializedData().count ?? 0, "response_error": failure ?? "",
                "file_customer_matches": file.customerMatches, "file_invoice_matches": file.invoiceMatches,
                "header_pct": rates["header_pct"]!, "invoice_pct": rates["invoice_pct"]!,
            ]
            if failure != nil { failures += 1 }
            if let keep = settings.keepTenant, run == settings.runs { try Self.keep(work, as: "after", in: keep) }
        }
        let median = times.sorted()[times.count / 2]
        emit(figure("import_bai2", times, target: Self.target, extra: last.merging([
            "lines": file.lines, "bytes": file.data.count, "receipts": file.receipts.count, "open_invoices": invoices,
            "cpu_seconds_median": round(cpu.sorted()[cpu.count / 2], 2), "floor_ms": round(floor * 1_000, 2), "failed_runs": failures,
            "ratio_to_floor": round(median / floor, 2),
            "via": "Cash.ImportBankFile over 127.0.0.1 (client streaming, 1 MiB messages), first byte written to response decoded; a fresh copy of the tenant each run",
        ]) { a, _ in a }))
    }

    /// The tenant's database and its WAL in `work` copied as `directory/name.sqlite` (and
    /// `-wal`), outside the timings, while nothing writes to it.
    static func keep(_ work: URL, as name: String, in directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for suffix in ["", "-wal"] {
            let source = work.appendingPathComponent("server.sqlite" + suffix)
            let target = directory.appendingPathComponent(name + ".sqlite" + suffix)
            try? FileManager.default.removeItem(at: target)
            if FileManager.default.fileExists(atPath: source.path) { try FileManager.default.copyItem(at: source, to: target) }
        }
    }

    /// Every receipt the import of `fileID` wrote, as the store keeps it.
    static func receipts(of fileID: String, in store: TenantStore) throws -> [CashReceipt] {
        var receipts: [CashReceipt] = []
        var cursor: String?
        repeat {
            let page = try store.cashReceipts(fileID: fileID, page: PageRequest(after: cursor, size: 1_000))
            receipts += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return receipts
    }

    /// What the import decided for a receipt, as the hit rates read a match: its outcome, customer
    /// and applications.
    static func match(_ receipt: CashReceipt) -> CashMatch {
        let status: CashMatchStatus =
            switch receipt.outcome {
            case .matched, .partlyMatched: .matched
            case .customerOnly: .customerOnly
            case .ambiguous: .ambiguous
            case .unidentified: .unidentified
            case .notCredit: .notACredit
            }
        return CashMatch(
            receiptIdentity: receipt.receipt.identity, status: status, customerID: receipt.customerID.isEmpty ? nil : receipt.customerID,
            applications: receipt.applications.map { CashMatchApplication(invoiceID: $0.invoiceID, invoiceNumber: "", amount: $0.amount) },
            unapplied: receipt.receipt.amount, rules: [], confidence: 0, explanation: ""
        )
    }
}
