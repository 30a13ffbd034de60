import DunlinCore
import Foundation

// Contacts, disputes, promises, tasks and activities to and from their wire forms
// (Protocol/records.proto). Decoding fills the defaults records.proto documents and refuses what
// the wire cannot express wrongly in the domain (an unknown status, a date that does not exist,
// a missing amount), naming the field; the records' own `validate()` checks the rest.

/// Decoding of the text fields that carry a domain choice or a date.
public enum WireField {
    /// The case whose raw value is `text`; `fallback` when `text` is empty and there is one.
    public static func choice<Value: CaseIterable & RawRepresentable>(
        _ text: String, field: String, default fallback: Value? = nil
    ) throws(DomainError) -> Value where Value.RawValue == String {
        if text.isEmpty, let fallback { return fallback }
        guard let value = Value(rawValue: text) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid(field: field, text.isEmpty ? "is required (one of \(allowed))" : "\"\(text)\" is not one of \(allowed)")
        }
        return value
    }

    /// A list filter: each text a case, named `field[i]` when it is not.
    public static func choices<Value: CaseIterable & RawRepresentable & Hashable>(
        _ texts: [String], field: String
    ) throws(DomainError) -> Set<Value> where Value.RawValue == String {
        var values = Set<Value>()
        for (index, text) in texts.enumerated() {
            values.insert(try choice(text, field: "\(field)[\(index)]"))
        }
        return values
    }

    /// A civil date, or nil when `text` is empty.
    public static func optionalDate(_ text: String, field: String) throws(DomainError) -> CivilDate? {
        text.isEmpty ? nil : try civilDate(text, field: field)
    }

    /// A civil date, or `fallback` when `text` is empty.
    public static func date(_ text: String, field: String, default fallback: CivilDate) throws(DomainError) -> CivilDate {
        text.isEmpty ? fallback : try civilDate(text, field: field)
    }

    /// A required civil date.
    public static func requiredDate(_ text: String, field: String) throws(DomainError) -> CivilDate {
        guard !text.isEmpty else { throw .invalid(field: field, "is required (YYYY-MM-DD)") }
        return try civilDate(text, field: field)
    }

    /// A required amount.
    static func requiredMoney(_ amount: Dunlin_V1_Amount, present: Bool, field: String) throws(DomainError) -> Money {
        guard present else { throw .invalid(field: field, "is required") }
        return try amount.money(field: field)
    }
}

extension Dunlin_V1_ContactRecord {
    public init(_ contact: Contact) {
        self.init()
        id = contact.id
        customerID = contact.customerID
        name = contact.name
        role = contact.role
        email = contact.email
        phone = contact.phone
        preferredChannel = contact.preferredChannel.rawValue
    }

    /// The contact; the preferred channel defaults to email.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> Contact {
        Contact(
            id: id, customerID: customerID, name: name, role: role, email: email, phone: phone,
            preferredChannel: try WireField.choice(preferredChannel, field: "preferred_channel", default: .email)
        )
    }
}

extension Dunlin_V1_DisputeRecord {
    public init(_ dispute: Dispute) {
        self.init()
        id = dispute.id
        customerID = dispute.customerID
        invoiceIds = dispute.invoiceIDs
        amount = Dunlin_V1_Amount(dispute.amount)
        reasonCode = dispute.reasonCode
        status = dispute.status.rawValue
        ownerTeam = dispute.ownerTeam.rawValue
        openedOn = dispute.openedOn.description
        resolvedOn = dispute.resolvedOn?.description ?? ""
        note = dispute.note
    }

    /// The dispute; status defaults to open, the owner team to billing, the opening date to
    /// `today` (the tenant's), and a closed (resolved or rejected) dispute's resolution date to
    /// `today` as well: the day it closes is the tenant's day, whatever the caller's calendar.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> Dispute {
        let status = try WireField.choice(status, field: "status", default: DisputeStatus.open)
        return Dispute(
            id: id, customerID: customerID, invoiceIDs: invoiceIds,
            amount: try WireField.requiredMoney(amount, present: hasAmount, field: "amount"),
            reasonCode: reasonCode,
            status: status,
            ownerTeam: try WireField.choice(ownerTeam, field: "owner_team", default: .billing),
            openedOn: try WireField.date(openedOn, field: "opened_on", default: today),
            resolvedOn: status.isClosed && resolvedOn.isEmpty ? today : try WireField.optionalDate(resolvedOn, field: "resolved_on"),
            note: note
        )
    }
}

extension Dunlin_V1_PromiseRecord {
    public init(_ promise: PromiseToPay) {
        self.init()
        id = promise.id
        customerID = promise.customerID
        invoiceIds = promise.invoiceIDs
        amount = Dunlin_V1_Amount(promise.amount)
        madeOn = promise.madeOn.description
        promisedDate = promise.promisedDate.description
        status = promise.status.rawValue
        note = promise.note
        installments = promise.installments.map { installment in
            .with { $0.dueDate = installment.dueDate.description; $0.amount = Dunlin_V1_Amount(installment.amount) }
        }
    }

    /// The promise; status defaults to open and the day it was made to `today` (the tenant's).
    public func record(today: CivilDate, caller: String) throws(DomainError) -> PromiseToPay {
        PromiseToPay(
            id: id, customerID: customerID, invoiceIDs: invoiceIds,
            amount: try WireField.requiredMoney(amount, present: hasAmount, field: "amount"),
            madeOn: try WireField.date(madeOn, field: "made_on", default: today),
            promisedDate: try WireField.requiredDate(promisedDate, field: "promised_date"),
            status: try WireField.choice(status, field: "status", default: .open),
            note: note,
            installments: try installments.enumerated().map { index, installment throws(DomainError) in
                Installment(
                    dueDate: try WireField.requiredDate(installment.dueDate, field: "installments[\(index)].due_date"),
                    amount: try WireField.requiredMoney(installment.amount, present: installment.hasAmount, field: "installments[\(index)].amount")
                )
            }
        )
    }
}

extension Dunlin_V1_TaskRecord {
    public init(_ task: CollectionTask) {
        self.init()
        id = task.id
        assigneeID = task.assigneeID
        customerID = task.customerID
        title = task.title
        dueDate = task.dueDate.description
        done = task.done
        notes = task.notes
    }

    /// The task; the assignee defaults to `caller` and the due date to `today` (the tenant's).
    public func record(today: CivilDate, caller: String) throws(DomainError) -> CollectionTask {
        CollectionTask(
            id: id, assigneeID: assigneeID.isEmpty ? caller : assigneeID, customerID: customerID, title: title,
            dueDate: try WireField.date(dueDate, field: "due_date", default: today), done: done, notes: notes
        )
    }
}

extension Dunlin_V1_ActivityRecord {
    public init(_ activity: Activity) {
        self.init()
        id = activity.id
        customerID = activity.customerID
        kind = activity.kind.rawValue
        direction = activity.direction.rawValue
        outcome = activity.outcome
        authorID = activity.authorID
        occurredAt = Activity.milliseconds(of: activity.occurredAt)
        body = activity.body
    }

    /// The activity as `author` logs it: the request's author_id is never used. `occurred_at` 0
    /// means `now`; the direction defaults to none for notes and meetings and outbound otherwise.
    public func activity(author: String, now: Date) throws(DomainError) -> Activity {
        let kind: ActivityKind = try WireField.choice(kind, field: "kind")
        let fallback: ActivityDirection = kind == .note || kind == .meeting ? .undirected : .outbound
        return Activity(
            id: id, customerID: customerID, kind: kind,
            direction: try WireField.choice(direction, field: "direction", default: fallback),
            outcome: outcome, authorID: author,
            occurredAt: occurredAt == 0 ? now : Activity.instant(milliseconds: occurredAt), body: body
        )
    }
}

/// Checked conversions for integers that arrive from the wire: a value the receiving type cannot
/// hold is OUT_OF_RANGE naming the field, never a trap.
public enum WireInteger {
    /// A sequence number, counter or offset carried as uint64 but stored as SQLite's signed 64 bits.
    public static func int64(_ value: UInt64, field: String) throws(RPCError) -> Int64 {
        guard let converted = Int64(exactly: value) else {
            throw RPCError(.outOfRange, "\(field) is \(value); at most \(Int64.max)", details: [.with { $0.field = field; $0.reason = "out_of_range" }])
        }
        return converted
    }
}

extension Dunlin_V1_ApprovalRequestRecord {
    /// The request as stored; `entryID` is the ledger entry its approval wrote ("" until then).
    public init(_ request: ApprovalRequest, entryID: String = "") {
        self.init()
        id = request.id
        kind = request.kind.rawValue
        customerID = request.customerID
        invoiceID = request.invoiceID
        sourceID = request.sourceID
        if let amount = request.amount { self.amount = Dunlin_V1_Amount(amount) }
        if let days = request.termsDays { termsDays = Int32(clamping: days) }
        reason = request.reason
        requestedBy = request.requestedBy
        requestedOn = request.requestedOn.description
        status = request.status.rawValue
        decidedBy = request.decidedBy
        decidedOn = request.decidedOn?.description ?? ""
        decisionReason = request.decisionReason
        self.entryID = entryID
    }

    /// A new request from `caller`, pending: requested today unless it says otherwise. The
    /// decision fields, the status and `entry_id` are not the requester's to set.
    public func newRequest(today: CivilDate, caller: String) throws(DomainError) -> ApprovalRequest {
        guard status.isEmpty || status == ApprovalStatus.pending.rawValue else {
            throw .invalid(field: "status", "a new request is pending; it is decided with DecideApprovalRequest")
        }
        guard decidedBy.isEmpty, decidedOn.isEmpty, decisionReason.isEmpty, entryID.isEmpty else {
            throw .invalid(field: decidedBy.isEmpty ? (decidedOn.isEmpty ? (decisionReason.isEmpty ? "entry_id" : "decision_reason") : "decided_on") : "decided_by",
                           "a new request has no decision; it is decided with DecideApprovalRequest")
        }
        guard requestedBy.isEmpty || requestedBy == caller else {
            throw .invalid(field: "requested_by", "the requester is always the caller (\(caller)), not \(requestedBy)")
        }
        return ApprovalRequest(
            id: id, kind: try WireField.choice(kind, field: "kind"), customerID: customerID, invoiceID: invoiceID, sourceID: sourceID,
            amount: hasAmount ? try amount.money(field: "amount") : nil, termsDays: hasTermsDays ? Int(termsDays) : nil, reason: reason,
            requestedBy: caller, requestedOn: try WireField.date(requestedOn, field: "requested_on", default: today)
        )
    }
}
