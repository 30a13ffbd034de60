import Foundation

/// What kind of contact with the customer an activity records.
public enum ActivityKind: String, Sendable, Hashable, Codable, CaseIterable {
    case call
    case email
    case letter
    case meeting
    /// An internal note: no one was contacted.
    case note
}

/// Who reached whom.
public enum ActivityDirection: String, Sendable, Hashable, Codable, CaseIterable {
    /// The customer reached us.
    case inbound
    /// We reached the customer.
    case outbound
    /// Neither: a note, or a meeting no one called. (Not `none`, which would read as
    /// `Optional.none` wherever a direction is optional.)
    case undirected = "none"
}

/// One entry of a customer's activity log: a call, email, letter, meeting or note. Append-only
/// like the ledger: never edited or deleted; a correction is a new activity. In sync it merges by
/// set union on `id`, so it can never conflict.
public struct Activity: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    public var kind: ActivityKind
    public var direction: ActivityDirection
    /// What came of it, short: "left voicemail", "promised 5,000 by Friday", "wrong number".
    public var outcome: String
    /// The user id of who logged it.
    public var authorID: String
    /// When it happened, an instant (UTC), kept to the millisecond as the store keeps it.
    public var occurredAt: Date
    public var body: String

    public init(
        id: String, customerID: String, kind: ActivityKind, direction: ActivityDirection, outcome: String = "",
        authorID: String, occurredAt: Date, body: String = ""
    ) {
        self.id = id
        self.customerID = customerID
        self.kind = kind
        self.direction = direction
        self.outcome = outcome
        self.authorID = authorID
        self.occurredAt = Self.validInstants.contains(occurredAt) ? Self.instant(milliseconds: Self.milliseconds(of: occurredAt)) : occurredAt
        self.body = body
    }

    /// The instants an activity may carry: 1970-01-01 up to, not including, the year 10000.
    public static let validInstants = Date(timeIntervalSince1970: 0)..<Date(timeIntervalSince1970: 253_402_300_800)

    /// Checks the fields every activity must have right. A note is undirected; a call, email or
    /// letter went one way or the other; a meeting may be either.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "customer_id": customerID, "outcome": outcome, "author_id": authorID, "body": body])
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.present(authorID, "author_id")
        guard Self.validInstants.contains(occurredAt) else {
            throw .invalid(field: "occurred_at", "\(occurredAt) is not between 1970 and 9999")
        }
        switch (kind, direction) {
        case (.note, .inbound), (.note, .outbound):
            throw .invalid(field: "direction", "a note has no direction (none), not \(direction.rawValue)")
        case (.call, .undirected), (.email, .undirected), (.letter, .undirected):
            throw .invalid(field: "direction", "a\(kind == .email ? "n" : "") \(kind.rawValue) is inbound or outbound")
        default:
            break
        }
    }

    /// An instant as the store and the wire keep it: whole milliseconds since 1970-01-01 UTC,
    /// rounded to the nearest; clamped to what 64 bits hold, and 0 for a non-finite instant
    /// (neither is a valid instant: see ``validInstants``).
    public static func milliseconds(of instant: Date) -> Int64 {
        let value = (instant.timeIntervalSince1970 * 1000).rounded()
        if let exact = Int64(exactly: value) { return exact }
        guard value.isFinite else { return 0 }
        return value > 0 ? .max : .min
    }

    /// The instant `milliseconds` after 1970-01-01 UTC.
    public static func instant(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
