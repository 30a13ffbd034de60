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
    /// A payment plan's installments, by due date; empty for a promise of one payment. They add
    /// up to `amount`, and the last is due on `promisedDate`.
    public var installments: [Installment]

    /// The most installments a plan may have (ten years of monthly payments).
    public static let maxInstallments = 120

    public init(
        id: String, customerID: String, invoiceIDs: [String], amount: Money, madeOn: CivilDate, promisedDate: CivilDate,
        status: PromiseStatus = .open, note: String = "", installments: [Installment] = []
    ) {
        self.installments = installments
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
        try validateInstallments()
    }

    /// A plan's installments: at most ``maxInstallments``, each positive and in the promise's
    /// currency, due on strictly later days from the day the promise was made, adding up to the
    /// amount exactly, the last due on the promised date.
    private func validateInstallments() throws(DomainError) {
        guard !installments.isEmpty else { return }
        guard installments.count <= Self.maxInstallments else {
            throw .outOfRange(field: "installments", "at most \(Self.maxInstallments) installments, not \(installments.count)")
        }
        var total = Money.zero(amount.currency)
        var previous: CivilDate?
        for (index, installment) in installments.enumerated() {
            let field = "installments[\(index)]"
            guard installment.amount.currency == amount.currency else {
                throw .invalid(field: "\(field).amount", "in \(installment.amount.currency.code), not the promise's \(amount.currency.code)")
            }
            try Require.positive(installment.amount, "\(field).amount")
            guard installment.dueDate >= madeOn else {
                throw .invalid(field: "\(field).due_date", "due \(installment.dueDate), before the promise was made on \(madeOn)")
            }
            if let previous, installment.dueDate <= previous {
                throw .invalid(field: "\(field).due_date", "due \(installment.dueDate), not after the installment before it (\(previous))")
            }
            previous = installment.dueDate
            do {
                total = try total.adding(installment.amount)
            } catch {
                throw .refusing(error, field: "installments")
            }
        }
        guard total == amount else {
            throw .invalid(field: "installments", "add up to \(total), not the promised \(amount)")
        }
        guard previous == promisedDate else {
            throw .invalid(field: "promised_date", "the last installment is due \(previous.map(String.init(describing:)) ?? ""), so the promise is for then, not \(promisedDate)")
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

/// One installment of a payment plan.
public struct Installment: Sendable, Hashable, Codable {
    public var dueDate: CivilDate
    public var amount: Money

    public init(dueDate: CivilDate, amount: Money) {
        self.dueDate = dueDate
        self.amount = amount
    }
}

/// One installment measured against the ledger: payments count towards the installments in
/// order, so an installment has what arrived by its deadline beyond what the earlier ones took.
public struct InstallmentEvaluation: Sendable, Hashable {
    public var installment: Installment
    public var status: PromiseStatus
    /// What arrived towards this installment (at most its amount).
    public var received: Money
    public var deadline: CivilDate

    /// The day it counts as broken (or partly kept): the day after its deadline.
    public var brokenOn: CivilDate { deadline.adding(days: 1) }

    /// `installment` measured on `asOf`, from `received`, what arrived towards the whole plan
    /// through its deadline or `asOf`, whichever is earlier (saturated at `Int64.max`), and
    /// `before`, what the earlier installments add up to (saturated likewise): it has what
    /// arrived beyond `before`, at most its amount. Kept when that is all of it; otherwise open
    /// until the deadline, then partly kept when some of it arrived and broken when none did.
    public init(installment: Installment, received: Int64, before: Int64, asOf: CivilDate, deadline: CivilDate) {
        let towards = min(max(received - before, 0), installment.amount.minorUnits)
        self.installment = installment
        self.status =
            if towards >= installment.amount.minorUnits { .kept }
            else if asOf <= deadline { .open }
            else if towards > 0 { .partlyKept }
            else { .broken }
        self.received = Money(minorUnits: towards, currency: installment.amount.currency)
        self.deadline = deadline
    }
}

extension PromiseToPay {
    /// Each installment of a plan on `asOf` (a promise of one payment is one installment: its
    /// amount by its promised date). Installment k is kept when the payments counted through its
    /// deadline cover installments 1 to k; until its deadline it is open; after, partly kept when
    /// some of it arrived and broken when none did. Payments count as ``evaluate(applications:asOf:graceDays:)``
    /// counts them.
    public func evaluateInstallments(applications: [LedgerEntry], asOf: CivilDate, graceDays: Int = Self.defaultGraceDays) -> [InstallmentEvaluation] {
        let plan = installments.isEmpty ? [Installment(dueDate: promisedDate, amount: amount)] : installments
        var before: Int64 = 0
        return plan.map { installment in
            var single = self
            single.installments = []
            single.promisedDate = installment.dueDate
            let deadline = single.deadline(graceDays: graceDays)
            let received = single.evaluate(applications: applications, asOf: asOf, graceDays: graceDays).received.minorUnits
            defer { before = before > Int64.max - installment.amount.minorUnits ? .max : before + installment.amount.minorUnits }
            return InstallmentEvaluation(installment: installment, received: received, before: before, asOf: asOf, deadline: deadline)
        }
    }
}

extension PromiseToPay {
    /// A plan's status from its installments': kept when every one is; broken when one is; partly
    /// kept when one is and none is broken; open otherwise.
    public static func status(of installments: [InstallmentEvaluation]) -> PromiseStatus {
        let statuses = installments.map(\.status)
        if statuses.allSatisfy({ $0 == .kept }) { return .kept }
        if statuses.contains(.broken) { return .broken }
        if statuses.contains(.partlyKept) { return .partlyKept }
        return .open
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
