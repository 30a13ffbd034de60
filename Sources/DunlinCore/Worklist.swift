/// The worklist: an analyst's customers in the order to work them on a day, each with why.
///
/// **The order.** A customer with a call-back due (an open task for the customer due on or before
/// the day) or a promise due that day comes first; then every other customer with something
/// overdue or a promise broken in the last 90 days. Within each group: the higher score first, then
/// the larger overdue amount in the base currency, then the name and id.
///
/// **The score** is a sum of whole points, each part a documented figure times its tenant weight
/// (``WorklistWeights``; `dunlin settings worklist` changes them):
///
/// | part | points |
/// | --- | --- |
/// | amount overdue | `overdue` x each whole 1,000.00 of the base currency overdue, at most 100 thousands |
/// | days past due | `days_past_due` x each whole 10 days the oldest overdue item is past due, at most 36 |
/// | broken promises | `broken_promise` x each promise broken or partly kept in the last 90 days |
/// | open disputes | `open_dispute` x each open dispute |
/// | risk | `risk` x (risk rating - 1), ratings 1 to 5 |
/// | over the credit limit | `over_credit_limit`, once, when the open invoices exceed the limit |
/// | no contact | `no_contact` x each whole 7 days since the last activity, at most 13 (never contacted counts as 13) |
///
/// Overdue amounts in another currency count converted at the rate the request gives
/// (``ExchangeRate``, half-even); without a rate they are named in the reasons but score nothing,
/// and the reason says so. Everything is integer arithmetic, bounded by the caps and by weights of
/// at most ``WorklistWeights/maximum``, so a score never overflows.
public enum Worklist {
    /// How far back a broken promise still counts.
    public static let brokenPromiseWindowDays = 90

    /// The ranked rows for `facts` on `today`: customers with nothing to do are left out.
    public static func rank(
        _ facts: [WorklistFacts], today: CivilDate, weights: WorklistWeights, base: Currency, rates: [Currency: ExchangeRate]
    ) -> [WorklistRow] {
        top(facts, limit: .max, today: today, weights: weights, base: base, rates: rates).rows
    }

    /// The first `limit` rows of ``rank(_:today:weights:base:rates:)`` and how many rows there are
    /// in all. Every customer is scored, but only what orders the rows is kept of each (its
    /// priority, score, overdue amount and position), the first `limit` are picked out of those
    /// without sorting the rest (``Ranking/first(_:of:by:)``), and only the rows returned are put
    /// in words: the reasons were most of the ranking's time for an analyst with thousands of
    /// customers, and sorting whole rows (copying each compared pair) most of the rest.
    public static func top(
        _ facts: [WorklistFacts], limit: Int, today: CivilDate, weights: WorklistWeights, base: Currency, rates: [Currency: ExchangeRate]
    ) -> (total: Int, rows: [WorklistRow]) {
        var keys: [RankKey] = []
        keys.reserveCapacity(facts.count)
        for index in facts.indices {
            if let row = row(for: facts[index], today: today, weights: weights, base: base, rates: rates, explain: false) {
                keys.append(RankKey(priority: row.priority, score: row.score, overdue: row.overdueBase.minorUnits, index: index))
            }
        }
        let first = Ranking.first(max(limit, 0), of: keys) { a, b in
            if a.priority != b.priority { return a.priority }
            if a.score != b.score { return a.score > b.score }
            if a.overdue != b.overdue { return a.overdue > b.overdue }
            // The names and ids in place (copying two customers' facts per tie cost more than the rest).
            let x = a.index, y = b.index
            if facts[x].customerName != facts[y].customerName { return facts[x].customerName < facts[y].customerName }
            return facts[x].customerID < facts[y].customerID
        }
        let rows = first.compactMap { key in
            row(for: facts[key.index], today: today, weights: weights, base: base, rates: rates)
        }
        return (keys.count, rows)
    }

    /// What orders one scored customer: the row's priority, score and overdue amount in the base
    /// currency, then (on a tie) the name and id of `facts[index]`.
    private struct RankKey {
        var priority: Bool
        var score: Int
        var overdue: Int64
        var index: Int
    }

    /// One customer's row, or nil when there is nothing to call about; `explain` false leaves the
    /// reasons out (the score and its parts are the same).
    public static func row(
        for facts: WorklistFacts, today: CivilDate, weights: WorklistWeights, base: Currency, rates: [Currency: ExchangeRate],
        explain: Bool = true
    ) -> WorklistRow? {
        let since = today.adding(days: -brokenPromiseWindowDays)
        let broken = facts.brokenPromises.filter { $0.brokenOn > since && $0.brokenOn <= today }.sorted { $0.brokenOn > $1.brokenOn }
        let callBack = facts.callBacks.filter { $0 <= today }.min()
        let promisesDue = facts.promisesDue.filter { $0.promisedDate == today }
        let overdue = facts.overdue.filter { $0.minorUnits > 0 }
        let priority = callBack != nil || !promisesDue.isEmpty
        let lateUploads = facts.portalUploads.filter { $0 < today }
        guard priority || !overdue.isEmpty || !broken.isEmpty || !lateUploads.isEmpty || !facts.tickets.isEmpty else { return nil }

        var reasons: [String] = []
        func say(_ reason: @autoclosure () -> String) {
            if explain { reasons.append(reason()) }
        }
        var parts: [WorklistRow.Part] = []
        parts.reserveCapacity(WorklistWeights.names.count)
        if let callBack {
            say(callBack == today ? "call back due today" : "call back due since \(callBack)")
        }
        for promise in promisesDue {
            say("promise of \(promise.amount) due today")
        }
        if let first = facts.portalUploads.min() {
            let count = facts.portalUploads.count
            let when = first < today ? "late since \(first)" : first == today ? "due today" : "the first due \(first)"
            say("\(count) invoice\(count == 1 ? "" : "s") not yet uploaded to the portal (\(when))")
        }

        // Amount overdue, in the base currency where it converts.
        var overdueBase = Money(minorUnits: 0, currency: base)
        var unconverted: [Money] = []
        for amount in overdue.sorted(by: { $0.currency.code < $1.currency.code }) {
            if amount.currency == base {
                overdueBase = (try? overdueBase.adding(amount)) ?? overdueBase
            } else if let rate = rates[amount.currency], let converted = try? rate.convert(amount) {
                overdueBase = (try? overdueBase.adding(converted)) ?? overdueBase
            } else {
                unconverted.append(amount)
            }
        }
        let daysPastDue = facts.oldestDue.map { max(0, $0.days(until: today)) } ?? 0
        if overdueBase.minorUnits > 0 {
            let thousands = Int(min(overdueBase.minorUnits / (1000 * base.minorUnitsPerMajor), 100))
            parts.append(.init(name: "overdue", points: weights.overdue * thousands))
            let converted = overdue.contains { $0.currency != base && rates[$0.currency] != nil }
            say("\(overdueBase)\(converted ? " (converted)" : "") overdue" + (daysPastDue > 0 ? ", oldest \(daysPastDue) days past due" : ""))
        } else if !unconverted.isEmpty, daysPastDue > 0 {
            say("oldest item \(daysPastDue) days past due")
        }
        for amount in unconverted {
            say("\(amount) overdue (no rate to \(base.code): not scored)")
        }
        if daysPastDue > 0 {
            parts.append(.init(name: "days_past_due", points: weights.daysPastDue * min(daysPastDue / 10, 36)))
        }
        for promise in broken {
            say("promise of \(promise.amount) \(promise.partly ? "partly kept" : "broken") on \(promise.brokenOn)")
        }
        if !broken.isEmpty { parts.append(.init(name: "broken_promises", points: weights.brokenPromise * broken.count)) }
        if facts.openDisputes > 0 {
            parts.append(.init(name: "open_disputes", points: weights.openDispute * facts.openDisputes))
            say(facts.openDisputes == 1 ? "1 open dispute" : "\(facts.openDisputes) open disputes")
        }
        // Tickets score nothing (their urgency is their SLA's, not the account's); they are said.
        for ticket in facts.tickets {
            say(ticket.reason)
        }
        let risk = min(max(facts.riskRating, 1), 5)
        if risk > 1 {
            parts.append(.init(name: "risk", points: weights.risk * (risk - 1)))
            if risk >= 4 { say("risk \(risk) of 5") }
        }
        if let limit = facts.creditLimit, let open = facts.openTotal.first(where: { $0.currency == limit.currency }), open.minorUnits > limit.minorUnits {
            parts.append(.init(name: "over_credit_limit", points: weights.overCreditLimit))
            let over = (try? open.subtracting(limit)) ?? open
            say("over the credit limit of \(limit) by \(over)")
        }
        let quiet = facts.lastContact.map { max(0, $0.days(until: today)) }
        parts.append(.init(name: "no_contact", points: weights.noContact * min((quiet ?? Int.max) / 7, 13)))
        if let quiet {
            if quiet >= 7 { say("no contact for \(quiet) days") }
        } else {
            say("never contacted")
        }
        parts.removeAll { $0.points == 0 }
        return WorklistRow(
            customerID: facts.customerID, customerName: facts.customerName, priority: priority,
            score: parts.reduce(0) { $0 + $1.points }, parts: parts, reasons: reasons,
            overdueBase: overdueBase, overdue: overdue, daysPastDue: daysPastDue
        )
    }
}

/// What the worklist reads of one customer, as of a day (the store gathers it).
public struct WorklistFacts: Sendable, Hashable {
    /// A promise that counts against the customer: broken (nothing arrived by its deadline) or
    /// partly kept, on the day after its deadline.
    public struct BrokenPromise: Sendable, Hashable {
        public var amount: Money
        public var brokenOn: CivilDate
        public var partly: Bool

        public init(amount: Money, brokenOn: CivilDate, partly: Bool) {
            self.amount = amount
            self.brokenOn = brokenOn
            self.partly = partly
        }
    }

    /// A promise not yet kept in full, by its promised date.
    public struct PromiseDue: Sendable, Hashable {
        public var amount: Money
        public var promisedDate: CivilDate

        public init(amount: Money, promisedDate: CivilDate) {
            self.amount = amount
            self.promisedDate = promisedDate
        }
    }

    public var customerID: String
    public var customerName: String
    public var riskRating: Int
    public var creditLimit: Money?
    /// Open balance of invoices due before the day, per currency.
    public var overdue: [Money]
    /// Open balance of every open invoice, per currency (for the credit limit).
    public var openTotal: [Money]
    /// The due date of the oldest overdue open invoice.
    public var oldestDue: CivilDate?
    public var openDisputes: Int
    public var brokenPromises: [BrokenPromise]
    public var promisesDue: [PromiseDue]
    /// Due dates of the customer's open tasks (call-backs), portal uploads aside.
    public var callBacks: [CivilDate]
    /// Due dates of the customer's open portal-upload tasks (``PortalBilling``): invoices not yet
    /// on the customer's portal.
    public var portalUploads: [CivilDate] = []
    /// The day of the last activity, in the reader's calendar.
    public var lastContact: CivilDate?
    /// The customer's tickets whose SLA is breached or at risk now.
    public var tickets: [TicketWarning] = []

    public init(
        customerID: String, customerName: String, riskRating: Int = 3, creditLimit: Money? = nil, overdue: [Money] = [],
        openTotal: [Money] = [], oldestDue: CivilDate? = nil, openDisputes: Int = 0, brokenPromises: [BrokenPromise] = [],
        promisesDue: [PromiseDue] = [], callBacks: [CivilDate] = [], lastContact: CivilDate? = nil
    ) {
        self.customerID = customerID
        self.customerName = customerName
        self.riskRating = riskRating
        self.creditLimit = creditLimit
        self.overdue = overdue
        self.openTotal = openTotal
        self.oldestDue = oldestDue
        self.openDisputes = openDisputes
        self.brokenPromises = brokenPromises
        self.promisesDue = promisesDue
        self.callBacks = callBacks
        self.lastContact = lastContact
    }
}

/// A ticket whose SLA is breached or at risk (``SLAClock``), as the worklist says it.
public struct TicketWarning: Sendable, Hashable {
    public var ticketID: String
    public var subject: String
    public var breached: Bool
    /// Business minutes since the breach, or left before it.
    public var minutes: Int64

    public init(ticketID: String, subject: String, breached: Bool, minutes: Int64) {
        self.ticketID = ticketID
        self.subject = subject
        self.breached = breached
        self.minutes = minutes
    }

    /// The warning of `status`, nil when the ticket is neither breached nor at risk.
    public init?(_ ticket: Ticket, _ status: SLAStatus) {
        guard status.breached || status.atRisk else { return nil }
        self.init(ticketID: ticket.id, subject: ticket.subject, breached: status.breached, minutes: Int64(clamping: status.remainingMinutes.magnitude))
    }

    /// "ticket T-12 'invoice copy' breached its SLA 2 business hours ago".
    public var reason: String {
        let span = minutes >= 60 && minutes % 60 == 0
            ? (minutes == 60 ? "1 business hour" : "\(minutes / 60) business hours")
            : (minutes == 1 ? "1 business minute" : "\(minutes) business minutes")
        let name = "ticket \(ticketID) '\(subject)'"
        return breached ? "\(name) breached its SLA \(span) ago" : "\(name) is at risk: \(span) left of its SLA"
    }
}

/// One customer on the worklist.
public struct WorklistRow: Sendable, Hashable {
    /// One part of the score: its name (as in ``WorklistWeights``) and points.
    public struct Part: Sendable, Hashable {
        public var name: String
        public var points: Int
    }

    public var customerID: String
    public var customerName: String
    /// A call-back or a promise is due: the row comes before every row without one.
    public var priority: Bool
    public var score: Int
    /// The non-zero parts of the score.
    public var parts: [Part]
    /// Why the customer is here, in words, most pressing first.
    public var reasons: [String]
    /// Overdue in the base currency (what converts).
    public var overdueBase: Money
    /// Overdue per currency, as booked.
    public var overdue: [Money]
    public var daysPastDue: Int
}

/// The weights of the worklist's score, a tenant setting: points per unit of each part (see
/// ``Worklist``). Each is 0 to ``maximum``.
public struct WorklistWeights: Sendable, Hashable, Codable {
    public var overdue = 1
    public var daysPastDue = 1
    public var brokenPromise = 20
    public var openDispute = 5
    public var risk = 5
    public var overCreditLimit = 15
    public var noContact = 2

    public static let maximum = 1000
    public static let standard = WorklistWeights()

    public init() {}

    /// The weights by their setting names, in a fixed order.
    public static let names = ["overdue", "days_past_due", "broken_promise", "open_dispute", "risk", "over_credit_limit", "no_contact"]

    private static func keyPath(_ name: String) -> WritableKeyPath<WorklistWeights, Int>? {
        switch name {
        case "overdue": \.overdue
        case "days_past_due": \.daysPastDue
        case "broken_promise": \.brokenPromise
        case "open_dispute": \.openDispute
        case "risk": \.risk
        case "over_credit_limit": \.overCreditLimit
        case "no_contact": \.noContact
        default: nil
        }
    }

    public subscript(name: String) -> Int? {
        Self.keyPath(name).map { self[keyPath: $0] }
    }

    /// Sets the weight `name`, refusing an unknown name or a value outside 0...``maximum``; a
    /// refusal names `field` (the weight's name unless told, e.g. the setting that holds it).
    public mutating func set(_ name: String, _ value: Int, field: String? = nil) throws(DomainError) {
        guard let path = Self.keyPath(name) else {
            throw .invalid(field: field ?? name, "is not a worklist weight; the weights are \(Self.names.joined(separator: ", "))")
        }
        guard (0...Self.maximum).contains(value) else {
            throw .outOfRange(field: field ?? name, "a weight is 0 to \(Self.maximum), not \(value)")
        }
        self[keyPath: path] = value
    }
}

/// Picking the first few of many in an order, without sorting the rest.
public enum Ranking {
    /// The first `count` elements of `elements` in the order `precedes` (a strict weak order),
    /// sorted: `elements.sorted(by: precedes).prefix(count)` whenever `precedes` orders every
    /// pair of distinct elements (a total order, as ties broken by an id are). A bounded heap of
    /// the `count` best seen so far, its worst at the root: O(n log count) comparisons, not
    /// O(n log n), and `count` elements held, not n.
    public static func first<Element>(_ count: Int, of elements: [Element], by precedes: (Element, Element) -> Bool) -> [Element] {
        let count = min(max(count, 0), elements.count)
        guard count > 0 else { return [] }
        guard count < elements.count else { return elements.sorted(by: precedes) }
        // A max-heap by `precedes`: the root is the worst of those kept.
        var heap: [Element] = []
        heap.reserveCapacity(count)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { return }
                var worst = left
                if left + 1 < heap.count, precedes(heap[left], heap[left + 1]) { worst = left + 1 }
                guard precedes(heap[parent], heap[worst]) else { return }
                heap.swapAt(parent, worst)
                parent = worst
            }
        }
        for element in elements {
            if heap.count < count {
                heap.append(element)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard precedes(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if precedes(element, heap[0]) {
                heap[0] = element
                siftDown(0)
            }
        }
        return heap.sorted(by: precedes)
    }
}
