import DunlinCore
@testable import DunlinStore
import GRDB
import DunlinSync
import Foundation
import Synchronization
import Testing

/// Reads that sum or index in SQL what a plainer read gives item by item, held to that read on
/// generated ledgers: the worklist's balances against the open invoices one by one, and the
/// trigger-kept possible duplicate payments against the in-memory rule over the whole ledger.
@Suite("Sums and indexes equal the item-by-item reads")
struct StoreSumsTests {
    static let start = CivilDate(year: 2026, month: 10, day: 1)!

    /// Payment P`index` of `money` by `customer` on `date`, and its application A`index` to `invoice`.
    static func paid(_ invoice: String, of customer: String, _ money: Money, on date: CivilDate, _ index: Int) -> [LedgerEntry] {
        [LedgerEntry(id: "P\(index)", kind: .payment, customerID: customer, amount: money, date: date),
         LedgerEntry(id: "A\(index)", kind: .application, customerID: customer, amount: money, date: date, sourceID: "P\(index)", targetID: invoice)]
    }

    @Test("the worklist's open, overdue and oldest due equal the open invoices summed one by one, before and after later entries",
          arguments: [1, 2, 3, 4, 5] as [UInt64])
    func worklistBalances(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let store = try TenantStore()
        let customers = (1...6).map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", analystID: $0 % 2 == 0 ? "A" : "B") }
        try store.upsert(customers)
        func currency(_ customer: Int) -> Currency { customer == 3 || customer == 4 ? Currency(code: "PHP")! : .usd }
        var invoices: [(id: String, customer: Int, open: Int64, date: CivilDate)] = []
        for index in 0..<60 {
            let customer = Int.random(in: 1...6, using: &random)
            let date = Self.start.adding(days: Int.random(in: 0...40, using: &random))
            let amount = Int64.random(in: 1_00...900_00, using: &random)
            let due = date.adding(days: Int.random(in: 0...30, using: &random))
            try store.post([LedgerEntry(id: "I\(index)", kind: .invoice, customerID: "C\(customer)", amount: Money(minorUnits: amount, currency: currency(customer)),
                                        date: date, dueDate: due, reference: "R\(index)")])
            invoices.append(("I\(index)", customer, amount, date))
        }
        // Payments applied to invoices, some applications reversed, some adjustments: dated over
        // 80 days, so an as-of date in the middle has entries after it.
        for index in 0..<40 {
            let pick = Int.random(in: 0..<invoices.count, using: &random)
            let invoice = invoices[pick]
            guard invoice.open > 0 else { continue }
            let amount = Int64.random(in: 1...invoice.open, using: &random)
            let paid = invoice.date.adding(days: Int.random(in: 0...40, using: &random))
            let money = Money(minorUnits: amount, currency: currency(invoice.customer))
            try store.post(Self.paid(invoice.id, of: "C\(invoice.customer)", money, on: paid, index))
            invoices[pick].open -= amount
            if index % 4 == 0 {
                try store.post([LedgerEntry(id: "V\(index)", kind: .reversal, amount: money, date: paid.adding(days: Int.random(in: 0...20, using: &random)), targetID: "A\(index)")])
                invoices[pick].open += amount
            }
            if index % 5 == 0 {
                try store.post([LedgerEntry(id: "J\(index)", kind: .adjustment, customerID: "C\(invoice.customer)", amount: Money(minorUnits: 10_00, currency: money.currency),
                                            date: paid.adding(days: 3), targetID: invoice.id)])
                invoices[pick].open += 10_00
            }
        }
        for asOf in [Self.start.adding(days: 10), Self.start.adding(days: 35), Self.start.adding(days: 60), Self.start.adding(days: 120)] {
            for analyst in ["A", "B", nil] as [String?] {
                var open: [String: MoneyTotals] = [:], overdue: [String: MoneyTotals] = [:], oldest: [String: CivilDate] = [:]
                for (invoice, balance) in try store.openInvoices(analystID: analyst, asOf: asOf) where balance.isPositive {
                    open[invoice.customerID, default: MoneyTotals()].add(balance)
                    guard let due = invoice.dueDate, due < asOf else { continue }
                    overdue[invoice.customerID, default: MoneyTotals()].add(balance)
                    oldest[invoice.customerID] = min(oldest[invoice.customerID] ?? due, due)
                }
                let facts = try store.worklistFacts(analystID: analyst, today: asOf, timeZone: .gmt)
                #expect(facts.map(\.customerID) == customers.filter { analyst == nil || $0.analystID == analyst }.map(\.id))
                for fact in facts {
                    #expect(fact.openTotal == (try open[fact.customerID]?.amounts() ?? []), "\(fact.customerID) as of \(asOf)")
                    #expect(fact.overdue == (try overdue[fact.customerID]?.amounts() ?? []), "\(fact.customerID) as of \(asOf)")
                    #expect(fact.oldestDue == oldest[fact.customerID], "\(fact.customerID) as of \(asOf)")
                }
            }
        }
        // With nothing dated after the day, the worklist reads the kept per-customer sums: the
        // same figures as summing every open invoice, less the rows of customers with nothing
        // positive. Invoices issued that day and due that day or later are not yet overdue.
        let current = Self.start.adding(days: 120)
        for index in 0..<8 {
            let customer = Int.random(in: 1...6, using: &random)
            try store.post([LedgerEntry(
                id: "F\(index)", kind: .invoice, customerID: "C\(customer)", amount: Money(minorUnits: Int64(1_00 + index), currency: currency(customer)),
                date: current, dueDate: current.adding(days: index), reference: "F\(index)"
            )])
        }
        for analyst in ["A", "B", nil] as [String?] {
            let (kept, summed) = try store.writer.read { db in
                (try TenantStore.ledgerIsCurrent(db, asOf: current) ? try TenantStore.currentOpenBalanceSums(db, analystID: analyst, asOf: current) : nil,
                 try TenantStore.summedOpenBalanceSums(db, analystID: analyst, asOf: current))
            }
            let key = { (sum: OpenBalanceSum) in sum.customerID + sum.currency.code }
            #expect(kept?.sorted { key($0) < key($1) } == summed.filter { $0.open > 0 }.sorted { key($0) < key($1) }, "analyst \(analyst ?? "any")")
        }
    }

    @Test("the worklist's facts from the kept sums and the index equal those summed from every open invoice, on any current day",
          arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func worklistFactsFromKeptSums(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let store = try TenantStore()
        // Customers in two currencies, with undated invoices, with nothing open, with only
        // credits; ids that sort apart from their insertion order.
        let customers = [7, 1, 12, 3, 20, 5, 9, 2].map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", analystID: $0 % 2 == 0 ? "A" : "B") }
        try store.upsert(customers)
        let currencies = [Currency.usd, Currency(code: "PHP")!, Currency(code: "JPY")!]
        var invoices: [(id: String, customer: String, currency: Currency, open: Int64, date: CivilDate)] = []
        for index in 0..<90 {
            let customer = customers[Int.random(in: 0..<(customers.count - 1), using: &random)].id
            let currency = currencies[Int.random(in: 0...(customer == "C7" ? 0 : 2), using: &random)]
            let date = Self.start.adding(days: Int.random(in: 0...40, using: &random))
            let amount = Int64.random(in: 1_00...900_00, using: &random)
            let due = date.adding(days: Int.random(in: 0...30, using: &random))
            try store.post([LedgerEntry(id: "I\(index)", kind: .invoice, customerID: customer, amount: Money(minorUnits: amount, currency: currency),
                                        date: date, dueDate: due, reference: "R\(index)")])
            invoices.append(("I\(index)", customer, currency, amount, date))
        }
        var last = Self.start.adding(days: 40)
        var paidTo: Set<String> = []
        for index in 0..<50 {
            let pick = Int.random(in: 0..<invoices.count, using: &random)
            let invoice = invoices[pick]
            guard invoice.open > 0 else { continue }
            paidTo.insert(invoice.id)
            let amount = Int64.random(in: 1...invoice.open, using: &random)
            let paid = invoice.date.adding(days: Int.random(in: 0...30, using: &random))
            last = max(last, paid)
            let money = Money(minorUnits: amount, currency: invoice.currency)
            try store.post(Self.paid(invoice.id, of: invoice.customer, money, on: paid, index))
            invoices[pick].open -= amount
            if index % 5 == 0 {
                try store.post([LedgerEntry(id: "V\(index)", kind: .reversal, amount: money, date: paid, targetID: "A\(index)")])
                invoices[pick].open += amount
            }
        }
        // Some invoices voided whole.
        for index in stride(from: 3, to: invoices.count, by: 11) where !paidTo.contains(invoices[index].id) {
            let invoice = try #require(try store.entry(invoices[index].id))
            try store.post([LedgerEntry(id: "X\(index)", kind: .reversal, amount: invoice.amount, date: last, targetID: invoice.id)])
        }
        // Invoices without a due date (the API refuses them now; the column allows them): never
        // overdue, part of the open total.
        try store.writer.write { db in
            for (index, customer) in ["C1", "C3", "C3"].enumerated() {
                try db.execute(sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date) VALUES (?, 'invoice', ?, 'USD', ?, ?)",
                               arguments: ["U\(index)", customer, 7_00 + index, Self.start.description])
            }
        }
        // A customer with only a credit balance: no open invoice, so no sums.
        try store.post([LedgerEntry(id: "CM1", kind: .creditMemo, customerID: "C2", amount: Money(minorUnits: 5_00, currency: .usd), date: Self.start)])
        for asOf in [last, last.adding(days: 1), last.adding(days: 15), last.adding(days: 400)] {
            let current = try store.writer.read { db in try TenantStore.ledgerIsCurrent(db, asOf: asOf) }
            #expect(current)
            for analyst in ["A", "B", nil] as [String?] {
                let (kept, summed) = try store.writer.read { db in
                    (try TenantStore.worklistFacts(db, analystID: analyst, today: asOf, timeZone: .gmt, currentSums: true),
                     try TenantStore.worklistFacts(db, analystID: analyst, today: asOf, timeZone: .gmt, currentSums: false))
                }
                #expect(kept == summed, "analyst \(analyst ?? "any") on \(asOf)")
                #expect(try store.worklistFacts(analystID: analyst, today: asOf, timeZone: .gmt) == kept)
            }
        }
    }

    @Test("a placed customer in two currencies leaves the worklist's facts whole, and its sums go to no other customer, on both paths")
    func placedCustomerInTwoCurrencies() throws {
        let store = try TenantStore()
        try store.upsert(["C1", "C2", "C3"].map { Customer(id: $0, number: "N\($0)", name: "Customer \($0)", analystID: "A") })
        let php = try #require(Currency(code: "PHP"))
        for (index, (customer, currency)) in [("C1", Currency.usd), ("C2", php), ("C2", .usd), ("C3", .usd)].enumerated() {
            try store.post([LedgerEntry(id: "I\(index)", kind: .invoice, customerID: customer, amount: Money(minorUnits: 1_000_00 * Int64(index + 1), currency: currency),
                                        date: Self.start, dueDate: Self.start.adding(days: 10), reference: "R\(index)")])
        }
        try store.writer.write { db in
            try EscalationRow(Escalation(
                id: "ESC:P", customerID: "C2", action: .place, reason: "placed", agency: "Agency", escalatedOn: Self.start,
                summary: "", createdAt: Date(timeIntervalSince1970: 0)
            )).insert(db)
        }
        let today = Self.start.adding(days: 30)
        let (kept, summed) = try store.writer.read { db in
            (try TenantStore.worklistFacts(db, analystID: "A", today: today, timeZone: .gmt, currentSums: true),
             try TenantStore.worklistFacts(db, analystID: "A", today: today, timeZone: .gmt, currentSums: false))
        }
        #expect(kept.map(\.customerID) == ["C1", "C3"])
        #expect(kept.map(\.overdue) == [[Money(minorUnits: 1_000_00, currency: .usd)], [Money(minorUnits: 4_000_00, currency: .usd)]])
        #expect(kept == summed)
    }

    @Test("a customer's open total beyond 64 bits is refused naming its currency, on the kept path as on the summed one")
    func worklistOpenTotalBeyond64Bits() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "N1", name: "One", analystID: "A")])
        // Beyond what the API takes (amounts are capped far below 64 bits), as only a file
        // written otherwise could hold: two invoices whose sum does not fit 64 bits.
        try store.writer.write { db in
            for index in 0..<2 {
                try db.execute(sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date) VALUES (?, 'invoice', 'C1', 'USD', ?, ?, ?)",
                               arguments: ["I\(index)", Int64.max / 2 + 1, Self.start.description, Self.start.adding(days: 30).description])
            }
        }
        #expect(throws: MoneyError.totalOutOfRange(.usd)) { try store.worklistFacts(analystID: "A", today: Self.start, timeZone: .gmt) }
        #expect(throws: MoneyError.totalOutOfRange(.usd)) { try store.worklistFacts(analystID: "A", today: Self.start.adding(days: 40), timeZone: .gmt) }
    }

    @Test("an aging whose one-column SQL sum overflows on the way is summed again wide, exactly, for the tenant and for an analyst")
    func agingSumOverflowingOnTheWay() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "N1", name: "One", analystID: "A")])
        // Beyond what the API takes: two invoices that overflow 64 bits when added first (they are
        // due first), then a negative one due a day later that brings the sum back in range.
        let half = Int64.max / 2 + 1
        try store.writer.write { db in
            for (id, amount, due) in [("I0", half, 30), ("I1", half, 30), ("I2", -half, 31)] {
                try db.execute(sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date) VALUES (?, 'invoice', 'C1', 'USD', ?, ?, ?)",
                               arguments: [id, amount, Self.start.description, Self.start.adding(days: due).description])
            }
        }
        for analyst in ["A", nil] as [String?] {
            let page = try store.agingPage(analystID: analyst, asOf: Self.start, buckets: .standard, page: PageRequest(size: 10))
            #expect(page.rows == [AgingReport.Row(customerID: "C1", currency: .usd, buckets: [half, 0, 0, 0, 0, 0])], "\(analyst ?? "tenant")")
        }
    }

    @Test("an aging page groups its invoices in index order, with no sort, for the tenant and for an analyst, today and as of a past date")
    func agingGroupsWithoutASort() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "N1", name: "One", analystID: "A"), Customer(id: "C2", number: "N2", name: "Two", analystID: "A")])
        try store.post([
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 10_00, currency: .usd), date: Self.start, dueDate: Self.start.adding(days: 30), reference: "INV-1"),
            LedgerEntry(id: "I2", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 20_00, currency: .eur), date: Self.start, dueDate: Self.start.adding(days: 10), reference: "INV-2"),
            LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 4_00, currency: .usd), date: Self.start.adding(days: 5)),
            LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: Money(minorUnits: 4_00, currency: .usd), date: Self.start.adding(days: 5), sourceID: "P1", targetID: "I1"),
        ])
        for analyst in ["A", nil] as [String?] {
            for asOf in [Self.start.adding(days: 1), Self.start.adding(days: 40)] {
                // Every statement the page runs, planned: none sorts the invoices to group them.
                let statements = Mutex<[String]>([])
                let page = try store.writer.read { db in
                    db.trace { event in if case .statement(let statement) = event { statements.withLock { $0.append(statement.expandedSQL) } } }
                    defer { db.trace(options: [], nil) }
                    return try TenantStore.agingSums(db, analystID: analyst, asOf: asOf, buckets: .standard, limit: analyst == nil ? 10 : nil)
                }
                #expect(page.count == 2)
                let grouping = statements.withLock { $0 }.filter { $0.contains("GROUP BY") && $0.contains("COUNT(*)") }
                #expect(grouping.count == 1, "\(grouping)")
                for sql in grouping {
                    let plan = try store.writer.read { db in
                        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
                    }
                    #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(analyst ?? "tenant") \(asOf): \(plan)")
                    #expect(plan.contains { $0.contains("invoice_balance_by_customer") }, "\(plan)")
                }
            }
        }
    }

    @Test("the worklist's seeks for overdue and not-yet-due balances are two, in the covering index only (v34)")
    func currentSumsReadTheIndexOnly() throws {
        let store = try TenantStore()
        let plan = try store.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT \(CurrentOpenBalance.columns) FROM customer_open_balance o", arguments: ["2026-12-15"])
                .map { $0["detail"] as String }
        }
        let seeks = plan.filter { $0.contains("invoice_balance") || $0.hasPrefix("SEARCH b") }
        #expect(seeks.count == 2, "\(plan)")
        #expect(seeks.allSatisfy { $0.contains("USING COVERING INDEX open_invoice_by_customer_currency_due (customer_id=? AND currency=?") }, "\(plan)")
        // The first invoice in due-date order is the index's first entry, not a sort.
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }

    @Test("the worklist reads an analyst's customers from one index alone, with their name, risk and credit limit (v38)")
    func analystCustomersFromTheIndexAlone() throws {
        let store = try TenantStore()
        let plan = try store.writer.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT c.id, c.name, c.risk_rating, c.credit_limit, c.credit_currency FROM customer c WHERE c.analyst_id = ?",
                arguments: ["A"]
            ).map { $0["detail"] as String }
        }
        #expect(plan == ["SEARCH c USING COVERING INDEX customer_analyst (analyst_id=?)"], "\(plan)")
    }

    @Test("possible duplicate payments are found whichever of a pair arrives first, as the rule finds them in the whole ledger",
          arguments: [1, 2, 3, 4] as [UInt64])
    func duplicatePaymentsInAnyOrder(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1", name: "One"), Customer(id: "C2", number: "2", name: "Two")])
        var payments: [LedgerEntry] = []
        for index in 0..<80 {
            let customer = Bool.random(using: &random) ? "C1" : (index % 9 == 0 ? "" : "C2")
            payments.append(LedgerEntry(
                id: "P\(index)", kind: .payment, customerID: customer, amount: Money(minorUnits: Int64.random(in: 1...3, using: &random) * 100_00, currency: .usd),
                date: Self.start.adding(days: Int.random(in: 0...30, using: &random)), reference: "REF\(Int.random(in: 1...3, using: &random))"
            ))
        }
        payments.shuffle(using: &random)
        // In batches, as pulls and posts arrive; then some voided.
        for start in stride(from: 0, to: payments.count, by: 15) { try store.post(Array(payments[start..<min(start + 15, payments.count)])) }
        let voids = payments.prefix(10).map {
            LedgerEntry(id: "V-\($0.id)", kind: .reversal, customerID: $0.customerID, amount: $0.amount, date: $0.date, targetID: $0.id)
        }
        try store.post(voids)
        #expect(try store.recheckInvariants() == LedgerInvariants.violations(in: payments + voids))
    }
}
