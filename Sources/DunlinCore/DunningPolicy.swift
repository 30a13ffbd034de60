/// How a dunning level reaches the customer. `escalate` and `place` reach people, not the
/// customer: the notice records the decision, and whoever works escalations picks it up.
public enum DunningChannel: String, Sendable, Hashable, Codable, CaseIterable {
    case email
    case letter
    /// A call for the customer's analyst to make.
    case callTask = "call_task"
    /// Escalation to a collections manager.
    case escalate
    /// Placement with a collection agency.
    case place
}

/// One step of a dunning policy: what happens once the customer's oldest unpaid item is `days`
/// past due (negative: a reminder that many days before the due date).
public struct DunningLevel: Sendable, Hashable, Codable {
    /// The most days before or after a due date a level may name.
    public static let dayRange = -365...3650
    /// The highest annual interest rate a level may charge, in basis points (100% a year).
    public static let maximumInterestBasisPoints = 10_000

    public var days: Int
    public var channel: DunningChannel
    /// The template the notice is written from (a name; rendering is not the run's business).
    public var template: String
    /// A flat late fee, posted as an adjustment when the notice is released; charged only on a
    /// notice that lists overdue items in the fee's currency.
    public var fee: Money?
    /// Simple annual interest on each overdue balance, in basis points (1,850 = 18.50% a year);
    /// 0 charges none. See ``DunningInterest``.
    public var interestBasisPoints: Int

    public init(days: Int, channel: DunningChannel, template: String, fee: Money? = nil, interestBasisPoints: Int = 0) {
        self.days = days
        self.channel = channel
        self.template = template
        self.fee = fee
        self.interestBasisPoints = interestBasisPoints
    }
}

/// A tenant's rules for chasing overdue customers: levels by days past due, each with a channel,
/// a template and optional charges. A customer takes a policy explicitly (`customerIDs`) or by
/// segment (a policy's `segment` is one of the customer's tags); an explicit policy wins.
/// Mutable (field by field in sync); deleted only as a tombstone.
public struct DunningPolicy: Sendable, Hashable, Codable, Identifiable {
    /// The most levels one policy may have.
    public static let maximumLevels = 20

    public var id: String
    public var name: String
    /// A customer tag: customers with it take this policy unless another names them explicitly.
    /// Empty: explicit customers only.
    public var segment: String
    /// Customers that take this policy whatever their tags.
    public var customerIDs: [String]
    /// Strictly increasing by `days`: no two levels on one day, none out of order.
    public var levels: [DunningLevel]

    public init(id: String, name: String, segment: String = "", customerIDs: [String] = [], levels: [DunningLevel]) {
        self.id = id
        self.name = name
        self.segment = segment
        self.customerIDs = customerIDs
        self.levels = levels
    }

    /// Checks the fields on their own: a name, one to ``maximumLevels`` levels in strictly
    /// increasing order of days, each with a template and charges within their limits.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "name": name, "segment": segment])
        for (index, customerID) in customerIDs.enumerated() { try StoredText.check(customerID, field: "customer_ids[\(index)]") }
        try Require.present(id, "id")
        try Require.present(name, "name")
        var seen = Set<String>()
        for (index, customerID) in customerIDs.enumerated() {
            try Require.present(customerID, "customer_ids[\(index)]")
            guard seen.insert(customerID).inserted else {
                throw .invalid(field: "customer_ids[\(index)]", "customer \(customerID) is listed twice")
            }
        }
        guard !levels.isEmpty else { throw .invalid(field: "levels", "a policy needs at least one level") }
        guard levels.count <= Self.maximumLevels else {
            throw .invalid(field: "levels", "at most \(Self.maximumLevels) levels, not \(levels.count)")
        }
        for (index, level) in levels.enumerated() {
            let field = "levels[\(index)]"
            guard DunningLevel.dayRange.contains(level.days) else {
                throw .invalid(field: "\(field).days", "must be between \(DunningLevel.dayRange.lowerBound) and \(DunningLevel.dayRange.upperBound), not \(level.days)")
            }
            if index > 0 {
                let previous = levels[index - 1].days
                if level.days == previous {
                    throw .invalid(field: "\(field).days", "overlaps level \(index) (levels[\(index - 1)]): both at \(level.days) days")
                }
                if level.days < previous {
                    throw .invalid(field: "\(field).days", "\(level.days) days comes before level \(index)'s \(previous): levels go in increasing order of days")
                }
            }
            try StoredText.check(level.template, field: "\(field).template")
            try Require.code(level.template, "\(field).template")
            if let fee = level.fee { try Require.positive(fee, "\(field).fee") }
            guard (0...DunningLevel.maximumInterestBasisPoints).contains(level.interestBasisPoints) else {
                throw .invalid(
                    field: "\(field).interest_basis_points",
                    "must be between 0 and \(DunningLevel.maximumInterestBasisPoints) (100% a year), not \(level.interestBasisPoints)"
                )
            }
        }
    }

    /// The level a customer whose oldest unpaid item is `daysPastDue` days past due is at (its
    /// 0-based index), nil before the first.
    public func levelIndex(daysPastDue: Int) -> Int? {
        levels.lastIndex { $0.days <= daysPastDue }
    }

    /// Whether this policy is the customer's by segment.
    public func covers(segmentOf customer: Customer) -> Bool {
        !segment.isEmpty && customer.tags.contains(segment)
    }

    /// The policy `customer` takes: the one naming it explicitly, else one whose segment is among
    /// its tags; nil when none. Writes refuse two policies naming one customer or one segment;
    /// if concurrent offline edits still make two match, the smallest id decides, the same on
    /// every replica.
    public static func policy(for customer: Customer, among policies: [DunningPolicy]) -> DunningPolicy? {
        let ordered = policies.sorted { $0.id < $1.id }
        return ordered.first { $0.customerIDs.contains(customer.id) } ?? ordered.first { $0.covers(segmentOf: customer) }
    }
}

/// A manual hold: dunning leaves the customer alone while it is active (placed, not released).
/// Mutable (field by field in sync); deleted only as a tombstone.
public struct DunningHold: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    public var reason: String
    public var placedOn: CivilDate
    /// Set when the hold is released; never before `placedOn`.
    public var releasedOn: CivilDate?
    public var releaseReason: String

    public init(id: String, customerID: String, reason: String, placedOn: CivilDate, releasedOn: CivilDate? = nil, releaseReason: String = "") {
        self.id = id
        self.customerID = customerID
        self.reason = reason
        self.placedOn = placedOn
        self.releasedOn = releasedOn
        self.releaseReason = releaseReason
    }

    /// Whether the hold stands on `date`: placed by then and not released by then.
    public func isActive(on date: CivilDate) -> Bool {
        placedOn <= date && releasedOn.map { $0 > date } ?? true
    }

    public func validate() throws(DomainError) {
        try Require.text(["id": id, "customer_id": customerID, "reason": reason, "release_reason": releaseReason])
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.present(reason, "reason")
        if let releasedOn {
            guard releasedOn >= placedOn else {
                throw .invalid(field: "released_on", "released on \(releasedOn), before it was placed on \(placedOn)")
            }
            try Require.present(releaseReason, "release_reason")
        } else if !releaseReason.isEmpty {
            throw .invalid(field: "release_reason", "a hold still in place has no release reason")
        }
    }
}
