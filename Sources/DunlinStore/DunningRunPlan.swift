import DunlinCore
import Foundation
import GRDB

/// A dunning run's plan against what the store holds: the notices to write, in customer order,
/// and how many of those the run calls for it found written already.
struct DunningRunPlan {
    var new: [DunningNotice] = []
    var existing = 0
    /// As ``DunlinCore/DunningPlan/heldCustomers``.
    var heldCustomers = 0
    /// As ``DunlinCore/DunningPlan/heldItems``.
    var heldItems = 0
}

/// The run's planner. A notice is named by its customer, its level and the customer's oldest
/// unheld open item (``DunlinCore/DunningNotice/id(customerID:levelDays:anchorInvoiceID:)``),
/// so whether a customer's notice is written already is known from that one item: the run needs
/// the customer's open items and the notice itself only when it is not. Most days most customers'
/// notices are written already (the level has not turned, nothing was paid), so the run reads one
/// or two index entries per customer instead of every open invoice of the tenant.
extension TenantStore {
    /// What a run on `asOf` calls for, read inside the caller's transaction. When the ledger is
    /// current on `asOf` (nothing dated after it, so each invoice's kept balance is that day's),
    /// each customer taking a policy costs one seek into `invoice_statement` for its oldest
    /// unheld open item (``oldestUnheldOpenInvoice(_:customerID:asOf:holds:)``) and one into
    /// `dunning_notice` for the notice that item names; a customer whose notice is not there has
    /// its open invoices read and its notice built by ``DunlinCore/DunningRun/notice(for:policy:items:asOf:createdAt:)``,
    /// the rule ``DunlinCore/DunningRun/plan(asOf:customers:policies:openInvoices:holds:createdAt:)``
    /// applies to each customer. On a day the ledger is not current (a run for a past date) the
    /// whole plan is recomputed from every open invoice as of that day. Both give the notices,
    /// and the held counts, of the whole recomputation (`DunningPlannerTests`).
    static func runPlan(_ db: Database, asOf: CivilDate, createdAt: Date) throws -> DunningRunPlan {
        guard try ledgerIsCurrent(db, asOf: asOf) else {
            let plan = try dunningPlan(db, asOf: asOf, holdsOn: asOf, balancesAsOf: asOf, createdAt: createdAt)
            var result = DunningRunPlan(heldCustomers: plan.heldCustomers, heldItems: plan.heldItems)
            for notice in plan.notices {
                if try noticeExists(db, notice.id) { result.existing += 1 } else { result.new.append(notice) }
            }
            return result
        }
        let customers = try CustomerRow.all().fetchAll(db).map(\.customer).sorted { $0.id < $1.id }
        let policies = try DunningPolicyRow.live.fetchAll(db).map { try $0.record() }.sorted { $0.id < $1.id }
        let holds = try dunningHolds(db, on: asOf)
        var result = DunningRunPlan()
        var dunned: Set<String> = []
        for customer in customers {
            guard let policy = DunningPolicy.policy(for: customer, among: policies) else { continue }
            if holds.customerHold(customer.id) != nil {
                if try hasOpenInvoice(db, customerID: customer.id, asOf: asOf) { result.heldCustomers += 1 }
                continue
            }
            dunned.insert(customer.id)
            guard let anchor = try oldestUnheldOpenInvoice(db, customerID: customer.id, asOf: asOf, holds: holds),
                  let index = policy.levelIndex(daysPastDue: anchor.due.days(until: asOf))
            else { continue }
            let id = DunningNotice.id(customerID: customer.id, levelDays: policy.levels[index].days, anchorInvoiceID: anchor.id)
            guard try !noticeExists(db, id) else {
                result.existing += 1
                continue
            }
            let items = try unheldOpenItems(db, customerID: customer.id, asOf: asOf, holds: holds)
            guard let notice = try DunningRun.notice(for: customer, policy: policy, items: items, asOf: asOf, createdAt: createdAt) else { continue }
            // The id looked for above, unless the seek's guess of the anchor or level was wrong.
            if try notice.id != id && noticeExists(db, notice.id) { result.existing += 1 } else { result.new.append(notice) }
        }
        let heldOpen = try db.cachedStatement(sql: """
            SELECT customer_id FROM invoice_balance WHERE invoice_id = ? AND gross > 0 AND date <= ? AND (reversed_on IS NULL OR reversed_on > ?)
            """)
        for invoiceID in holds.heldInvoiceIDs {
            let day = asOf.description
            if let customerID = try String.fetchOne(heldOpen, arguments: [invoiceID, day, day]), dunned.contains(customerID) { result.heldItems += 1 }
        }
        return result
    }

    /// Whether a notice of this id was ever written (a tombstone counts: ids are not reused).
    private static func noticeExists(_ db: Database, _ id: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM dunning_notice WHERE id = ?"), arguments: [id]) != nil
    }

    /// The invoices of a customer that count on `asOf` with a positive balance, in
    /// `invoice_statement`'s order (due date, undated first, then id), when the ledger is current
    /// on `asOf`: the rows ``openInvoices(_:customerID:analystID:asOf:)`` gives, balance and all
    /// (the index holds every column read: one range, no table row).
    static let openByDue = """
        SELECT invoice_id, due_date, date, reference, currency, gross FROM invoice_balance
        WHERE customer_id = ? AND gross > 0 AND date <= ? AND (reversed_on IS NULL OR reversed_on > ?)
        ORDER BY due_date, invoice_id
        """

    /// The customer's open invoices on `asOf` that no dispute, promise or exception holds, as the
    /// rule reads them, when the ledger is current on `asOf` (each row's `gross` is then its
    /// balance that day): what ``openInvoices(_:customerID:analystID:asOf:)`` gives of them, read
    /// straight into ``DunlinCore/DunningItem``s instead of ledger entries (a full-size first run
    /// reads 900,000 of them).
    static func unheldOpenItems(_ db: Database, customerID: String, asOf: CivilDate, holds: DunningHolds) throws -> [DunningItem] {
        let day = asOf.description
        let rows = try Row.fetchCursor(db.cachedStatement(sql: openByDue), arguments: [customerID, day, day])
        var items: [DunningItem] = []
        var currency: Currency?
        while let row = try rows.next() {
            let id: String = row[0]
            guard holds.itemHold(id) == nil else { continue }
            let code: String = row[4]
            if currency?.code != code { currency = Currency(code: code) }
            guard let currency, let date = CivilDate(row[2] as String) else { continue }
            let due = (row[1] as String?).flatMap(CivilDate.init) ?? date
            items.append(DunningItem(invoiceID: id, reference: row[3], due: due, open: Money(minorUnits: try integer(row, 5), currency: currency)))
        }
        return items
    }

    private static func hasOpenInvoice(_ db: Database, customerID: String, asOf: CivilDate) throws -> Bool {
        let day = asOf.description
        return try Row.fetchCursor(db.cachedStatement(sql: openByDue), arguments: [customerID, day, day]).next() != nil
    }

    /// The customer's open invoice that sets its level on `asOf`, the first by due date (an
    /// undated invoice's date standing for it) then id among those no dispute, promise or
    /// exception holds, as ``DunlinCore/DunningRun/notice(for:policy:items:asOf:createdAt:)``
    /// orders them; nil when none is open and unheld. The index gives undated invoices first and
    /// then the dated ones in order, so the read stops after the first dated one (and any of the
    /// same day, whose ids Swift orders).
    static func oldestUnheldOpenInvoice(
        _ db: Database, customerID: String, asOf: CivilDate, holds: DunningHolds
    ) throws -> (id: String, due: CivilDate)? {
        let day = asOf.description
        let rows = try Row.fetchCursor(db.cachedStatement(sql: openByDue), arguments: [customerID, day, day])
        var oldest: (id: String, due: CivilDate)?
        var datedDue: String?
        while let row = try rows.next() {
            let id: String = row[0], due: String? = row[1]
            if let datedDue, due != datedDue { break }
            guard holds.itemHold(id) == nil, let effective = due.flatMap(CivilDate.init) ?? CivilDate(row[2] as String) else { continue }
            if due != nil { datedDue = due }
            if oldest.map({ (effective, id) < ($0.due, $0.id) }) ?? true { oldest = (id, effective) }
        }
        return oldest
    }
}
