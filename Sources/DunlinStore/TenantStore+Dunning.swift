import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// What a dunning run did (``TenantStore/runDunning(asOf:at:)``).
public struct DunningRunResult: Sendable, Hashable {
    public var runID: String
    public var asOf: CivilDate
    /// The notices this run created, by id.
    public var created: [DunningNotice]
    /// Notices the run called for that were there already (an earlier run, the same run again).
    public var existing: Int
    /// Pending notices of a lower level for the same customer and item that a new one replaced.
    public var superseded: Int
    public var heldCustomers: Int
    public var heldItems: Int
}

/// Dunning policies, holds and notices, and the run and release that only the server makes
/// (DunningService). Policies and holds are written like the other mutable records
/// (TenantStore+Records.swift: validated, all or nothing, tombstones); notices only by
/// ``runDunning(asOf:at:)`` and ``releaseNotices(_:runID:by:today:at:)``, each one transaction.
extension TenantStore {
    // MARK: Policies

    /// Creates or replaces policies. Each must pass ``DunningPolicy/validate()``, name existing
    /// customers, and share neither a customer nor a segment with another policy
    /// (FAILED_PRECONDITION naming the field).
    public func upsert(_ policies: [DunningPolicy]) throws {
        try save(policies, as: DunningPolicyRow.init, validate: Self.check)
    }

    public func dunningPolicy(_ id: String) throws -> DunningPolicy? {
        try live(DunningPolicyRow.self, id)?.record()
    }

    /// Policies by name, then id; `customerID` keeps those naming that customer explicitly.
    public func dunningPolicies(customerID: String? = nil, page: PageRequest = .first) throws -> Page<DunningPolicy> {
        let request = DunningPolicyRow.live.listing(DunningPolicyRow.Columns.customerIDs, customerID)
        return try read(request, page, ListOrder(DunningPolicyRow.self, by: DunningPolicyRow.Columns.name)) { try DunningPolicyRow(row: $0).record() }
    }

    public func deleteDunningPolicies(_ ids: [String]) throws {
        try tombstone(DunningPolicyRow.self, ids)
    }

    static func check(_ policy: DunningPolicy, _ db: Database) throws {
        try policy.validate()
        for (index, customerID) in policy.customerIDs.enumerated() where try !CustomerRow.exists(db, key: customerID) {
            throw DomainError.notFound(field: "customer_ids[\(index)]", id: customerID)
        }
        for other in try DunningPolicyRow.live.filter(Column("id") != policy.id).order(Column("id")).fetchAll(db).map({ try $0.record() }) {
            if !policy.segment.isEmpty, other.segment == policy.segment {
                throw DomainError.conflict(field: "segment", "policy \(other.id) (\(other.name)) already takes the customers tagged \"\(policy.segment)\"")
            }
            for (index, customerID) in policy.customerIDs.enumerated() where other.customerIDs.contains(customerID) {
                throw DomainError.conflict(field: "customer_ids[\(index)]", "customer \(customerID) already takes policy \(other.id) (\(other.name))")
            }
        }
    }

    // MARK: Holds

    /// Creates or replaces manual holds. Each must pass ``DunningHold/validate()`` and belong to
    /// an existing customer.
    public func upsert(_ holds: [DunningHold]) throws {
        try save(holds, as: DunningHoldRow.init, validate: Self.check)
    }

    public func dunningHold(_ id: String) throws -> DunningHold? {
        try live(DunningHoldRow.self, id)?.record()
    }

    /// Holds by the date they were placed, then id; `active` keeps those not released (true) or
    /// released (false).
    public func dunningHolds(customerID: String? = nil, active: Bool? = nil, page: PageRequest = .first) throws -> Page<DunningHold> {
        var request = DunningHoldRow.live.matching(DunningHoldRow.Columns.customerID, customerID)
        if let active { request = request.filter(active ? DunningHoldRow.Columns.releasedOn == nil : DunningHoldRow.Columns.releasedOn != nil) }
        return try read(request, page, ListOrder(DunningHoldRow.self, by: DunningHoldRow.Columns.placedOn)) { try DunningHoldRow(row: $0).record() }
    }

    public func deleteDunningHolds(_ ids: [String]) throws {
        try tombstone(DunningHoldRow.self, ids)
    }

    static func check(_ hold: DunningHold, _ db: Database) throws {
        try hold.validate()
        try requireCustomer(hold.customerID, db)
    }

    // MARK: Notices

    public func dunningNotice(_ id: String) throws -> DunningNotice? {
        try live(DunningNoticeRow.self, id)?.record()
    }

    /// Notices by as-of date, then id. Empty `statuses` filters nothing.
    public func dunningNotices(
        customerID: String? = nil, runID: String? = nil, statuses: Set<DunningNoticeStatus> = [], page: PageRequest = .first
    ) throws -> Page<DunningNotice> {
        let columns = DunningNoticeRow.Columns.self
        let request = DunningNoticeRow.live
            .matching(columns.customerID, customerID)
            .matching(columns.runID, runID)
            .matching(columns.status, oneOf: statuses.map(\.rawValue))
        return try read(request, page, ListOrder(DunningNoticeRow.self, by: columns.asOf)) { try DunningNoticeRow(row: $0).record() }
    }

    /// Pending notices (by as-of date, then id) each checked again against the holds of `today`
    /// in this store (``DunlinCore/DunningHolds/recheck(_:)``): on a replica, the disputes,
    /// promises and holds made on this laptop, synced or not, and what the last pull brought.
    public func previewNotices(customerID: String? = nil, runID: String? = nil, today: CivilDate, page: PageRequest = .first) throws -> Page<(notice: DunningNotice, now: NoticeRecheck)> {
        let notices = try dunningNotices(customerID: customerID, runID: runID, statuses: [.pending], page: page)
        return try writer.read { db in
            var read: [String: DunningHolds] = [:]
            let items = try notices.items.map { notice in
                let on = max(today, notice.asOf), key = "\(notice.customerID)/\(on)"
                let holds = try read[key] ?? Self.dunningHolds(db, on: on, customerID: notice.customerID)
                read[key] = holds
                return (notice: notice, now: holds.recheck(notice))
            }
            return Page(items: items, nextCursor: notices.nextCursor)
        }
    }

    // MARK: Run and release (the server's)

    /// Computes the notices due on `asOf` (DunlinCore ``DunningRun``, planned by
    /// ``runPlan(_:asOf:createdAt:)``) and writes those not there yet, all in one transaction: a
    /// run repeated for the same date, or after a crash at any point, finds what a committed run
    /// wrote (notice ids are their keys) and creates nothing twice; a run that did not commit
    /// wrote nothing. A new notice replaces (drops) a pending one of a lower level for the same
    /// customer and oldest item.
    ///
    /// The run's writes share one change time and one stamp time (one transaction), and its page
    /// cache is an import's (``withImportCache(_:_:)``): a full-size first run writes some 140 MB
    /// of notices, which the default cache would spill to the WAL half-written.
    public func runDunning(asOf: CivilDate, at: Date) throws -> DunningRunResult {
        let createdAt = Activity.instant(milliseconds: Activity.milliseconds(of: at))
        return try writer.write { db in try Self.withImportCache(db) {
            let plan = try Self.runPlan(db, asOf: asOf, createdAt: createdAt)
            var result = DunningRunResult(
                runID: DunningRunID.of(asOf), asOf: asOf, created: [], existing: plan.existing, superseded: 0,
                heldCustomers: plan.heldCustomers, heldItems: plan.heldItems
            )
            let changedAt = Self.changeTime(), stampedAt = Self.nowMilliseconds
            result.created.reserveCapacity(plan.new.count)
            for notice in plan.new {
                // New (the plan looked for it): written with its stamps from the notice in hand,
                // not decoded back from the body just encoded (a quarter of a full-size run).
                try Self.insertNew(DunningNoticeRow(notice), db, changedAt: changedAt, stampedAt: stampedAt, insert: DunningNoticeRow.insertCached)
                result.created.append(notice)
                // Not the notice just written: it is never older than itself, and decoding it
                // for every customer of a run would cost more than writing it. Cached: one per
                // new notice.
                let pending = try DunningNoticeRow.fetchAll(
                    db.cachedStatement(sql: "SELECT * FROM dunning_notice WHERE customer_id = ? AND status = ? AND deleted = 0 AND id <> ?"),
                    arguments: [notice.customerID, DunningNoticeStatus.pending.rawValue, notice.id]
                ).map { try $0.record() }
                for older in pending where older.anchorInvoiceID == notice.anchorInvoiceID && older.levelDays < notice.levelDays {
                    var dropped = older
                    dropped.status = .dropped
                    dropped.statusReason = "superseded by \(notice.id) (level \(notice.level)) in run \(notice.runID)"
                    try Self.save(DunningNoticeRow(dropped), db)
                    result.superseded += 1
                }
            }
            return result
        } }
    }

    /// Releases pending notices (those named, or every pending one of run `runID`, or every
    /// pending one), each checked again first against the ledger as it stands and the holds of
    /// `today`: a notice the check still calls for is released with its lines and charges as they
    /// stand now, and its fee and interest are posted as adjustments to the oldest listed invoice
    /// in their currency (entry ids fixed by the notice, so nothing posts twice); one it no longer
    /// calls for (paid, credited or held since the run, or now at another level) is dropped with
    /// the reason. One transaction. A notice named that is released or dropped already is
    /// returned as it stands; an id that names no notice refuses the whole call, and so does a
    /// charge the ledger refuses (naming the notice as the item).
    /// A released notice of an `escalate` or `place` level makes its escalation
    /// (``escalate(notice:today:at:managerOf:_:)``), for the manager `managerOf` names first.
    public func releaseNotices(
        _ ids: [String], runID: String?, by user: String, today: CivilDate, at: Date, managerOf: @Sendable (String) -> String? = { _ in nil }
    ) throws -> [DunningNotice] {
        let releasedAt = Activity.instant(milliseconds: Activity.milliseconds(of: at))
        return try writer.write { db in
            var notices: [DunningNotice] = []
            if ids.isEmpty {
                notices = try DunningNoticeRow.live
                    .filter(DunningNoticeRow.Columns.status == DunningNoticeStatus.pending.rawValue)
                    .matching(DunningNoticeRow.Columns.runID, runID)
                    .order(DunningNoticeRow.Columns.asOf, Column("id"))
                    .fetchAll(db).map { try $0.record() }
            } else {
                for (index, id) in ids.enumerated() {
                    guard let notice = try DunningNoticeRow.live.filter(key: id).fetchOne(db)?.record() else {
                        throw DomainError.notFound(field: "notice_ids[\(index)]", id: id)
                    }
                    notices.append(notice)
                }
            }
            let ledger = LedgerWriter(db: db)
            var answered: [DunningNotice] = []
            for (index, notice) in notices.enumerated() {
                guard notice.status == .pending else {
                    answered.append(notice)
                    continue
                }
                let now = try Self.dunningPlan(
                    db, asOf: notice.asOf, holdsOn: max(today, notice.asOf), balancesAsOf: nil, customerID: notice.customerID, createdAt: notice.createdAt
                )
                var settled = notice
                settled.releasedAt = releasedAt
                settled.releasedBy = user
                if let current = now.notices.first(where: { $0.id == notice.id }) {
                    settled.status = .released
                    if settled.writesToCustomer { settled.delivery = .queued }
                    settled.lines = current.lines
                    settled.charges = current.charges
                    try Self.escalate(notice: settled, today: today, at: releasedAt, managerOf: managerOf, db)
                    for charge in settled.charges {
                        guard let target = settled.lines.first(where: { $0.balance.currency == charge.total.currency })?.invoiceID else { continue }
                        for (kind, amount) in [("fee", charge.fee), ("interest", charge.interest)] {
                            guard let amount else { continue }
                            let entry = LedgerEntry(
                                id: settled.chargeEntryID(kind, amount.currency), kind: .adjustment, customerID: notice.customerID, amount: amount,
                                date: today, reference: notice.id, targetID: target, memo: "dunning \(kind), level \(notice.level) notice \(notice.id)"
                            )
                            guard try !LedgerEntryRow.exists(db, key: entry.id) else { continue }
                            try ledger.post(entry, index: index)
                        }
                    }
                } else {
                    settled.status = .dropped
                    settled.statusReason = try Self.dropReason(notice, now: now, db)
                }
                try Self.save(DunningNoticeRow(settled), db)
                answered.append(settled)
            }
            return answered
        }
    }

    // MARK: Delivery (the server's)

    /// Released notices whose delivery is in one of `states`, oldest first.
    public func noticesToDeliver(_ states: Set<NoticeDeliveryState>) throws -> [DunningNotice] {
        try writer.read { db in
            try DunningNoticeRow.live
                .filter(states.map(\.rawValue).contains(DunningNoticeRow.Columns.delivery))
                .order(DunningNoticeRow.Columns.asOf, Column("id"))
                .fetchAll(db).map { try $0.record() }
        }
    }

    /// Changes a notice's delivery in one transaction, as the server's own change (replicas pull
    /// it): `change` gets the notice as it stands and returns it changed, or nil to leave it.
    /// Returns the notice as it stands after.
    @discardableResult
    public func updateDelivery(_ id: String, _ change: @Sendable (DunningNotice) throws -> DunningNotice?) throws -> DunningNotice {
        try writer.write { db in
            guard let notice = try DunningNoticeRow.live.filter(key: id).fetchOne(db)?.record() else {
                throw DomainError.notFound(field: "id", id: id)
            }
            guard let changed = try change(notice), changed != notice else { return notice }
            try Self.save(DunningNoticeRow(changed), db)
            return changed
        }
    }

    /// Queues again, all or none, notices whose delivery is unconfirmed or failed (a manager who
    /// checked the mail log): their attempts start again from none. Refuses a notice in any
    /// other state FAILED_PRECONDITION naming it (`notice_ids[i]`), and an unknown id NOT_FOUND.
    public func resendNotices(_ ids: [String]) throws -> [DunningNotice] {
        try writer.write { db in
            var queued: [DunningNotice] = []
            for (index, id) in ids.enumerated() {
                let field = "notice_ids[\(index)]"
                guard let notice = try DunningNoticeRow.live.filter(key: id).fetchOne(db)?.record() else {
                    throw DomainError.notFound(field: field, id: id)
                }
                guard let state = notice.delivery, state == .unconfirmed || state == .failed else {
                    throw DomainError.conflict(
                        field: field, "notice \(id) is \(notice.delivery?.rawValue ?? notice.status.rawValue), not unconfirmed or failed: only those are sent again"
                    )
                }
                var again = notice
                again.delivery = .queued
                again.deliveryAttempts = 0
                again.deliveryDetail = "sent again on request (was \(state.rawValue): \(notice.deliveryDetail))"
                try Self.save(DunningNoticeRow(again), db)
                queued.append(again)
            }
            return queued
        }
    }

    /// What writing `notice` to its customer needs, read in one snapshot: the customer, the
    /// contact it goes to (the first by id among those preferring email and having an address,
    /// else among those with an address, else the first), the tenant's templates of the level's
    /// name, and the tenant's settings. Nil customer when it is gone.
    public func deliveryInputs(for notice: DunningNotice) throws -> (customer: Customer?, contact: Contact?, templates: [NoticeTemplate], settings: [TenantSetting]) {
        try writer.read { db in
            let customer = try CustomerRow.fetchOne(db, key: notice.customerID)?.customer
            let contacts = try ContactRow.live.filter(ContactRow.Columns.customerID == notice.customerID).order(Column("id")).fetchAll(db).map { try $0.record() }
            let contact = contacts.first { $0.preferredChannel == .email && !$0.email.isEmpty } ?? contacts.first { !$0.email.isEmpty } ?? contacts.first
            let templates = try NoticeTemplateRow.live.filter(NoticeTemplateRow.Columns.name == notice.template).fetchAll(db).map { try $0.record() }
            let settings = try Self.settings(db)
            return (customer, contact, templates, settings)
        }
    }

    /// Why a release's check no longer calls for `notice`.
    private static func dropReason(_ notice: DunningNotice, now: DunningPlan, _ db: Database) throws -> String {
        if let other = now.notices.first {
            return "the customer is now at level \(other.level) (\(other.levelDays) days, notice \(other.id)), not \(notice.level)"
        }
        if now.heldCustomers > 0 { return "the customer is on hold or placed with an agency since the run" }
        let stillOpen = Set(try openInvoices(db, customerID: notice.customerID, asOf: nil).filter { $0.open.isPositive }.map(\.entry.id))
        let owed = notice.lines.contains { stillOpen.contains($0.invoiceID) }
        return owed
            ? "what it lists is held (disputed, promised or under an exception) since the run"
            : "the customer paid (or was credited) what it lists since the run"
    }

    /// The run's inputs, read inside the caller's transaction, and its plan: customers (one, or
    /// all), policies, open invoices (as of `balancesAsOf`, nil: as the ledger stands), and what
    /// holds dunning on `holdsOn` (``dunningHolds(_:on:customerID:)``).
    static func dunningPlan(
        _ db: Database, asOf: CivilDate, holdsOn: CivilDate, balancesAsOf: CivilDate?, customerID: String? = nil, createdAt: Date
    ) throws -> DunningPlan {
        let customers = try CustomerRow.all().matching(CustomerRow.Columns.id, customerID).fetchAll(db).map(\.customer)
        let policies = try DunningPolicyRow.live.fetchAll(db).map { try $0.record() }
        let invoices = try openInvoices(db, customerID: customerID, asOf: balancesAsOf)
        return try DunningRun.plan(
            asOf: asOf, customers: customers, policies: policies, openInvoices: invoices, holds: try dunningHolds(db, on: holdsOn, customerID: customerID),
            createdAt: createdAt
        )
    }

    /// What holds dunning on `date`, read inside the caller's transaction: manual holds,
    /// placements with an agency, open disputes, open promises, and the ledger's broken invariants
    /// (a possible duplicate payment someone dismissed as real holds nothing).
    static func dunningHolds(_ db: Database, on date: CivilDate, customerID: String? = nil) throws -> DunningHolds {
        let disputes = try DisputeRow.live.matching(DisputeRow.Columns.customerID, customerID)
            .matching(DisputeRow.Columns.status, oneOf: DisputeStatus.allCases.filter { !$0.isClosed }.map(\.rawValue))
            .fetchAll(db).map { try $0.record() }
        let promises = try PromiseToPayRow.live.matching(PromiseToPayRow.Columns.customerID, customerID)
            .matching(PromiseToPayRow.Columns.status, oneOf: [PromiseStatus.open.rawValue])
            .fetchAll(db).map { try $0.record() }
        let holds = try DunningHoldRow.live.matching(DunningHoldRow.Columns.customerID, customerID).fetchAll(db).map { try $0.record() }
        let dismissed = Set(try String.fetchAll(db, sql: "SELECT id FROM sync_exception WHERE status = 'dismissed'"))
        let exceptionHolds = try invariantViolations(db).filter { !dismissed.contains($0.id) }.flatMap(\.holds)
        let placements = try EscalationRow.live.matching(EscalationRow.Columns.customerID, customerID)
            .filter(EscalationRow.Columns.action == EscalationAction.place.rawValue).fetchAll(db).map { try $0.record() }
        return DunningHolds(
            asOf: date, disputes: disputes, promises: promises, exceptionInvoiceIDs: exceptionHolds, manual: holds, placements: placements
        )
    }
}
