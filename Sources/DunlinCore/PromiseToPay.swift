/// Whether a promise to pay was kept. See ``PromiseToPay/evaluate(applications:asOf:graceDays:)``.
public enum PromiseStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The deadline has not passed and the full amount has not arrived yet.
    case open
    /// The full amount arrived by the deadline.
    case kept
    /// Some, not all, of the amount arrived by the deadline.
    case partlyKept = "partly_kept"
    /// Nothing arrived by the deadline.
    case broken
}

/// A customer's commitment to pay an amount against some invoices by a date. Mutable (field by
/// field in sync); deleted only as a tombstone. Its status is what an analyst or the nightly job
/// last recorded; ``evaluate(applications:asOf:graceDays:)`` says what the ledger shows.
public struct PromiseToPay: Sendable, Hashable, Codable, Identifiable {
    /// Days after the promised date during which a payment still counts as on time: cash that
    /// left the customer on the promised date takes a bank day or two to be received and applied.
    public static let defaultGraceDays = 3

    public var id: String
    public var customerID: String
    /// The invoices the payment is for, all of `customerID` and in `amount`'s currency.
    public var invoiceIDs: [String]
    /// How much the customer promised; positive.
    public var amount: Money
    /// The day the promise was made: payments before it do not count towards it.
    public var madeOn: CivilDate
    /// The day the customer promised to pay by; not before `madeOn`.
    public var promisedDate: CivilDate
    public var status: PromiseStatus
    public var note: String

    public init(
        id: String, customerID: String, invoiceIDs: [String], amount: Money, madeOn: CivilDate, promisedDate: CivilDate,
        status: PromiseStatus = .open, note: String = ""
    ) {
        self.id = id
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
        self.amount = amount
        self.madeOn = madeOn
        self.promisedDate = promisedDate
        self.status = status
        self.note = note
    }

    /// Checks the fields on their own.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "customer_id": customerID, "note": note])
        for (index, invoiceID) in invoiceIDs.enumerated() { try StoredText.check(invoiceID, field: "invoice_ids[\(index)]") }
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.invoiceIDs(invoiceIDs)
        try Require.positive(amount, "amount")
        guard promisedDate >= madeOn else {
            throw .invalid(field: "promised_date", "promised for \(promisedDate), before the promise was made on \(madeOn)")
        }
    }

    /// Checks the fields, then that every invoice exists, is the customer's, and is in the
    /// promise's currency.
    public func validate(against ledger: some LedgerState) throws(DomainError) {
        try validate()
        try Require.invoices(invoiceIDs, of: customerID, in: amount.currency, ledger: ledger)
    }

    /// The last day a payment counts: the promised date plus the grace period.
    public func deadline(graceDays: Int = Self.defaultGraceDays) -> CivilDate {
        promisedDate.adding(days: max(0, graceDays))
    }

    /// What the ledger says of this promise on `asOf`.
    ///
    /// `applications` are the live (unreversed) applications of payments; the store's
    /// `paymentApplications(toInvoices:)` gives exactly these. Only those that settle one of this
    /// promise's invoices, in its currency, dated from the day the promise was made through the
    /// deadline and not after `asOf`, count; anything else in the list is ignored.
    ///
    /// Kept when the full amount arrived (even early); otherwise open until the deadline has
    /// passed, then partly kept when some of it arrived and broken when none did.
    public func evaluate(applications: [LedgerEntry], asOf: CivilDate, graceDays: Int = Self.defaultGraceDays) -> PromiseEvaluation {
        let deadline = deadline(graceDays: graceDays)
        let lastCounted = min(deadline, asOf)
        let invoices = Set(invoiceIDs)
        var received: Int64 = 0
        for entry in applications
        where entry.kind == .application && entry.amount.currency == amount.currency && entry.amount.isPositive
            && entry.targetID.map(invoices.contains) == true && entry.date >= madeOn && entry.date <= lastCounted
        {
            let (sum, overflow) = received.addingReportingOverflow(entry.amount.minorUnits)
            received = overflow ? .max : sum
        }
        let status: PromiseStatus =
            if received >= amount.minorUnits { .kept }
            else if asOf <= deadline { .open }
            else if received > 0 { .partlyKept }
            else { .broken }
        return PromiseEvaluation(status: status, received: Money(minorUnits: received, currency: amount.currency), deadline: deadline)
    }
}

/// A promise measured against the ledger.
public struct PromiseEvaluation: Sendable, Hashable, Codable {
    public var status: PromiseStatus
    /// What arrived towards the promise so far (may exceed the promised amount).
    public var received: Money
    /// The last day a payment counts.
    public var deadline: CivilDate

    public init(status: PromiseStatus, received: Money, deadline: CivilDate) {
        self.status = status
        self.received = received
        self.deadline = deadline
    }
}
