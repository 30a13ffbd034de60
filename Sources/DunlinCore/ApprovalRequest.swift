/// What a request asks for: a change to what a customer owes, or to their terms.
public enum ApprovalKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Part of an invoice (`invoice_id`) declared uncollectible: a write-off entry.
    case writeOff = "writeoff"
    /// Money paid back from a payment or credit memo (`source_id`): a refund entry.
    case refund
    /// A signed change to an invoice's balance (`invoice_id`): an adjustment entry.
    case adjustment
    /// A credit memo on the customer's account.
    case credit
    /// New payment terms for the customer (`terms_days`).
    case terms

    /// The ledger entry an approval of this kind writes; nil for terms.
    public var entryKind: LedgerEntryKind? {
        switch self {
        case .writeOff: .writeOff
        case .refund: .refund
        case .adjustment: .adjustment
        case .credit: .creditMemo
        case .terms: nil
        }
    }

    /// The kind of request that writes entries of `kind`; nil for entries no request writes.
    public init?(ledgerKind kind: LedgerEntryKind) {
        guard let found = Self.allCases.first(where: { $0.entryKind == kind }) else { return nil }
        self = found
    }
}

public enum ApprovalStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending
    case approved
    case rejected
}

/// A request that needs a second pair of eyes: a write-off, refund, adjustment, credit memo or
/// terms change. Anyone from analyst up asks; someone else, whose role covers the amount
/// (``ApprovalLimits``), approves or rejects it. Nobody decides their own request.
///
/// The ledger entry (or the customer's new terms) is written only when the request is approved,
/// on the server, in the transaction that records the approval; its id is ``entryID`` (the
/// request's id and kind), so it is written once however often the approval arrives. A request
/// approved on a laptop offline is pending until the server, on the push, settles it: the same
/// checks as online, and a refusal leaves the request pending.
///
/// A request is never edited after it is made, only decided; it is never deleted (it is the audit
/// trail: who asked, who decided, when, why, and the entry written).
public struct ApprovalRequest: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var kind: ApprovalKind
    public var customerID: String
    /// The invoice a write-off or adjustment changes (a credit may name one for reference).
    public var invoiceID: String
    /// The payment or credit memo a refund pays back from.
    public var sourceID: String
    /// The amount: positive, except an adjustment's, which is signed and non-zero; nil for terms.
    public var amount: Money?
    /// The new payment terms in days (terms only).
    public var termsDays: Int?
    public var reason: String
    public var requestedBy: String
    public var requestedOn: CivilDate
    public var status: ApprovalStatus
    public var decidedBy: String
    public var decidedOn: CivilDate?
    public var decisionReason: String

    public init(
        id: String, kind: ApprovalKind, customerID: String, invoiceID: String = "", sourceID: String = "", amount: Money? = nil,
        termsDays: Int? = nil, reason: String, requestedBy: String, requestedOn: CivilDate, status: ApprovalStatus = .pending,
        decidedBy: String = "", decidedOn: CivilDate? = nil, decisionReason: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.customerID = customerID
        self.invoiceID = invoiceID
        self.sourceID = sourceID
        self.amount = amount
        self.termsDays = termsDays
        self.reason = reason
        self.requestedBy = requestedBy
        self.requestedOn = requestedOn
        self.status = status
        self.decidedBy = decidedBy
        self.decidedOn = decidedOn
        self.decisionReason = decisionReason
    }

    /// The id of the ledger entry an approval writes: the request's id and kind.
    public var entryID: String { "\(id):\(kind.rawValue)" }

    /// The ledger entry an approval on `date` writes; nil for a terms change.
    public func entry(on date: CivilDate) -> LedgerEntry? {
        guard let entryKind = kind.entryKind, let amount else { return nil }
        let memo = "\(kind.rawValue) approved by \(decidedBy): \(reason)"
        return switch kind {
        case .writeOff, .adjustment:
            LedgerEntry(id: entryID, kind: entryKind, customerID: customerID, amount: amount, date: date, reference: id, targetID: invoiceID, memo: memo)
        case .refund:
            LedgerEntry(id: entryID, kind: entryKind, customerID: customerID, amount: amount, date: date, reference: id, sourceID: sourceID, memo: memo)
        case .credit:
            LedgerEntry(id: entryID, kind: entryKind, customerID: customerID, amount: amount, date: date, reference: invoiceID.isEmpty ? id : invoiceID, memo: memo)
        case .terms:
            nil
        }
    }

    public func validate() throws(DomainError) {
        try Require.text([
            "id": id, "customer_id": customerID, "invoice_id": invoiceID, "source_id": sourceID, "reason": reason,
            "requested_by": requestedBy, "decided_by": decidedBy, "decision_reason": decisionReason,
        ])
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.present(reason, "reason")
        try Require.present(requestedBy, "requested_by")
        switch kind {
        case .writeOff, .adjustment, .refund, .credit:
            guard let amount else { throw .invalid(field: "amount", "a \(kind.rawValue) request needs an amount") }
            if kind == .adjustment {
                guard !amount.isZero else { throw .invalid(field: "amount", "an adjustment is signed and not zero") }
            } else {
                try Require.positive(amount, "amount")
            }
            try Require.withinMaximum(amount, "amount")
            guard termsDays == nil else { throw .invalid(field: "terms_days", "only a terms request has terms days") }
        case .terms:
            guard amount == nil else { throw .invalid(field: "amount", "a terms request has no amount") }
            guard let termsDays else { throw .invalid(field: "terms_days", "a terms request needs the new terms in days") }
            guard (0...3650).contains(termsDays) else { throw .invalid(field: "terms_days", "must be between 0 and 3650, not \(termsDays)") }
        }
        switch kind {
        case .writeOff, .adjustment: try Require.present(invoiceID, "invoice_id")
        case .refund: try Require.present(sourceID, "source_id")
        case .credit, .terms: break
        }
        if kind != .refund, !sourceID.isEmpty { throw .invalid(field: "source_id", "only a refund names a source") }
        if kind == .refund || kind == .terms, !invoiceID.isEmpty { throw .invalid(field: "invoice_id", "a \(kind.rawValue) request names no invoice") }
        switch status {
        case .pending:
            guard decidedBy.isEmpty, decidedOn == nil, decisionReason.isEmpty else {
                throw .invalid(field: "status", "a pending request has no decision (decided_by, decided_on, decision_reason)")
            }
        case .approved, .rejected:
            try Require.present(decidedBy, "decided_by")
            try Require.present(decisionReason, "decision_reason")
            guard decidedOn != nil else { throw .invalid(field: "decided_on", "a decided request needs the day it was decided") }
            guard decidedBy != requestedBy else {
                throw .invalid(field: "decided_by", "\(decidedBy) made this request; nobody decides their own request")
            }
        }
    }
}

/// Who may approve what: per money kind, the largest amount (in minor units of the tenant's base
/// currency, its absolute value for an adjustment) an analyst may approve, and a manager; above
/// the manager's limit only an admin. A terms change needs a manager. A request in a currency
/// other than the base needs an admin (no exchange rate is applied to a limit). The tenant
/// settings `approvals.<kind>.analyst` and `approvals.<kind>.manager` hold them
/// (``TenantSetting/approvalLimits(_:)``); the defaults are 50000 and 1000000 minor units (500.00
/// and 10,000.00 in a two-decimal currency) for every kind. A manager's limit below the analyst's
/// counts as the analyst's.
public struct ApprovalLimits: Sendable, Hashable {
    public struct Limit: Sendable, Hashable, Codable {
        public var analyst: Int64
        public var manager: Int64

        public init(analyst: Int64, manager: Int64) {
            self.analyst = analyst
            self.manager = manager
        }
    }

    /// Per money kind (terms have no amount).
    public var limits: [ApprovalKind: Limit]

    public init(limits: [ApprovalKind: Limit]) {
        self.limits = limits
    }

    /// The kinds with an amount, whose limits are settings.
    public static let moneyKinds = ApprovalKind.allCases.filter { $0 != .terms }
    public static let standardLimit = Limit(analyst: 50_000, manager: 1_000_000)
    /// 50000 and 1000000 minor units for every money kind.
    public static let standard = ApprovalLimits(limits: Dictionary(uniqueKeysWithValues: moneyKinds.map { ($0, standardLimit) }))

    /// The lowest role that may approve `request` in a tenant whose base currency is `base`.
    public func required(for request: ApprovalRequest, base: Currency) -> Role {
        guard let amount = request.amount else { return .manager }
        guard amount.currency == base else { return .admin }
        let limit = limits[request.kind] ?? Limit(analyst: 0, manager: 0)
        let size = amount.minorUnits.magnitude
        if size <= limit.analyst.magnitude { return .analyst }
        if size <= max(limit.manager, limit.analyst).magnitude { return .manager }
        return .admin
    }

    /// Holds a decision of `request` by `caller` (role `role`) to the rules: the request is
    /// pending, the caller did not make it, and their role covers it. PERMISSION_DENIED-worthy
    /// refusals are ``AccessDenied``; the request's state is a ``DomainError`` (a conflict).
    public func authorizeDecision(of request: ApprovalRequest, by caller: String, role: Role, base: Currency) throws(AccessDenied) {
        guard caller != request.requestedBy else {
            throw AccessDenied(field: "decided_by", "request \(request.id) is \(caller)'s own; nobody decides their own request")
        }
        let required = required(for: request, base: base)
        guard role.satisfies(required) else {
            let what = request.amount.map { "\($0)" } ?? "a terms change"
            throw AccessDenied(
                field: "decided_by",
                "deciding request \(request.id) (\(request.kind.rawValue) of \(what)) needs the \(required.rawValue) role or higher; you are \(role.rawValue)"
            )
        }
    }
}
