import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

/// The dunning run's planner (``TenantStore/runPlan(_:asOf:createdAt:)``), which seeks each
/// customer's oldest unheld open item and reads a customer's invoices only when its notice is not
/// written yet, held to the whole recomputation (every open invoice of the tenant through
/// ``DunlinCore/DunningRun/plan(asOf:customers:policies:openInvoices:holds:createdAt:)``) on
/// generated portfolios: partial and full payments, voided invoices and reversed payments,
/// undated invoices, several on one due date, disputes, promises, manual holds, a placement and a
/// ledger exception, on days taken from the clock across New York's spring-forward and Manila's
/// midnight, before and after runs have written notices.
@Suite("Dunning planner equals the whole recomputation")
struct DunningPlannerTests {
    static let start = CivilDate("2026-01-20")!
    static let at = Date(timeIntervalSince1970: 1_772_960_000)

    static let standard = DunningPolicy(id: "POL-STD", name: "Standard", segment: "smb", levels: [
        DunningLevel(days: -5, channel: .email, template: "friendly_reminder"),
        DunningLevel(days: 15, channel: .email, template: "first_notice"),
        DunningLevel(days: 30, channel: .letter, template: "second_notice", fee: Money(minorUnits: 25_00, currency: .usd), interestBasisPoints: 1800),
        DunningLevel(days: 60, channel: .escalate, template: "manager_review"),
        DunningLevel(days: 90, channel: .place, template: "agency_placement"),
    ])
    static let key = DunningPolicy(id: "POL-KEY", name: "Key accounts", customerIDs: ["C12", "C3"], levels: [
        DunningLevel(days: 0, channel: .email, template: "first_notice"),
        DunningLevel(days: 45, channel: .callTask, template: "call"),
    ])

    /// Days from the clock: the evening before and the morning of New York's spring-forward, and
    /// either side of Manila's midnight (16:00 UTC).
    static func day(_ instant: String, in zone: String) -> CivilDate {
        WallClock.fixed(ISO8601DateFormatter().date(from: instant)!).today(in: TimeZone(identifier: zone)!)
    }

    /// The planner's answer against the recomputation's on `asOf`, in the store as it stands.
    static func expectSamePlan(_ store: TenantStore, asOf: CivilDate, fast: Bool, _ comment: String) throws {
        try store.writer.read { db in
            #expect(try TenantStore.ledgerIsCurrent(db, asOf: asOf) == fast, "\(comment): which path")
            let planned = try TenantStore.runPlan(db, asOf: asOf, createdAt: at)
            let whole = try TenantStore.dunningPlan(db, asOf: asOf, holdsOn: asOf, balancesAsOf: asOf, createdAt: at)
            let written = try Set(String.fetchAll(db, sql: "SELECT id FROM dunning_notice"))
            #expect(planned.new == whole.notices.filter { !written.contains($0.id) }, "\(comment): the notices to write")
            #expect(planned.existing == whole.notices.filter { written.contains($0.id) }.count, "\(comment): the notices found")
            #expect(planned.heldCustomers == whole.heldCustomers, "\(comment): held customers")
            #expect(planned.heldItems == whole.heldItems, "\(comment): held items")
        }
    }

    @Test("the planner's notices and held counts equal the whole recomputation's, before and after runs", arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func plannerEqualsRecomputation(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        let store = try TenantStore()
        let ids = [7, 1, 12, 3, 20, 5, 9, 2, 14, 11]
        let customers = ids.map { Customer(id: "C\($0)", number: "N\($0)", name: "Customer \($0)", tags: $0 == 9 ? [] : ["smb"]) }
        try store.upsert(customers)
        try store.upsert([Self.standard, Self.key])
        let currencies = [Currency.usd, Currency(code: "PHP")!]
        var invoices: [(id: String, customer: String, currency: Currency, open: Int64, date: CivilDate)] = []
        for index in 0..<120 {
            let customer = customers[Int.random(in: 0..<customers.count, using: &random)].id
            let currency = currencies[Int.random(in: 0...1, using: &random)]
            let date = Self.start.adding(days: Int.random(in: 0...35, using: &random))
            // Several invoices share a due date: the anchor is then the smallest id.
            let due = date.adding(days: 5 * Int.random(in: 0...6, using: &random))
            let amount = Int64.random(in: 1_00...900_00, using: &random)
            try store.post([LedgerEntry(id: "I\(String(index, radix: 36))", kind: .invoice, customerID: customer, amount: Money(minorUnits: amount, currency: currency),
                                        date: date, dueDate: due, reference: "R\(index)")])
            invoices.append(("I\(String(index, radix: 36))", customer, currency, amount, date))
        }
        // Undated invoices (the column allows them): their date stands for the due date.
        try store.writer.write { db in
            for (index, customer) in ["C1", "C3", "C12", "C1"].enumerated() {
                try db.execute(sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date) VALUES (?, 'invoice', ?, 'USD', ?, ?)",
                               arguments: ["U\(index)", customer, 7_00 + index, Self.start.adding(days: 3 * index).description])
            }
        }
        var payment = 0
        var paidTo: Set<String> = []
        func pay(upTo last: CivilDate, count: Int) throws {
            for _ in 0..<count {
                let pick = Int.random(in: 0..<invoices.count, using: &random)
                let invoice = invoices[pick]
                guard invoice.open > 0 else { continue }
                payment += 1
                paidTo.insert(invoice.id)
                // Half pay in full (the next item sets the level), half in part (the level stays).
                let amount = Bool.random(using: &random) ? invoice.open : Int64.random(in: 1...invoice.open, using: &random)
                let paid = min(last, invoice.date.adding(days: Int.random(in: 0...25, using: &random)))
                let money = Money(minorUnits: amount, currency: invoice.currency)
                try store.post([
                    LedgerEntry(id: "P\(payment)", kind: .payment, customerID: invoice.customer, amount: money, date: paid),
                    LedgerEntry(id: "A\(payment)", kind: .application, customerID: invoice.customer, amount: money, date: paid, sourceID: "P\(payment)", targetID: invoice.id),
                ])
                invoices[pick].open -= amount
                if payment % 6 == 0 {
                    try store.post([LedgerEntry(id: "V\(payment)", kind: .reversal, amount: money, date: paid, targetID: "A\(payment)")])
                    invoices[pick].open += amount
                }
            }
        }
        let springEve = Self.day("2026-03-08T04:59:00Z", in: "America/New_York")
        try pay(upTo: springEve, count: 60)
        // Some invoices voided whole (those nothing was applied to).
        for index in stride(from: 4, to: invoices.count, by: 17) where !paidTo.contains(invoices[index].id) {
            let invoice = invoices[index]
            try store.post([LedgerEntry(id: "X\(index)", kind: .reversal, amount: Money(minorUnits: invoice.open, currency: invoice.currency), date: springEve, targetID: invoice.id)])
            invoices[index].open = 0
        }
        // Holds: disputes (one resolved), promises (one whose deadline passes between the
        // days, one broken), a manual hold and a released one, a placement, a ledger exception
        // (a payment applied beyond its amount, as two laptops can push it).
        let open = invoices.filter { $0.open > 0 }
        func pick() -> (id: String, customer: String, currency: Currency, open: Int64, date: CivilDate) { open[Int.random(in: 0..<open.count, using: &random)] }
        let disputed = pick(), resolved = pick(), promised = pick(), lapsing = pick(), broken = pick()
        try store.upsert([
            Dispute(id: "D1", customerID: disputed.customer, invoiceIDs: [disputed.id], amount: Money(minorUnits: 1, currency: disputed.currency),
                    reasonCode: "pricing", openedOn: Self.start),
            Dispute(id: "D2", customerID: resolved.customer, invoiceIDs: [resolved.id], amount: Money(minorUnits: 1, currency: resolved.currency),
                    reasonCode: "pricing", status: .resolved, openedOn: Self.start, resolvedOn: Self.start.adding(days: 2)),
        ])
        try store.upsert([
            PromiseToPay(id: "PR1", customerID: promised.customer, invoiceIDs: [promised.id], amount: Money(minorUnits: 1, currency: promised.currency),
                         madeOn: Self.start, promisedDate: CivilDate("2026-05-01")!),
            PromiseToPay(id: "PR2", customerID: lapsing.customer, invoiceIDs: [lapsing.id], amount: Money(minorUnits: 1, currency: lapsing.currency),
                         madeOn: Self.start, promisedDate: CivilDate("2026-03-05")!),
            PromiseToPay(id: "PR3", customerID: broken.customer, invoiceIDs: [broken.id], amount: Money(minorUnits: 1, currency: broken.currency),
                         madeOn: Self.start, promisedDate: CivilDate("2026-05-01")!, status: .broken),
        ])
        let held = customers[Int.random(in: 0..<customers.count, using: &random)].id
        try store.upsert([
            DunningHold(id: "H1", customerID: held, reason: "CFO on leave", placedOn: Self.start),
            DunningHold(id: "H2", customerID: "C20", reason: "moving", placedOn: Self.start, releasedOn: Self.start.adding(days: 5), releaseReason: "back"),
        ])
        let placed = customers[Int.random(in: 0..<customers.count, using: &random)].id
        let overdrawn = pick(), second = open.first { $0.customer == overdrawn.customer && $0.currency == overdrawn.currency && $0.id != overdrawn.id }
        try store.writer.write { db in
            try TenantStore.save(EscalationRow(Escalation(
                id: "ESC-1", customerID: placed, action: .place, reason: "placed", agency: "Acme Recovery", escalatedOn: Self.start, summary: "", createdAt: Self.at
            )), db)
            if let second {
                let both = overdrawn.open + 1
                try db.execute(sql: "INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date) VALUES ('PX', 'payment', ?, ?, ?, ?)",
                               arguments: [overdrawn.customer, overdrawn.currency.code, both, Self.start.description])
                for (id, target, amount) in [("AX1", overdrawn.id, overdrawn.open), ("AX2", second.id, Int64(2))] {
                    try db.execute(sql: """
                        INSERT INTO ledger_entry (id, kind, customer_id, currency, amount, date, source_id, target_id) VALUES (?, 'application', ?, ?, ?, ?, 'PX', ?)
                        """, arguments: [id, overdrawn.customer, overdrawn.currency.code, amount, Self.start.description, target])
                }
            }
        }

        for index in invoices.indices where invoices[index].id == overdrawn.id || invoices[index].id == second?.id {
            invoices[index].open = 0   // paid (or overpaid) by PX: no more payments to it
        }

        // A day in the past (entries after it: the whole recomputation), then the days from the
        // clock, each planned before and after its run.
        try Self.expectSamePlan(store, asOf: Self.start.adding(days: 30), fast: false, "seed \(seed), a past day")
        let days = [
            springEve,
            Self.day("2026-03-08T05:00:00Z", in: "America/New_York"),
            Self.day("2026-03-08T15:59:59Z", in: "Asia/Manila"),
            Self.day("2026-03-08T16:00:00Z", in: "Asia/Manila"),
        ]
        #expect(days.map(\.description) == ["2026-03-07", "2026-03-08", "2026-03-08", "2026-03-09"])
        for (index, asOf) in days.enumerated() {
            try Self.expectSamePlan(store, asOf: asOf, fast: true, "seed \(seed), \(asOf) (\(index)) before its run")
            _ = try store.runDunning(asOf: asOf, at: Self.at)
            try Self.expectSamePlan(store, asOf: asOf, fast: true, "seed \(seed), \(asOf) (\(index)) after its run")
        }
        // After the runs: a dispute opened on the item a written notice is anchored at, and
        // another such item paid in full, then the same day planned again: the notice found
        // before is no longer the one the day calls for.
        let lastDay = days[days.count - 1]
        let written = try store.writer.read { db in try DunningNoticeRow.fetchAll(db).map { try $0.record() } }
            .filter { $0.asOf == lastDay && !$0.lines.isEmpty }.sorted { $0.id < $1.id }
        for (index, notice) in written.prefix(4).enumerated() {
            let anchor = notice.lines[0]
            if index % 2 == 0 {
                try store.upsert([Dispute(id: "DA\(index)", customerID: notice.customerID, invoiceIDs: [anchor.invoiceID],
                                          amount: Money(minorUnits: 1, currency: anchor.balance.currency), reasonCode: "pricing", openedOn: lastDay)])
            } else {
                try store.post([
                    LedgerEntry(id: "PA\(index)", kind: .payment, customerID: notice.customerID, amount: anchor.balance, date: lastDay),
                    LedgerEntry(id: "AA\(index)", kind: .application, customerID: notice.customerID, amount: anchor.balance, date: lastDay,
                                sourceID: "PA\(index)", targetID: anchor.invoiceID),
                ])
                for pick in invoices.indices where invoices[pick].id == anchor.invoiceID { invoices[pick].open = 0 }
            }
        }
        try Self.expectSamePlan(store, asOf: lastDay, fast: true, "seed \(seed), \(lastDay) after disputes and payments on anchors")
        _ = try store.runDunning(asOf: lastDay, at: Self.at)
        try Self.expectSamePlan(store, asOf: lastDay, fast: true, "seed \(seed), \(lastDay) run again")

        // More payments (partial ones leave the level where it was; full ones move the anchor),
        // then later days: the lapsed promise no longer holds, levels have turned.
        try pay(upTo: CivilDate("2026-03-20")!, count: 40)
        for asOf in [CivilDate("2026-03-20")!, CivilDate("2026-04-10")!, CivilDate("2026-06-01")!] {
            try Self.expectSamePlan(store, asOf: asOf, fast: true, "seed \(seed), \(asOf) before its run")
            _ = try store.runDunning(asOf: asOf, at: Self.at)
            try Self.expectSamePlan(store, asOf: asOf, fast: true, "seed \(seed), \(asOf) after its run")
        }
    }

    @Test("the planner's seek for a customer's oldest open item reads one index range, with no sort")
    func oldestItemSeekPlan() throws {
        let store = try TenantStore()
        let plan = try store.writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(TenantStore.openByDue)", arguments: ["C1", "2026-03-01", "2026-03-01"]).map { $0["detail"] as String }
        }
        #expect(plan.contains { $0.contains("invoice_statement") }, "\(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
    }
}
