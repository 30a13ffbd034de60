/// The kinds of ledger entry. Entries are immutable once written; a correction is a new entry,
/// most often a ``reversal`` of the wrong one.
public enum LedgerEntryKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A receivable: the customer owes `amount`, due on `dueDate`.
    case invoice
    /// Credit the customer can apply to invoices, like cash.
    case creditMemo = "credit_memo"
    /// A cash receipt; `customerID` may be empty for an unidentified payer until it is identified.
    case payment
    /// Part or all of a payment or credit memo (`sourceID`) settling an invoice (`targetID`).
    case application
    /// A signed change to an invoice's balance (`targetID`): pricing corrections, fees.
    case adjustment
    /// Part or all of an invoice (`targetID`) declared uncollectible.
    case writeOff = "write_off"
    /// Unapplied cash or credit (`sourceID`) paid back to the customer.
    case refund
    /// Cancels another entry (`targetID`) entirely: an unapply, a void. Never itself reversed.
    case reversal
}

/// One immutable ledger entry. Which fields matter depends on `kind` (see ``LedgerEntryKind``);
/// ``LedgerRules`` says what each kind requires.
public struct LedgerEntry: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var kind: LedgerEntryKind
    /// The customer; empty for an unidentified payment.
    public var customerID: String
    /// Positive for every kind but adjustments, which are signed and non-zero.
    public var amount: Money
    /// Issue, receipt or posting date, in the tenant's calendar.
    public var date: CivilDate
    /// Invoices only.
    public var dueDate: CivilDate?
    /// Invoice or credit memo number, payment reference.
    public var reference: String
    /// Applications and refunds: the payment or credit memo the money comes from.
    public var sourceID: String?
    /// Applications, adjustments and write-offs: the invoice; reversals: the reversed entry.
    public var targetID: String?
    public var memo: String

    public init(
        id: String, kind: LedgerEntryKind, customerID: String = "", amount: Money, date: CivilDate,
        dueDate: CivilDate? = nil, reference: String = "", sourceID: String? = nil, targetID: String? = nil, memo: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.customerID = customerID
        self.amount = amount
        self.date = date
        self.dueDate = dueDate
        self.reference = reference
        self.sourceID = sourceID
        self.targetID = targetID
        self.memo = memo
    }

    /// Whether money from this entry can be applied to invoices or refunded.
    public var isCashSource: Bool { kind == .payment || kind == .creditMemo }
}

/// What the ledger rules need to know about the entries already written: the in-memory
/// ``Ledger`` answers from its dictionaries, the store from indexed queries.
public protocol LedgerState {
    func entry(_ id: String) -> LedgerEntry?
    /// Whether an entry with this id exists (a store answers from its primary key, without reading the row).
    func contains(_ id: String) -> Bool
    /// The reversal of `id`, if it has been reversed.
    func reversal(of id: String) -> LedgerEntry?
    /// An invoice's open balance: its amount, plus adjustments, less applications and write-offs
    /// (entries that were reversed do not count).
    func openBalance(ofInvoice id: String) -> Money?
    /// A payment's or credit memo's money not yet applied or refunded.
    func unapplied(ofSource id: String) -> Money?
    /// Whether any live application draws on `id` (a source) or settles it (an invoice).
    func hasLiveApplications(_ id: String) -> Bool
    /// Whether the tenant has a customer with this id. Every entry that names a customer must name
    /// one the tenant has, whichever way it arrives (RPC, import stream, CSV, sync push).
    func hasCustomer(_ id: String) -> Bool
}

extension LedgerState {
    public func contains(_ id: String) -> Bool { entry(id) != nil }
}

/// The rules every ledger entry must pass before it is written. Pure: the same rules run for an
/// RPC, a CSV import line and (later) a change pushed by a replica.
public enum LedgerRules {
    /// How the rules treat limits that depend on what else is in the ledger: an application above
    /// the unapplied amount or the open balance, money drawn from a voided payment, a void of
    /// something that still has applications.
    public enum Balances: Sendable {
        /// Refused (an RPC, an import: the caller sees the ledger as it stands).
        case enforce
        /// Accepted, for a change pushed by a replica: it was valid where it was made, and two
        /// valid entries can break a limit only together. Every entry stays (set union; money is
        /// never lost to a merge rule) and the broken invariant becomes a reconciliation exception
        /// (DunlinSync `LedgerInvariants`), resolved by a reversing entry.
        case reconcile
    }

    public static func validate(_ entry: LedgerEntry, against state: some LedgerState, balances: Balances = .enforce) throws(DomainError) {
        let enforce = balances == .enforce
        try Require.text([
            "id": entry.id, "customer_id": entry.customerID, "reference": entry.reference, "memo": entry.memo,
            "source_id": entry.sourceID ?? "", "target_id": entry.targetID ?? "",
        ])
        guard !entry.id.isEmpty else { throw .invalid(field: "id", "must not be empty") }
        guard !state.contains(entry.id) else { throw .conflict(field: "id", "entry \(entry.id) already exists") }
        let amount = entry.amount
        if entry.kind == .adjustment {
            guard !amount.isZero else { throw .invalid(field: "amount", "an adjustment must not be zero") }
        } else {
            guard amount.isPositive else { throw .invalid(field: "amount", "must be greater than zero") }
        }
        try Require.withinMaximum(amount, "amount")
        if !entry.customerID.isEmpty, !state.hasCustomer(entry.customerID) {
            throw .notFound(field: "customer_id", id: entry.customerID)
        }

        switch entry.kind {
        case .invoice:
            guard !entry.customerID.isEmpty else { throw .invalid(field: "customer_id", "an invoice needs a customer") }
            guard !entry.reference.isEmpty else { throw .invalid(field: "number", "an invoice needs a number") }
            guard let due = entry.dueDate else { throw .invalid(field: "due_date", "an invoice needs a due date") }
            guard due >= entry.date else {
                throw .invalid(field: "due_date", "due date \(due) is before the issue date \(entry.date)")
            }
        case .creditMemo:
            guard !entry.customerID.isEmpty else { throw .invalid(field: "customer_id", "a credit memo needs a customer") }
        case .payment:
            break
        case .application:
            let source = try liveSource(entry, state, enforce)
            let invoice = try liveInvoice(entry, state, enforce)
            guard source.amount.currency == invoice.amount.currency, amount.currency == invoice.amount.currency else {
                throw .invalid(
                    field: "amount",
                    "mixed currencies: \(source.kind) in \(source.amount.currency.code), invoice in \(invoice.amount.currency.code), application in \(amount.currency.code)"
                )
            }
            try staysInRange(state.unapplied(ofSource: source.id), by: -amount.minorUnits, what: "the unapplied amount of \(source.id)")
            try staysInRange(state.openBalance(ofInvoice: invoice.id), by: -amount.minorUnits, what: "the open balance of invoice \(invoice.id)")
            guard enforce else { return }
            try within(amount, state.unapplied(ofSource: source.id), field: "amount", what: "the unapplied amount of \(source.id)")
            try within(amount, state.openBalance(ofInvoice: invoice.id), field: "amount", what: "the open balance of invoice \(invoice.id)")
        case .adjustment:
            let invoice = try liveInvoice(entry, state, enforce)
            try sameCurrency(amount, invoice)
            try staysInRange(state.openBalance(ofInvoice: invoice.id), by: amount.minorUnits, what: "the open balance of invoice \(invoice.id)")
            if amount.isNegative, enforce {
                try within(amount.negated, state.openBalance(ofInvoice: invoice.id), field: "amount", what: "the open balance of invoice \(invoice.id)")
            }
        case .writeOff:
            let invoice = try liveInvoice(entry, state, enforce)
            try sameCurrency(amount, invoice)
            try staysInRange(state.openBalance(ofInvoice: invoice.id), by: -amount.minorUnits, what: "the open balance of invoice \(invoice.id)")
            guard enforce else { return }
            try within(amount, state.openBalance(ofInvoice: invoice.id), field: "amount", what: "the open balance of invoice \(invoice.id)")
        case .refund:
            let source = try liveSource(entry, state, enforce)
            try sameCurrency(amount, source)
            try staysInRange(state.unapplied(ofSource: source.id), by: -amount.minorUnits, what: "the unapplied amount of \(source.id)")
            guard enforce else { return }
            try within(amount, state.unapplied(ofSource: source.id), field: "amount", what: "the unapplied amount of \(source.id)")
        case .reversal:
            try validateReversal(entry, state, enforce)
        }
    }

    private static func validateReversal(_ entry: LedgerEntry, _ state: some LedgerState, _ enforce: Bool) throws(DomainError) {
        guard let targetID = entry.targetID, let target = state.entry(targetID) else {
            throw .notFound(field: "target_id", id: entry.targetID ?? "")
        }
        guard target.kind != .reversal else {
            throw .invalid(field: "target_id", "\(targetID) is itself a reversal; a reversal cannot be reversed, post the entry again instead")
        }
        if let existing = state.reversal(of: targetID) {
            throw .conflict(field: "target_id", "\(targetID) was already reversed by \(existing.id)")
        }
        guard entry.amount == target.amount.magnitudeMoney else {
            throw .invalid(field: "amount", "a reversal must carry the reversed entry's amount, \(target.amount.magnitudeMoney)")
        }
        // Undoing an effect moves the balances it moved, back.
        let undone = target.amount.minorUnits
        switch target.kind {
        case .application:
            try staysInRange(target.targetID.flatMap(state.openBalance(ofInvoice:)), by: undone, what: "the open balance of invoice \(target.targetID ?? "")")
            try staysInRange(target.sourceID.flatMap(state.unapplied(ofSource:)), by: undone, what: "the unapplied amount of \(target.sourceID ?? "")")
        case .writeOff:
            try staysInRange(target.targetID.flatMap(state.openBalance(ofInvoice:)), by: undone, what: "the open balance of invoice \(target.targetID ?? "")")
        case .adjustment:
            try staysInRange(target.targetID.flatMap(state.openBalance(ofInvoice:)), by: -undone, what: "the open balance of invoice \(target.targetID ?? "")")
        case .refund:
            try staysInRange(target.sourceID.flatMap(state.unapplied(ofSource:)), by: undone, what: "the unapplied amount of \(target.sourceID ?? "")")
        default:
            break
        }
        guard enforce else { return }
        switch target.kind {
        case .invoice, .payment, .creditMemo:
            if state.hasLiveApplications(targetID) {
                throw .conflict(field: "target_id", "\(targetID) has applications; reverse them first")
            }
            if target.kind != .invoice, let unapplied = state.unapplied(ofSource: targetID), unapplied != target.amount {
                throw .conflict(field: "target_id", "\(targetID) has been partly refunded; reverse the refunds first")
            }
        case .adjustment where target.amount.isPositive:
            // Taking back an increase must not push the invoice below zero.
            if let invoiceID = target.targetID {
                try within(target.amount, state.openBalance(ofInvoice: invoiceID), field: "target_id", what: "the open balance of invoice \(invoiceID)")
            }
        default:
            break
        }
    }

    private static func liveSource(_ entry: LedgerEntry, _ state: some LedgerState, _ enforce: Bool = true) throws(DomainError) -> LedgerEntry {
        guard let id = entry.sourceID, let source = state.entry(id), source.isCashSource else {
            throw .notFound(field: "source_id", id: entry.sourceID ?? "")
        }
        if enforce, state.reversal(of: id) != nil { throw .conflict(field: "source_id", "\(id) was reversed") }
        return source
    }

    private static func liveInvoice(_ entry: LedgerEntry, _ state: some LedgerState, _ enforce: Bool = true) throws(DomainError) -> LedgerEntry {
        guard let id = entry.targetID, let invoice = state.entry(id), invoice.kind == .invoice else {
            throw .notFound(field: "invoice_id", id: entry.targetID ?? "")
        }
        if enforce, state.reversal(of: id) != nil { throw .conflict(field: "invoice_id", "invoice \(id) was voided") }
        return invoice
    }

    private static func sameCurrency(_ amount: Money, _ other: LedgerEntry) throws(DomainError) {
        guard amount.currency == other.amount.currency else {
            throw .invalid(field: "amount", "mixed currencies: \(amount.currency.code) against \(other.id) in \(other.amount.currency.code)")
        }
    }

    /// Refuses an entry that would move a balance (an invoice's open balance, a source's unapplied
    /// amount) beyond ``Money/maximumBalanceMinorUnits`` either way, in either mode: no pair of
    /// valid entries can make the store's balance arithmetic leave Int64.
    private static func staysInRange(_ balance: Money?, by delta: Int64, what: String) throws(DomainError) {
        guard let balance else { return }
        let next = Int128(balance.minorUnits) + Int128(delta)
        guard next.magnitude <= UInt128(Money.maximumBalanceMinorUnits) else {
            throw .outOfRange(
                field: "amount",
                "this would take \(what) from \(balance) to \(next) minor units, beyond the most a balance may hold (\(Money.maximumBalanceMinorUnits) either way)"
            )
        }
    }

    private static func within(_ amount: Money, _ limit: Money?, field: String, what: String) throws(DomainError) {
        guard let limit, amount.currency == limit.currency else { return }
        guard amount.minorUnits <= limit.minorUnits else {
            throw .conflict(field: field, "\(amount) is more than \(what), \(limit)")
        }
    }
}

extension Money {
    /// The amount without its sign.
    public var magnitudeMoney: Money { minorUnits < 0 ? negated : self }
}
