import DunlinCore
import GRDB

extension TenantStore {
    /// The id of the follow-up task for installment `index` (0-based; a promise of one payment
    /// has one) of promise `promiseID`: fixed, so the task is made once whoever notices first.
    public static func followUpTaskID(promise promiseID: String, installment index: Int) -> String {
        "tsk_followup_\(promiseID)_\(index + 1)"
    }

    /// Makes a follow-up task for the customer's analyst for every installment (or promise of one
    /// payment) broken or partly kept as of `today`, due `today`, titled with what was promised
    /// and when it broke, in one transaction. Each task has a fixed id
    /// (``followUpTaskID(promise:installment:)``) and is made only if no task ever had it, so
    /// running this again (a retry, a second server tick, after a crash) makes nothing twice, and
    /// a follow-up an analyst deleted stays deleted. A customer without an analyst gets none.
    /// Returns the tasks made. Each goes in the change log like any task, so it reaches replicas.
    @discardableResult
    public func makeFollowUps(today: CivilDate, lookBackDays: Int = Worklist.brokenPromiseWindowDays) throws -> [CollectionTask] {
        try writer.write { db in
            let since = today.adding(days: -lookBackDays)
            var made: [CollectionTask] = []
            for (promise, installments) in try Self.recentPromiseEvaluations(db, since: since, today: today) {
                guard let analyst = try String.fetchOne(db, sql: "SELECT analyst_id FROM customer WHERE id = ?", arguments: [promise.customerID]),
                      !analyst.isEmpty else { continue }
                for (index, evaluation) in installments.enumerated()
                where (evaluation.status == .broken || evaluation.status == .partlyKept) && evaluation.brokenOn > since {
                    let brokenOn = evaluation.brokenOn
                    let id = Self.followUpTaskID(promise: promise.id, installment: index)
                    guard try !CollectionTaskRow.exists(db, key: id) else { continue }
                    let what = promise.installments.isEmpty ? "promise" : "installment \(index + 1) of \(promise.installments.count)"
                    let how = evaluation.status == .broken ? "broken" : "partly kept (\(evaluation.received) of \(evaluation.installment.amount))"
                    let task = CollectionTask(
                        id: id, assigneeID: analyst, customerID: promise.customerID,
                        title: "Follow up: \(what) of \(evaluation.installment.amount) due \(evaluation.installment.dueDate) \(how) on \(brokenOn)",
                        dueDate: today, notes: "promise \(promise.id)"
                    )
                    try Self.check(task, db)
                    try Self.save(CollectionTaskRow(task), db)
                    made.append(task)
                }
            }
            return made
        }
    }
}

extension TenantStore {
    /// Makes the portal-upload task (``PortalBilling``) of every invoice issued from
    /// `today - PortalBilling.lookBackDays` on, not voided, of a customer with portal billing and
    /// an analyst, that never had one, in one transaction; returns the tasks made. Each goes in
    /// the change log like any task, so it reaches replicas.
    @discardableResult
    public func makePortalTasks(today: CivilDate) throws -> [CollectionTask] {
        try writer.write { db in
            let tenantDays = try TenantSetting.portalUploadDays(TenantSettingRow.live.fetchAll(db).map { try $0.record() })
            let rows = try Row.fetchAll(db, sql: """
                SELECT e.id, e.reference, e.date, e.customer_id FROM ledger_entry e JOIN customer c ON c.id = e.customer_id
                WHERE e.date >= ? AND e.kind = 'invoice' AND c.portal_billing != '' AND c.analyst_id != ''
                  AND NOT EXISTS (SELECT 1 FROM collection_task t WHERE t.id = ? || e.id)
                  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id)
                ORDER BY e.date, e.id
                """, arguments: [today.adding(days: -PortalBilling.lookBackDays).description, PortalBilling.taskPrefix])
            var customers: [String: Customer] = [:]
            var made: [CollectionTask] = []
            for row in rows {
                let customerID: String = row["customer_id"]
                guard let issued = CivilDate(row["date"] as String) else { continue }
                if customers[customerID] == nil { customers[customerID] = try CustomerRow.fetchOne(db, key: customerID)?.customer }
                guard let customer = customers[customerID] else { continue }
                let task = PortalBilling.task(
                    invoiceID: row["id"], reference: row["reference"] ?? "", issued: issued, customer: customer, analystID: customer.analystID, tenantDays: tenantDays
                )
                try Self.check(task, db)
                try Self.save(CollectionTaskRow(task), db)
                made.append(task)
            }
            return made
        }
    }
}
