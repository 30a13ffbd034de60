/// Where a dispute stands. Open and investigating disputes hold dunning on their invoices.
public enum DisputeStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    case investigating
    /// Settled, usually by a credit memo or an adjustment.
    case resolved
    /// Found not to be owed to the customer; the invoices stand.
    case rejected

    /// Resolved or rejected: the dispute has a resolution date and no longer holds dunning.
    public var isClosed: Bool { self == .resolved || self == .rejected }
}

/// The team that owns a dispute's investigation.
public enum DisputeOwnerTeam: String, Sendable, Hashable, Codable, CaseIterable {
    case sales
    case customerService = "customer_service"
    case legal
    case billing
}

/// A customer's objection to all or part of one or more invoices (pricing, damaged goods, never
/// received). Mutable (field by field in sync); deleted only as a tombstone. The invoices stay in
/// the ledger untouched: a resolution in the customer's favour is a new credit memo or adjustment.
public struct Dispute: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    /// The disputed invoices' ledger entry ids, all of `customerID` and in `amount`'s currency.
    public var invoiceIDs: [String]
    /// How much the customer disputes; positive.
    public var amount: Money
    /// The tenant's reason code ("pricing", "damaged_goods", "not_received").
    public var reasonCode: String
    public var status: DisputeStatus
    public var ownerTeam: DisputeOwnerTeam
    public var openedOn: CivilDate
    /// Set exactly when the dispute is closed (resolved or rejected); never before `openedOn`.
    public var resolvedOn: CivilDate?
    public var note: String

    public init(
        id: String, customerID: String, invoiceIDs: [String], amount: Money, reasonCode: String,
        status: DisputeStatus = .open, ownerTeam: DisputeOwnerTeam = .billing, openedOn: CivilDate,
        resolvedOn: CivilDate? = nil, note: String = ""
    ) {
        self.id = id
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
        self.amount = amount
        self.reasonCode = reasonCode
        self.status = status
        self.ownerTeam = ownerTeam
        self.openedOn = openedOn
        self.resolvedOn = resolvedOn
        self.note = note
    }

    /// Checks the fields on their own.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "customer_id": customerID, "reason_code": reasonCode, "note": note])
        for (index, invoiceID) in invoiceIDs.enumerated() { try StoredText.check(invoiceID, field: "invoice_ids[\(index)]") }
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.invoiceIDs(invoiceIDs)
        try Require.positive(amount, "amount")
        try Require.code(reasonCode, "reason_code")
        switch (status.isClosed, resolvedOn) {
        case (true, nil):
            throw .invalid(field: "resolved_on", "a \(status.rawValue) dispute needs the date it was closed")
        case (false, .some):
            throw .invalid(field: "resolved_on", "a dispute still \(status.rawValue) has no resolution date")
        case (true, .some(let resolved)) where resolved < openedOn:
            throw .invalid(field: "resolved_on", "resolved on \(resolved), before it was opened on \(openedOn)")
        default:
            break
        }
    }

    /// Checks the fields, then that every invoice exists, is the customer's, and is in the
    /// dispute's currency.
    public func validate(against ledger: some LedgerState) throws(DomainError) {
        try validate()
        try Require.invoices(invoiceIDs, of: customerID, in: amount.currency, ledger: ledger)
    }
}
