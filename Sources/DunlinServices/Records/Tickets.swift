import DunlinCore
import DunlinStore
import DunlinWire

extension TeamCalendar: ServedMutableRecord {
    static func page(_ request: Dunlin_V1_ListTeamCalendarsRequest, _ page: PageRequest, in store: TenantStore) throws -> Page<TeamCalendar> {
        try store.teamCalendars(page: page)
    }

    static var stored: StoredRecords<TeamCalendar> {
        .init(find: TenantStore.teamCalendar, save: TenantStore.upsert, delete: TenantStore.deleteTeamCalendars)
    }
}

/// The AR ticket queue: `Records/OpenTicket`, `GetTicket`, `ListTickets`, `AddTicketEvent` and
/// `LinkTicket` (team calendars are a mutable kind like the others). Analysts and above open and
/// work tickets (the rights table's `ticket` and `ticket_event` rows); every role reads. Each
/// answer carries the SLA clock at the tenant's now (``SLAClock``), so a replica answers offline
/// what the server would.
extension RecordsService {
    func registerTickets(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.openTicket) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .create, .ticket)
            let now = tenant.clock.milliseconds
            let settings = try RPCError.mapping { try tenant.store.settings() }
            var ticket = try RPCError.mapping {
                try request.ticket.newTicket(now: now) { priority in (try? TenantSetting.slaMinutes(priority, in: settings)) ?? Int32(priority.defaultSLAMinutes) }
            }
            if ticket.id.isEmpty { ticket.id = RecordID.new(for: RecordKind.ticket) }
            let opened = TicketEvent(
                id: "\(ticket.id).opened", ticketID: ticket.id, kind: .opened, at: ticket.openedAt, authorID: context.principal.id,
                teamID: ticket.teamID, assigneeID: ticket.assigneeID, note: ticket.subject
            )
            try refusing { try tenant.store.open(ticket, event: opened) }
            return try answer(found(RPCError.mapping { try tenant.store.ticket(ticket.id) }, ticket.id), tenant)
        }

        router.unary(Records.getTicket) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let ticket = try found(RPCError.mapping { try tenant.store.ticket(request.id) }, request.id)
            return try full(ticket, tenant)
        }

        router.unary(Records.listTickets) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let filter = TicketFilter(
                customerID: nonEmpty(request.customerID), statuses: try RPCError.mapping { try WireField.choices(request.statuses, field: "statuses") },
                teamID: nonEmpty(request.teamID), assigneeID: nonEmpty(request.assigneeID)
            )
            let page = try RPCError.mapping { try tenant.store.tickets(filter, page: PageRequest(after: request.cursor, size: request.pageSize)) }
            let events = try RPCError.mapping { try tenant.store.ticketEvents(of: page.items.map(\.id)) }
            let calendars = try RPCError.mapping { try tenant.store.allTeamCalendars() }
            let now = tenant.clock.milliseconds
            return .with {
                for ticket in page.items {
                    let sla = SLAClock.status(events: events[ticket.id] ?? [], slaMinutes: Int64(ticket.slaMinutes), calendars: calendars, now: now)
                    if request.breaching, sla.phase == .resolved || !(sla.breached || sla.atRisk) { continue }
                    $0.tickets.append(Dunlin_V1_TicketRecord(ticket, sla: sla))
                }
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.addTicketEvent) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .create, .ticketEvent)
            var event = try RPCError.mapping { try request.event.newEvent(now: tenant.clock.milliseconds, caller: context.principal.id) }
            if event.id.isEmpty { event.id = RecordID.new(for: RecordKind.ticketEvent) }
            // The header follows the event: a change of the ticket, under the ticket's rights too.
            _ = try access(context, tenants, writing: .change, .ticket)
            let added = event
            let ticket = try refusing { try tenant.store.add(added) { ticket in try ticket.apply(added) } }
            return try full(ticket, tenant)
        }

        router.unary(Records.linkTicket) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .ticket)
            let ticket = try refusing {
                try tenant.store.update(ticket: request.ticketID) { ticket in
                    if !request.disputeID.isEmpty { ticket.disputeID = request.disputeID }
                    if !request.requestID.isEmpty { ticket.requestID = request.requestID }
                }
            }
            return try answer(ticket, tenant)
        }
    }
}

extension Ticket {
    /// The header as `event` leaves it: an assignment moves the ticket, a pause waits on the
    /// customer, a resolution resolves it; a comment changes nothing.
    mutating func apply(_ event: TicketEvent) throws(DomainError) {
        switch event.kind {
        case .opened:
            throw .invalid(field: "kind", "a ticket is opened with OpenTicket")
        case .assigned:
            if !event.teamID.isEmpty { teamID = event.teamID }
            if !event.assigneeID.isEmpty { assigneeID = event.assigneeID }
        case .paused:
            guard status == .open else { throw .conflict(field: "kind", "only an open ticket waits on the customer; this one is \(status.rawValue)") }
            status = .waitingOnCustomer
        case .resumed:
            guard status == .waitingOnCustomer else { throw .conflict(field: "kind", "the ticket is not waiting on the customer") }
            status = .open
        case .resolved:
            guard status != .resolved else { throw .conflict(field: "kind", "the ticket is already resolved") }
            status = .resolved
        case .reopened:
            guard status == .resolved else { throw .conflict(field: "kind", "only a resolved ticket is reopened") }
            status = .open
        case .comment:
            break
        }
    }
}

/// Runs a store write, answering a refusal as the RPC's status.
private func refusing<T>(_ body: () throws -> T) throws -> T {
    try RPCError.mapping {
        do {
            return try body()
        } catch let StoreError.refused(_, error) {
            throw error
        }
    }
}

private func answer(_ ticket: Ticket, _ tenant: TenantHandle) throws -> Dunlin_V1_TicketRecord {
    let (events, calendars) = try RPCError.mapping { (try tenant.store.ticketEvents(ticket.id), try tenant.store.allTeamCalendars()) }
    return Dunlin_V1_TicketRecord(ticket, sla: SLAClock.status(events: events, slaMinutes: Int64(ticket.slaMinutes), calendars: calendars, now: tenant.clock.milliseconds))
}

private func full(_ ticket: Ticket, _ tenant: TenantHandle) throws -> Dunlin_V1_GetTicketResponse {
    let (events, calendars) = try RPCError.mapping { (try tenant.store.ticketEvents(ticket.id), try tenant.store.allTeamCalendars()) }
    let sla = SLAClock.status(events: events, slaMinutes: Int64(ticket.slaMinutes), calendars: calendars, now: tenant.clock.milliseconds)
    return .with {
        $0.ticket = Dunlin_V1_TicketRecord(ticket, sla: sla)
        $0.events = events.map(Dunlin_V1_TicketEventRecord.init)
    }
}
