import DunlinCore

// The sync form of an approval request: the fields of Protocol/records.proto's
// ApprovalRequestRecord, in its field-number order, less `entry_id` (derived: the id of the entry
// an approval writes, ApprovalRequest.entryID, shown once the entry is in the ledger).

extension ApprovalRequest: SyncRecordForm {
    public static let recordKind = RecordKind.approvalRequest
    public static let form = [
        SyncField("id", .text),
        SyncField("kind", .choice(ApprovalKind.allCases.map(\.rawValue))),
        SyncField("customer_id", .text),
        SyncField("invoice_id", .text),
        SyncField("source_id", .text),
        SyncField("amount", .amount, optional: true),
        SyncField("terms_days", .int32, optional: true),
        SyncField("reason", .text),
        SyncField("requested_by", .text),
        SyncField("requested_on", .date),
        SyncField("status", .choice(ApprovalStatus.allCases.map(\.rawValue))),
        SyncField("decided_by", .text),
        SyncField("decided_on", .date, optional: true),
        SyncField("decision_reason", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "kind": .string(kind.rawValue), "customer_id": .string(customerID), "invoice_id": .string(invoiceID),
            "source_id": .string(sourceID), "amount": amount.map(SyncValue.amount) ?? .null,
            "terms_days": termsDays.map { .integer(Int64($0)) } ?? .null, "reason": .string(reason), "requested_by": .string(requestedBy),
            "requested_on": SyncValue.date(requestedOn), "status": .string(status.rawValue), "decided_by": .string(decidedBy),
            "decided_on": decidedOn.map(SyncValue.date) ?? .null, "decision_reason": .string(decisionReason),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), kind: try read.choice("kind", ApprovalKind.self), customerID: try read.text("customer_id"),
            invoiceID: try read.text("invoice_id"), sourceID: try read.text("source_id"), amount: try read.optional("amount", read.amount),
            termsDays: try read.optional("terms_days", read.int32), reason: try read.text("reason"), requestedBy: try read.text("requested_by"),
            requestedOn: try read.date("requested_on"), status: try read.choice("status", ApprovalStatus.self),
            decidedBy: try read.text("decided_by"), decidedOn: try read.optional("decided_on", read.date),
            decisionReason: try read.text("decision_reason")
        )
    }
}
