import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Synchronization
import Testing

/// The AR ticket queue through the Records service in process: team calendars (managers), tickets
/// and their events (analysts), the SLA clock at the tenant's now, the rights per role and
/// another tenant's ids. The clock is the test's and moves only when a test moves it.
@Suite("Services in process: tickets")
struct TicketServiceTests {
    /// A clock a test sets: every handler reads "now" from it.
    final class MovingClock: Sendable {
        private let instant = Mutex(Date(timeIntervalSince1970: 0))
        var clock: WallClock { WallClock { [self] in instant.withLock { $0 } } }
        func set(_ milliseconds: Int64) { instant.withLock { $0 = Date(timeIntervalSince1970: Double(milliseconds) / 1000) } }
    }

    struct World {
        let tenants: InProcessTenants
        let time: MovingClock
        func acme(_ role: Role) -> InProcessCaller { tenants.acme(role) }
    }

    /// Unix milliseconds of a local time ("2026-11-27 16:00") in `zone`.
    static func at(_ text: String, _ zone: String) -> Int64 {
        let parts = text.split(separator: " ")
        let day = CivilDate(String(parts[0]))!
        let time = parts[1].split(separator: ":").map { Int($0)! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        return Int64(calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: time[0], minute: time[1]))!.timeIntervalSince1970 * 1000)
    }

    static func mnl(_ text: String) -> Int64 { at(text, "Asia/Manila") }
    static func nyc(_ text: String) -> Int64 { at(text, "America/New_York") }

    /// Acme with customers C1 (INV-1) and C2 (INV-2), and two teams: billing-manila (9-18,
    /// Bonifacio Day off) and billing-newyork (9-17, Thanksgiving off), set by the manager.
    static func world() async throws -> World {
        let time = MovingClock()
        time.set(mnl("2026-11-27 16:00"))
        let tenants = try InProcessTenants.make(clock: time.clock)
        let store = tenants.acme.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-a"),
            Customer(id: "C2", number: "1002", name: "Euro Foods", analystID: "u-a"),
        ])
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd),
                        date: CivilDate("2026-10-01")!, dueDate: CivilDate("2026-10-31")!, reference: "INV-1"),
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 500_00, currency: .usd),
                        date: CivilDate("2026-10-01")!, dueDate: CivilDate("2026-10-31")!, reference: "INV-2"),
        ])
        _ = try await tenants.acme(.manager).unary(Records.upsertTeamCalendars, .with {
            $0.calendars = [
                .with { $0.id = "billing-manila"; $0.timeZone = "Asia/Manila"; $0.opens = "09:00"; $0.closes = "18:00"; $0.holidays = ["2026-11-30"] },
                .with { $0.id = "billing-newyork"; $0.timeZone = "America/New_York"; $0.holidays = ["2026-11-26"] },
            ]
        })
        return World(tenants: tenants, time: time)
    }

    static func newTicket(_ customer: String = "C1", invoices: [String] = ["INV-1"], team: String = "billing-manila") -> Dunlin_V1_OpenTicketRequest {
        .with {
            $0.ticket = .with {
                $0.customerID = customer
                $0.invoiceIds = invoices
                $0.category = "billing"
                $0.subject = "invoice copy"
                $0.teamID = team
            }
        }
    }

    static func event(_ ticket: String, _ kind: String, team: String = "", note: String = "") -> Dunlin_V1_AddTicketEventRequest {
        .with { $0.event = .with { $0.ticketID = ticket; $0.kind = kind; $0.teamID = team; $0.note = note } }
    }

    @Test("the issue's case through the service: a weekend, a Manila holiday, a pause and a hand-off to New York")
    func slaAcrossTheWeek() async throws {
        let world = try await Self.world()
        let ana = world.acme(.analyst)
        let opened = try await ana.unary(Records.openTicket, Self.newTicket())
        #expect(opened.status == "open" && opened.priority == "normal" && opened.slaMinutes == 960 && opened.openedAt == Self.mnl("2026-11-27 16:00"))
        #expect(opened.sla.phase == "running" && opened.sla.elapsedMinutes == 0)

        world.time.set(Self.mnl("2026-12-01 12:00"))
        let paused = try await ana.unary(Records.addTicketEvent, Self.event(opened.id, "paused", note: "asked for the PO number"))
        #expect(paused.ticket.status == "waiting_on_customer" && paused.ticket.sla.elapsedMinutes == 300 && !paused.ticket.sla.hasDueAt)
        world.time.set(Self.mnl("2026-12-01 14:00"))
        _ = try await ana.unary(Records.addTicketEvent, Self.event(opened.id, "resumed"))
        world.time.set(Self.mnl("2026-12-01 17:00"))
        let handed = try await ana.unary(Records.addTicketEvent, Self.event(opened.id, "assigned", team: "billing-newyork"))
        #expect(handed.ticket.teamID == "billing-newyork" && handed.ticket.sla.elapsedMinutes == 480)
        #expect(handed.ticket.sla.dueAt == Self.nyc("2026-12-01 17:00"))
        #expect(handed.events.map(\.kind) == ["opened", "paused", "resumed", "assigned"] && handed.events.allSatisfy { $0.authorID == "u-a" })

        // Not breaching yet; on Wednesday 15:00 New York, breached by six business hours.
        #expect(try await ana.unary(Records.listTickets, .with { $0.breaching = true }).tickets.isEmpty)
        world.time.set(Self.nyc("2026-12-01 15:00"))
        let atRisk = try await ana.unary(Records.listTickets, .with { $0.breaching = true }).tickets
        #expect(atRisk.map(\.id) == [opened.id] && atRisk.first?.sla.atRisk == true && atRisk.first?.sla.remainingMinutes == 120)
        let riskReasons = try await world.acme(.analyst).unary(Receivables.worklist, .init()).rows.first { $0.customerID == "C1" }?.reasons ?? []
        #expect(riskReasons.contains("ticket \(opened.id) 'invoice copy' is at risk: 2 business hours left of its SLA"), "\(riskReasons)")
        world.time.set(Self.nyc("2026-12-02 15:00"))
        let breaching = try await world.acme(.viewer).unary(Records.listTickets, .with { $0.breaching = true }).tickets
        #expect(breaching.map(\.id) == [opened.id])
        #expect(breaching.first?.sla.breached == true && breaching.first?.sla.remainingMinutes == -360)
        #expect(breaching.first?.sla.breachedAt == Self.nyc("2026-12-01 17:00"))
        // The worklist says it, on the customer's row.
        let worklist = try await world.acme(.analyst).unary(Receivables.worklist, .init())
        let reasons = try #require(worklist.rows.first { $0.customerID == "C1" }).reasons
        #expect(reasons.contains("ticket \(opened.id) 'invoice copy' breached its SLA 6 business hours ago"), "\(reasons)")
        #expect(worklist.rows.first { $0.customerID == "C2" }?.reasons.contains { $0.hasPrefix("ticket") } != true)

        // Resolved, it leaves the breaching list; its history stays.
        _ = try await ana.unary(Records.addTicketEvent, Self.event(opened.id, "resolved", note: "sent the copy"))
        #expect(try await ana.unary(Records.listTickets, .with { $0.breaching = true }).tickets.isEmpty)
        let resolved = try await ana.unary(Records.getTicket, .with { $0.id = opened.id })
        #expect(resolved.ticket.status == "resolved" && resolved.ticket.sla.phase == "resolved" && resolved.events.count == 5)
    }

    @Test("viewers read, analysts open and work tickets, managers set calendars and SLA settings; another tenant's ids are not found")
    func rights() async throws {
        let world = try await Self.world()
        let ticket = try await world.acme(.analyst).unary(Records.openTicket, Self.newTicket())
        let viewerOpen = await refusal { _ = try await world.acme(.viewer).unary(Records.openTicket, Self.newTicket()) }
        #expect(viewerOpen?.code == .permissionDenied)
        let viewerComment = await refusal { _ = try await world.acme(.viewer).unary(Records.addTicketEvent, Self.event(ticket.id, "comment", note: "hi")) }
        #expect(viewerComment?.code == .permissionDenied)
        let viewerLink = await refusal { _ = try await world.acme(.viewer).unary(Records.linkTicket, .with { $0.ticketID = ticket.id }) }
        #expect(viewerLink?.code == .permissionDenied)
        for role in [Role.viewer, .analyst] {
            let calendar = await refusal {
                _ = try await world.acme(role).unary(Records.upsertTeamCalendars, .with { $0.calendars = [.with { $0.id = "tax-manila"; $0.timeZone = "Asia/Manila" }] })
            }
            #expect(calendar?.code == .permissionDenied, "\(role)")
            let deleting = await refusal { _ = try await world.acme(role).unary(Records.deleteTeamCalendars, .with { $0.ids = ["billing-manila"] }) }
            #expect(deleting?.code == .permissionDenied, "\(role)")
        }
        #expect(try await world.acme(.viewer).unary(Records.listTeamCalendars, .init()).calendars.map(\.id) == ["billing-manila", "billing-newyork"])
        #expect(try await world.acme(.viewer).unary(Records.getTeamCalendar, .with { $0.id = "billing-newyork" }).closes == "17:00")
        #expect(try await world.acme(.viewer).unary(Records.getTicket, .with { $0.id = ticket.id }).ticket.subject == "invoice copy")

        // Bayani's manager: nothing of Acme's, by list or by id, and no writing to it.
        let bayani = world.tenants.bayaniManager
        #expect(try await bayani.unary(Records.listTickets, .init()).tickets.isEmpty)
        #expect(try await bayani.unary(Records.listTeamCalendars, .init()).calendars.isEmpty)
        for call in [
            { _ = try await bayani.unary(Records.getTicket, .with { $0.id = ticket.id }) },
            { _ = try await bayani.unary(Records.addTicketEvent, Self.event(ticket.id, "comment", note: "mine now")) },
            { _ = try await bayani.unary(Records.linkTicket, .with { $0.ticketID = ticket.id; $0.disputeID = "D1" }) },
            { _ = try await bayani.unary(Records.getTeamCalendar, .with { $0.id = "billing-manila" }) },
            { _ = try await bayani.unary(Records.openTicket, Self.newTicket()) },
        ] as [@Sendable () async throws -> Void] {
            #expect(await refusal(call)?.code == .notFound)
        }
        #expect(try world.tenants.acme.store.ticketEvents(ticket.id).count == 1)

        // Managers set the SLA per priority: an urgent ticket then has an hour.
        let analystSetting = await refusal {
            _ = try await world.acme(.analyst).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "tickets.sla.urgent"; $0.value = "60" }] })
        }
        #expect(analystSetting?.code == .permissionDenied)
        _ = try await world.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "tickets.sla.urgent"; $0.value = "60" }] })
        var urgent = Self.newTicket()
        urgent.ticket.priority = "urgent"
        #expect(try await world.acme(.analyst).unary(Records.openTicket, urgent).slaMinutes == 60)
        let badSetting = await refusal {
            _ = try await world.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "tickets.sla.low"; $0.value = "0" }] })
        }
        #expect(badSetting?.code == .invalidArgument && badSetting?.details.first?.field == "tickets.sla.low")
    }

    @Test("what cannot be right is refused naming the field, and writes nothing")
    func refusals() async throws {
        let world = try await Self.world()
        let ana = world.acme(.analyst)
        let ticket = try await ana.unary(Records.openTicket, Self.newTicket())
        let badCategory = { var request = Self.newTicket(); request.ticket.category = "marketing"; return request }()
        let noSubject = { var request = Self.newTicket(); request.ticket.subject = " "; return request }()
        let forged = { var request = Self.event(ticket.id, "comment", note: "as Marta"); request.event.authorID = "u-m"; return request }()
        let cases: [(@Sendable () async throws -> Void, StatusCode, String)] = [
            ({ _ = try await ana.unary(Records.openTicket, badCategory) }, .invalidArgument, "category"),
            ({ _ = try await ana.unary(Records.openTicket, noSubject) }, .invalidArgument, "subject"),
            ({ _ = try await ana.unary(Records.openTicket, Self.newTicket(invoices: ["INV-2"])) }, .notFound, "invoice_ids[0]"),
            ({ _ = try await ana.unary(Records.openTicket, Self.newTicket("C9")) }, .notFound, "customer_id"),
            ({ _ = try await ana.unary(Records.openTicket, Self.newTicket(team: "nobody")) }, .notFound, "team_id"),
            ({ _ = try await ana.unary(Records.addTicketEvent, Self.event(ticket.id, "assigned", team: "legal-mars")) }, .notFound, "team_id"),
            ({ _ = try await ana.unary(Records.addTicketEvent, Self.event(ticket.id, "resumed")) }, .failedPrecondition, "kind"),
            ({ _ = try await ana.unary(Records.addTicketEvent, Self.event(ticket.id, "opened")) }, .invalidArgument, "kind"),
            ({ _ = try await ana.unary(Records.addTicketEvent, Self.event(ticket.id, "comment")) }, .invalidArgument, "note"),
            ({ _ = try await ana.unary(Records.addTicketEvent, forged) }, .invalidArgument, "author_id"),
            ({ _ = try await ana.unary(Records.addTicketEvent, Self.event("tkt_none", "comment", note: "x")) }, .notFound, "ticket_id"),
            ({ _ = try await ana.unary(Records.linkTicket, .with { $0.ticketID = ticket.id; $0.disputeID = "D-NONE" }) }, .notFound, "dispute_id"),
        ]
        for (index, (call, code, field)) in cases.enumerated() {
            let refused = await refusal(call)
            #expect(refused?.code == code && refused?.details.first?.field == field, "case \(index): \(String(describing: refused))")
        }
        #expect(try world.tenants.acme.store.tickets().items.count == 1)
        #expect(try world.tenants.acme.store.ticketEvents(ticket.id).map(\.kind) == [.opened])
        let bad = await refusal {
            _ = try await world.acme(.manager).unary(Records.upsertTeamCalendars, .with {
                $0.calendars = [.with { $0.id = "ok"; $0.timeZone = "UTC" }, .with { $0.id = "late"; $0.timeZone = "UTC"; $0.opens = "18:00"; $0.closes = "09:00" }]
            })
        }
        #expect(bad?.code == .invalidArgument && bad?.details.first?.field == "closes" && bad?.details.first?.line == 2)
        #expect(try world.tenants.acme.store.teamCalendar("ok") == nil)
    }

    @Test("a ticket opens a dispute or an approval request and links to it; only the ticket customer's")
    func links() async throws {
        let world = try await Self.world()
        let ana = world.acme(.analyst)
        let ticket = try await ana.unary(Records.openTicket, Self.newTicket())
        _ = try await ana.unary(Records.upsertDisputes, .with {
            $0.disputes = [
                .with { $0.id = "D1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = amount(100_00); $0.reasonCode = "pricing" },
                .with { $0.id = "D2"; $0.customerID = "C2"; $0.invoiceIds = ["INV-2"]; $0.amount = amount(100_00); $0.reasonCode = "pricing" },
            ]
        })
        let linked = try await ana.unary(Records.linkTicket, .with { $0.ticketID = ticket.id; $0.disputeID = "D1" })
        #expect(linked.disputeID == "D1" && linked.sla.phase == "running")
        let other = await refusal { _ = try await ana.unary(Records.linkTicket, .with { $0.ticketID = ticket.id; $0.disputeID = "D2" }) }
        #expect(other?.code == .notFound && other?.details.first?.field == "dispute_id")
        let request = try await ana.unary(Records.addApprovalRequest, .with {
            $0.request = .with { $0.kind = "writeoff"; $0.customerID = "C1"; $0.invoiceID = "INV-1"; $0.amount = amount(50_00); $0.reason = "ticket: short paid" }
        })
        let both = try await ana.unary(Records.linkTicket, .with { $0.ticketID = ticket.id; $0.requestID = request.id })
        #expect(both.disputeID == "D1" && both.requestID == request.id)
    }
}

extension TicketServiceTests {
    @Test("ticket SLA attainment in the metrics: of two normal tickets (16 business hours in Manila) resolved in the period, one in 8 hours, one after 20, is 50%; by the tenant's days; another analyst's row has none")
    func slaAttainment() async throws {
        let world = try await Self.world()
        let ana = world.acme(.analyst)
        // Both opened Friday Nov 27, 16:00 Manila; Monday Nov 30 is Bonifacio Day.
        let quick = try await ana.unary(Records.openTicket, Self.newTicket())
        let slow = try await ana.unary(Records.openTicket, Self.newTicket("C2", invoices: ["INV-2"]))
        // Tuesday Dec 1, 15:00 Manila (01:00 in Chicago): 2 + 6 business hours.
        world.time.set(Self.mnl("2026-12-01 15:00"))
        _ = try await ana.unary(Records.addTicketEvent, Self.event(quick.id, "resolved"))
        // Friday Dec 4, 17:00 Manila (03:00 in Chicago): 2 + 9 + 9 + 9 + 8 business hours, past 16.
        world.time.set(Self.mnl("2026-12-04 17:00"))
        _ = try await ana.unary(Records.addTicketEvent, Self.event(slow.id, "resolved"))

        let metrics = try await world.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-12-01"; $0.through = "2026-12-04"; $0.byAnalyst = true })
        let tenant = try #require(metrics.rows.first { $0.analystID.isEmpty })
        #expect(tenant.ticketsResolved == 2 && tenant.ticketsWithinSla == 1 && tenant.ticketSlaPercent == 50)
        #expect(metrics.rows.first { $0.analystID == "u-a" }?.ticketsResolved == 2)
        // Nov 30 in Chicago ends at 00:00 Dec 1 Chicago, 14:00 Manila: the quick one is not in it.
        let november = try #require(try await world.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-11-01"; $0.through = "2026-11-30" }).rows.first)
        #expect(november.ticketsResolved == 0 && !november.hasTicketSlaPercent)
        let other = try #require(try await world.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-12-01"; $0.through = "2026-12-04"; $0.analystID = "u-b" }).rows.first)
        #expect(other.ticketsResolved == 0 && !other.hasTicketSlaPercent)
    }
}
