import DunlinCore
@testable import DunlinStore
import GRDB
import DunlinSync
import Testing

/// Reads that sum or index in SQL what a plainer read gives item by item, held to that read on
/// generated ledgers: the worklist's balances against the open invoices one by one, and the
/// trigger-kept possible duplicate payments against the in-memory rule over the whole ledger.
@Suite("Sums and indexes equal the item-by-item reads")
struct StoreSumsTests {
    static let start = CivilDate(year: 2026, month: 10, day: 1)!

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
            try store.post([
                LedgerEntry(id: "P\(index)", kind: .payment, customerID: "C\(invoice.customer)", amount: money, date: paid),
                LedgerEntry(id: "A\(index)", kind: .application, customerID: "C\(invoice.customer)", amount: money, date: paid, sourceID: "P\(index)", targetID: invoice.id),
            ])
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
