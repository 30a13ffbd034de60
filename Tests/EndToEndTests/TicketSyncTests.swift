import DunlinClient
import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// Tickets across sync, on a real server on 127.0.0.1 and laptops' replicas: two analysts
/// commenting on one ticket offline both keep their comment (events are insert-only); the reads
/// answer offline from the replica; a hand-edited replica's push is held to the RPCs' rights.
@Suite(.serialized, .loadsTheMachine, .timeLimit(.minutes(5)))
struct TicketSyncTests {
    static func open(_ subject: String) -> Dunlin_V1_OpenTicketRequest {
        .with { $0.ticket = .with { $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.category = "billing"; $0.subject = subject; $0.teamID = "billing-manila" } }
    }

    static func comment(_ ticket: String, _ note: String) -> Dunlin_V1_AddTicketEventRequest {
        .with { $0.event = .with { $0.ticketID = ticket; $0.kind = "comment"; $0.note = note } }
    }

    @Test("two analysts commenting on one ticket offline both keep their comment; tickets and calendars read offline on the replica")
    func offlineComments() async throws {
        let world = try await SyncWorld.start()
        defer { Task { try? await world.stop() } }
        try await seed(world)
        let manager = world.server.client(token: "manager")
        _ = try await manager.unary(Records.upsertTeamCalendars, .with {
            $0.calendars = [.with { $0.id = "billing-manila"; $0.timeZone = "Asia/Manila"; $0.closes = "18:00"; $0.holidays = ["2026-11-30"] }]
        })
        await manager.close()
        let ana = try world.laptop("ana"), ben = try world.laptop("ben")
        defer { Task { await ana.close(); await ben.close() } }
        try await ana.sync()

        // Ana opens a ticket offline; it reaches the server with its opened event.
        let ticket = try await ana.replica.unary(Records.openTicket, Self.open("invoice copy"))
        #expect(ticket.sla.phase == "running" && ticket.sla.teamID == "billing-manila")
        #expect(try world.tenant.store.ticket(ticket.id) == nil)
        try await ana.sync()
        #expect(try world.tenant.store.ticket(ticket.id)?.subject == "invoice copy")
        try await ben.sync()
        #expect(try await ben.replica.unary(Records.listTeamCalendars, .init()).calendars.map(\.id) == ["billing-manila"])

        // Both comment offline, then sync: the server and both laptops hold both comments.
        _ = try await ana.replica.unary(Records.addTicketEvent, Self.comment(ticket.id, "called AP, copy promised"))
        _ = try await ben.replica.unary(Records.addTicketEvent, Self.comment(ticket.id, "customer emailed again"))
        #expect(try await ana.sync().accepted == 1, "the comment alone: a comment leaves the header as it was")
        #expect(try await ben.sync().accepted == 1)
        try await ana.sync()
        let notes = { (store: TenantStore) in try store.ticketEvents(ticket.id).filter { $0.kind == .comment }.map(\.note).sorted() }
        let both = ["called AP, copy promised", "customer emailed again"]
        #expect(try notes(world.tenant.store) == both)
        #expect(try notes(ana.replica.store) == both)
        #expect(try notes(ben.replica.store) == both)
        let offline = try await ben.replica.unary(Records.getTicket, .with { $0.id = ticket.id })
        #expect(offline.events.map(\.kind) == ["opened", "comment", "comment"] && Set(offline.events.map(\.authorID)) == ["u-ana", "u-ben"])
        try await world.stop()
    }

    @Test("a hand-edited replica's push: a forged author, a viewer's ticket, an analyst's calendar and another tenant's ticket are refused as the RPCs refuse them")
    func pushedRights() async throws {
        let world = try await SyncWorld.start()
        defer { Task { try? await world.stop() } }
        try await seed(world)
        let newest = { UInt64(try world.tenant.store.snapshotStart()) }
        // Each replica's dots go on counting across its pushes (a counter used twice is a duplicate).
        var counters: [String: UInt64] = [:]
        func push(_ user: String, _ changes: [(kind: String, id: String, fields: FieldMap)]) async throws -> Dunlin_V1_PushResponse {
            let replica = testReplica(user)
            let first = counters[user, default: 0]
            counters[user] = first + UInt64(changes.count)
            let client = RPCClient(configuration: .init(
                host: "127.0.0.1", port: world.server.port, token: user, replicaID: replica, schemaVersion: SyncMethods.schemaVersion
            ))
            defer { Task { await client.close() } }
            let base = try newest()
            return try await client.unary(SyncMethods.push, .with {
                $0.replicaID = replica
                $0.changes = changes.enumerated().map { index, change in
                    .with {
                        $0.kind = change.kind
                        $0.id = change.id
                        $0.counter = first + UInt64(index + 1)
                        $0.baseSeq = base
                        $0.fields = RecordCoding.canonical(change.fields)
                        $0.atMs = 1_795_000_000_000
                    }
                }
            })
        }
        func live(_ fields: FieldMap) -> FieldMap {
            var fields = fields
            fields[RecordCoding.deletedField] = .bool(false)
            return fields
        }
        let calendar = live(TeamCalendar(id: "billing-manila", timeZone: "Asia/Manila").fieldMap)
        let ticket = live(Ticket(
            id: "tkt_pushed", customerID: "C1", invoiceIDs: ["INV-1"], category: .billing, subject: "copy", teamID: "billing-manila",
            openedAt: 1_795_000_000_000, slaMinutes: 960
        ).fieldMap)
        func event(_ id: String, ticket: String = "tkt_pushed", author: String) -> FieldMap {
            TicketEvent(id: id, ticketID: ticket, kind: .comment, at: 1_795_000_000_000, authorID: author, note: "hello").fieldMap
        }

        // An analyst may not set a calendar; a manager may.
        let analystCalendar = try await push("ana", [("team_calendar", "billing-manila", calendar)])
        #expect(analystCalendar.results.map(\.code) == [StatusCode.permissionDenied.rawValue])
        #expect(try world.tenant.store.teamCalendar("billing-manila") == nil)
        #expect(try await push("mo", [("team_calendar", "billing-manila", calendar)]).results.map(\.outcome) == [.accepted])

        // A viewer may not open a ticket nor comment; an analyst may, as herself only.
        let viewer = try await push("viewer", [("ticket", "tkt_pushed", ticket), ("ticket_event", "tev_v", event("tev_v", author: "u-v"))])
        #expect(viewer.results.map(\.code) == [StatusCode.permissionDenied.rawValue, StatusCode.permissionDenied.rawValue])
        let ana = try await push("ana", [
            ("ticket", "tkt_pushed", ticket),
            ("ticket_event", "tev_forged", event("tev_forged", author: "u-m")),
            ("ticket_event", "tev_own", event("tev_own", author: "u-ana")),
            ("ticket_event", "tev_elsewhere", event("tev_elsewhere", ticket: "tkt_of_another_tenant", author: "u-ana")),
        ])
        #expect(ana.results.map(\.outcome) == [.accepted, .refused, .accepted, .refused])
        #expect(ana.results[1].code == StatusCode.permissionDenied.rawValue && ana.results[1].field == "author_id")
        #expect(ana.results[3].code == StatusCode.notFound.rawValue && ana.results[3].field == "ticket_id")
        #expect(try world.tenant.store.ticketEvents("tkt_pushed").map(\.id) == ["tev_own"])

        // A hand-off to a team without a calendar is refused as AddTicketEvent refuses it.
        let handOff = TicketEvent(id: "tev_team", ticketID: "tkt_pushed", kind: .assigned, at: 1_795_000_000_000, authorID: "u-ana", teamID: "nowhere")
        let refusedTeam = try await push("ana", [("ticket_event", "tev_team", handOff.fieldMap)])
        #expect(refusedTeam.results.map(\.code) == [StatusCode.notFound.rawValue] && refusedTeam.results.first?.field == "team_id")

        // An event is never changed or deleted, nor a ticket deleted, even by a manager.
        var edited = event("tev_own", author: "u-ana")
        edited["note"] = .string("rewritten")
        let change = try await push("mo", [("ticket_event", "tev_own", edited), ("ticket", "tkt_pushed", [RecordCoding.deletedField: .bool(true)])])
        #expect(change.results.map(\.outcome) == [.refused, .refused])
        #expect(change.results.last?.code == StatusCode.permissionDenied.rawValue)
        #expect(try world.tenant.store.ticket("tkt_pushed") != nil)
        #expect(try world.tenant.store.ticketEvents("tkt_pushed").first?.note == "hello")
        try await world.stop()
    }
}
