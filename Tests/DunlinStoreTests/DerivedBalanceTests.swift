import DunlinCore
import Foundation
@testable import DunlinStore
import GRDB
import Testing

/// A random ledger posted through the rules, with dates scattered over three months (so entries
/// and reversals are dated before and after each other and the as-of dates), in the store and in
/// the in-memory ledger alike.
private struct RandomLedger {
    var store: TenantStore
    var ledger = Ledger()
    var accepted: [LedgerEntry] = []
    let start = CivilDate("2026-09-01")!

    init(seed: UInt64, steps: Int = 500) throws {
        store = try TenantStore()
        try store.upsert((0..<6).map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", analystID: "U\($0 % 2)") })
        var random = SplitMix(seed: seed)
        func money(_ range: ClosedRange<Int64>, _ currency: Currency) -> Money { Money(minorUnits: Int64.random(in: range, using: &random), currency: currency) }
        for step in 0..<steps {
            let date = start.adding(days: Int.random(in: 0..<90, using: &random))
            let currency: Currency = Int.random(in: 0..<4, using: &random) == 0 ? .php : .usd
            let customer = "C\(Int.random(in: 0..<6, using: &random))"
            let invoices = accepted.filter { $0.kind == .invoice }
            let sources = accepted.filter(\.isCashSource)
            let entry: LedgerEntry
            switch Int.random(in: 0..<12, using: &random) {
            case 0, 1:
                entry = LedgerEntry(id: "I\(step)", kind: .invoice, customerID: customer, amount: money(1...90_000, currency), date: date,
                                    dueDate: date.adding(days: Int.random(in: 0..<60, using: &random)), reference: "INV\(step)")
            case 2:
                entry = LedgerEntry(id: "P\(step)", kind: .payment, customerID: customer, amount: money(1...90_000, currency), date: date)
            case 3:
                entry = LedgerEntry(id: "M\(step)", kind: .creditMemo, customerID: customer, amount: money(1...20_000, currency), date: date)
            case 4 where !accepted.isEmpty:
                let target = accepted.randomElement(using: &random)!
                entry = LedgerEntry(id: "R\(step)", kind: .reversal, amount: target.amount.magnitudeMoney, date: date, targetID: target.id)
            case 5 where !invoices.isEmpty:
                let invoice = invoices.randomElement(using: &random)!
                let amount = money(1...10_000, invoice.amount.currency)
                entry = LedgerEntry(id: "J\(step)", kind: .adjustment, amount: Bool.random(using: &random) ? amount : amount.negated, date: date, targetID: invoice.id)
            case 6 where !invoices.isEmpty:
                let invoice = invoices.randomElement(using: &random)!
                entry = LedgerEntry(id: "W\(step)", kind: .writeOff, amount: money(1...10_000, invoice.amount.currency), date: date, targetID: invoice.id)
            case 7 where !sources.isEmpty:
                let source = sources.randomElement(using: &random)!
                entry = LedgerEntry(id: "F\(step)", kind: .refund, amount: money(1...10_000, source.amount.currency), date: date, sourceID: source.id)
            default:
                guard let source = sources.randomElement(using: &random), let invoice = invoices.randomElement(using: &random) else { continue }
                entry = LedgerEntry(id: "A\(step)", kind: .application, customerID: invoice.customerID, amount: money(1...40_000, invoice.amount.currency),
                                    date: date, sourceID: source.id, targetID: invoice.id)
            }
            let memoryAccepted = (try? ledger.post(entry)) != nil
            let storeAccepted = (try? store.post([entry])) != nil
            #expect(memoryAccepted == storeAccepted, "step \(step): \(entry.kind) \(entry.id)")
            if storeAccepted { accepted.append(entry) }
        }
    }
}

@Suite("Derived balances")
struct DerivedBalanceTests {
    @Test("the balance tables equal a recomputation from the ledger and the in-memory ledger's balances", arguments: [1, 2, 3] as [UInt64])
    func tablesEqualRecomputation(seed: UInt64) throws {
        let random = try RandomLedger(seed: seed)
        #expect(random.accepted.filter { $0.kind == .reversal }.count > 10)
        #expect(try random.store.derivedBalanceMismatches() == [])
        for entry in random.accepted {
            #expect(try random.store.openBalance(ofInvoice: entry.id) == random.ledger.openBalance(ofInvoice: entry.id), "\(entry.id)")
            #expect(try random.store.unapplied(ofSource: entry.id) == random.ledger.unapplied(ofSource: entry.id), "\(entry.id)")
        }
    }

    @Test("entries merged in any order, as a replica's sync would, leave the same balances")
    func anyInsertionOrder() throws {
        let random = try RandomLedger(seed: 7)
        var generator = SplitMix(seed: 99)
        let merged = try TenantStore()
        try merged.writer.write { db in
            for entry in random.accepted.shuffled(using: &generator) {
                try db.execute(
                    sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date, reference, source_id, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [entry.id, entry.kind.rawValue, entry.customerID, entry.amount.currency.code, entry.amount.minorUnits,
                                entry.date.description, entry.dueDate?.description, entry.reference, entry.sourceID, entry.targetID]
                )
            }
        }
        #expect(try merged.derivedBalanceMismatches() == [])
        for entry in random.accepted {
            #expect(try merged.openBalance(ofInvoice: entry.id) == random.ledger.openBalance(ofInvoice: entry.id), "\(entry.id)")
            #expect(try merged.unapplied(ofSource: entry.id) == random.ledger.unapplied(ofSource: entry.id), "\(entry.id)")
        }
    }

    @Test("entries a replica retracts, in any order, leave every balance and every customer's open balance equal to a recomputation")
    func retractionsKeepBalances() throws {
        let random = try RandomLedger(seed: 11, steps: 300)
        var generator = SplitMix(seed: 5)
        // Effects first (their invoice's row is rebuilt by INSERT OR REPLACE), then some invoices.
        let effects = random.accepted.filter { [.application, .adjustment, .writeOff, .reversal].contains($0.kind) }.shuffled(using: &generator)
        let invoices = random.accepted.filter { $0.kind == .invoice }.shuffled(using: &generator)
        for entry in Array(effects.prefix(40)) + Array(invoices.prefix(5)) {
            try random.store.writer.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) VALUES (?)", arguments: [entry.id])
                try db.execute(sql: "DELETE FROM ledger_entry WHERE id = ?", arguments: [entry.id])
            }
            #expect(try random.store.derivedBalanceMismatches() == [], "after retracting \(entry.id)")
        }
    }

    @Test("a kept total edited by hand is found by the consistency check", arguments: ["receivable_flow", "receivable_open", "ledger_day"])
    func editedTotalsFound(table: String) throws {
        let random = try RandomLedger(seed: 4, steps: 80)
        #expect(try random.store.derivedBalanceMismatches() == [])
        try random.store.writer.write { db in
            let key = table == "ledger_day" ? "day" : "due"
            try db.execute(sql: "UPDATE \(table) SET low = low + 1 WHERE \(key) = (SELECT MIN(\(key)) FROM \(table))")
            #expect(db.changesCount > 0)
        }
        #expect(try random.store.derivedBalanceMismatches().contains { $0.hasPrefix(table) })
    }

    @Test("an invoice's fields that its balance row carries for statements, edited by hand, are found by the consistency check",
          arguments: ["amount = amount + 1", "reference = reference || 'x'", "memo = 'edited'"])
    func editedStatementFieldsFound(assignment: String) throws {
        let random = try RandomLedger(seed: 4, steps: 80)
        #expect(try random.store.derivedBalanceMismatches() == [])
        let id = try random.store.writer.write { db in
            let id = try String.fetchOne(db, sql: "SELECT MIN(invoice_id) FROM invoice_balance")
            try db.execute(sql: "UPDATE invoice_balance SET \(assignment) WHERE invoice_id = ?", arguments: [id])
            return id
        }
        #expect(try random.store.derivedBalanceMismatches().contains { $0 == id })
    }

    @Test("one customer's statement is one range of the statement index, in its order: no ledger lookups, no sort")
    func statementIsOneRange() throws {
        let random = try RandomLedger(seed: 3, steps: 120)
        let details = try random.store.writer.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT b.invoice_id, b.customer_id, b.currency, b.amount, b.date, b.due_date, b.reference, b.memo, b.gross
                FROM invoice_balance b WHERE b.reversed_on IS NULL AND b.customer_id = ? AND b.gross != 0 ORDER BY b.due_date, b.invoice_id
                """, arguments: ["C1"]).map { $0["detail"] as String }
        }
        #expect(details == ["SEARCH b USING COVERING INDEX invoice_statement (customer_id=?)"])
        // And the statement itself reads what the ledger says.
        let statement = try random.store.openInvoices(customerID: "C1")
        let ledger = Dictionary(uniqueKeysWithValues: random.accepted.map { ($0.id, $0) })
        #expect(!statement.isEmpty)
        for (entry, _) in statement { #expect(ledger[entry.id] == entry) }
        #expect(statement.map(\.entry.dueDate) == statement.map(\.entry.dueDate).sorted { ($0?.description ?? "") < ($1?.description ?? "") })
    }

    @Test("whether entries of some kinds are dated after a date is read from the ledger's date index alone (v41)")
    func laterEntriesFromTheDateIndex() throws {
        let random = try RandomLedger(seed: 3, steps: 120)
        let sql = LedgerByDate.anyEntryAfter(kinds: ["application", "reversal"])
        let details = try random.store.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["2026-01-01"]).map { $0["detail"] as String }
        }
        // Without the kind in the index, each later entry's row is read for it: `USING INDEX`.
        #expect(details.contains("SEARCH ledger_entry USING COVERING INDEX ledger_entry_by_date (date>?)"))
        // And it answers as the ledger says, on either side of the last application or reversal.
        let dates = random.accepted.filter { $0.kind == .application || $0.kind == .reversal }.map(\.date)
        let last = try #require(dates.max())
        let (before, on) = try random.store.writer.read { db in
            (try Bool.fetchOne(db, sql: sql, arguments: [last.adding(days: -1).description]), try Bool.fetchOne(db, sql: sql, arguments: [last.description]))
        }
        #expect(before == true && on == false)
    }

    @Test("a store written before the statement fields gets them filled in when it opens, and its triggers write them after")
    func migrationFillsStatementFields() throws {
        let random = try RandomLedger(seed: 6, steps: 200)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-statement-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("tenant.sqlite").path
        let (before, after) = (random.accepted.prefix(150), random.accepted.dropFirst(150))
        do {
            let old = try DatabaseQueue(path: path)
            try TenantSchema.migrator.migrate(old, upTo: "v33: analysts' SQL views, version 3")
            try old.write { db in
                for entry in before { try LedgerEntryRow(entry).insert(db) }
            }
            try old.close()
        }
        let reopened = try TenantStore(path: path)
        #expect(try reopened.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoice_balance WHERE reference != ''") ?? 0 } > 0)
        #expect(try reopened.derivedBalanceMismatches() == [])
        try reopened.writer.write { db in for entry in after { try LedgerEntryRow(entry).insert(db) } }
        #expect(try reopened.derivedBalanceMismatches() == [])
        for customer in 0..<6 {
            #expect(try reopened.openInvoices(customerID: "C\(customer)").map(\.entry) == random.store.openInvoices(customerID: "C\(customer)").map(\.entry))
        }
    }

    @Test("the balance tables cannot be edited", arguments: ["DELETE FROM invoice_balance", "DELETE FROM source_balance"])
    func notEditable(sql: String) throws {
        let random = try RandomLedger(seed: 4, steps: 50)
        #expect(throws: DatabaseError.self) { try random.store.writer.write { try $0.execute(sql: sql) } }
    }

    @Test("as of any date, open items, unapplied cash and aging equal the aggregate queries over the ledger", arguments: [5, 6] as [UInt64])
    func asOfEqualsAggregates(seed: UInt64) throws {
        let random = try RandomLedger(seed: seed)
        let store = random.store
        var generator = SplitMix(seed: seed &+ 1000)
        var dates: [CivilDate?] = [nil, random.start.adding(days: -1), random.start.adding(days: 200)]
        for _ in 0..<12 { dates.append(random.start.adding(days: Int.random(in: 0..<95, using: &generator))) }
        let customBuckets = try AgingBuckets(bounds: [0, 7, 45])
        // Every day's kept totals at once, as a monthly series reads them (days out of order).
        let series = try [AgingBuckets.standard, customBuckets].map { try store.agingTotals(asOf: dates.compactMap { $0 }.shuffled(using: &generator), buckets: $0) }
        for asOf in dates {
            for customer in [nil, "C1", "C4"] as [String?] {
                #expect(try store.openInvoices(customerID: customer, asOf: asOf).map(Balance.init) == Reference.open(store, customerID: customer, asOf: asOf), "\(String(describing: asOf)) \(customer ?? "-")")
                #expect(try store.unappliedSources(customerID: customer, asOf: asOf).map(Balance.init) == Reference.unapplied(store, customerID: customer, asOf: asOf), "\(String(describing: asOf))")
            }
            guard let asOf else { continue }
            for analyst in [nil, "U1"] as [String?] {
                let items = try Reference.open(store, analystID: analyst, asOf: asOf).map { AgingItem(customerID: $0.customerID, dueDate: $0.dueDate, open: $0.open) }
                for buckets in [AgingBuckets.standard, customBuckets] {
                    let summed = try AgingReport.assemble(store.agingSums(analystID: analyst, asOf: asOf, buckets: buckets), asOf: asOf, buckets: buckets)
                    let reference = try AgingReport.compute(items, asOf: asOf, buckets: buckets)
                    #expect(summed == reference, "\(asOf) \(analyst ?? "-")")
                    // Page by page (3 rows a page), with the report's totals on each.
                    var paged: [AgingReport.Row] = []
                    var page = try store.agingPage(analystID: analyst, asOf: asOf, buckets: buckets, page: PageRequest(size: 3))
                    while true {
                        paged += page.rows
                        #expect(page.totals == reference.totals.mapValues { $0.map { Int128($0) } }, "\(asOf) \(analyst ?? "-")")
                        guard let next = page.nextCursor else { break }
                        page = try store.agingPage(analystID: analyst, asOf: asOf, buckets: buckets, page: PageRequest(after: next, size: 3))
                    }
                    #expect(paged == reference.rows, "\(asOf) \(analyst ?? "-")")
                }
            }
            // The kept totals, against the report over every item.
            let items = try Reference.open(store, asOf: asOf).map { AgingItem(customerID: $0.customerID, dueDate: $0.dueDate, open: $0.open) }
            for (index, buckets) in [AgingBuckets.standard, customBuckets].enumerated() {
                let reference = try AgingReport.compute(items, asOf: asOf, buckets: buckets).totals.mapValues { $0.map { Int128($0) } }
                #expect(try store.agingTotals(asOf: asOf, buckets: buckets) == reference, "\(asOf)")
                #expect(series[index][asOf] ?? [:] == reference, "series, \(asOf)")
            }
        }
    }

    @Test("the tenant's metrics, from the kept totals, equal its analysts' figures from their invoices added up", arguments: [5, 8] as [UInt64])
    func tenantMetricsEqualAnalystsAdded(seed: UInt64) throws {
        let random = try RandomLedger(seed: seed)
        let store = random.store
        for (from, through) in [(random.start, random.start.adding(days: 29)), (random.start.adding(days: 30), random.start.adding(days: 75)),
                                (random.start.adding(days: -40), random.start.adding(days: 120))] {
            // USD only (PHP has no rate and is left out of both): the sums compare exactly.
            let tenant = try store.periodFigures(from: from, through: through, analystID: nil, base: .usd)
            var added = PeriodFigures(from: from, through: through, analystID: "")
            for analyst in ["U0", "U1"] {
                let figures = try store.periodFigures(from: from, through: through, analystID: analyst, base: .usd)
                try added.add(figures.figures)
            }
            #expect(tenant.figures.closing != 0)
            for (name, path) in [("opening", \PeriodFigures.opening), ("closing", \.closing), ("closingCurrent", \.closingCurrent),
                                 ("closingOver90", \.closingOver90), ("sales", \.sales), ("collected", \.collected)] as [(String, KeyPath<PeriodFigures, Int64>)] {
                #expect(tenant.figures[keyPath: path] == added[keyPath: path], "\(name) \(from)...\(through)")
            }
            #expect(tenant.figures.monthlySales == added.monthlySales, "\(from)...\(through)")
            #expect(tenant.excluded == ["PHP"])
        }
    }
}

private struct Balance: Equatable, CustomStringConvertible {
    var id: String
    var customerID: String
    var dueDate: CivilDate
    var open: Money

    init(_ item: (entry: LedgerEntry, open: Money)) {
        id = item.entry.id
        customerID = item.entry.customerID
        dueDate = item.entry.dueDate ?? item.entry.date
        open = item.open
    }

    init(row: Row) {
        id = row["id"]
        customerID = row["customer_id"]
        dueDate = CivilDate(row["due_date"] ?? row["date"])!
        open = Money(minorUnits: row["balance"], currency: Currency(code: row["currency"])!)
    }

    var description: String { "\(id) \(open)" }
}

/// The reports as they were computed before the derived tables: one aggregate query over the
/// ledger entries each, honouring the as-of date directly. The reference the new path must equal.
private enum Reference {
    static func reversedBy(_ asOf: CivilDate?, alias: String) -> (String, [(any DatabaseValueConvertible)?]) {
        let condition = "EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(alias).id\(asOf == nil ? "" : " AND r.date <= ?"))"
        return (condition, asOf.map { [$0.description] } ?? [])
    }

    static func open(_ store: TenantStore, customerID: String? = nil, analystID: String? = nil, asOf: CivilDate?) throws -> [Balance] {
        let (reversed, reversedArguments) = reversedBy(asOf, alias: "e")
        let (invoiceReversed, invoiceArguments) = reversedBy(asOf, alias: "i")
        var arguments: [(any DatabaseValueConvertible)?] = reversedArguments
        var sql = """
            SELECT i.*, i.amount
                + COALESCE(SUM(CASE e.kind WHEN 'adjustment' THEN e.amount WHEN 'application' THEN -e.amount
                                        WHEN 'write_off' THEN -e.amount ELSE 0 END), 0) AS balance
            FROM ledger_entry i
            LEFT JOIN ledger_entry e ON e.target_id = i.id AND e.kind IN ('adjustment', 'application', 'write_off')
                AND NOT \(reversed)\(asOf == nil ? "" : " AND e.date <= ?")
            """
        if let asOf { arguments.append(asOf.description) }
        if let analystID {
            sql += " JOIN customer c ON c.id = i.customer_id AND c.analyst_id = ?"
            arguments.append(analystID)
        }
        sql += " WHERE i.kind = 'invoice' AND NOT \(invoiceReversed)"
        arguments += invoiceArguments
        if let customerID {
            sql += " AND i.customer_id = ?"
            arguments.append(customerID)
        }
        if let asOf {
            sql += " AND i.date <= ?"
            arguments.append(asOf.description)
        }
        sql += " GROUP BY i.id HAVING balance != 0 ORDER BY i.due_date, i.id"
        return try store.writer.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Balance.init(row:)) }
    }

    static func unapplied(_ store: TenantStore, customerID: String? = nil, asOf: CivilDate?) throws -> [Balance] {
        let (reversed, reversedArguments) = reversedBy(asOf, alias: "e")
        let (sourceReversed, sourceArguments) = reversedBy(asOf, alias: "s")
        var arguments: [(any DatabaseValueConvertible)?] = reversedArguments
        var sql = """
            SELECT s.*, s.amount - COALESCE(SUM(e.amount), 0) AS balance
            FROM ledger_entry s
            LEFT JOIN ledger_entry e ON e.source_id = s.id AND e.kind IN ('application', 'refund')
                AND NOT \(reversed)\(asOf == nil ? "" : " AND e.date <= ?")
            WHERE s.kind IN ('payment', 'credit_memo') AND NOT \(sourceReversed)
            """
        if let asOf { arguments.append(asOf.description) }
        arguments += sourceArguments
        if let customerID {
            sql += " AND s.customer_id = ?"
            arguments.append(customerID)
        }
        if let asOf {
            sql += " AND s.date <= ?"
            arguments.append(asOf.description)
        }
        sql += " GROUP BY s.id HAVING balance != 0 ORDER BY s.date, s.id"
        return try store.writer.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Balance.init(row:)) }
    }
}
