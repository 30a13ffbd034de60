import DunlinCore
import Foundation

// The sync forms of the dunning kinds (PROTOCOL.md §16.2 "Record forms"), named as the RPC
// messages of Protocol/dunning.proto name them (DunningPolicyRecord, DunningHoldRecord,
// DunningNoticeRecord). A policy's levels and a notice's lines and charges are arrays of objects
// (``SyncFieldType/objects(_:)``): each merges as one field, so two managers editing one policy's
// levels offline keep one list and set the other aside as a conflict, never a mix of both.

extension DunningLevel {
    static let form = [
        SyncField("days", .int32),
        SyncField("channel", .choice(DunningChannel.allCases.map(\.rawValue))),
        SyncField("template", .text),
        SyncField("fee", .amount, optional: true),
        SyncField("interest_basis_points", .int32),
    ]

    var fieldValue: FieldValue {
        .object([
            "days": .integer(Int64(days)), "channel": .string(channel.rawValue), "template": .string(template),
            "fee": fee.map(SyncValue.amount) ?? .null, "interest_basis_points": .integer(Int64(interestBasisPoints)),
        ])
    }

    init(_ read: SyncFieldReader) throws(DomainError) {
        self.init(
            days: try read.int32("days"), channel: try read.choice("channel", DunningChannel.self), template: try read.text("template"),
            fee: try read.optional("fee", read.amount), interestBasisPoints: try read.int32("interest_basis_points")
        )
    }
}

extension DunningPolicy: SyncRecordForm {
    public static let recordKind = RecordKind.dunningPolicy
    public static let form = [
        SyncField("id", .text),
        SyncField("name", .text),
        SyncField("segment", .text),
        SyncField("customer_ids", .textList),
        SyncField("levels", .objects(DunningLevel.form)),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "name": .string(name), "segment": .string(segment), "customer_ids": .array(customerIDs.map(FieldValue.string)),
            "levels": .array(levels.map(\.fieldValue)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), name: try read.text("name"), segment: try read.text("segment"), customerIDs: try read.textList("customer_ids"),
            levels: try read.objects("levels", DunningLevel.form, DunningLevel.init)
        )
    }
}

extension DunningHold: SyncRecordForm {
    public static let recordKind = RecordKind.dunningHold
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text),
        SyncField("reason", .text),
        SyncField("placed_on", .date),
        SyncField("released_on", .date, optional: true),
        SyncField("release_reason", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "reason": .string(reason), "placed_on": SyncValue.date(placedOn),
            "released_on": releasedOn.map(SyncValue.date) ?? .null, "release_reason": .string(releaseReason),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), reason: try read.text("reason"),
            placedOn: try read.date("placed_on"), releasedOn: try read.optional("released_on", read.date),
            releaseReason: try read.text("release_reason")
        )
    }
}

extension DunningNotice: SyncRecordForm {
    public static let recordKind = RecordKind.dunningNotice
    static let lineForm = [
        SyncField("invoice_id", .text),
        SyncField("reference", .text),
        SyncField("due_date", .date),
        SyncField("days_past_due", .int32),
        SyncField("balance", .amount),
    ]
    static let chargeForm = [
        SyncField("total", .amount),
        SyncField("interest", .amount, optional: true),
        SyncField("fee", .amount, optional: true),
    ]
    public static let form = [
        SyncField("id", .text),
        SyncField("run_id", .text),
        SyncField("customer_id", .text),
        SyncField("policy_id", .text),
        SyncField("level", .int32),
        SyncField("level_days", .int32),
        SyncField("channel", .choice(DunningChannel.allCases.map(\.rawValue))),
        SyncField("template", .text),
        SyncField("as_of", .date),
        SyncField("anchor_invoice_id", .text),
        SyncField("lines", .objects(lineForm)),
        SyncField("charges", .objects(chargeForm)),
        SyncField("status", .choice(DunningNoticeStatus.allCases.map(\.rawValue))),
        SyncField("status_reason", .text),
        SyncField("created_at", .instant),
        SyncField("released_at", .instant, optional: true),
        SyncField("released_by", .text),
        // Added with delivery (schema v18): absent from notices written before.
        SyncField("delivery", .choice(NoticeDeliveryState.allCases.map(\.rawValue)), optional: true),
        SyncField("delivered_as", .choice(DunningChannel.allCases.map(\.rawValue)), optional: true),
        SyncField("delivered_at", .instant, optional: true),
        SyncField("delivery_detail", .text, optional: true),
        SyncField("delivery_attempts", .int32, optional: true),
    ]

    public var fieldMap: FieldMap {
        let lines = lines.map { line -> FieldValue in
            .object([
                "invoice_id": .string(line.invoiceID), "reference": .string(line.reference), "due_date": SyncValue.date(line.dueDate),
                "days_past_due": .integer(Int64(line.daysPastDue)), "balance": SyncValue.amount(line.balance),
            ])
        }
        let charges = charges.map { charge -> FieldValue in
            .object([
                "total": SyncValue.amount(charge.total), "interest": charge.interest.map(SyncValue.amount) ?? .null,
                "fee": charge.fee.map(SyncValue.amount) ?? .null,
            ])
        }
        return [
            "id": .string(id), "run_id": .string(runID), "customer_id": .string(customerID), "policy_id": .string(policyID),
            "level": .integer(Int64(level)), "level_days": .integer(Int64(levelDays)), "channel": .string(channel.rawValue),
            "template": .string(template), "as_of": SyncValue.date(asOf), "anchor_invoice_id": .string(anchorInvoiceID),
            "lines": .array(lines), "charges": .array(charges), "status": .string(status.rawValue), "status_reason": .string(statusReason),
            "created_at": SyncValue.instant(createdAt), "released_at": releasedAt.map(SyncValue.instant) ?? .null,
            "released_by": .string(releasedBy), "delivery": delivery.map { .string($0.rawValue) } ?? .null,
            "delivered_as": deliveredAs.map { .string($0.rawValue) } ?? .null, "delivered_at": deliveredAt.map(SyncValue.instant) ?? .null,
            "delivery_detail": .string(deliveryDetail), "delivery_attempts": .integer(Int64(deliveryAttempts)),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), runID: try read.text("run_id"), customerID: try read.text("customer_id"),
            policyID: try read.text("policy_id"), level: try read.int32("level"), levelDays: try read.int32("level_days"),
            channel: try read.choice("channel", DunningChannel.self), template: try read.text("template"), asOf: try read.date("as_of"),
            anchorInvoiceID: try read.text("anchor_invoice_id"),
            lines: try read.objects("lines", Self.lineForm) { line throws(DomainError) in
                DunningNoticeLine(
                    invoiceID: try line.text("invoice_id"), reference: try line.text("reference"), dueDate: try line.date("due_date"),
                    daysPastDue: try line.int32("days_past_due"), balance: try line.amount("balance")
                )
            },
            charges: try read.objects("charges", Self.chargeForm) { charge throws(DomainError) in
                DunningCharge(total: try charge.amount("total"), interest: try charge.optional("interest", charge.amount), fee: try charge.optional("fee", charge.amount))
            },
            status: try read.choice("status", DunningNoticeStatus.self), statusReason: try read.text("status_reason"),
            createdAt: try read.instant("created_at"), releasedAt: try read.optional("released_at", read.instant),
            releasedBy: try read.text("released_by"), delivery: try read.optional("delivery") { name throws(DomainError) in try read.choice(name, NoticeDeliveryState.self) },
            deliveredAs: try read.optional("delivered_as") { name throws(DomainError) in try read.choice(name, DunningChannel.self) },
            deliveredAt: try read.optional("delivered_at", read.instant), deliveryDetail: try read.optional("delivery_detail", read.text) ?? "",
            deliveryAttempts: try read.optional("delivery_attempts", read.int32) ?? 0
        )
    }
}

extension DunningNotice {
    /// The notice's canonical JSON, ``CanonicalJSON/encode(_:)`` of ``fieldMap``, written straight
    /// from its values: a dunning run writes tens of thousands of notices of a few dozen lines
    /// each, and building each one's field map (a dictionary per line and per amount) only for the
    /// encoder to sort its keys again was a tenth of a full-size run. The keys are written in the
    /// encoder's order (by UTF-8 bytes); `SyncFormTests` holds the bytes to the field map's.
    public var canonicalJSON: Data { Data(canonicalJSONBytes(lines: true)) }

    /// ``canonicalJSON``'s bytes (no copy to `Data` for a caller making a `String` of them);
    /// without `lines`, of the field map without the key `lines` (a store keeping them apart).
    public func canonicalJSONBytes(lines withLines: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(400 + (withLines ? 150 * lines.count : 0))
        func text(_ value: String) { CanonicalJSON.write(value, into: &out) }
        func raw(_ value: String) { out.append(contentsOf: value.utf8) }
        func int64(_ value: Int64) { text(String(value)) }
        func amount(_ money: Money?) {
            guard let money else { return raw("null") }
            raw("{\"currency\":")
            text(money.currency.code)
            raw(",\"minor\":")
            int64(money.minorUnits)
            raw("}")
        }
        func instant(_ date: Date?) {
            guard let date else { return raw("null") }
            int64(Activity.milliseconds(of: date))
        }
        func optional(_ value: String?) {
            guard let value else { return raw("null") }
            text(value)
        }
        raw("{\"anchor_invoice_id\":"); text(anchorInvoiceID)
        raw(",\"as_of\":"); text(asOf.description)
        raw(",\"channel\":"); text(channel.rawValue)
        raw(",\"charges\":[")
        for (index, charge) in charges.enumerated() {
            raw(index == 0 ? "{\"fee\":" : ",{\"fee\":"); amount(charge.fee)
            raw(",\"interest\":"); amount(charge.interest)
            raw(",\"total\":"); amount(charge.total)
            raw("}")
        }
        raw("],\"created_at\":"); instant(createdAt)
        raw(",\"customer_id\":"); text(customerID)
        raw(",\"delivered_as\":"); optional(deliveredAs?.rawValue)
        raw(",\"delivered_at\":"); instant(deliveredAt)
        raw(",\"delivery\":"); optional(delivery?.rawValue)
        raw(",\"delivery_attempts\":"); raw(String(Int64(deliveryAttempts)))
        raw(",\"delivery_detail\":"); text(deliveryDetail)
        raw(",\"id\":"); text(id)
        raw(",\"level\":"); raw(String(Int64(level)))
        raw(",\"level_days\":"); raw(String(Int64(levelDays)))
        if withLines {
            raw(",\"lines\":[")
            for (index, line) in lines.enumerated() {
                raw(index == 0 ? "{\"balance\":" : ",{\"balance\":"); amount(line.balance)
                raw(",\"days_past_due\":"); raw(String(Int64(line.daysPastDue)))
                raw(",\"due_date\":"); text(line.dueDate.description)
                raw(",\"invoice_id\":"); text(line.invoiceID)
                raw(",\"reference\":"); text(line.reference)
                raw("}")
            }
            raw("]")
        }
        raw(",\"policy_id\":"); text(policyID)
        raw(",\"released_at\":"); instant(releasedAt)
        raw(",\"released_by\":"); text(releasedBy)
        raw(",\"run_id\":"); text(runID)
        raw(",\"status\":"); text(status.rawValue)
        raw(",\"status_reason\":"); text(statusReason)
        raw(",\"template\":"); text(template)
        raw("}")
        return out
    }
}

extension EscalationRule: SyncRecordForm {
    public static let recordKind = RecordKind.escalationRule
    public static let form = [
        SyncField("id", .text),
        SyncField("name", .text),
        SyncField("trigger", .choice(EscalationTrigger.allCases.map(\.rawValue))),
        SyncField("days", .int32),
        SyncField("amount", .amount, optional: true),
        SyncField("count", .int32),
        SyncField("window_days", .int32),
        SyncField("action", .choice(EscalationAction.allCases.map(\.rawValue))),
        SyncField("agency", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "name": .string(name), "trigger": .string(trigger.rawValue), "days": .integer(Int64(days)),
            "amount": amount.map(SyncValue.amount) ?? .null, "count": .integer(Int64(count)), "window_days": .integer(Int64(windowDays)),
            "action": .string(action.rawValue), "agency": .string(agency),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), name: try read.text("name"), trigger: try read.choice("trigger", EscalationTrigger.self),
            days: try read.int32("days"), amount: try read.optional("amount", read.amount), count: try read.int32("count"),
            windowDays: try read.int32("window_days"), action: try read.choice("action", EscalationAction.self), agency: try read.text("agency")
        )
    }
}

extension Escalation: SyncRecordForm {
    public static let recordKind = RecordKind.escalation
    public static let form = [
        SyncField("id", .text),
        SyncField("customer_id", .text),
        SyncField("action", .choice(EscalationAction.allCases.map(\.rawValue))),
        SyncField("rule_id", .text),
        SyncField("notice_id", .text),
        SyncField("reason", .text),
        SyncField("agency", .text),
        SyncField("escalated_on", .date),
        SyncField("summary", .text),
        SyncField("task_id", .text),
        SyncField("assignee_id", .text),
        SyncField("status", .choice(EscalationStatus.allCases.map(\.rawValue))),
        SyncField("recalled_on", .date, optional: true),
        SyncField("recalled_by", .text),
        SyncField("recall_reason", .text),
        SyncField("created_at", .instant),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "customer_id": .string(customerID), "action": .string(action.rawValue), "rule_id": .string(ruleID),
            "notice_id": .string(noticeID), "reason": .string(reason), "agency": .string(agency), "escalated_on": SyncValue.date(escalatedOn),
            "summary": .string(summary), "task_id": .string(taskID), "assignee_id": .string(assigneeID), "status": .string(status.rawValue),
            "recalled_on": recalledOn.map(SyncValue.date) ?? .null, "recalled_by": .string(recalledBy), "recall_reason": .string(recallReason),
            "created_at": SyncValue.instant(createdAt),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), customerID: try read.text("customer_id"), action: try read.choice("action", EscalationAction.self),
            ruleID: try read.text("rule_id"), noticeID: try read.text("notice_id"), reason: try read.text("reason"), agency: try read.text("agency"),
            escalatedOn: try read.date("escalated_on"), summary: try read.text("summary"), taskID: try read.text("task_id"),
            assigneeID: try read.text("assignee_id"), status: try read.choice("status", EscalationStatus.self),
            recalledOn: try read.optional("recalled_on", read.date), recalledBy: try read.text("recalled_by"),
            recallReason: try read.text("recall_reason"), createdAt: try read.instant("created_at")
        )
    }
}

extension NoticeTemplate: SyncRecordForm {
    public static let recordKind = RecordKind.noticeTemplate
    public static let form = [
        SyncField("id", .text),
        SyncField("name", .text),
        SyncField("language", .text),
        SyncField("subject", .text),
        SyncField("recipient", .text),
        SyncField("text", .text),
        SyncField("html", .text),
    ]

    public var fieldMap: FieldMap {
        [
            "id": .string(id), "name": .string(name), "language": .string(language), "subject": .string(subject),
            "recipient": .string(recipient), "text": .string(text), "html": .string(html),
        ]
    }

    public init(fieldMap: FieldMap) throws(DomainError) {
        let read = try SyncFieldReader(fieldMap, form: Self.form, kind: Self.recordKind)
        self.init(
            id: try read.text("id"), name: try read.text("name"), language: try read.text("language"), subject: try read.text("subject"),
            recipient: try read.text("recipient"), text: try read.text("text"), html: try read.text("html")
        )
    }
}
