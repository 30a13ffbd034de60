import DunlinCore
import Foundation
import GRDB

extension TenantStore {
    /// What the worklist (``DunlinCore/Worklist``) reads of each customer of `analystID` (every
    /// customer when nil) on `today`, in one snapshot: open and overdue invoice balances as of
    /// `today`, open disputes, promises measured against the ledger, open tasks due by `today`, and
    /// the day of the last activity in `timeZone` (the reader's calendar).
    public func worklistFacts(analystID: String?, today: CivilDate, timeZone: TimeZone) throws -> [WorklistFacts] {
        try writer.read { db in try Self.worklistFacts(db, analystID: analystID, today: today, timeZone: timeZone) }
    }

    /// Everything the `Receivables/Worklist` answer reads, in one snapshot and one pool checkout
    /// (the handler made five reads, each its own transaction): the facts
    /// (``worklistFacts(analystID:today:timeZone:)``), the tenant's settings (the weights), the
    /// stored rates into `base` in force on `today` (``ratesInForce(into:on:)``), and the
    /// unresolved tickets with their events and the team calendars their SLA clocks need.
    public func worklistInputs(analystID: String?, today: CivilDate, timeZone: TimeZone, base: Currency) throws -> WorklistInputs {
        try writer.read { db in
            let tickets = try Self.unresolvedTickets(db)
            return WorklistInputs(
                facts: try Self.worklistFacts(db, analystID: analystID, today: today, timeZone: timeZone),
                settings: try Self.settings(db),
                rates: try Self.ratesInForce(db, into: base, on: today),
                tickets: tickets,
                ticketEvents: try Self.ticketEvents(db, of: tickets.map(\.id)),
                calendars: try tickets.isEmpty ? [] : Self.allTeamCalendars(db)
            )
        }
    }

    /// ``worklistFacts(analystID:today:timeZone:)`` in the caller's read: the kept sums when the
    /// ledger is current on `today`, else (or when a total is beyond 64 bits) summed item by item.
    static func worklistFacts(_ db: Database, analystID: String?, today: CivilDate, timeZone: TimeZone) throws -> [WorklistFacts] {
        if try ledgerIsCurrent(db, asOf: today) {
            do {
                return try worklistFacts(db, analystID: analystID, today: today, timeZone: timeZone, currentSums: true)
            } catch let error as DatabaseError where error.message == "integer overflow" {
                // A customer's open total beyond 64 bits: the general path sums it in 128
                // bits, so the narrowing below names its currency.
            }
        }
        return try worklistFacts(db, analystID: analystID, today: today, timeZone: timeZone, currentSums: false)
    }

    /// ``worklistFacts(analystID:today:timeZone:)`` in the caller's read. The customers come in
    /// one statement in the analyst's order (the index's, by id; every customer: the table's, not
    /// the order of v38's index, which covers these columns too),
    /// each customer's rows together. With `currentSums` (the ledger is current on `today`) that
    /// statement also carries each customer's open sums per currency (``CurrentOpenBalance``: the
    /// kept total and a few index seeks, no invoice read); without, they are summed from every
    /// open invoice as of `today` (``summedOpenBalanceSums(_:analystID:asOf:)``). Facts are an
    /// array in that order; the few disputes, tasks and promises find their customer through a
    /// position per id.
    static func worklistFacts(_ db: Database, analystID: String?, today: CivilDate, timeZone: TimeZone, currentSums: Bool) throws -> [WorklistFacts] {
        let mine = analystID == nil ? "" : " AND customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)"
        let scope: StatementArguments = analystID.map { [$0] } ?? []

        // A customer placed with a collection agency on `today` is the agency's to work, not
        // the analyst's: off the worklist until a manager recalls the placement.
        let columns = EscalationRow.Columns.self
        var placed: Set<String> = []
        for placement in try EscalationRow.live
            .filter(columns.action == EscalationAction.place.rawValue && columns.escalatedOn <= today.description).fetchAll(db) {
            let placement = try placement.record()
            if placement.places(on: today) { placed.insert(placement.customerID) }
        }

        var facts: [WorklistFacts] = []
        var position: [String: Int] = [:]
        position.reserveCapacity(1024)
        func add(_ sum: OpenBalanceSum, to customer: inout WorklistFacts) throws {
            if sum.open > 0 { customer.openTotal.append(Money(minorUnits: try MoneyTotals.narrow(sum.open, sum.currency), currency: sum.currency)) }
            if sum.overdue > 0 { customer.overdue.append(Money(minorUnits: try MoneyTotals.narrow(sum.overdue, sum.currency), currency: sum.currency)) }
            if let due = sum.oldestOverdue, customer.oldestDue.map({ due < $0 }) ?? true { customer.oldestDue = due }
        }
        // The last contact of each customer is one seek in the activity index (customer, time),
        // not a grouping of every activity of the analyst's customers. Read by position.
        let sums = currentSums ? ", \(CurrentOpenBalance.columns)" : ""
        let join = currentSums ? " LEFT JOIN customer_open_balance o ON o.customer_id = c.id AND o.items > 0" : ""
        let customers = try Row.fetchCursor(
            db.cachedStatement(sql: """
                SELECT c.id, c.name, c.risk_rating, c.credit_limit, c.credit_currency,
                       (SELECT MAX(occurred_at) FROM activity WHERE customer_id = c.id)\(sums)
                FROM customer c\(analystID == nil ? " NOT INDEXED" : "")\(join)
                """ + (analystID == nil ? "" : " WHERE c.analyst_id = ?")),
            arguments: StatementArguments(currentSums ? CurrentOpenBalance.arguments(today) : []) + scope
        )
        // The customer of the rows being read (comparing with `facts.last` copied its facts on
        // every row), and whether it is placed (its rows skipped).
        var lastID: String?, isPlaced = false
        while let row = try customers.next() {
            let id: String = try row.decode(String.self, atIndex: 0)
            if lastID != id {
                lastID = id
                isPlaced = placed.contains(id)
                guard !isPlaced else { continue }
                let limit = try row.decode(Int64?.self, atIndex: 3), currency = try row.decode(String?.self, atIndex: 4)
                var customer = WorklistFacts(
                    customerID: id, customerName: try row.decode(String.self, atIndex: 1),
                    riskRating: try row.decode(Int.self, atIndex: 2),
                    creditLimit: limit.flatMap { limit in currency.flatMap(Currency.init(code:)).map { Money(minorUnits: limit, currency: $0) } }
                )
                if let last = try row.decode(Int64?.self, atIndex: 5) {
                    customer.lastContact = CivilDate(Activity.instant(milliseconds: last), in: timeZone)
                }
                position[id] = facts.count
                facts.append(customer)
            }
            // One row per currency with open invoices, in currency order as MoneyTotals gives them.
            if currentSums, !isPlaced, !row.hasNull(atIndex: 6), let sum = try CurrentOpenBalance.sum(db, row, at: 6, customerID: id, asOf: today) {
                try add(sum, to: &facts[facts.count - 1])
            }
        }
        if !currentSums {
            for sum in try summedOpenBalanceSums(db, analystID: analystID, asOf: today).sorted(by: { $0.currency < $1.currency }) {
                guard let index = position[sum.customerID] else { continue }
                try add(sum, to: &facts[index])
            }
        }

        // Open disputes and due tasks are few beside the ledger: read them all and keep the
        // analyst's (a subquery per row on the customer's analyst cost more than the rows).
        let disputes = try Row.fetchCursor(
            db, sql: "SELECT customer_id, COUNT(*) AS n FROM dispute WHERE deleted = 0 AND status NOT IN ('resolved', 'rejected') GROUP BY customer_id"
        )
        while let row = try disputes.next() {
            if let index = position[try row.decode(String.self, forColumn: "customer_id")] { facts[index].openDisputes = try row.decode(Int.self, forColumn: "n") }
        }

        // Call-backs are the tasks due by today; a portal upload (PortalBilling) is one however far off.
        let tasks = try Row.fetchCursor(
            db, sql: """
                SELECT customer_id, due_date, substr(id, 1, ?) = ? AS upload FROM collection_task
                WHERE deleted = 0 AND done = 0 AND (due_date <= ? OR substr(id, 1, ?) = ?)
                """,
            arguments: [PortalBilling.taskPrefix.count, PortalBilling.taskPrefix, today.description, PortalBilling.taskPrefix.count, PortalBilling.taskPrefix]
        )
        while let row = try tasks.next() {
            guard let index = position[try row.decode(String.self, forColumn: "customer_id")],
                  let due = CivilDate(try row.decode(String.self, forColumn: "due_date")) else { continue }
            if try row.decode(Bool.self, forColumn: "upload") { facts[index].portalUploads.append(due) } else { facts[index].callBacks.append(due) }
        }

        // Promises and plans, installment by installment: broken in the window, or due today,
        // from what the triggers keep of each (InstallmentProgress).
        let since = today.adding(days: -Worklist.brokenPromiseWindowDays)
        for (customerID, evaluation) in try Self.keptInstallmentEvaluations(db, since: since, today: today, scope: mine, scope) {
            guard let index = position[customerID] else { continue }
            let installment = evaluation.installment
            switch evaluation.status {
            case .broken, .partlyKept:
                facts[index].brokenPromises.append(.init(
                    amount: installment.amount, brokenOn: evaluation.brokenOn, partly: evaluation.status == .partlyKept
                ))
            case .open where installment.dueDate == today:
                facts[index].promisesDue.append(.init(amount: installment.amount, promisedDate: installment.dueDate))
            case .open, .kept:
                break
            }
        }
        return facts
    }
}

/// What the worklist's answer reads (``TenantStore/worklistInputs(analystID:today:timeZone:base:)``).
public struct WorklistInputs: Sendable {
    public var facts: [WorklistFacts]
    public var settings: [TenantSetting]
    /// The stored rates into the base currency in force on the day, by currency.
    public var rates: [Currency: AppliedRate]
    /// Unresolved tickets, by the time they were opened, then id.
    public var tickets: [Ticket]
    /// The tickets' events, by ticket.
    public var ticketEvents: [String: [TicketEvent]]
    /// Every team calendar (none read when there is no ticket).
    public var calendars: [TeamCalendar]
}
