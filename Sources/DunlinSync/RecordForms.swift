import DunlinCore
import Foundation

// The sync form of each kind, field by field (PROTOCOL.md §16.2 "Record forms"): the names and
// units of the kind's RPC message (CustomerRecord, LedgerEntryRecord, ActivityRecord,
// ContactRecord, DisputeRecord, PromiseRecord, TaskRecord; a conflict has no RPC message and
// takes the same conventions). `legacy:` is the key replica schema 1 used, for the upgrade only.

extension Customer: SyncRecordForm {
    public static let recordKind = RecordKind.customer
    public static let form = [
        SyncField("id", .text),
        SyncField("number", .text),
        SyncField("name", .text),
        SyncField("billing_address", .text, legacy: "billingAddress"),
        SyncField("payment_terms_days", .int32, legacy: "paymentTermsDays"),
        SyncField("credit_limit", .amount, optional: true, legacy: "creditLimit"),
        SyncField("risk_rating", .int32, legacy: "riskRating"),
        SyncField("analyst_id", .text, legacy: "analystID"),
        SyncField("time_zone", .text, legacy: "timeZone"),
        SyncField("language", .text),
        SyncField("portal_billing", .text, legacy: "portalBilling"),
        SyncField("tags", .textList),
        SyncField("phone", .text),
        // Added with portal billing's upload tasks (schema v28): absent from customers written before.
        SyncField("portal_upload_days", .int32, optional: true),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "number": .string(number), "name": .string(name), "billing_address": .string(billingAddress),
            "payment_terms_days": .integer(Int64(paymentTermsDays)), "credit_limit": creditLimit.map(SyncValue.amount) ?? .null,
            "risk_rating": .integer(Int64(riskRating)), "analyst_id": .string(analystID), "time_zone": .string(timeZone),
            "language": .string(language), "portal_billing": .string(portalBilling), "tags": .array(tags.map(FieldValue.string)),
            "phone": .string(phone), "portal_upload_days": portalUploadDays.map { .integer(Int64($0)) } ?? .null,
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), number: try read.text("number"), name: try read.text("name"),
            billingAddress: try read.text("billing_address"), phone: try read.text("phone"),
            paymentTermsDays: try read.int32("payment_terms_days"), creditLimit: try read.optional("credit_limit", read.amount),
            riskRating: try read.int32("risk_rating"), analystID: try read.text("analyst_id"), timeZone: try read.text("time_zone"),
            language: try read.text("language"), portalBilling: try read.text("portal_billing"),
            portalUploadDays: try read.optional("portal_upload_days", read.int32), tags: try read.textList("tags")
        )
    }
}

extension LedgerEntry: SyncRecordForm {
    public static let recordKind = RecordKind.ledgerEntry
    public static let form = [
        SyncField("id", .text),
        SyncField("kind", .choice(LedgerEntryKind.allCases.map(\.rawValue))),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("amount", .amount),
        SyncField("date", .date),
        SyncField("due_date", .date, optional: true, legacy: "dueDate"),
        SyncField("reference", .text),
        SyncField("source_id", .text, optional: true, legacy: "sourceID"),
        SyncField("target_id", .text, optional: true, legacy: "targetID"),
        SyncField("memo", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "kind": .string(kind.rawValue), "customer_id": .string(customerID), "amount": SyncValue.amount(amount),
            "date": SyncValue.date(date), "due_date": dueDate.map(SyncValue.date) ?? .null, "reference": .string(reference),
            "source_id": sourceID.map(FieldValue.string) ?? .null, "target_id": targetID.map(FieldValue.string) ?? .null,
            "memo": .string(memo),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), kind: try read.choice("kind", LedgerEntryKind.self), customerID: try read.text("customer_id"),
            amount: try read.amount("amount"), date: try read.date("date"), dueDate: try read.optional("due_date", read.date),
            reference: try read.text("reference"), sourceID: try read.optional("source_id", read.text),
            targetID: try read.optional("target_id", read.text), memo: try read.text("memo")
        )
    }
}

extension Activity: SyncRecordForm {
    public static let recordKind = RecordKind.activity
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("kind", .choice(ActivityKind.allCases.map(\.rawValue))),
        SyncField("direction", .choice(ActivityDirection.allCases.map(\.rawValue))),
        SyncField("outcome", .text),
        SyncField("author_id", .text, legacy: "authorID"),
        SyncField("occurred_at", .instant, legacy: "occurredAt"),
        SyncField("body", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "kind": .string(kind.rawValue), "direction": .string(direction.rawValue),
            "outcome": .string(outcome), "author_id": .string(authorID), "occurred_at": SyncValue.instant(occurredAt), "body": .string(body),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), kind: try read.choice("kind", ActivityKind.self),
            direction: try read.choice("direction", ActivityDirection.self), outcome: try read.text("outcome"),
            authorID: try read.text("author_id"), occurredAt: try read.instant("occurred_at"), body: try read.text("body")
        )
    }
}

extension Contact: SyncRecordForm {
    public static let recordKind = RecordKind.contact
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("name", .text),
        SyncField("role", .text),
        SyncField("email", .text),
        SyncField("phone", .text),
        SyncField("preferred_channel", .choice(ContactChannel.allCases.map(\.rawValue)), legacy: "preferredChannel"),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "name": .string(name), "role": .string(role),
            "email": .string(email), "phone": .string(phone), "preferred_channel": .string(preferredChannel.rawValue),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), name: try read.text("name"), role: try read.text("role"),
            email: try read.text("email"), phone: try read.text("phone"),
            preferredChannel: try read.choice("preferred_channel", ContactChannel.self)
        )
    }
}

extension Dispute: SyncRecordForm {
    public static let recordKind = RecordKind.dispute
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("invoice_ids", .textList, legacy: "invoiceIDs"),
        SyncField("amount", .amount),
        SyncField("reason_code", .text, legacy: "reasonCode"),
        SyncField("status", .choice(DisputeStatus.allCases.map(\.rawValue))),
        SyncField("owner_team", .choice(DisputeOwnerTeam.allCases.map(\.rawValue)), legacy: "ownerTeam"),
        SyncField("opened_on", .date, legacy: "openedOn"),
        SyncField("resolved_on", .date, optional: true, legacy: "resolvedOn"),
        SyncField("note", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "invoice_ids": .array(invoiceIDs.map(FieldValue.string)),
            "amount": SyncValue.amount(amount), "reason_code": .string(reasonCode), "status": .string(status.rawValue),
            "owner_team": .string(ownerTeam.rawValue), "opened_on": SyncValue.date(openedOn),
            "resolved_on": resolvedOn.map(SyncValue.date) ?? .null, "note": .string(note),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), invoiceIDs: try read.textList("invoice_ids"),
            amount: try read.amount("amount"), reasonCode: try read.text("reason_code"), status: try read.choice("status", DisputeStatus.self),
            ownerTeam: try read.choice("owner_team", DisputeOwnerTeam.self), openedOn: try read.date("opened_on"),
            resolvedOn: try read.optional("resolved_on", read.date), note: try read.text("note")
        )
    }
}

extension Installment {
    /// An installment in a promise's `installments`: `{"due_date", "amount"}`.
    public static let form = [
        SyncField("due_date", .date),
        SyncField("amount", .amount),
    ]

    public var fieldValue: FieldValue { .object(["due_date": SyncValue.date(dueDate), "amount": SyncValue.amount(amount)]) }

    public init(_ read: SyncFieldReader) throws(DomainError) {
        self.init(dueDate: try read.date("due_date"), amount: try read.amount("amount"))
    }

    /// A plan (`installments`, an array of installments) read with the same checks as the form
    /// reader, without building a reader per installment: a worklist reads thousands of plans.
    /// Anything but exactly the two fields per installment goes to the form reader, which names
    /// what is wrong.
    public static func plan(_ value: FieldValue, field: String = "installments") throws(DomainError) -> [Installment] {
        guard case .array(let items) = value else { return try SyncValue.objects(value, form, field).map(Installment.init) }
        var plan: [Installment] = []
        plan.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .object(let fields) = item, fields.count == 2, let due = fields["due_date"], let amount = fields["amount"] else {
                return try SyncValue.objects(value, form, field).map(Installment.init)
            }
            let path = "\(field)[\(index)]"
            plan.append(Installment(dueDate: try SyncValue.date(due, path + ".due_date"), amount: try SyncValue.amount(amount, path + ".amount")))
        }
        return plan
    }
}

extension PromiseToPay: SyncRecordForm {
    public static let recordKind = RecordKind.promiseToPay
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("invoice_ids", .textList, legacy: "invoiceIDs"),
        SyncField("amount", .amount),
        SyncField("made_on", .date, legacy: "madeOn"),
        SyncField("promised_date", .date, legacy: "promisedDate"),
        SyncField("status", .choice(PromiseStatus.allCases.map(\.rawValue))),
        SyncField("note", .text),
        // Added after replica schema 2's first release: absent reads as no installments.
        SyncField("installments", .objects(Installment.form), optional: true),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "invoice_ids": .array(invoiceIDs.map(FieldValue.string)),
            "amount": SyncValue.amount(amount), "made_on": SyncValue.date(madeOn), "promised_date": SyncValue.date(promisedDate),
            "status": .string(status.rawValue), "note": .string(note), "installments": .array(installments.map(\.fieldValue)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), invoiceIDs: try read.textList("invoice_ids"),
            amount: try read.amount("amount"), madeOn: try read.date("made_on"), promisedDate: try read.date("promised_date"),
            status: try read.choice("status", PromiseStatus.self), note: try read.text("note"),
            installments: try read.optional("installments") { name throws(DomainError) in try read.objects(name, Installment.form, Installment.init) } ?? []
        )
    }
}

extension CollectionTask: SyncRecordForm {
    public static let recordKind = RecordKind.collectionTask
    public static let form = [
        SyncField("id", .text),
        SyncField("assignee_id", .text, legacy: "assigneeID"),
        SyncField("customer_id", .text, legacy: "customerID"),
        SyncField("title", .text),
        SyncField("due_date", .date, legacy: "dueDate"),
        SyncField("done", .bool),
        SyncField("notes", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "assignee_id": .string(assigneeID), "customer_id": .string(customerID), "title": .string(title),
            "due_date": SyncValue.date(dueDate), "done": .bool(done), "notes": .string(notes),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), assigneeID: try read.text("assignee_id"), customerID: try read.text("customer_id"),
            title: try read.text("title"), dueDate: try read.date("due_date"), done: try read.bool("done"), notes: try read.text("notes")
        )
    }
}

extension TenantSetting: SyncRecordForm {
    public static let recordKind = RecordKind.tenantSetting
    public static let form = [
        SyncField("id", .text),
        SyncField("value", .text),
    ]

    public var fieldMap: FieldMap { ["id": .string(id), "value": .string(value)] }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(id: try read.text("id"), value: try read.text("value"))
    }
}

/// A conflict holds two values of one field of another record (`record_kind`, `record_id`,
/// `field`): `kept` and `lost` are that field's JSON values exactly as they stand in that
/// record's form (an amount is an amount object, a cleared optional null), so settling one puts
/// the value back unchanged. `kept_at`, `lost_at` and `settled_at` are the writers' clocks, Unix
/// milliseconds. The last six fields came after replica schema 2's first release and may be
/// absent from a stored conflict: the writers' users and devices read as empty, `outcome` and
/// `settled_at` as null.
extension ConflictRecord: SyncRecordForm {
    public static let recordKind = RecordKind.syncConflict
    public static let form = [
        SyncField("id", .text),
        SyncField("record_kind", .choice(RecordKind.allCases.map(\.rawValue)), legacy: "kind"),
        SyncField("record_id", .text, legacy: "recordID"),
        SyncField("field", .text),
        SyncField("kept", .value, optional: true),
        SyncField("kept_by", .text, legacy: "keptBy"),
        SyncField("kept_at", .int64, legacy: "keptAt"),
        SyncField("lost", .value, optional: true),
        SyncField("lost_by", .text, legacy: "lostBy"),
        SyncField("lost_at", .int64, legacy: "lostAt"),
        SyncField("status", .choice(Status.allCases.map(\.rawValue))),
        SyncField("settled_by", .text, legacy: "settledBy"),
        SyncField("kept_by_user", .text, optional: true),
        SyncField("kept_device", .text, optional: true),
        SyncField("lost_by_user", .text, optional: true),
        SyncField("lost_device", .text, optional: true),
        SyncField("outcome", .choice(Outcome.allCases.map(\.rawValue)), optional: true),
        SyncField("settled_at", .int64, optional: true),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "record_kind": .string(kind), "record_id": .string(recordID), "field": .string(field), "kept": kept,
            "kept_by": .string(keptBy), "kept_at": SyncValue.int64(keptAt), "lost": lost, "lost_by": .string(lostBy),
            "lost_at": SyncValue.int64(lostAt), "status": .string(status.rawValue), "settled_by": .string(settledBy),
            "kept_by_user": .string(keptByUser), "kept_device": .string(keptDevice),
            "lost_by_user": .string(lostByUser), "lost_device": .string(lostDevice),
            "outcome": outcome.map { .string($0.rawValue) } ?? .null, "settled_at": settledAt.map(SyncValue.int64) ?? .null,
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), kind: try read.text("record_kind"), recordID: try read.text("record_id"), field: try read.text("field"),
            kept: read.any("kept"), keptBy: try read.text("kept_by"), keptAt: try read.int64("kept_at"),
            keptByUser: try read.optional("kept_by_user", read.text) ?? "", keptDevice: try read.optional("kept_device", read.text) ?? "",
            lost: read.any("lost"), lostBy: try read.text("lost_by"), lostAt: try read.int64("lost_at"),
            lostByUser: try read.optional("lost_by_user", read.text) ?? "", lostDevice: try read.optional("lost_device", read.text) ?? "",
            status: try read.choice("status", Status.self), settledBy: try read.text("settled_by"),
            outcome: try read.optional("outcome") { name throws(DomainError) in try read.choice(name, Outcome.self) },
            settledAt: try read.optional("settled_at", read.int64)
        )
    }
}
