import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// A team's working calendar as a row (kind `team_calendar`, migration v29): mutable, tombstoned;
/// the id is the team's name, so setting a deleted team's calendar again brings it back.
struct TeamCalendarRow: TombstonedRow {
    static let recordKind = RecordKind.teamCalendar
    static let revivable = true

    var id: String
    var time_zone: String
    var working_days: String
    var opens: String
    var closes: String
    var holidays: String
    var members: String
    var deleted: Bool

    init(_ calendar: TeamCalendar) {
        id = calendar.id
        time_zone = calendar.timeZone
        working_days = StoredValue.json(calendar.workingDays.map(\.rawValue))
        opens = calendar.opens
        closes = calendar.closes
        holidays = StoredValue.json(calendar.holidays.map(\.description))
        members = StoredValue.json(calendar.members)
        deleted = false
    }

    func record() throws -> TeamCalendar {
        let table = Self.databaseTableName
        let days: [Weekday] = try StoredValue.ids(working_days, table, "working_days", id: id).map { name in
            try StoredValue.decode(name, table, "working_days", id: id)
        }
        let dates = try StoredValue.ids(holidays, table, "holidays", id: id).map { text in try StoredValue.date(text, table, "holidays", id: id) }
        let people = try StoredValue.ids(members, table, "members", id: id)
        return TeamCalendar(id: id, timeZone: time_zone, workingDays: days, opens: opens, closes: closes, holidays: dates, members: people)
    }
}

/// A ticket's header as a row (kind `ticket`): mutable, tombstoned.
struct TicketRow: TombstonedRow {
    static let recordKind = RecordKind.ticket

    var id: String
    var customer_id: String
    var invoice_ids: String
    var category: String
    var priority: String
    var subject: String
    var status: String
    var team_id: String
    var assignee_id: String
    var opened_at: Int64
    var sla_minutes: Int32
    var dispute_id: String
    var request_id: String
    var deleted: Bool

    init(_ ticket: Ticket) {
        id = ticket.id
        customer_id = ticket.customerID
        invoice_ids = StoredValue.json(ticket.invoiceIDs)
        category = ticket.category.rawValue
        priority = ticket.priority.rawValue
        subject = ticket.subject
        status = ticket.status.rawValue
        team_id = ticket.teamID
        assignee_id = ticket.assigneeID
        opened_at = ticket.openedAt
        sla_minutes = ticket.slaMinutes
        dispute_id = ticket.disputeID
        request_id = ticket.requestID
        deleted = false
    }

    func record() throws -> Ticket {
        let table = Self.databaseTableName
        return Ticket(
            id: id, customerID: customer_id, invoiceIDs: try StoredValue.ids(invoice_ids, table, "invoice_ids", id: id),
            category: try StoredValue.decode(category, table, "category", id: id), priority: try StoredValue.decode(priority, table, "priority", id: id),
            subject: subject, status: try StoredValue.decode(status, table, "status", id: id), teamID: team_id, assigneeID: assignee_id,
            openedAt: opened_at, slaMinutes: sla_minutes, disputeID: dispute_id, requestID: request_id
        )
    }

    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let status = Column(CodingKeys.status)
        static let teamID = Column(CodingKeys.team_id)
        static let assigneeID = Column(CodingKeys.assignee_id)
        static let openedAt = Column(CodingKeys.opened_at)
    }
}

/// One event of a ticket's history as a row (kind `ticket_event`): insert-only, like the
/// activity log.
struct TicketEventRow: Codable, FetchableRecord, PersistableRecord, RecordTable {
    static let recordKind = RecordKind.ticketEvent

    var id: String
    var ticket_id: String
    var kind: String
    var at: Int64
    var author_id: String
    var team_id: String
    var assignee_id: String
    var note: String

    init(_ event: TicketEvent) {
        id = event.id
        ticket_id = event.ticketID
        kind = event.kind.rawValue
        at = event.at
        author_id = event.authorID
        team_id = event.teamID
        assignee_id = event.assigneeID
        note = event.note
    }

    func record() throws -> TicketEvent {
        TicketEvent(
            id: id, ticketID: ticket_id, kind: try StoredValue.decode(kind, Self.databaseTableName, "kind", id: id), at: at,
            authorID: author_id, teamID: team_id, assigneeID: assignee_id, note: note
        )
    }

    enum Columns {
        static let ticketID = Column(CodingKeys.ticket_id)
        static let at = Column(CodingKeys.at)
    }
}

/// The filters of a ticket list.
public struct TicketFilter: Sendable, Hashable {
    public var customerID: String?
    public var statuses: Set<TicketStatus>
    public var teamID: String?
    public var assigneeID: String?

    public init(customerID: String? = nil, statuses: Set<TicketStatus> = [], teamID: String? = nil, assigneeID: String? = nil) {
        self.customerID = customerID
        self.statuses = statuses
        self.teamID = teamID
        self.assigneeID = assigneeID
    }
}

extension TenantStore {
    // MARK: Team calendars

    /// Sets team calendars, all or none; each must pass ``TeamCalendar/validate()``.
    public func upsert(_ calendars: [TeamCalendar]) throws {
        try save(calendars, as: TeamCalendarRow.init, validate: Self.check)
    }

    public func teamCalendar(_ id: String) throws -> TeamCalendar? {
        try live(TeamCalendarRow.self, id)?.record()
    }

    /// Calendars by id.
    public func teamCalendars(page: PageRequest = .first) throws -> Page<TeamCalendar> {
        try read(TeamCalendarRow.live, page, ListOrder(TeamCalendarRow.self, by: ListOrder.id)) { try TeamCalendarRow(row: $0).record() }
    }

    /// Every live calendar the SLA clock may need; one this version cannot read is passed over
    /// (the clock then counts that team round the clock).
    public func allTeamCalendars() throws -> [TeamCalendar] {
        try writer.read { db in try Self.allTeamCalendars(db) }
    }

    static func allTeamCalendars(_ db: Database) throws -> [TeamCalendar] {
        try TeamCalendarRow.live.fetchAll(db).compactMap { try? $0.record() }
    }

    public func deleteTeamCalendars(_ ids: [String]) throws {
        try tombstone(TeamCalendarRow.self, ids)
    }

    // MARK: Tickets

    /// Opens `ticket` with its `opened` event in one transaction. The same ticket opened again
    /// (a retry) changes nothing; another ticket under its id is ALREADY_EXISTS.
    public func open(_ ticket: Ticket, event: TicketEvent) throws {
        try writeOne { db in
            if let existing = try TicketRow.fetchOne(db, key: ticket.id) {
                guard !existing.deleted, try existing.record() == ticket else {
                    throw DomainError.alreadyExists(field: "id", "ticket \(ticket.id) already exists with other content")
                }
                return
            }
            try Self.check(ticket, db)
            try Self.save(TicketRow(ticket), db)
            try Self.append(event, db)
        }
    }

    /// Adds `event` to its ticket and writes the ticket as `change` leaves it, in one
    /// transaction; answers the ticket. An event id already added with the same content is a
    /// retry and changes nothing.
    public func add(_ event: TicketEvent, change: (inout Ticket) throws -> Void) throws -> Ticket {
        try writeOne { db in
            if let existing = try TicketEventRow.fetchOne(db, key: event.id) {
                guard try existing.record() == event else {
                    throw DomainError.alreadyExists(field: "id", "ticket event \(event.id) already exists with other content")
                }
                return try Self.changing(event.ticketID, db) { _ in }
            }
            let ticket = try Self.changing(event.ticketID, db) { ticket in try change(&ticket) }
            try Self.append(event, db)
            return ticket
        }
    }

    /// Changes a ticket's header (its links) without an event.
    public func update(ticket id: String, _ change: (inout Ticket) throws -> Void) throws -> Ticket {
        try writeOne { db in try Self.changing(id, db, change) }
    }

    /// The live ticket `id` as `change` leaves it, checked and saved (nothing is written when
    /// nothing changed).
    private static func changing(_ id: String, _ db: Database, _ change: (inout Ticket) throws -> Void) throws -> Ticket {
        guard var ticket = try TicketRow.filter(key: id).filter(TicketRow.deletedColumn == false).fetchOne(db)?.record() else {
            throw DomainError.notFound(field: "ticket_id", id: id)
        }
        try change(&ticket)
        try check(ticket, db)
        try save(TicketRow(ticket), db)
        return ticket
    }

    /// One write of one item: a refusal is the item's, as a batch's would be.
    private func writeOne<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.write { db in
            do {
                return try body(db)
            } catch let error as DomainError {
                throw StoreError.refused(index: 0, error)
            }
        }
    }

    public func ticket(_ id: String) throws -> Ticket? {
        try live(TicketRow.self, id)?.record()
    }

    /// A ticket's events by instant, then id.
    public func ticketEvents(_ ticketID: String) throws -> [TicketEvent] {
        try writer.read { db in
            try TicketEventRow.filter(TicketEventRow.Columns.ticketID == ticketID)
                .order(TicketEventRow.Columns.at, Column("id")).fetchAll(db).map { try $0.record() }
        }
    }

    /// The events of several tickets, by ticket.
    public func ticketEvents(of ticketIDs: [String]) throws -> [String: [TicketEvent]] {
        guard !ticketIDs.isEmpty else { return [:] }
        return try writer.read { db in try Self.ticketEvents(db, of: ticketIDs) }
    }

    static func ticketEvents(_ db: Database, of ticketIDs: [String]) throws -> [String: [TicketEvent]] {
        guard !ticketIDs.isEmpty else { return [:] }
        let rows = try TicketEventRow.filter(ticketIDs.contains(TicketEventRow.Columns.ticketID))
            .order(TicketEventRow.Columns.at, Column("id")).fetchAll(db)
        return try Dictionary(grouping: rows.map { try $0.record() }, by: \.ticketID)
    }

    /// Tickets by the instant they were opened, then id.
    public func tickets(_ filter: TicketFilter = TicketFilter(), page: PageRequest = .first) throws -> Page<Ticket> {
        let columns = TicketRow.Columns.self
        let request = TicketRow.live
            .matching(columns.customerID, filter.customerID)
            .matching(columns.status, oneOf: filter.statuses.map(\.rawValue))
            .matching(columns.teamID, filter.teamID)
            .matching(columns.assigneeID, filter.assigneeID)
        return try read(request, page, ListOrder(TicketRow.self, by: columns.openedAt)) { try TicketRow(row: $0).record() }
    }

    /// The tickets not resolved: the worklist's breach warnings.
    public func unresolvedTickets() throws -> [Ticket] {
        try writer.read { db in try Self.unresolvedTickets(db) }
    }

    static func unresolvedTickets(_ db: Database) throws -> [Ticket] {
        try TicketRow.live.filter(TicketRow.Columns.status != TicketStatus.resolved.rawValue).order(TicketRow.Columns.openedAt, Column("id")).fetchAll(db).map { try $0.record() }
    }

    // MARK: Validation (shared by the RPC writes and by pushed changes)

    static func check(_ calendar: TeamCalendar, _ db: Database) throws {
        try calendar.validate()
    }

    static func check(_ ticket: Ticket, _ db: Database) throws {
        try ticket.validate()
        try requireCustomer(ticket.customerID, db)
        try SQLLedgerState.checking(db) { ledger in
            for (index, id) in ticket.invoiceIDs.enumerated() {
                guard let invoice = ledger.entry(id), invoice.kind == .invoice, invoice.customerID == ticket.customerID else {
                    throw DomainError.notFound(field: "invoice_ids[\(index)]", id: id)
                }
            }
        }
        if !ticket.disputeID.isEmpty {
            guard let dispute = try DisputeRow.filter(key: ticket.disputeID).filter(DisputeRow.deletedColumn == false).fetchOne(db),
                  dispute.customer_id == ticket.customerID
            else { throw DomainError.notFound(field: "dispute_id", id: ticket.disputeID) }
        }
        if !ticket.requestID.isEmpty {
            guard let request = try ApprovalRequestRow.fetchOne(db, key: ticket.requestID), request.customer_id == ticket.customerID else {
                throw DomainError.notFound(field: "request_id", id: ticket.requestID)
            }
        }
    }

    /// An event's ticket exists, and a team it opens or hands the ticket to has a calendar.
    static func check(_ event: TicketEvent, _ db: Database) throws {
        try event.validate()
        guard try TicketRow.exists(db, key: event.ticketID) else { throw DomainError.notFound(field: "ticket_id", id: event.ticketID) }
        if !event.teamID.isEmpty, try TeamCalendarRow.live.filter(key: event.teamID).fetchCount(db) == 0 {
            throw DomainError.notFound(field: "team_id", id: event.teamID)
        }
        guard try !TicketEventRow.exists(db, key: event.id) else {
            throw DomainError.alreadyExists(field: "id", "ticket event \(event.id) already exists")
        }
    }

    /// Inserts a new event, logged for sync.
    static func append(_ event: TicketEvent, _ db: Database) throws {
        try check(event, db)
        try TicketEventRow(event).insert(db)
        try logChange(db, kind: .ticketEvent, id: event.id, op: "insert")
    }
}

extension TenantStore {
    /// The tickets of `analystID`'s customers (every customer when nil) resolved from `start` up to
    /// `end` (Unix milliseconds, end excluded), and how many of them within their SLA: the clock
    /// (``SLAClock``) read at the ticket's last resolution in that window, over its events up to
    /// then, had not run out. One snapshot.
    public func ticketSLA(from start: Int64, until end: Int64, analystID: String?) throws -> (resolved: Int, withinSLA: Int) {
        try writer.read { db in
            let scope = analystID == nil ? "" : " AND t.customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)"
            let resolutions = try Row.fetchAll(db, sql: """
                SELECT e.ticket_id, MAX(e.at) AS at FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id AND t.deleted = 0
                WHERE e.kind = 'resolved' AND e.at >= ? AND e.at < ?\(scope) GROUP BY e.ticket_id
                """, arguments: StatementArguments([start, end] + (analystID.map { [$0] } ?? [])))
            guard !resolutions.isEmpty else { return (0, 0) }
            let calendars = try TeamCalendarRow.live.fetchAll(db).compactMap { try? $0.record() }
            var within = 0
            for resolution in resolutions {
                let id: String = resolution["ticket_id"], at: Int64 = resolution["at"]
                guard let ticket = try TicketRow.fetchOne(db, key: id)?.record() else { continue }
                let events = try TicketEventRow.filter(TicketEventRow.Columns.ticketID == id).filter(TicketEventRow.Columns.at <= at)
                    .order(TicketEventRow.Columns.at, Column("id")).fetchAll(db).map { try $0.record() }
                if !SLAClock.status(events: events, slaMinutes: Int64(ticket.slaMinutes), calendars: calendars, now: at).breached { within += 1 }
            }
            return (resolutions.count, within)
        }
    }
}
