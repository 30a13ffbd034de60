import DunlinCore

// The ticket queue on the wire (Protocol/records.proto, "The AR ticket queue"): team calendars
// share the mutable kinds' four methods; tickets have their own verbs, so the header and the
// events that make its history are written together.

extension Records {
    public static let upsertTeamCalendars = MethodDescriptor<Dunlin_V1_UpsertTeamCalendarsRequest, Dunlin_V1_UpsertTeamCalendarsResponse>(
        path: "/dunlin.v1.Records/UpsertTeamCalendars", kind: .unary
    )
    public static let getTeamCalendar = MethodDescriptor<Dunlin_V1_GetTeamCalendarRequest, Dunlin_V1_TeamCalendarRecord>(
        path: "/dunlin.v1.Records/GetTeamCalendar", kind: .unary
    )
    public static let listTeamCalendars = MethodDescriptor<Dunlin_V1_ListTeamCalendarsRequest, Dunlin_V1_ListTeamCalendarsResponse>(
        path: "/dunlin.v1.Records/ListTeamCalendars", kind: .unary
    )
    public static let deleteTeamCalendars = MethodDescriptor<Dunlin_V1_DeleteTeamCalendarsRequest, Dunlin_V1_DeleteResponse>(
        path: "/dunlin.v1.Records/DeleteTeamCalendars", kind: .unary
    )
    /// Opens a ticket and starts its SLA clock (analysts and above).
    public static let openTicket = MethodDescriptor<Dunlin_V1_OpenTicketRequest, Dunlin_V1_TicketRecord>(
        path: "/dunlin.v1.Records/OpenTicket", kind: .unary
    )
    /// A ticket, its SLA now, and its events.
    public static let getTicket = MethodDescriptor<Dunlin_V1_GetTicketRequest, Dunlin_V1_GetTicketResponse>(
        path: "/dunlin.v1.Records/GetTicket", kind: .unary
    )
    /// Tickets by opening, each with its SLA now; `breaching` keeps those unresolved and breached or at risk.
    public static let listTickets = MethodDescriptor<Dunlin_V1_ListTicketsRequest, Dunlin_V1_ListTicketsResponse>(
        path: "/dunlin.v1.Records/ListTickets", kind: .unary
    )
    /// Assigns, pauses, resumes, resolves, reopens or comments (analysts and above).
    public static let addTicketEvent = MethodDescriptor<Dunlin_V1_AddTicketEventRequest, Dunlin_V1_GetTicketResponse>(
        path: "/dunlin.v1.Records/AddTicketEvent", kind: .unary
    )
    /// Links the dispute or approval request a ticket opened (analysts and above).
    public static let linkTicket = MethodDescriptor<Dunlin_V1_LinkTicketRequest, Dunlin_V1_TicketRecord>(
        path: "/dunlin.v1.Records/LinkTicket", kind: .unary
    )
}

extension Dunlin_V1_GetTeamCalendarRequest: RecordIDRequest {}
extension Dunlin_V1_DeleteTeamCalendarsRequest: RecordIDsRequest {}
extension Dunlin_V1_ListTeamCalendarsRequest: PagedRequest {}
extension Dunlin_V1_ListTeamCalendarsResponse: PagedResponse {}
extension Dunlin_V1_ListTicketsRequest: PagedRequest {}
extension Dunlin_V1_ListTicketsResponse: PagedResponse {}

extension Dunlin_V1_TeamCalendarRecord: MutableRecordMessage {
    public static var kind: RecordKind { .teamCalendar }
    public static var upsert: MethodDescriptor<Dunlin_V1_UpsertTeamCalendarsRequest, Dunlin_V1_UpsertTeamCalendarsResponse> { Records.upsertTeamCalendars }
    public static var get: MethodDescriptor<Dunlin_V1_GetTeamCalendarRequest, Self> { Records.getTeamCalendar }
    public static var list: MethodDescriptor<Dunlin_V1_ListTeamCalendarsRequest, Dunlin_V1_ListTeamCalendarsResponse> { Records.listTeamCalendars }
    public static var delete: MethodDescriptor<Dunlin_V1_DeleteTeamCalendarsRequest, Dunlin_V1_DeleteResponse> { Records.deleteTeamCalendars }
    public static var batch: WritableKeyPath<Dunlin_V1_UpsertTeamCalendarsRequest, [Self]> { \.calendars }
    public static var saved: WritableKeyPath<Dunlin_V1_UpsertTeamCalendarsResponse, [Self]> { \.calendars }
    public static var listed: WritableKeyPath<Dunlin_V1_ListTeamCalendarsResponse, [Self]> { \.calendars }

    public init(_ calendar: TeamCalendar) {
        self.init()
        id = calendar.id
        timeZone = calendar.timeZone
        workingDays = calendar.workingDays.map(\.rawValue)
        opens = calendar.opens
        closes = calendar.closes
        holidays = calendar.holidays.map(\.description)
        members = calendar.members
    }

    /// The calendar; days default to Monday to Friday, hours to 09:00-17:00. The id is the team's
    /// name and is required.
    public func record(today: CivilDate, caller: String) throws(DomainError) -> TeamCalendar {
        guard !id.isEmpty else { throw .invalid(field: "id", "is required: the team's name, such as billing-manila") }
        var days: [Weekday] = []
        for (index, name) in workingDays.enumerated() { days.append(try WireField.choice(name, field: "working_days[\(index)]")) }
        var dates: [CivilDate] = []
        for (index, text) in holidays.enumerated() { dates.append(try WireField.requiredDate(text, field: "holidays[\(index)]")) }
        return TeamCalendar(
            id: id, timeZone: timeZone, workingDays: days.isEmpty ? [.mon, .tue, .wed, .thu, .fri] : days,
            opens: opens.isEmpty ? "09:00" : opens, closes: closes.isEmpty ? "17:00" : closes, holidays: dates, members: members
        )
    }
}

extension Dunlin_V1_TicketRecord {
    /// The ticket as stored, with its SLA when one is given.
    public init(_ ticket: Ticket, sla: SLAStatus? = nil) {
        self.init()
        id = ticket.id
        customerID = ticket.customerID
        invoiceIds = ticket.invoiceIDs
        category = ticket.category.rawValue
        priority = ticket.priority.rawValue
        subject = ticket.subject
        status = ticket.status.rawValue
        teamID = ticket.teamID
        assigneeID = ticket.assigneeID
        openedAt = ticket.openedAt
        slaMinutes = ticket.slaMinutes
        disputeID = ticket.disputeID
        requestID = ticket.requestID
        if let sla { self.sla = Dunlin_V1_TicketSLA(sla) }
    }

    /// A new ticket: open, opened `now` unless it says when, its SLA `defaultSLA` of its priority
    /// (the tenant's setting) unless it gives its own. Links come later (LinkTicket).
    public func newTicket(now: Int64, defaultSLA: (TicketPriority) -> Int32) throws(DomainError) -> Ticket {
        guard status.isEmpty || status == TicketStatus.open.rawValue else {
            throw .invalid(field: "status", "a new ticket is open; its events change that (AddTicketEvent)")
        }
        guard disputeID.isEmpty, requestID.isEmpty else {
            throw .invalid(field: disputeID.isEmpty ? "request_id" : "dispute_id", "a ticket links what it opened once it is open (LinkTicket)")
        }
        let chosen: TicketPriority = try WireField.choice(self.priority, field: "priority", default: .normal)
        return Ticket(
            id: id, customerID: customerID, invoiceIDs: invoiceIds, category: try WireField.choice(category, field: "category"),
            priority: chosen, subject: subject, status: .open, teamID: teamID, assigneeID: assigneeID,
            openedAt: openedAt == 0 ? now : openedAt, slaMinutes: slaMinutes == 0 ? defaultSLA(chosen) : slaMinutes
        )
    }
}

extension Dunlin_V1_TicketSLA {
    public init(_ sla: SLAStatus) {
        self.init()
        phase = sla.phase.rawValue
        teamID = sla.teamID
        elapsedMinutes = sla.elapsedMinutes
        slaMinutes = sla.slaMinutes
        remainingMinutes = sla.remainingMinutes
        if let due = sla.dueAt { dueAt = due }
        if let breached = sla.breachedAt { breachedAt = breached }
        atRisk = sla.atRisk
        self.breached = sla.breached
    }
}

extension Dunlin_V1_TicketEventRecord {
    public init(_ event: TicketEvent) {
        self.init()
        id = event.id
        ticketID = event.ticketID
        kind = event.kind.rawValue
        at = event.at
        authorID = event.authorID
        teamID = event.teamID
        assigneeID = event.assigneeID
        note = event.note
    }

    /// The event as `caller` adds it, `now` unless it says when. `opened` is the ticket's own
    /// (OpenTicket writes it).
    public func newEvent(now: Int64, caller: String) throws(DomainError) -> TicketEvent {
        let kind: TicketEventKind = try WireField.choice(kind, field: "kind")
        guard kind != .opened else { throw .invalid(field: "kind", "a ticket is opened with OpenTicket") }
        guard authorID.isEmpty || authorID == caller else {
            throw .invalid(field: "author_id", "the author is always the caller (\(caller)), not \(authorID)")
        }
        return TicketEvent(
            id: id, ticketID: ticketID, kind: kind, at: at == 0 ? now : at, authorID: caller, teamID: teamID, assigneeID: assigneeID, note: note
        )
    }
}
