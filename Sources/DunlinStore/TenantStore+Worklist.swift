import DunlinCore
import Foundation
import GRDB

extension TenantStore {
    /// What the worklist (``DunlinCore/Worklist``) reads of each customer of `analystID` (every
    /// customer when nil) on `today`, in one snapshot: open and overdue invoice balances as of
    /// `today`, open disputes, promises measured against the ledger, open tasks due by `today`, and
    /// the day of the last activity in `timeZone` (the reader's calendar).
    public func worklistFacts(analystID: String?, today: CivilDate, timeZone: TimeZone) throws -> [WorklistFacts] {
        try writer.read { db in
            let mine = analystID == nil ? "" : " AND customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)"
            let scope: StatementArguments = analystID.map { [$0] } ?? []
            var facts: [String: WorklistFacts] = [:]
            var order: [String] = []
            // The last contact of each customer is one seek in the activity index (customer,
            // time), not a grouping of every activity of the analyst's customers.
            // Read by position, not by column name: one row per customer of the analyst.
            let customers = try Row.fetchCursor(
                db.cachedStatement(sql: """
                    SELECT id, name, risk_rating, credit_limit, credit_currency,
                           (SELECT MAX(occurred_at) FROM activity WHERE customer_id = customer.id) AS last_contact
                    FROM customer
                    """ + (analystID == nil ? "" : " WHERE analyst_id = ?")),
                arguments: scope
            )
            while let row = try customers.next() {
                let id: String = try row.decode(String.self, atIndex: 0)
                let limit = try row.decode(Int64?.self, atIndex: 3), currency = try row.decode(String?.self, atIndex: 4)
                var customer = WorklistFacts(
                    customerID: id, customerName: try row.decode(String.self, atIndex: 1),
                    riskRating: try row.decode(Int.self, atIndex: 2),
                    creditLimit: limit.flatMap { limit in currency.flatMap(Currency.init(code:)).map { Money(minorUnits: limit, currency: $0) } }
                )
                if let last = try row.decode(Int64?.self, atIndex: 5) {
                    customer.lastContact = CivilDate(Activity.instant(milliseconds: last), in: timeZone)
                }
                facts[id] = customer
                order.append(id)
            }

            // A customer placed with a collection agency on `today` is the agency's to work, not
            // the analyst's: off the worklist until a manager recalls the placement.
            let columns = EscalationRow.Columns.self
            let placements = try EscalationRow.live
                .filter(columns.action == EscalationAction.place.rawValue && columns.escalatedOn <= today.description).fetchAll(db)
            for placement in placements {
                let placement = try placement.record()
                guard placement.places(on: today), facts.removeValue(forKey: placement.customerID) != nil else { continue }
                order.removeAll { $0 == placement.customerID }
            }

            // Sums per customer and currency, in currency order as MoneyTotals gives them.
            for sum in try Self.openBalanceSums(db, analystID: analystID, asOf: today).sorted(by: { $0.currency < $1.currency }) {
                guard facts[sum.customerID] != nil else { continue }
                if sum.open > 0 { facts[sum.customerID]?.openTotal.append(Money(minorUnits: try MoneyTotals.narrow(sum.open, sum.currency), currency: sum.currency)) }
                if sum.overdue > 0 { facts[sum.customerID]?.overdue.append(Money(minorUnits: try MoneyTotals.narrow(sum.overdue, sum.currency), currency: sum.currency)) }
                if let due = sum.oldestOverdue, facts[sum.customerID]?.oldestDue.map({ due < $0 }) ?? true { facts[sum.customerID]?.oldestDue = due }
            }

            // Open disputes and due tasks are few beside the ledger: read them all and keep the
            // analyst's (a subquery per row on the customer's analyst cost more than the rows).
            let disputes = try Row.fetchCursor(
                db, sql: "SELECT customer_id, COUNT(*) AS n FROM dispute WHERE deleted = 0 AND status NOT IN ('resolved', 'rejected') GROUP BY customer_id"
            )
            while let row = try disputes.next() { facts[try row.decode(String.self, forColumn: "customer_id")]?.openDisputes = try row.decode(Int.self, forColumn: "n") }

            // Call-backs are the tasks due by today; a portal upload (PortalBilling) is one however far off.
            let tasks = try Row.fetchCursor(
                db, sql: """
                    SELECT customer_id, due_date, substr(id, 1, ?) = ? AS upload FROM collection_task
                    WHERE deleted = 0 AND done = 0 AND (due_date <= ? OR substr(id, 1, ?) = ?)
                    """,
                arguments: [PortalBilling.taskPrefix.count, PortalBilling.taskPrefix, today.description, PortalBilling.taskPrefix.count, PortalBilling.taskPrefix]
            )
            while let row = try tasks.next() {
                let customer = try row.decode(String.self, forColumn: "customer_id")
                guard facts[customer] != nil, let due = CivilDate(try row.decode(String.self, forColumn: "due_date")) else { continue }
                if try row.decode(Bool.self, forColumn: "upload") { facts[customer]?.portalUploads.append(due) } else { facts[customer]?.callBacks.append(due) }
            }

            // Promises and plans, installment by installment: broken in the window, or due today,
            // from what the triggers keep of each (InstallmentProgress).
            let since = today.adding(days: -Worklist.brokenPromiseWindowDays)
            for (customerID, evaluation) in try Self.keptInstallmentEvaluations(db, since: since, today: today, scope: mine, scope) {
                let installment = evaluation.installment
                switch evaluation.status {
                case .broken, .partlyKept:
                    facts[customerID]?.brokenPromises.append(.init(
                        amount: installment.amount, brokenOn: evaluation.brokenOn, partly: evaluation.status == .partlyKept
                    ))
                case .open where installment.dueDate == today:
                    facts[customerID]?.promisesDue.append(.init(amount: installment.amount, promisedDate: installment.dueDate))
                case .open, .kept:
                    break
                }
            }
            return order.compactMap { facts[$0] }
        }
    }
}
