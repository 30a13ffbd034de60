import DunlinCore
import DunlinStore
import Foundation

/// A generated tenant, the same on every run: customers, open invoices, unapplied payments and
/// activities spread evenly over the customers; one customer in ten bills in PHP. The sync
/// benchmarks use it as it is; the collections benchmarks add what a collections morning reads
/// (``Collections``: invoices paid in full, promises, disputes, call-backs, a dunning policy).
public struct TenantPortfolio: Sendable {
    /// What the collections benchmarks add to a tenant, each a fraction of its customers or
    /// invoices; ``none`` (the default) adds nothing.
    public struct Collections: Sendable {
        /// Every `settledEvery`-th invoice due by ``TenantPortfolio/morning`` is paid in full (a
        /// payment and its application, dated on its due date, so nothing is dated after the
        /// morning); 0: none.
        public var settledEvery = 0
        /// Every `promiseEvery`-th customer made a promise to pay, `disputeEvery`-th opened a
        /// dispute, `callBackEvery`-th has an open call-back task; 0: none.
        public var promiseEvery = 0
        public var disputeEvery = 0
        public var callBackEvery = 0
        /// Tags every customer carries (a dunning policy takes customers by one).
        public var customerTags: [String] = []

        public static let none = Collections()
        /// One invoice in twenty paid, one customer in ten with a promise, one in twenty with a
        /// dispute, one in eight with a call-back, every customer in the `standard` segment.
        public static let morning = Collections(settledEvery: 20, promiseEvery: 10, disputeEvery: 20, callBackEvery: 8, customerTags: ["standard"])
    }

    public let customers: Int
    public let invoices: Int
    public let payments: Int
    public let activities: Int
    /// Customers are assigned round robin to analysts U0 ... U(analysts - 1).
    public let analysts: Int
    public let collections: Collections

    public init(customers: Int, invoices: Int, payments: Int, activities: Int, analysts: Int = 20, collections: Collections = .none) {
        self.customers = customers
        self.invoices = invoices
        self.payments = payments
        self.activities = activities
        self.analysts = analysts
        self.collections = collections
    }

    public var records: Int { customers + invoices + payments + activities }

    public func divided(by divisor: Int) -> TenantPortfolio {
        TenantPortfolio(
            customers: customers / divisor, invoices: invoices / divisor, payments: payments / divisor, activities: activities / divisor,
            analysts: analysts, collections: collections
        )
    }

    private static let firstIssue = 20_454  // 2026-01-01, days since 1970-01-01
    private static let firstActivity = Date(timeIntervalSince1970: 1_767_225_600)

    private func currency(_ customer: Int) -> Currency { Currency(code: customer % 10 == 1 ? "PHP" : "USD")! }

    public func customer(_ index: Int) -> Customer {
        Customer(
            id: "C\(index)", number: "N\(index)", name: "Customer \(index)", phone: "+1 312 555 \(index % 10_000)",
            analystID: "U\(index % analysts)", timeZone: index % 2 == 0 ? "America/Chicago" : "Asia/Manila", tags: collections.customerTags
        )
    }

    public func invoice(_ index: Int) -> LedgerEntry {
        let customer = index % customers
        let issue = index % 330
        return LedgerEntry(
            id: "INV\(index)", kind: .invoice, customerID: "C\(customer)",
            amount: Money(minorUnits: 1_00 + Int64((index &* 7_919) % 1_000_000), currency: currency(customer)),
            date: CivilDate(daysSinceEpoch: Self.firstIssue + issue), dueDate: CivilDate(daysSinceEpoch: Self.firstIssue + issue + 15 * (1 + index % 4)),
            reference: String(index)
        )
    }

    /// Payment `index` (ids from PAY0; `prefix` keeps later batches apart).
    public func payment(_ index: Int, prefix: String = "PAY") -> LedgerEntry {
        let customer = (index &* 31) % customers
        return LedgerEntry(
            id: "\(prefix)\(index)", kind: .payment, customerID: "C\(customer)",
            amount: Money(minorUnits: 50_00 + Int64((index &* 104_729) % 500_000), currency: currency(customer)),
            date: CivilDate(daysSinceEpoch: Self.firstIssue + index % 360), reference: "WIRE-\(index)"
        )
    }

    /// Invoice `index` paid in full: payment `prefix`PAY`index` of its amount and the application
    /// `prefix`APP`index` of the payment to it, as a bank file's matches arrive.
    public func settlement(ofInvoice index: Int, prefix: String) -> (payment: LedgerEntry, application: LedgerEntry) {
        let invoice = invoice(index)
        let paid = invoice.dueDate ?? invoice.date
        return (
            LedgerEntry(id: "\(prefix)PAY\(index)", kind: .payment, customerID: invoice.customerID, amount: invoice.amount, date: paid,
                        reference: "\(prefix)-WIRE-\(index)"),
            LedgerEntry(id: "\(prefix)APP\(index)", kind: .application, customerID: invoice.customerID, amount: invoice.amount, date: paid,
                        sourceID: "\(prefix)PAY\(index)", targetID: invoice.id)
        )
    }

    public func activity(_ index: Int, prefix: String = "ACT", author: String = "U1") -> Activity {
        let kinds: [(ActivityKind, ActivityDirection, String)] = [
            (.call, .outbound, "left voicemail"), (.email, .outbound, "sent statement"), (.call, .inbound, "promised to pay Friday"),
            (.note, .undirected, ""), (.letter, .outbound, "first dunning letter"),
        ]
        let (kind, direction, outcome) = kinds[index % kinds.count]
        return Activity(
            id: "\(prefix)\(index)", customerID: "C\((index &* 17) % customers)", kind: kind, direction: direction, outcome: outcome,
            authorID: author, occurredAt: Self.firstActivity.addingTimeInterval(Double(index) * 60),
            body: index % 3 == 0 ? "Spoke with accounts payable about invoice INV\(index % max(invoices, 1))." : ""
        )
    }

    // MARK: Collections

    /// The day the collections figures are taken on: after every generated invoice's issue date,
    /// with most of them overdue, promises broken within the last 90 days and some due that day.
    public static let morning = CivilDate(year: 2026, month: 12, day: 15)!

    /// The invoices of customer `customer` (invoice `i` belongs to customer `i % customers`).
    private func invoiceIDs(ofCustomer customer: Int, count: Int) -> [String] {
        stride(from: customer, to: invoices, by: customers).prefix(count).map { "INV\($0)" }
    }

    /// Customer `promiseEvery * k`'s promise: its two oldest invoices, promised on a day from 80
    /// days before ``morning`` to 4 days after it (so some are broken in the window, some due on
    /// the morning, some still open); every third one a plan of two installments.
    public func promise(_ k: Int) -> PromiseToPay {
        let customer = k * collections.promiseEvery
        let promised = Self.morning.adding(days: -80 + k % 85)
        let amount = Money(minorUnits: 500_00, currency: currency(customer))
        let installments = k % 3 == 0
            ? [Installment(dueDate: promised.adding(days: -30), amount: Money(minorUnits: 250_00, currency: amount.currency)),
               Installment(dueDate: promised, amount: Money(minorUnits: 250_00, currency: amount.currency))]
            : []
        return PromiseToPay(
            id: "PTP\(k)", customerID: "C\(customer)", invoiceIDs: invoiceIDs(ofCustomer: customer, count: 2), amount: amount,
            madeOn: promised.adding(days: -40), promisedDate: promised, installments: installments
        )
    }

    /// Customer `disputeEvery * k`'s open dispute over its oldest invoice.
    public func dispute(_ k: Int) -> Dispute {
        let customer = k * collections.disputeEvery
        return Dispute(
            id: "DSP\(k)", customerID: "C\(customer)", invoiceIDs: invoiceIDs(ofCustomer: customer, count: 1),
            amount: Money(minorUnits: 100_00, currency: currency(customer)), reasonCode: "pricing", openedOn: Self.morning.adding(days: -20 - k % 30)
        )
    }

    /// Customer `callBackEvery * k`'s open call-back for its analyst, due from 10 days before
    /// ``morning`` to 9 days after it.
    public func callBack(_ k: Int) -> CollectionTask {
        let customer = k * collections.callBackEvery
        return CollectionTask(
            id: "TSK\(k)", assigneeID: "U\(customer % analysts)", customerID: "C\(customer)", title: "call back",
            dueDate: Self.morning.adding(days: -10 + k % 20)
        )
    }

    /// The tenant's dunning policy for the `standard` segment: a reminder 5 days before the due
    /// date, emails at 1 and 15 days, a letter with a fee at 30, a call at 60, escalation with
    /// interest at 90.
    public func dunningPolicy() -> DunningPolicy {
        let usd = Currency(code: "USD")!
        return DunningPolicy(id: "POL-standard", name: "Standard", segment: "standard", levels: [
            DunningLevel(days: -5, channel: .email, template: "reminder"),
            DunningLevel(days: 1, channel: .email, template: "first"),
            DunningLevel(days: 15, channel: .email, template: "second"),
            DunningLevel(days: 30, channel: .letter, template: "letter", fee: Money(minorUnits: 25_00, currency: usd)),
            DunningLevel(days: 60, channel: .callTask, template: "call"),
            DunningLevel(days: 90, channel: .escalate, template: "escalation", interestBasisPoints: 1_200),
        ])
    }

    /// Writes the whole portfolio into `store` through the store's own methods (so the change log
    /// and derived balances are as the RPCs leave them), in chunks of 50,000.
    public func write(to store: TenantStore) throws {
        let chunk = 50_000
        func each<Item>(_ count: Int, _ make: (Int) -> Item, _ write: ([Item]) throws -> Void) throws {
            for first in stride(from: 0, to: count, by: chunk) { try write((first..<min(first + chunk, count)).map(make)) }
        }
        try each(customers, customer, store.upsert)
        try each(invoices, invoice, store.post)
        try each(payments, { payment($0) }, store.post)
        try each(activities, { activity($0) }, store.append)
        let every = collections
        if every.settledEvery > 0 {
            let settlements = stride(from: 0, to: invoices, by: every.settledEvery)
                .filter { invoice($0).dueDate.map { $0 <= Self.morning } ?? true }
                .map { settlement(ofInvoice: $0, prefix: "S") }
            try each(settlements.count, { settlements[$0].payment }, store.post)
            try each(settlements.count, { settlements[$0].application }, store.post)
        }
        if every.promiseEvery > 0 { try each((customers - 1) / every.promiseEvery + 1, promise, store.upsert) }
        if every.disputeEvery > 0 { try each((customers - 1) / every.disputeEvery + 1, dispute, store.upsert) }
        if every.callBackEvery > 0 { try each((customers - 1) / every.callBackEvery + 1, callBack, store.upsert) }
        if !every.customerTags.isEmpty { try store.upsert([dunningPolicy()]) }
    }
}
