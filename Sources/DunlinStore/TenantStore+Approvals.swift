import DunlinCore
import Foundation
import GRDB

struct ApprovalRequestRow: TombstonedRow {
    static let recordKind = RecordKind.approvalRequest

    var id: String
    var kind: String
    var customer_id: String
    var invoice_id: String
    var source_id: String
    var currency: String?
    var amount: Int64?
    var terms_days: Int?
    var reason: String
    var requested_by: String
    var requested_on: String
    var status: String
    var decided_by: String
    var decided_on: String?
    var decision_reason: String
    var deleted: Bool

    init(_ request: ApprovalRequest) {
        id = request.id
        kind = request.kind.rawValue
        customer_id = request.customerID
        invoice_id = request.invoiceID
        source_id = request.sourceID
        currency = request.amount?.currency.code
        amount = request.amount?.minorUnits
        terms_days = request.termsDays
        reason = request.reason
        requested_by = request.requestedBy
        requested_on = request.requestedOn.description
        status = request.status.rawValue
        decided_by = request.decidedBy
        decided_on = request.decidedOn?.description
        decision_reason = request.decisionReason
        deleted = false
    }

    func record() throws -> ApprovalRequest {
        let table = Self.databaseTableName
        return ApprovalRequest(
            id: id, kind: try StoredValue.decode(kind, table, "kind", id: id), customerID: customer_id, invoiceID: invoice_id, sourceID: source_id,
            amount: try amount.map { minor throws in try StoredValue.money(minor, currency ?? "", table, id: id) }, termsDays: terms_days,
            reason: reason, requestedBy: requested_by, requestedOn: try StoredValue.date(requested_on, table, "requested_on", id: id),
            status: try StoredValue.decode(status, table, "status", id: id), decidedBy: decided_by,
            decidedOn: try decided_on.map { text throws in try StoredValue.date(text, table, "decided_on", id: id) }, decisionReason: decision_reason
        )
    }

    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let status = Column(CodingKeys.status)
        static let requestedOn = Column(CodingKeys.requested_on)
    }
}

/// A request as stored, with the ledger entry its approval wrote (nil until it is in the ledger:
/// pending, rejected, a terms change, or approved on this replica and not yet settled by the server).
public struct StoredApprovalRequest: Sendable, Hashable {
    public var request: ApprovalRequest
    public var entryID: String?
}

extension TenantStore {
    /// Records new requests, all or none. Each must pass ``ApprovalRequest/validate()``, be
    /// pending, and name an existing customer and, where it names them, that customer's invoice
    /// or payment; an id already taken by other content is refused (the same content is a retry).
    public func add(_ requests: [ApprovalRequest]) throws {
        try save(requests, as: ApprovalRequestRow.init) { request, db in
            guard request.status == .pending else { throw DomainError.invalid(field: "status", "a new request is pending") }
            try Self.check(request, db)
        }
    }

    public func approvalRequest(_ id: String) throws -> StoredApprovalRequest? {
        try writer.read { db in try ApprovalRequestRow.live.filter(key: id).fetchOne(db).map { try Self.stored($0.record(), db) } }
    }

    /// The audit trail: requests by the day requested, then id; filtered by customer, statuses and
    /// the days requested (inclusive).
    public func approvalRequests(
        customerID: String? = nil, statuses: Set<ApprovalStatus> = [], requestedFrom: CivilDate? = nil, requestedThrough: CivilDate? = nil,
        page: PageRequest = .first
    ) throws -> Page<StoredApprovalRequest> {
        let columns = ApprovalRequestRow.Columns.self
        let request = ApprovalRequestRow.live
            .matching(columns.customerID, customerID)
            .matching(columns.status, oneOf: statuses.map(\.rawValue).sorted())
            .matching(columns.requestedOn, from: requestedFrom?.description, through: requestedThrough?.description)
        return try writer.read { db in
            try request.page(page, in: ListOrder(ApprovalRequestRow.self, by: columns.requestedOn), db) { row in
                try Self.stored(ApprovalRequestRow(row: row).record(), db)
            }
        }
    }

    /// Decides pending request `id` (approves when `approve`), by `user` on `today`, with
    /// `reason`, after `authorize` has held the decider to the rules (``ApprovalLimits``) against the
    /// request as stored. With `settle` (the server) the approval's ledger entry, or the
    /// customer's new terms, is written in the same transaction, and a ledger refusal (the invoice
    /// has less open than the write-off) refuses the decision; without it (a replica) the decision
    /// waits for the server, which settles it when the push arrives. Deciding again the same way
    /// answers the request as it stands; deciding a decided request otherwise is a conflict.
    /// `audit` gives the decision's audit event (the server's), written to the audit outbox in
    /// the decision's transaction (``AuditNote``); a repeated decision writes none.
    public func decide(
        _ id: String, approve: Bool, by user: String, today: CivilDate, reason: String, settle: Bool,
        authorize: (ApprovalRequest) throws -> Void, audit: (ApprovalRequest) -> AuditNote? = { _ in nil }
    ) throws -> StoredApprovalRequest {
        try writer.write { db in
            guard let current = try ApprovalRequestRow.live.filter(key: id).fetchOne(db)?.record() else {
                throw DomainError.notFound(field: "id", id: id)
            }
            let status: ApprovalStatus = approve ? .approved : .rejected
            guard current.status == .pending else {
                if current.status == status, current.decidedBy == user { return try Self.stored(current, db) }
                throw DomainError.conflict(
                    field: "id", "request \(id) was already \(current.status.rawValue) by \(current.decidedBy) on \(current.decidedOn?.description ?? "?")"
                )
            }
            try authorize(current)
            var decided = current
            decided.status = status
            decided.decidedBy = user
            decided.decidedOn = today
            decided.decisionReason = reason
            try Self.check(decided, db)
            try Self.save(ApprovalRequestRow(decided), db)
            if settle { try Self.settle(decided, db) }
            if let note = audit(decided) { try AuditOutbox.enqueue(note, db) }
            return try Self.stored(decided, db)
        }
    }

    /// Validation shared by the RPC writes and pushed changes: the request's own rules, its
    /// customer, invoice and source, and "only the decision changes, once".
    static func check(_ request: ApprovalRequest, _ db: Database) throws {
        try request.validate()
        try requireCustomer(request.customerID, db)
        for (field, id, kinds) in [("invoice_id", request.invoiceID, ["invoice"]), ("source_id", request.sourceID, ["payment", "credit_memo"])] where !id.isEmpty {
            guard let row = try LedgerEntryRow.fetchOne(db, key: id), kinds.contains(row.kind), row.customer_id == request.customerID else {
                throw DomainError.notFound(field: field, id: id)
            }
        }
        guard let existing = try ApprovalRequestRow.fetchOne(db, key: request.id)?.record() else { return }
        var asked = request
        asked.status = existing.status
        asked.decidedBy = existing.decidedBy
        asked.decidedOn = existing.decidedOn
        asked.decisionReason = existing.decisionReason
        guard asked == existing else {
            throw DomainError.conflict(field: "id", "request \(request.id) was made as it is and cannot be edited; make a new request")
        }
        guard existing.status == .pending || existing == request else {
            throw DomainError.conflict(
                field: "status", "request \(request.id) was already \(existing.status.rawValue) by \(existing.decidedBy) on \(existing.decidedOn?.description ?? "?")"
            )
        }
    }

    /// Writes what an approved request changes, once: its ledger entry (validated like any other;
    /// a refusal refuses the approval), or the customer's new terms. The server's alone.
    static func settle(_ request: ApprovalRequest, _ db: Database) throws {
        guard request.status == .approved, let day = request.decidedOn else { return }
        if let entry = request.entry(on: day) {
            guard try !LedgerEntryRow.exists(db, key: entry.id) else { return }
            do {
                try LedgerWriter(db: db).post(entry, index: 0)
            } catch let StoreError.refused(_, error) {
                throw error
            }
        } else if let days = request.termsDays, let existing = try CustomerRow.fetchOne(db, key: request.customerID) {
            var customer = existing.customer
            guard customer.paymentTermsDays != days else { return }
            customer.paymentTermsDays = days
            try CustomerRow(customer).save(db)
            let seq = try logChange(db, kind: .customer, id: customer.id, op: "update")
            try stampChangedFields(db, kind: .customer, id: customer.id, before: existing.customer.fieldMap, after: customer.fieldMap, seq: seq)
        }
    }

    static func stored(_ request: ApprovalRequest, _ db: Database) throws -> StoredApprovalRequest {
        let written = try request.kind.entryKind != nil && request.status == .approved && LedgerEntryRow.exists(db, key: request.entryID)
        return StoredApprovalRequest(request: request, entryID: written ? request.entryID : nil)
    }
}
