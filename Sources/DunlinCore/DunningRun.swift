import Foundation

/// What keeps dunning away, as of a run's date: an active manual hold or a placement with a
/// collection agency (``Escalation/places(on:)``) keeps it from the whole customer; an open or investigating dispute, an open promise whose deadline (promised date plus
/// grace, ``PromiseToPay/deadline(graceDays:)``) has not passed, and a ledger exception keep it
/// from the invoices they name. A held item is left out of the notice altogether: it neither
/// appears on it, nor counts towards its totals, nor sets its level.
public struct DunningHolds: Sendable {
    private var customers: [String: String] = [:]
    private var items: [String: String] = [:]

    public init(
        asOf: CivilDate, disputes: [Dispute], promises: [PromiseToPay], exceptionInvoiceIDs: [String], manual: [DunningHold],
        placements: [Escalation] = []
    ) {
        for placement in placements.sorted(by: { $0.id < $1.id }) where placement.places(on: asOf) && customers[placement.customerID] == nil {
            customers[placement.customerID] = "placed with \(placement.agency) on \(placement.escalatedOn) (\(placement.id))"
        }
        for hold in manual.sorted(by: { $0.id < $1.id }) where hold.isActive(on: asOf) && customers[hold.customerID] == nil {
            customers[hold.customerID] = "held by \(hold.id): \(hold.reason)"
        }
        for dispute in disputes where !dispute.status.isClosed {
            for invoice in dispute.invoiceIDs where items[invoice] == nil { items[invoice] = "disputed (\(dispute.id))" }
        }
        for promise in promises where promise.status == .open && asOf <= promise.deadline() {
            for invoice in promise.invoiceIDs where items[invoice] == nil { items[invoice] = "promised by \(promise.promisedDate) (\(promise.id))" }
        }
        for invoice in exceptionInvoiceIDs where items[invoice] == nil { items[invoice] = "under a ledger exception" }
    }

    /// Why the customer is held, nil when it is not.
    public func customerHold(_ customerID: String) -> String? { customers[customerID] }

    /// Why the invoice is held, nil when it is not.
    public func itemHold(_ invoiceID: String) -> String? { items[invoiceID] }

    /// Every invoice a dispute, promise or exception holds, by id (open or not, of any customer).
    public var heldInvoiceIDs: [String] { items.keys.sorted() }

    /// `notice` checked again against these holds, the run's own rule: whether its customer is
    /// held now, and which of its lines are. A preview shows a queued notice with what holds it
    /// now (a dispute opened on a laptop since the run, offline too), so nobody reads as due what
    /// the release will drop.
    public func recheck(_ notice: DunningNotice) -> NoticeRecheck {
        NoticeRecheck(
            customerHold: customerHold(notice.customerID),
            heldLines: notice.lines.compactMap { line in itemHold(line.invoiceID).map { NoticeRecheck.HeldLine(invoiceID: line.invoiceID, reason: $0) } }
        )
    }
}

/// What holds a queued notice now (``DunningHolds/recheck(_:)``).
public struct NoticeRecheck: Sendable, Hashable {
    public struct HeldLine: Sendable, Hashable {
        public var invoiceID: String
        public var reason: String

        public init(invoiceID: String, reason: String) {
            self.invoiceID = invoiceID
            self.reason = reason
        }
    }

    /// Why the whole customer is held now, nil when it is not.
    public var customerHold: String?
    /// The notice's lines held now, in the notice's order.
    public var heldLines: [HeldLine]

    public init(customerHold: String? = nil, heldLines: [HeldLine] = []) {
        self.customerHold = customerHold
        self.heldLines = heldLines
    }
}

/// An open invoice as the dunning rule reads it: what its notice line shows, and the day that ages
/// it (its due date; an undated invoice's own date stands for it).
public struct DunningItem: Sendable, Hashable {
    public var invoiceID: String
    /// The invoice number the customer knows it by.
    public var reference: String
    public var due: CivilDate
    public var open: Money

    public init(invoiceID: String, reference: String, due: CivilDate, open: Money) {
        self.invoiceID = invoiceID
        self.reference = reference
        self.due = due
        self.open = open
    }

    /// An open invoice of the ledger, with its open balance.
    public init(_ invoice: (entry: LedgerEntry, open: Money)) {
        self.init(invoiceID: invoice.entry.id, reference: invoice.entry.reference, due: invoice.entry.dueDate ?? invoice.entry.date, open: invoice.open)
    }
}

/// A run's result for the whole tenant: the notices it calls for, and how much it held back.
public struct DunningPlan: Sendable, Hashable {
    public var notices: [DunningNotice] = []
    /// Customers left alone by a manual hold or a placement with an agency.
    public var heldCustomers = 0
    /// Open items left out under a dispute, promise or exception.
    public var heldItems = 0

    public init() {}
}

/// The dunning run's rule, pure: from each customer's policy, open invoices and holds as of a
/// date, the notice it calls for.
///
/// A customer's level is set by its oldest unpaid item that is not held (a partial payment leaves
/// the item, and so the level, where it was): the last level whose days that item's days past due
/// reach. The notice lists every unheld open item at least as old as the level asks (overdue items;
/// for a reminder level, also those coming due within its days), each with its balance, and per
/// currency the total, the level's interest on the overdue lines and its fee.
public enum DunningRun {
    public static func plan(
        asOf: CivilDate, customers: [Customer], policies: [DunningPolicy], openInvoices: [(entry: LedgerEntry, open: Money)],
        holds: DunningHolds, createdAt: Date
    ) throws(DomainError) -> DunningPlan {
        var byCustomer: [String: [(entry: LedgerEntry, open: Money)]] = [:]
        for invoice in openInvoices where invoice.entry.kind == .invoice && invoice.open.isPositive {
            byCustomer[invoice.entry.customerID, default: []].append(invoice)
        }
        var plan = DunningPlan()
        for customer in customers.sorted(by: { $0.id < $1.id }) {
            guard let items = byCustomer[customer.id], let policy = DunningPolicy.policy(for: customer, among: policies) else { continue }
            if holds.customerHold(customer.id) != nil {
                plan.heldCustomers += 1
                continue
            }
            let unheld = items.filter { holds.itemHold($0.entry.id) == nil }
            plan.heldItems += items.count - unheld.count
            if let notice = try notice(for: customer, policy: policy, items: unheld.map { DunningItem($0) }, asOf: asOf, createdAt: createdAt) {
                plan.notices.append(notice)
            }
        }
        return plan
    }

    /// The notice `items` (the customer's unheld open items, in any order) call for under
    /// `policy` on `asOf`, nil when the oldest is not old enough for the first level.
    public static func notice(
        for customer: Customer, policy: DunningPolicy, items: [DunningItem], asOf: CivilDate, createdAt: Date
    ) throws(DomainError) -> DunningNotice? {
        let items = items.filter { $0.open.isPositive }.sorted { ($0.due, $0.invoiceID) < ($1.due, $1.invoiceID) }
        guard let anchor = items.first, let index = policy.levelIndex(daysPastDue: anchor.due.days(until: asOf)) else { return nil }
        let level = policy.levels[index]
        let lines = items.compactMap { item -> DunningNoticeLine? in
            let days = item.due.days(until: asOf)
            guard days >= min(level.days, 1) else { return nil }
            return DunningNoticeLine(invoiceID: item.invoiceID, reference: item.reference, dueDate: item.due, daysPastDue: days, balance: item.open)
        }
        var charges: [DunningCharge] = []
        for currency in Set(lines.map(\.balance.currency)).sorted(by: { $0.code < $1.code }) {
            let inCurrency = lines.filter { $0.balance.currency == currency }
            let total = try AgingReport.narrow(inCurrency.reduce(Int128(0)) { $0 + Int128($1.balance.minorUnits) }, currency, field: "total")
            let overdue = inCurrency.contains { $0.daysPastDue > 0 }
            var charge = DunningCharge(total: Money(minorUnits: total, currency: currency))
            if level.interestBasisPoints > 0 {
                let interest = try DunningInterest.interest(
                    on: inCurrency.map { ($0.balance, $0.daysPastDue) }, basisPoints: level.interestBasisPoints, currency: currency
                )
                charge.interest = interest.isZero ? nil : interest
            }
            if let fee = level.fee, fee.currency == currency, overdue { charge.fee = fee }
            charges.append(charge)
        }
        return DunningNotice(
            id: DunningNotice.id(customerID: customer.id, levelDays: level.days, anchorInvoiceID: anchor.invoiceID),
            runID: DunningRunID.of(asOf), customerID: customer.id, policyID: policy.id, level: index + 1, levelDays: level.days,
            channel: level.channel, template: level.template, asOf: asOf, anchorInvoiceID: anchor.invoiceID, lines: lines, charges: charges,
            createdAt: createdAt
        )
    }
}
