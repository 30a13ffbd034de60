/// Who an AR inquiry is for: the team kind that answers it.
public enum TicketCategory: String, Sendable, Hashable, Codable, CaseIterable {
    case billing
    case sales
    case tax
    case legal
    case customerService = "customer_service"
}

/// How urgent an inquiry is; each priority has its SLA in business minutes (the tenant settings
/// `tickets.sla.<priority>`).
public enum TicketPriority: String, Sendable, Hashable, Codable, CaseIterable {
    case low
    case normal
    case high
    case urgent

    /// The SLA when the tenant sets none, in business minutes: 5, 2 and 1 working days of 8
    /// hours, and 2 hours.
    public var defaultSLAMinutes: Int {
        switch self {
        case .low: 2400
        case .normal: 960
        case .high: 480
        case .urgent: 120
        }
    }

    /// The setting that overrides ``defaultSLAMinutes``.
    public var slaSetting: String { "tickets.sla.\(rawValue)" }
}

/// Where a ticket stands. The SLA clock runs while it is open, stops while it waits on the
/// customer, and stops for good once resolved (until it is reopened).
public enum TicketStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    case waitingOnCustomer = "waiting_on_customer"
    case resolved
}

/// An inquiry from a customer or an internal team about receivables (kind `ticket`; mutable,
/// merged field by field). What happened to it, comments included, is its events
/// (``TicketEvent``, an insert-only kind), which the SLA clock reads: two people working the same
/// ticket offline each add their own events, and both survive the merge.
public struct Ticket: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var customerID: String
    /// The invoices it is about (ledger entry ids of the customer's invoices); may be empty.
    public var invoiceIDs: [String]
    public var category: TicketCategory
    public var priority: TicketPriority
    public var subject: String
    public var status: TicketStatus
    /// The team (a ``TeamCalendar`` id) it is with; its calendar counts the SLA.
    public var teamID: String
    /// The person working it; "" unassigned.
    public var assigneeID: String
    /// When it was opened, Unix milliseconds.
    public var openedAt: Int64
    /// The SLA in business minutes, fixed when it was opened from the priority's setting.
    public var slaMinutes: Int32
    /// The dispute it opened; "" none.
    public var disputeID: String
    /// The approval request it opened; "" none.
    public var requestID: String

    public init(
        id: String, customerID: String, invoiceIDs: [String] = [], category: TicketCategory, priority: TicketPriority = .normal,
        subject: String, status: TicketStatus = .open, teamID: String, assigneeID: String = "", openedAt: Int64, slaMinutes: Int32,
        disputeID: String = "", requestID: String = ""
    ) {
        self.id = id
        self.customerID = customerID
        self.invoiceIDs = invoiceIDs
        self.category = category
        self.priority = priority
        self.subject = subject
        self.status = status
        self.teamID = teamID
        self.assigneeID = assigneeID
        self.openedAt = openedAt
        self.slaMinutes = slaMinutes
        self.disputeID = disputeID
        self.requestID = requestID
    }

    /// Checks the fields on their own.
    public func validate() throws(DomainError) {
        try Require.text([
            "id": id, "customer_id": customerID, "subject": subject, "team_id": teamID, "assignee_id": assigneeID,
            "dispute_id": disputeID, "request_id": requestID,
        ])
        for (index, invoiceID) in invoiceIDs.enumerated() { try StoredText.check(invoiceID, field: "invoice_ids[\(index)]") }
        try Require.present(id, "id")
        try Require.present(customerID, "customer_id")
        try Require.present(subject, "subject")
        try Require.code(teamID, "team_id")
        if !invoiceIDs.isEmpty { try Require.invoiceIDs(invoiceIDs) }
        try SLAClock.checkInstant(openedAt, field: "opened_at")
        guard slaMinutes > 0 else { throw .invalid(field: "sla_minutes", "must be a positive number of business minutes, not \(slaMinutes)") }
    }
}

/// What happened to a ticket.
public enum TicketEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Made with the ticket: the clock starts, with the event's team.
    case opened
    /// Handed to a team (`team_id`) or a person (`assignee_id`): the clock goes on in the new
    /// team's calendar from this instant.
    case assigned
    /// Waiting on the customer: the clock stops.
    case paused
    /// The customer answered: the clock goes on.
    case resumed
    case resolved
    /// Resolved too soon: the clock goes on from where it stopped (the SLA is the ticket's whole
    /// business time, not each episode's).
    case reopened
    /// A comment (`note`); the clock does not care.
    case comment
}

/// One thing that happened to a ticket (kind `ticket_event`; insert-only, like the activity log):
/// who did it and when, and for an assignment the team and person it went to. The author is the
/// caller who adds it.
public struct TicketEvent: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var ticketID: String
    public var kind: TicketEventKind
    /// Unix milliseconds.
    public var at: Int64
    public var authorID: String
    /// `opened`, `assigned`: the team; "" otherwise (an assignment to a person in the same team).
    public var teamID: String
    /// `assigned`: the person; "" otherwise.
    public var assigneeID: String
    /// A comment's text, or why (a pause, a resolution).
    public var note: String

    public init(
        id: String, ticketID: String, kind: TicketEventKind, at: Int64, authorID: String, teamID: String = "", assigneeID: String = "",
        note: String = ""
    ) {
        self.id = id
        self.ticketID = ticketID
        self.kind = kind
        self.at = at
        self.authorID = authorID
        self.teamID = teamID
        self.assigneeID = assigneeID
        self.note = note
    }

    /// Checks the fields on their own.
    public func validate() throws(DomainError) {
        try Require.text(["id": id, "ticket_id": ticketID, "author_id": authorID, "team_id": teamID, "assignee_id": assigneeID, "note": note])
        try Require.present(id, "id")
        try Require.present(ticketID, "ticket_id")
        try Require.present(authorID, "author_id")
        try SLAClock.checkInstant(at, field: "at")
        switch kind {
        case .opened: try Require.code(teamID, "team_id")
        case .assigned:
            guard !teamID.isEmpty || !assigneeID.isEmpty else { throw .invalid(field: "team_id", "an assignment names a team or a person") }
            if !teamID.isEmpty { try Require.code(teamID, "team_id") }
        case .comment: try Require.present(note, "note")
        case .paused, .resumed, .resolved, .reopened: break
        }
    }
}
