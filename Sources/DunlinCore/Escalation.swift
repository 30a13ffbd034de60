import Foundation

/// What an escalation does: a task for the escalation manager, or placement with a collection agency.
public enum EscalationAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// A task for the escalation manager (the tenant setting `escalation.manager`), carrying the
    /// account summary.
    case escalate
    /// The customer is placed with a collection agency: dunning stops until a manager recalls it.
    case place
}

/// What makes an escalation rule fire.
public enum EscalationTrigger: String, Sendable, Hashable, Codable, CaseIterable {
    /// More than an amount (base currency) on unheld items more than some days past due.
    case overdue
    /// At least some promises (or plan installments) broken within a window of days.
    case brokenPromises = "broken_promises"
}

/// A tenant's rule for escalating a customer (kind "escalation_rule"; a manager's, synced like
/// every mutable record). "More than USD 10,000.00 over 60 days past due: escalate";
/// "promise broken twice in the last 90 days: place with Acme Recovery". Evaluated by
/// ``EscalationRules`` once a tenant day on the server.
public struct EscalationRule: Sendable, Hashable, Codable, Identifiable {
    /// The most days an overdue rule or a window may name.
    public static let dayRange = 0...3650
    /// The most broken promises a rule may count.
    public static let countRange = 1...100

    public var id: String
    public var name: String
    public var trigger: EscalationTrigger
    /// `overdue`: items strictly more than this many days past due count. 0 for the other trigger.
    public var days: Int
    /// `overdue`: the rule fires when those items add up to strictly more than this, in the tenant's
    /// base currency. nil for the other trigger.
    public var amount: Money?
    /// `broken_promises`: at least this many broken within `windowDays`. 0 for the other trigger.
    public var count: Int
    /// `broken_promises`: the window, in days up to and including the evaluation's day. 0 for the other trigger.
    public var windowDays: Int
    public var action: EscalationAction
    /// `place`: the agency; empty for `escalate`.
    public var agency: String

    public init(
        id: String, name: String, trigger: EscalationTrigger, days: Int = 0, amount: Money? = nil, count: Int = 0, windowDays: Int = 0,
        action: EscalationAction, agency: String = ""
    ) {
        self.id = id
        self.name = name
        self.trigger = trigger
        self.days = days
        self.amount = amount
        self.count = count
        self.windowDays = windowDays
        self.action = action
        self.agency = agency
    }

    /// "more than USD 10,000.00 over 60 days past due" / "2 promises broken within 90 days".
    public var condition: String {
        switch trigger {
        case .overdue: "more than \(amount.map(String.init(describing:)) ?? "0") over \(days) days past due"
        case .brokenPromises: "\(count) promise\(count == 1 ? "" : "s") broken within \(windowDays) days"
        }
    }

    /// Checks the fields on their own, naming the field at fault; `baseCurrency`, when given, is
    /// the currency an overdue rule's amount must be in.
    public func validate(baseCurrency: Currency? = nil) throws(DomainError) {
        try Require.text(["id": id, "name": name, "agency": agency])
        try Require.present(id, "id")
        try Require.present(name, "name")
        switch trigger {
        case .overdue:
            guard Self.dayRange.contains(days) else { throw .invalid(field: "days", "must be 0 to \(Self.dayRange.upperBound), not \(days)") }
            guard let amount else { throw .invalid(field: "amount", "an overdue rule needs the amount it fires above") }
            try Require.positive(amount, "amount")
            if let baseCurrency, amount.currency != baseCurrency {
                throw .invalid(field: "amount", "must be in the tenant's base currency \(baseCurrency.code), not \(amount.currency.code)")
            }
            guard count == 0 else { throw .invalid(field: "count", "an overdue rule counts no promises; leave it 0") }
            guard windowDays == 0 else { throw .invalid(field: "window_days", "an overdue rule has no window; leave it 0") }
        case .brokenPromises:
            guard Self.countRange.contains(count) else {
                throw .invalid(field: "count", "must be \(Self.countRange.lowerBound) to \(Self.countRange.upperBound), not \(count)")
            }
            guard (1...Self.dayRange.upperBound).contains(windowDays) else {
                throw .invalid(field: "window_days", "must be 1 to \(Self.dayRange.upperBound), not \(windowDays)")
            }
            guard days == 0 else { throw .invalid(field: "days", "a broken-promises rule has no days past due; leave it 0") }
            guard amount == nil else { throw .invalid(field: "amount", "a broken-promises rule has no amount") }
        }
        switch action {
        case .place: try Require.present(agency, "agency")
        case .escalate: guard agency.isEmpty else { throw .invalid(field: "agency", "only a placement names an agency") }
        }
    }
}

/// Whether an escalation stands.
public enum EscalationStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case active
    /// A placement a manager recalled: the customer is dunned again.
    case recalled
}

/// An escalation or a placement of one customer (kind "escalation"): made by the server alone, when
/// a released notice's level escalates or places (``Escalation/id(notice:)``) or a rule fires
/// (``Escalation/id(rule:customerID:episode:)``). Its id is fixed by what made it, so a retry, a
/// second tick or a restart makes nothing twice, and a recalled placement is not made again for
/// the same episode.
public struct Escalation: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    public var action: EscalationAction
    /// The rule that made it; empty when a dunning level did.
    public var ruleID: String
    /// The released notice whose level made it; empty when a rule did.
    public var noticeID: String
    public var reason: String
    /// `place`: the agency.
    public var agency: String
    public var escalatedOn: CivilDate
    /// The account summary (``AccountSummary``) as text.
    public var summary: String
    /// `escalate`: the task made for the manager; empty when nobody could take it.
    public var taskID: String
    public var assigneeID: String
    public var status: EscalationStatus
    public var recalledOn: CivilDate?
    public var recalledBy: String
    public var recallReason: String
    public var createdAt: Date

    public init(
        id: String, customerID: String, action: EscalationAction, ruleID: String = "", noticeID: String = "", reason: String,
        agency: String = "", escalatedOn: CivilDate, summary: String, taskID: String = "", assigneeID: String = "",
        status: EscalationStatus = .active, recalledOn: CivilDate? = nil, recalledBy: String = "", recallReason: String = "", createdAt: Date
    ) {
        self.id = id
        self.customerID = customerID
        self.action = action
        self.ruleID = ruleID
        self.noticeID = noticeID
        self.reason = reason
        self.agency = agency
        self.escalatedOn = escalatedOn
        self.summary = summary
        self.taskID = taskID
        self.assigneeID = assigneeID
        self.status = status
        self.recalledOn = recalledOn
        self.recalledBy = recalledBy
        self.recallReason = recallReason
        self.createdAt = createdAt
    }

    /// The escalation a released notice's `escalate` or `place` level makes: "ESC:<notice id>".
    public static func id(notice noticeID: String) -> String { "ESC:\(noticeID)" }

    /// The escalation a rule makes for one episode of a customer: "ESC:<rule>:<customer>:<episode>".
    public static func id(rule ruleID: String, customerID: String, episode: String) -> String { "ESC:\(ruleID):\(customerID):\(episode)" }

    /// The task an `escalate` makes: "tsk_<escalation id>".
    public static func taskID(of escalationID: String) -> String { "tsk_\(escalationID)" }

    /// Whether this is a placement that keeps dunning off its customer on `date`.
    public func places(on date: CivilDate) -> Bool {
        action == .place && escalatedOn <= date && (status == .active || recalledOn.map { $0 > date } ?? false)
    }

    /// The same placement, recalled by `user` on `date`.
    public func recalled(on date: CivilDate, by user: String, reason: String) throws(DomainError) -> Escalation {
        guard action == .place else { throw .conflict(field: "id", "\(id) is an escalation, not a placement: there is nothing to recall") }
        var recalled = self
        recalled.status = .recalled
        recalled.recalledOn = max(date, escalatedOn)
        recalled.recalledBy = user
        recalled.recallReason = reason
        try recalled.validate()
        return recalled
    }

    public func validate() throws(DomainError) {
        try Require.text([
            "id": id, "customer_id": customerID, "rule_id": ruleID, "notice_id": noticeID, "reason": reason, "agency": agency,
            "summary": summary, "task_id": taskID, "assignee_id": assigneeID, "recalled_by": recalledBy, "recall_reason": recallReason,
        ])
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        if action == .place { try Require.present(agency, "agency") }
        switch status {
        case .active:
            guard recalledOn == nil, recalledBy.isEmpty, recallReason.isEmpty else {
                throw .invalid(field: "recalled_on", "an active escalation has no recall")
            }
        case .recalled:
            guard action == .place else { throw .invalid(field: "status", "only a placement is recalled") }
            guard let recalledOn, recalledOn >= escalatedOn else { throw .invalid(field: "recalled_on", "a recall needs its day, on or after \(escalatedOn)") }
            try Require.present(recallReason, "recall_reason")
        }
    }
}

/// One customer as escalation reads it on a day: its open items (held ones marked), broken
/// promises, open disputes, and whether a hold or a placement keeps dunning off it.
public struct EscalationFacts: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public var invoiceID: String
        public var dueDate: CivilDate
        public var balance: Money
        /// Under a dispute, promise or ledger exception (``DunningHolds``): it counts in the
        /// summary, not towards a rule.
        public var held: Bool

        public init(invoiceID: String, dueDate: CivilDate, balance: Money, held: Bool = false) {
            self.invoiceID = invoiceID
            self.dueDate = dueDate
            self.balance = balance
            self.held = held
        }
    }

    public struct BrokenPromise: Sendable, Hashable {
        /// The promise's id, with "#n" for installment n of a plan.
        public var key: String
        public var brokenOn: CivilDate

        public init(key: String, brokenOn: CivilDate) {
            self.key = key
            self.brokenOn = brokenOn
        }
    }

    public var customerID: String
    public var items: [Item]
    public var brokenPromises: [BrokenPromise]
    public var openDisputes: Int
    /// Why the customer is left alone (a manual hold, a placement), nil when it is not.
    public var heldBecause: String?

    public init(customerID: String, items: [Item] = [], brokenPromises: [BrokenPromise] = [], openDisputes: Int = 0, heldBecause: String? = nil) {
        self.customerID = customerID
        self.items = items
        self.brokenPromises = brokenPromises
        self.openDisputes = openDisputes
        self.heldBecause = heldBecause
    }
}

/// What a manager reads on an escalation: amount overdue per currency, the oldest item's days past
/// due, promises broken in the last 90 days, open disputes.
public enum AccountSummary {
    public static func text(_ facts: EscalationFacts, asOf: CivilDate) -> String {
        var totals: [Currency: Int128] = [:]
        var oldest: Int?
        for item in facts.items where item.balance.isPositive {
            let days = item.dueDate.days(until: asOf)
            guard days > 0 else { continue }
            totals[item.balance.currency, default: 0] += Int128(item.balance.minorUnits)
            oldest = max(oldest ?? days, days)
        }
        let overdue = totals.keys.sorted { $0.code < $1.code }.map { currency in
            Int64(exactly: totals[currency]!).map { String(describing: Money(minorUnits: $0, currency: currency)) } ?? "\(currency.code) (beyond int64)"
        }
        let since = asOf.adding(days: -Worklist.brokenPromiseWindowDays)
        let broken = facts.brokenPromises.filter { $0.brokenOn > since && $0.brokenOn <= asOf }.count
        return [
            overdue.isEmpty ? "nothing overdue" : "overdue \(overdue.joined(separator: " + "))",
            oldest.map { "oldest item \($0) days past due" } ?? "no item past due",
            "\(broken) promise\(broken == 1 ? "" : "s") broken in the last \(Worklist.brokenPromiseWindowDays) days",
            "\(facts.openDisputes) open dispute\(facts.openDisputes == 1 ? "" : "s")",
        ].joined(separator: "; ")
    }
}

/// The escalation rules' evaluation, pure: which customers each rule escalates on a day.
public enum EscalationRules {
    /// One rule firing for one customer, for one episode.
    public struct Call: Sendable, Hashable {
        public var id: String
        public var customerID: String
        public var rule: EscalationRule
        /// What the rule saw, in words.
        public var reason: String
    }

    /// The calls `rules` make over `facts` as of `asOf`, by customer then rule id. A customer
    /// held or placed (``EscalationFacts/heldBecause``) is left alone; among one customer's calls
    /// at most one places. An overdue rule's episode is its oldest counted item, a broken-promises
    /// rule's the latest broken promise, so the same episode never calls twice (ids are fixed).
    public static func evaluate(asOf: CivilDate, baseCurrency: Currency, rules: [EscalationRule], facts: [EscalationFacts]) -> [Call] {
        let ordered = rules.sorted { $0.id < $1.id }
        var calls: [Call] = []
        for customer in facts.sorted(by: { $0.customerID < $1.customerID }) where customer.heldBecause == nil {
            var placing = false
            for rule in ordered {
                guard let (episode, reason) = fires(rule, customer, asOf: asOf, baseCurrency: baseCurrency) else { continue }
                if rule.action == .place {
                    guard !placing else { continue }
                    placing = true
                }
                calls.append(Call(
                    id: Escalation.id(rule: rule.id, customerID: customer.customerID, episode: episode), customerID: customer.customerID,
                    rule: rule, reason: "\(rule.name): \(reason)"
                ))
            }
        }
        return calls
    }

    /// The episode and the reason when `rule` fires for `customer`, nil when it does not.
    static func fires(_ rule: EscalationRule, _ customer: EscalationFacts, asOf: CivilDate, baseCurrency: Currency) -> (String, String)? {
        switch rule.trigger {
        case .overdue:
            guard let threshold = rule.amount, threshold.currency == baseCurrency else { return nil }
            let counted = customer.items
                .filter { !$0.held && $0.balance.isPositive && $0.balance.currency == baseCurrency && $0.dueDate.days(until: asOf) > rule.days }
                .sorted { ($0.dueDate, $0.invoiceID) < ($1.dueDate, $1.invoiceID) }
            let total = counted.reduce(Int128(0)) { $0 + Int128($1.balance.minorUnits) }
            guard let oldest = counted.first, total > Int128(threshold.minorUnits) else { return nil }
            let shown = Int64(exactly: total).map { String(describing: Money(minorUnits: $0, currency: baseCurrency)) } ?? "more than \(threshold)"
            return (oldest.invoiceID, "\(shown) over \(rule.days) days past due (more than \(threshold)), oldest \(oldest.invoiceID)")
        case .brokenPromises:
            let since = asOf.adding(days: -rule.windowDays)
            let broken = customer.brokenPromises.filter { $0.brokenOn > since && $0.brokenOn <= asOf }.sorted { ($0.brokenOn, $0.key) < ($1.brokenOn, $1.key) }
            guard broken.count >= rule.count, let latest = broken.last else { return nil }
            return (latest.key, "\(broken.count) promise\(broken.count == 1 ? "" : "s") broken within \(rule.windowDays) days, the latest \(latest.key) on \(latest.brokenOn)")
        }
    }
}
