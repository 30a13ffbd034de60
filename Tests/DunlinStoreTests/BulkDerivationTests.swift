import DunlinCore
import Foundation
@testable import DunlinStore
import GRDB
import Testing

/// Two stores given the same ledger, one entry by entry through the per-row triggers (`post`),
/// the other through the import's bulk path (``BulkDerivation``), must hold the same derived
/// tables, change log and balances.
private struct TwinStores {
    static let start = CivilDate("2026-09-01")!
    static let customers = (0..<5).map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", analystID: "U\($0 % 2)") }

    let perRow: TenantStore
    let bulk: TenantStore
    var ledger = Ledger()
    var accepted: [LedgerEntry] = []
    /// The invoices promises are for.
    var promised: Set<String> = []
    var random: SplitMix

    init(seed: UInt64) throws {
        perRow = try TenantStore()
        bulk = try TenantStore()
        random = SplitMix(seed: seed)
        for store in [perRow, bulk] { try store.upsert(Self.customers) }
    }

    /// Entries accepted by the in-memory ledger, drawn at random: invoices (two currencies),
    /// payments, credit memos, applications, adjustments, write-offs, refunds and reversals,
    /// dated over three months, often aimed at the newest entries (so a batch applies to and
    /// reverses what it brought itself).
    mutating func draw(_ count: Int, prefix: String) -> [LedgerEntry] {
        var drawn: [LedgerEntry] = []
        for step in 0..<count {
            let n = "\(prefix)\(step)"
            let date = Self.start.adding(days: Int.random(in: 0..<90, using: &random))
            let customer = "C\(Int.random(in: 0..<5, using: &random))"
            let currency: Currency = customer == "C4" ? .php : .usd
            // Recent entries half the time: those of this batch.
            let pool = Bool.random(using: &random) && !drawn.isEmpty ? drawn : accepted + drawn
            let invoices = pool.filter { $0.kind == .invoice }
            let sources = pool.filter(\.isCashSource)
            func money(_ range: ClosedRange<Int64>, _ currency: Currency) -> Money {
                Money(minorUnits: Int64.random(in: range, using: &random), currency: currency)
            }
            let entry: LedgerEntry
            switch Int.random(in: 0..<12, using: &random) {
            case 0, 1, 2:
                entry = LedgerEntry(id: "I\(n)", kind: .invoice, customerID: customer, amount: money(1...90_000, currency), date: date,
                                    dueDate: Bool.random(using: &random) ? date.adding(days: Int.random(in: 0..<60, using: &random)) : nil,
                                    reference: "INV\(n)", memo: "m\(n)")
            case 3:
                entry = LedgerEntry(id: "P\(n)", kind: .payment, customerID: customer, amount: money(1...90_000, currency), date: date, reference: "R\(step % 7)")
            case 4:
                entry = LedgerEntry(id: "M\(n)", kind: .creditMemo, customerID: customer, amount: money(1...20_000, currency), date: date)
            case 5 where !pool.isEmpty:
                let target = pool.randomElement(using: &random)!
                entry = LedgerEntry(id: "R\(n)", kind: .reversal, amount: target.amount.magnitudeMoney, date: date, targetID: target.id)
            case 6 where !invoices.isEmpty:
                let invoice = invoices.randomElement(using: &random)!
                let amount = money(1...10_000, invoice.amount.currency)
                entry = LedgerEntry(id: "J\(n)", kind: .adjustment, amount: Bool.random(using: &random) ? amount : amount.negated, date: date, targetID: invoice.id)
            case 7 where !invoices.isEmpty:
                let invoice = invoices.randomElement(using: &random)!
                entry = LedgerEntry(id: "W\(n)", kind: .writeOff, amount: money(1...10_000, invoice.amount.currency), date: date, targetID: invoice.id)
            case 8 where !sources.isEmpty:
                let source = sources.randomElement(using: &random)!
                entry = LedgerEntry(id: "F\(n)", kind: .refund, amount: money(1...10_000, source.amount.currency), date: date, sourceID: source.id)
            default:
                // Often to a promised invoice, so the promises' progress moves.
                let promisedInvoices = accepted.filter { promised.contains($0.id) }
                let targets = !promisedInvoices.isEmpty && Bool.random(using: &random) ? promisedInvoices : invoices
                guard let source = sources.randomElement(using: &random), let invoice = targets.randomElement(using: &random) else { continue }
                entry = LedgerEntry(id: "A\(n)", kind: .application, customerID: invoice.customerID, amount: money(1...40_000, invoice.amount.currency),
                                    date: date, sourceID: source.id, targetID: invoice.id)
            }
            if (try? ledger.post(entry)) != nil { drawn.append(entry) }
        }
        accepted += drawn
        return drawn
    }

    /// Posts `entries` to both stores entry by entry (the per-row triggers).
    func postToBoth(_ entries: [LedgerEntry]) throws {
        for entry in entries {
            try perRow.post([entry])
            try bulk.post([entry])
        }
    }

    /// A promise (a single payment or a plan) on up to three of a customer's invoices, to both stores.
    mutating func promise(_ id: String) throws {
        let invoices = accepted.filter { $0.kind == .invoice }
        guard let first = invoices.randomElement(using: &random) else { return }
        let ids = Array(Set([first.id] + invoices.filter { $0.customerID == first.customerID }.prefix(2).map(\.id))).sorted()
        let madeOn = Self.start.adding(days: Int.random(in: 0..<60, using: &random))
        let currency = first.amount.currency
        let plan = Bool.random(using: &random)
        let installments = plan
            ? [Installment(dueDate: madeOn.adding(days: 5), amount: Money(minorUnits: 3_000, currency: currency)),
               Installment(dueDate: madeOn.adding(days: 20), amount: Money(minorUnits: 4_000, currency: currency))]
            : []
        let promise = PromiseToPay(
            id: id, customerID: first.customerID, invoiceIDs: ids, amount: Money(minorUnits: plan ? 7_000 : 25_000, currency: currency),
            madeOn: madeOn, promisedDate: plan ? madeOn.adding(days: 20) : madeOn.adding(days: 10), installments: installments
        )
        for store in [perRow, bulk] { try store.upsert([promise]) }
        promised.formUnion(ids)
    }

    /// Posts `entries` entry by entry to the per-row store and imports them into the other
    /// through the bulk path, in chunks of random sizes, deriving in batches of at least `batch`.
    mutating func importBatch(_ entries: [LedgerEntry], batch: Int) async throws {
        for entry in entries { try perRow.post([entry]) }
        var chunks: [[LedgerEntry]] = []
        var rest = entries[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...60, using: &random)
            chunks.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        let feed = ImportFeed<[LedgerEntry]>(capacity: 2)
        async let imported = bulk.importEntries(from: feed, batch: batch)
        for chunk in chunks { _ = await feed.send(chunk) }
        feed.finish()
        #expect(try await imported == entries.count)
    }
}

/// Every derived table (rows left at zero left out: either path may keep or lack them), the
/// ledger and the change log (but its clock), as text, table by table.
func derivedState(_ store: TenantStore) throws -> [String: [String]] {
    let tables: [(String, String)] = [
        ("ledger_entry", "SELECT * FROM ledger_entry ORDER BY id"),
        ("change_log", "SELECT seq, record_kind, record_id, op, dot_replica, dot_counter FROM change_log ORDER BY seq"),
        ("invoice_balance", "SELECT * FROM invoice_balance ORDER BY invoice_id"),
        ("source_balance", "SELECT * FROM source_balance ORDER BY source_id"),
        ("customer_open_balance", "SELECT * FROM customer_open_balance WHERE items != 0 OR high != 0 OR low != 0 OR inexact != 0 ORDER BY 1, 2"),
        ("receivable_flow", "SELECT * FROM receivable_flow WHERE high != 0 OR low != 0 ORDER BY 1, 2, 3"),
        ("receivable_open", "SELECT * FROM receivable_open WHERE high != 0 OR low != 0 ORDER BY 1, 2"),
        ("ledger_day", "SELECT * FROM ledger_day WHERE items != 0 OR high != 0 OR low != 0 ORDER BY 1, 2, 3, 4"),
        ("promise_invoice", "SELECT * FROM promise_invoice ORDER BY 1, 2"),
        ("installment_progress", "SELECT * FROM installment_progress ORDER BY 1, 2, 3, 4"),
        ("possible_duplicate_payment", "SELECT * FROM possible_duplicate_payment ORDER BY 1"),
        ("portfolio_touch", "SELECT * FROM portfolio_touch"),
    ]
    return try store.writer.read { db in
        var state: [String: [String]] = [:]
        for (table, sql) in tables {
            state[table] = try Row.fetchAll(db, sql: sql).map { $0.databaseValues.map(\.description).joined(separator: "|") }
        }
        return state
    }
}

/// The one value `sql` reads (outside async code, where the store's synchronous reads are meant).
private func scalar(_ store: TenantStore, _ sql: String) throws -> Int? {
    try store.writer.read { db in try Int.fetchOne(db, sql: sql) }
}

/// `body` in one write transaction (outside async code, like ``scalar(_:_:)``).
private func writing<T>(_ store: TenantStore, _ body: (Database) throws -> T) throws -> T {
    try store.writer.write(body)
}

/// Every trigger's stored SQL, by name.
private func triggers(_ store: TenantStore) throws -> [String: String] {
    try store.writer.read { db in
        Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").map { ($0[0] as String, $0[1] as String) })
    }
}

@Suite("The import's bulk path")
struct BulkDerivationTests {
    @Test("an import through the bulk path leaves the derived tables, change log and balances the per-row triggers leave",
          arguments: [(1, 1), (2, 7), (3, 50), (4, 4_096)] as [(UInt64, Int)])
    func bulkEqualsPerRow(seed: UInt64, batch: Int) async throws {
        var twins = try TwinStores(seed: seed)
        try twins.postToBoth(twins.draw(150, prefix: "a"))
        for n in 0..<6 { try twins.promise("T\(n)") }
        let before = try triggers(twins.bulk)
        for round in 0..<3 {
            let entries = twins.draw(250, prefix: "b\(round)_")
            #expect(entries.contains { $0.kind == .reversal } && entries.contains { $0.kind == .application })
            try await twins.importBatch(entries, batch: batch)
        }
        #expect(try twins.bulk.derivedBalanceMismatches() == [])
        #expect(try twins.perRow.derivedBalanceMismatches() == [])
        let (perRow, bulk) = (try derivedState(twins.perRow), try derivedState(twins.bulk))
        for table in perRow.keys.sorted() {
            #expect(bulk[table] == perRow[table], "\(table)")
        }
        #expect(try scalar(twins.bulk, "SELECT COUNT(*) FROM installment_progress WHERE by_due_low != 0 OR by_deadline_low != 0") ?? 0 > 0)
        for entry in twins.accepted {
            #expect(try twins.bulk.openBalance(ofInvoice: entry.id) == twins.ledger.openBalance(ofInvoice: entry.id), "\(entry.id)")
            #expect(try twins.bulk.unapplied(ofSource: entry.id) == twins.ledger.unapplied(ofSource: entry.id), "\(entry.id)")
        }
        // The triggers are back, word for word.
        #expect(try triggers(twins.bulk) == before)
    }

    @Test("entries inserted in any order through the bulk path, batches ending anywhere, leave what the per-row triggers leave",
          arguments: [11, 12, 13] as [UInt64])
    func anyOrderAnyBatches(seed: UInt64) throws {
        var twins = try TwinStores(seed: seed)
        let entries = twins.draw(400, prefix: "x")
        var random = SplitMix(seed: seed &+ 77)
        // A merge's order: reversals before what they reverse, applications before their invoice.
        let shuffled = entries.shuffled(using: &random)
        let insert = "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date, reference, source_id, target_id, memo) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        func arguments(_ entry: LedgerEntry) -> StatementArguments {
            [entry.id, entry.kind.rawValue, entry.customerID, entry.amount.currency.code, entry.amount.minorUnits, entry.date.description,
             entry.dueDate?.description, entry.reference, entry.sourceID, entry.targetID, entry.memo]
        }
        try twins.perRow.writer.write { db in
            for entry in shuffled { try db.execute(sql: insert, arguments: arguments(entry)) }
        }
        let ends = Set(shuffled.indices.filter { _ in Int.random(in: 0..<25, using: &random) == 0 })
        try twins.bulk.writer.write { db in
            try BulkDerivation.run(db) { bulk in
                #expect(bulk != nil)
                for (index, entry) in shuffled.enumerated() {
                    try db.execute(sql: insert, arguments: arguments(entry))
                    if ends.contains(index) { try bulk?.derive() }
                }
            }
        }
        #expect(try twins.bulk.derivedBalanceMismatches() == [])
        #expect(try derivedState(twins.bulk) == derivedState(twins.perRow))
        // A replica's retraction after the bulk path: its triggers still undo exactly what an entry did.
        for entry in shuffled.filter({ $0.kind != .invoice }).prefix(25) {
            try twins.bulk.writer.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) VALUES (?)", arguments: [entry.id])
                try db.execute(sql: "DELETE FROM ledger_entry WHERE id = ?", arguments: [entry.id])
            }
        }
        #expect(try twins.bulk.derivedBalanceMismatches() == [])
    }

    @Test("a refused import leaves the triggers and the tables as they were")
    func refusalRestoresTriggers() async throws {
        var twins = try TwinStores(seed: 21)
        try twins.postToBoth(twins.draw(60, prefix: "a"))
        let (triggersBefore, stateBefore) = (try triggers(twins.bulk), try derivedState(twins.bulk))
        var entries = twins.draw(80, prefix: "b")
        // Over-applies an invoice of the batch: refused after the batch's first entries are in.
        let invoice = try #require(entries.first { $0.kind == .invoice })
        let twice = Money(minorUnits: 10_000_000, currency: invoice.amount.currency)
        let payment = LedgerEntry(id: "Pbig", kind: .payment, customerID: invoice.customerID, amount: twice, date: invoice.date)
        entries += [payment, LedgerEntry(id: "Abig", kind: .application, customerID: invoice.customerID, amount: twice,
                                         date: invoice.date, sourceID: payment.id, targetID: invoice.id)]
        let feed = ImportFeed<[LedgerEntry]>(capacity: 2)
        async let imported = twins.bulk.importEntries(from: feed, batch: 10)
        _ = await feed.send(entries)
        feed.finish()
        do {
            _ = try await imported
            Issue.record("the over-application was accepted")
        } catch let error as StoreError {
            #expect("\(error)".contains("item \(entries.count)"))
        }
        #expect(try triggers(twins.bulk) == triggersBefore)
        #expect(try derivedState(twins.bulk) == stateBefore)
    }

    @Test("an insert trigger on the ledger the bulk path does not know turns it off, and the import runs per row")
    func unknownTriggerTurnsItOff() async throws {
        var twins = try TwinStores(seed: 31)
        try writing(twins.bulk) { db in
            try db.execute(sql: "CREATE TABLE entry_count (n INTEGER NOT NULL); INSERT INTO entry_count VALUES (0)")
            try db.execute(sql: "CREATE TRIGGER count_entries AFTER INSERT ON ledger_entry BEGIN UPDATE entry_count SET n = n + 1; END")
            #expect(try BulkDerivation.run(db) { $0 == nil })
        }
        let entries = twins.draw(120, prefix: "a")
        try await twins.importBatch(entries, batch: 10)
        #expect(try twins.bulk.derivedBalanceMismatches() == [])
        #expect(try scalar(twins.bulk, "SELECT n FROM entry_count") == entries.count)
        // On a tenant with only the known triggers, the path is on.
        #expect(try writing(twins.perRow) { db in try BulkDerivation.run(db) { $0 != nil } })
    }

    /// Entries of one batch that only the batch's own earlier entries make wrong: the balances
    /// the rules read must already count those (derived before the read), as the per-row
    /// triggers would have them.
    static let boundedByTheBatch: [(name: String, before: [LedgerEntry], batch: [LedgerEntry])] = {
        let day = CivilDate("2026-10-01")!
        func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }
        let invoice = LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(100_00), date: day, dueDate: day, reference: "1")
        let payment = LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(100_00), date: day)
        let other = LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: usd(100_00), date: day, dueDate: day, reference: "2")
        func apply(_ id: String, _ minor: Int64, to target: String = "I1") -> LedgerEntry {
            LedgerEntry(id: id, kind: .application, customerID: "C1", amount: usd(minor), date: day, sourceID: "P1", targetID: target)
        }
        let bigPayment = LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(500_00), date: day)
        return [
            ("an invoice of the batch applied twice past its amount", [], [invoice, payment, apply("A1", 60_00), apply("A2", 60_00)]),
            ("an earlier invoice applied past its balance by two of the batch's applications", [invoice, bigPayment], [apply("A1", 70_00), apply("A2", 40_00)]),
            ("a payment of the batch applied past its amount to two invoices", [invoice, other], [payment, apply("A1", 70_00), apply("A2", 40_00, to: "I2")]),
            ("an invoice written off in the batch, then applied", [invoice, payment],
             [LedgerEntry(id: "W1", kind: .writeOff, amount: usd(90_00), date: day, targetID: "I1"), apply("A1", 20_00)]),
            ("an invoice voided in the batch, then applied", [invoice, payment],
             [LedgerEntry(id: "R1", kind: .reversal, amount: usd(100_00), date: day, targetID: "I1"), apply("A1", 10_00)]),
        ]
    }()

    @Test("an entry the batch's own earlier entries make wrong is refused as the per-row path refuses it", arguments: 0..<5)
    func batchBoundsItsOwnEntries(index: Int) async throws {
        let (name, before, batch) = Self.boundedByTheBatch[index]
        let perRow = try TenantStore(), bulk = try TenantStore()
        for store in [perRow, bulk] {
            try store.upsert(TwinStores.customers)
            try store.post(before)
        }
        var refusedPerRow: Int?
        do { try perRow.post(batch) } catch StoreError.refused(let index, _) { refusedPerRow = index }
        #expect(refusedPerRow == batch.count - 1, "\(name)")
        let feed = ImportFeed<[LedgerEntry]>(capacity: 2)
        async let imported = bulk.importEntries(from: feed, batch: 4_096)
        _ = await feed.send(batch)
        feed.finish()
        do {
            _ = try await imported
            Issue.record("\(name): accepted")
        } catch StoreError.refused(let index, _) {
            #expect(index == refusedPerRow, "\(name)")
        }
    }

    @Test("payments each followed by their applications hand the import back to the per-row triggers, and the tables stay right")
    func interleavedReadsHandBack() async throws {
        var twins = try TwinStores(seed: 41)
        let day = CivilDate("2026-10-01")!
        var entries: [LedgerEntry] = []
        for n in 0..<30 {
            let customer = "C\(n % 4)"
            let invoice = LedgerEntry(id: "I\(n)", kind: .invoice, customerID: customer, amount: Money(minorUnits: 900, currency: .usd), date: day, dueDate: day, reference: "\(n)")
            let payment = LedgerEntry(id: "P\(n)", kind: .payment, customerID: customer, amount: Money(minorUnits: 600, currency: .usd), date: day)
            entries += [invoice, payment] + (0..<3).map {
                LedgerEntry(id: "A\(n)_\($0)", kind: .application, customerID: customer, amount: Money(minorUnits: 200, currency: .usd), date: day,
                            sourceID: payment.id, targetID: invoice.id)
            }
        }
        let before = try triggers(twins.bulk)
        try await twins.importBatch(entries, batch: 4_096)
        #expect(try twins.bulk.derivedBalanceMismatches() == [])
        #expect(try derivedState(twins.bulk) == derivedState(twins.perRow))
        #expect(try triggers(twins.bulk) == before)
        #expect(try twins.bulk.unapplied(ofSource: "P29") == Money(minorUnits: 0, currency: .usd))
    }
}
