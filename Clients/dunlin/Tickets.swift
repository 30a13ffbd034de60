import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// The AR ticket queue over the Records service (Protocol/records.proto): `dunlin tickets
// add|list|show|assign|comment|pause|resume|resolve|reopen|link` and `dunlin teams
// set|list|delete` (the teams' calendars the SLA clock counts in). Everything works offline on the
// replica and syncs like every record.

extension TicketCategory: ExpressibleByArgument {}
extension TicketPriority: ExpressibleByArgument {}
extension TicketStatus: ExpressibleByArgument {}
extension Weekday: ExpressibleByArgument {}

/// A step in a ticket's life that takes only the ticket and a note (pause, resume, resolve,
/// reopen): one event of `kind`.
protocol TicketStep: AsyncParsableCommand {
    static var kind: String { get }
    var connection: ConnectionOptions { get }
    var id: String { get }
    var note: String { get }
}

extension TicketStep {
    func run() async throws {
        try await TicketsCommand.add(.with { $0.ticketID = id; $0.kind = Self.kind; $0.note = note }, connection)
    }
}

/// `dunlin tickets`.
struct TicketsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickets",
        abstract: "Inquiries from customers and internal teams, with an SLA in the assigned team's business hours.",
        discussion: """
            A ticket's SLA (business minutes, per priority: settings tickets.sla.<priority>) is counted \
            in the calendar of the team it is with (dunlin teams set), only while it is open: not while \
            it waits on the customer (pause), not once resolved. A hand-off to another team goes on \
            in that team's hours. list --breaching shows those not resolved that are breached or have a \
            quarter of the SLA left.
            """,
        subcommands: [Add.self, List.self, Show.self, Assign.self, Comment.self, Pause.self, Resume.self, Resolve.self, Reopen.self, Link.self],
        defaultSubcommand: List.self
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a ticket.",
            discussion: "dunlin tickets add C1 \"invoice copy\" --category billing --team billing-manila --invoice INV-1 --priority high"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The customer's id.") var customer: String
        @Argument(help: "What it is about.") var subject: String
        @Option(help: "billing, sales, tax, legal or customer_service.") var category: TicketCategory
        @Option(help: "The team it goes to (its calendar counts the SLA).") var team: String
        @Option(help: "low, normal, high or urgent.") var priority: TicketPriority = .normal
        @Option(name: .customLong("invoice"), help: "An invoice it concerns (repeat for more).") var invoices: [String] = []
        @Option(help: "Who works it (a user id).") var assignee = ""
        @Option(help: "The ticket's id (default: generated).") var id = ""
        @Option(help: "When the inquiry came in, ISO 8601 with an offset (default: now); the SLA counts from it.") var openedAt = ""

        func run() async throws {
            var opened: Int64 = 0
            if !openedAt.isEmpty {
                guard let instant = parseISOInstant(openedAt) else { throw ValidationError("--opened-at \"\(openedAt)\" is not ISO 8601 with an offset") }
                opened = Int64((instant.timeIntervalSince1970 * 1000).rounded())
            }
            let ticket = Dunlin_V1_TicketRecord.with {
                $0.openedAt = opened
                $0.id = id
                $0.customerID = customer
                $0.subject = subject
                $0.category = category.rawValue
                $0.priority = priority.rawValue
                $0.teamID = team
                $0.invoiceIds = invoices
                $0.assigneeID = assignee
            }
            try await connection.withCaller { client in
                let opened = try await client.unary(Records.openTicket, .with { $0.ticket = ticket }, options: connection.callOptions)
                TicketsCommand.show([opened], json: connection.json)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Tickets by opening, each with its SLA now.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this customer's.") var customer = ""
        @Option(help: "Only this team's.") var team = ""
        @Option(help: "Only this person's.") var assignee = ""
        @Option(help: "Only these statuses (repeat): open, waiting_on_customer, resolved.") var status: [TicketStatus] = []
        @Flag(help: "Only those not resolved that are breached or at risk (a quarter of the SLA left).") var breaching = false

        func run() async throws {
            try await connection.withCaller { client in
                var tickets: [Dunlin_V1_TicketRecord] = []
                var cursor = ""
                repeat {
                    let page = try await client.unary(Records.listTickets, .with {
                        $0.customerID = customer
                        $0.teamID = team
                        $0.assigneeID = assignee
                        $0.statuses = status.map(\.rawValue)
                        $0.breaching = breaching
                        $0.pageSize = 1000
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    tickets += page.tickets
                    cursor = page.nextCursor
                } while !cursor.isEmpty
                TicketsCommand.show(tickets, json: connection.json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A ticket, its SLA now and its history.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let found = try await client.unary(Records.getTicket, .with { $0.id = id }, options: connection.callOptions)
                TicketsCommand.show(found, json: connection.json)
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hand a ticket to a team, a person, or both.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "The team it goes to.") var team = ""
        @Option(help: "The person who works it.") var to = ""
        @Option(help: "Why.") var note = ""

        func validate() throws {
            guard !team.isEmpty || !to.isEmpty else { throw ValidationError("name a --team, a person (--to), or both") }
        }

        func run() async throws {
            try await TicketsCommand.add(.with { $0.ticketID = id; $0.kind = "assigned"; $0.teamID = team; $0.assigneeID = to; $0.note = note }, connection)
        }
    }

    struct Comment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Comment on a ticket.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Argument(help: "The comment.") var text: String

        func run() async throws {
            try await TicketsCommand.add(.with { $0.ticketID = id; $0.kind = "comment"; $0.note = text }, connection)
        }
    }

    struct Pause: TicketStep {
        static let kind = "paused"
        static let configuration = CommandConfiguration(abstract: "Wait on the customer: the SLA clock stops.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "What the customer owes us.") var note = ""
    }

    struct Resume: TicketStep {
        static let kind = "resumed"
        static let configuration = CommandConfiguration(abstract: "The customer answered: the SLA clock goes on.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "What came in.") var note = ""
    }

    struct Resolve: TicketStep {
        static let kind = "resolved"
        static let configuration = CommandConfiguration(abstract: "Resolve a ticket: the SLA clock stops.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "How it was resolved.") var note = ""
    }

    struct Reopen: TicketStep {
        static let kind = "reopened"
        static let configuration = CommandConfiguration(abstract: "Reopen a resolved ticket: the SLA clock goes on from where it stopped.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "Why.") var note = ""
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link the dispute or approval request a ticket opened.",
            discussion: "dunlin disputes add ... --id D-7, then dunlin tickets link T-12 --dispute D-7 (the customer's own)."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The ticket's id.") var id: String
        @Option(help: "A dispute's id.") var dispute = ""
        @Option(help: "An approval request's id.") var request = ""

        func validate() throws {
            guard !dispute.isEmpty || !request.isEmpty else { throw ValidationError("name a --dispute, a --request, or both") }
        }

        func run() async throws {
            try await connection.withCaller { client in
                let linked = try await client.unary(Records.linkTicket, .with {
                    $0.ticketID = id
                    $0.disputeID = dispute
                    $0.requestID = request
                }, options: connection.callOptions)
                TicketsCommand.show([linked], json: connection.json)
            }
        }
    }

    static func add(_ event: Dunlin_V1_TicketEventRecord, _ connection: ConnectionOptions) async throws {
        try await connection.withCaller { client in
            let ticket = try await client.unary(Records.addTicketEvent, .with { $0.event = event }, options: connection.callOptions)
            show(ticket, json: connection.json)
        }
    }

    /// The SLA in words: "due 2026-12-01 17:00 -05:00 (480 of 960 min left)", "breached 360 min ago".
    static func slaText(_ sla: Dunlin_V1_TicketSLA) -> String {
        switch sla.phase {
        case "paused": return "paused, \(sla.remainingMinutes) of \(sla.slaMinutes) min left"
        case "resolved": return sla.breached ? "resolved, \(-sla.remainingMinutes) min over" : "resolved within"
        default:
            if sla.breached { return "BREACHED \(-sla.remainingMinutes) business min ago" }
            let due = sla.hasDueAt ? "due \(localTime(milliseconds: sla.dueAt))" : "no working time ahead"
            return "\(due) (\(sla.remainingMinutes) of \(sla.slaMinutes) min left)\(sla.atRisk ? ", AT RISK" : "")"
        }
    }

    static func show(_ tickets: [Dunlin_V1_TicketRecord], json: Bool) {
        if json { return printJSON(tickets.map(ticketJSON)) }
        printTable([["id", "customer", "priority", "status", "team", "assignee", "subject", "sla"]] + tickets.map {
            [$0.id, $0.customerID, $0.priority, $0.status, $0.teamID, $0.assigneeID, $0.subject, slaText($0.sla)]
        })
    }

    static func show(_ found: Dunlin_V1_GetTicketResponse, json: Bool) {
        if json {
            var object = ticketJSON(found.ticket)
            object["events"] = found.events.map { event in
                [
                    "id": event.id, "kind": event.kind, "at": event.at, "author_id": event.authorID, "team_id": event.teamID,
                    "assignee_id": event.assigneeID, "note": event.note,
                ] as [String: Any]
            }
            return printJSON(object)
        }
        let ticket = found.ticket
        say("\(ticket.id)  \(ticket.subject)")
        say("customer \(ticket.customerID)  invoices \(ticket.invoiceIds.joined(separator: ", "))  \(ticket.category), \(ticket.priority)")
        say("status \(ticket.status)  team \(ticket.teamID)  assignee \(ticket.assigneeID.isEmpty ? "-" : ticket.assigneeID)")
        if !ticket.disputeID.isEmpty || !ticket.requestID.isEmpty { say("dispute \(ticket.disputeID)  request \(ticket.requestID)") }
        say("SLA: \(slaText(ticket.sla)), \(ticket.sla.elapsedMinutes) business min counted")
        printTable([["at", "event", "by", "team", "assignee", "note"]] + found.events.map {
            [localTime(milliseconds: $0.at), $0.kind, $0.authorID, $0.teamID, $0.assigneeID, $0.note]
        })
    }

    static func ticketJSON(_ ticket: Dunlin_V1_TicketRecord) -> [String: Any] {
        var sla: [String: Any] = [
            "phase": ticket.sla.phase, "team_id": ticket.sla.teamID, "elapsed_minutes": ticket.sla.elapsedMinutes,
            "sla_minutes": ticket.sla.slaMinutes, "remaining_minutes": ticket.sla.remainingMinutes, "at_risk": ticket.sla.atRisk,
            "breached": ticket.sla.breached,
        ]
        if ticket.sla.hasDueAt { sla["due_at"] = ticket.sla.dueAt }
        if ticket.sla.hasBreachedAt { sla["breached_at"] = ticket.sla.breachedAt }
        return [
            "id": ticket.id, "customer_id": ticket.customerID, "invoice_ids": ticket.invoiceIds, "category": ticket.category,
            "priority": ticket.priority, "subject": ticket.subject, "status": ticket.status, "team_id": ticket.teamID,
            "assignee_id": ticket.assigneeID, "opened_at": ticket.openedAt, "sla_minutes": ticket.slaMinutes, "dispute_id": ticket.disputeID,
            "request_id": ticket.requestID, "sla": sla,
        ]
    }
}

/// `dunlin teams`: the calendars tickets' SLAs are counted in (managers set them).
struct TeamsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teams",
        abstract: "The teams that answer tickets: their time zone, working days, hours and holidays.",
        subcommands: [Set.self, List.self, Delete.self], defaultSubcommand: List.self
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a team's calendar (managers).",
            discussion: "dunlin teams set billing-manila --time-zone Asia/Manila --hours 09:00-18:00 --holiday 2026-11-30 --holiday 2026-12-08"
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The team's name (letters, digits, _ - .).") var team: String
        @Option(help: "Its IANA time zone.") var timeZone: String
        @Option(help: "Its working hours, HH:MM-HH:MM on its clock.") var hours = "09:00-17:00"
        @Option(name: .customLong("day"), help: "A working day, mon to sun (repeat; default mon-fri).") var days: [Weekday] = []
        @Option(name: .customLong("holiday"), help: "A day off, YYYY-MM-DD (repeat).") var holidays: [String] = []
        @Option(name: .customLong("member"), help: "A user (id) in the team, for the metrics' team rows (repeat).") var members: [String] = []

        func run() async throws {
            let span = hours.split(separator: "-", omittingEmptySubsequences: false)
            guard span.count == 2 else { throw ValidationError("--hours is HH:MM-HH:MM, not \"\(hours)\"") }
            let calendar = Dunlin_V1_TeamCalendarRecord.with {
                $0.id = team
                $0.timeZone = timeZone
                $0.opens = String(span[0])
                $0.closes = String(span[1])
                $0.workingDays = days.map(\.rawValue)
                $0.holidays = holidays
                $0.members = members
            }
            try await connection.withCaller { client in
                let saved = try await client.unary(Records.upsertTeamCalendars, .with { $0.calendars = [calendar] }, options: connection.callOptions)
                TeamsCommand.show(saved.calendars, json: connection.json)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The teams' calendars.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await connection.withCaller { client in
                var calendars: [Dunlin_V1_TeamCalendarRecord] = []
                var cursor = ""
                repeat {
                    let page = try await client.unary(Records.listTeamCalendars, .with { $0.pageSize = 1000; $0.cursor = cursor }, options: connection.callOptions)
                    calendars += page.calendars
                    cursor = page.nextCursor
                } while !cursor.isEmpty
                TeamsCommand.show(calendars, json: connection.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a team's calendar (its tickets then count round the clock).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The team's name.") var team: String

        func run() async throws {
            try await connection.withCaller { client in
                _ = try await client.unary(Records.deleteTeamCalendars, .with { $0.ids = [team] }, options: connection.callOptions)
                if connection.json { printJSON(["deleted": team]) } else { say("deleted the calendar of \(team)") }
            }
        }
    }

    static func show(_ calendars: [Dunlin_V1_TeamCalendarRecord], json: Bool) {
        if json {
            return printJSON(calendars.map {
                ["id": $0.id, "time_zone": $0.timeZone, "working_days": $0.workingDays, "opens": $0.opens, "closes": $0.closes, "holidays": $0.holidays] as [String: Any]
            })
        }
        printTable([["team", "time zone", "days", "hours", "holidays"]] + calendars.map {
            [$0.id, $0.timeZone, $0.workingDays.joined(separator: ","), "\($0.opens)-\($0.closes)", $0.holidays.joined(separator: ", ")]
        })
    }
}
