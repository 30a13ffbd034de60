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
            let customers = try Row.fetchCursor(
                db, sql: "SELECT id, name, risk_rating, credit_limit, credit_currency FROM customer" + (analystID == nil ? "" : " WHERE analyst_id = ?"),
                arguments: scope
            )
            while let row = try customers.next() {
                let id: String = row["id"]
                let limit: Int64? = row["credit_limit"], currency: String? = row["credit_currency"]
                facts[id] = WorklistFacts(
                    customerID: id, customerName: row["name"], riskRating: row["risk_rating"],
                    creditLimit: limit.flatMap { limit in currency.flatMap(Currency.init(code:)).map { Money(minorUnits: limit, currency: $0) } }
                )
                order.append(id)
            }

            // Sums per customer and currency, in currency order as MoneyTotals gives them.
            for sum in try Self.openBalanceSums(db, analystID: analystID, asOf: today).sorted(by: { $0.currency < $1.currency }) {
                guard facts[sum.customerID] != nil else { continue }
                if sum.open > 0 { facts[sum.customerID]?.openTotal.append(Money(minorUnits: try MoneyTotals.narrow(sum.open, sum.currency), currency: sum.currency)) }
                if sum.overdue > 0 { facts[sum.customerID]?.overdue.append(Money(minorUnits: try MoneyTotals.narrow(sum.overdue, sum.currency), currency: sum.currency)) }
                if let due = sum.oldestOverdue, facts[sum.customerID]?.oldestDue.map({ due < $0 }) ?? true { facts[sum.customerID]?.oldestDue = due }
            }

            let disputes = try Row.fetchCursor(
                db, sql: "SELECT customer_id, COUNT(*) AS n FROM dispute WHERE deleted = 0 AND status NOT IN ('resolved', 'rejected')\(mine) GROUP BY customer_id",
                arguments: scope
            )
            while let row = try disputes.next() { facts[row["customer_id"]]?.openDisputes = row["n"] }

            let tasks = try Row.fetchCursor(
                db, sql: "SELECT customer_id, due_date FROM collection_task WHERE deleted = 0 AND done = 0 AND due_date <= ?\(mine)",
                arguments: [today.description] + scope
            )
            while let row = try tasks.next() {
                if let due = CivilDate(row["due_date"] as String) { facts[row["customer_id"]]?.callBacks.append(due) }
            }

            let contacts = try Row.fetchCursor(
                db, sql: "SELECT customer_id, MAX(occurred_at) AS last FROM activity WHERE 1\(mine) GROUP BY customer_id", arguments: scope
            )
            while let row = try contacts.next() {
                facts[row["customer_id"]]?.lastContact = CivilDate(Activity.instant(milliseconds: row["last"]), in: timeZone)
            }

            // Promises and plans, installment by installment: broken in the window, or due today.
            let since = today.adding(days: -Worklist.brokenPromiseWindowDays)
            for (promise, installments) in try Self.recentPromiseEvaluations(db, since: since, today: today, scope: mine, scope) {
                for evaluation in installments {
                    let installment = evaluation.installment
                    switch evaluation.status {
                    case .broken, .partlyKept:
                        facts[promise.customerID]?.brokenPromises.append(.init(
                            amount: installment.amount, brokenOn: evaluation.brokenOn, partly: evaluation.status == .partlyKept
                        ))
                    case .open where installment.dueDate == today:
                        facts[promise.customerID]?.promisesDue.append(.init(amount: installment.amount, promisedDate: installment.dueDate))
                    case .open, .kept:
                        break
                    }
                }
            }
            return order.compactMap { facts[$0] }
        }
    }
}
