import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// Escalations over the Dunning service (Protocol/dunning.proto): `dunlin escalations list|show`
// (answered from the replica offline), `dunlin escalations recall` and `evaluate` (the server's
// alone), and `dunlin escalations rule list|get|add|update|delete` (the record family of
// RecordCommands.swift; managers write rules).

typealias EscalationRuleCommand = RecordFamily<Dunlin_V1_EscalationRuleRecord>

extension EscalationAction: ExpressibleByArgument {}
extension EscalationStatus: ExpressibleByArgument {}
extension EscalationTrigger: ExpressibleByArgument {}

/// `dunlin escalations`.
struct EscalationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escalations", abstract: "Escalations to the manager and placements with collection agencies, and the rules that make them.",
        subcommands: [List.self, Show.self, Recall.self, Evaluate.self, EscalationRuleCommand.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List escalations and placements by the day they were made (offline from the replica).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's.") var customer = ""
        @Option(help: "Only escalations or only placements.") var action: EscalationAction?
        @Option(help: "Only active ones, or only recalled placements.") var status: EscalationStatus?

        func run() async throws {
            try await connection.withCaller { client in
                let (escalations, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Dunning.listEscalations, .with {
                        $0.customerID = customer
                        $0.action = action?.rawValue ?? ""
                        $0.status = status?.rawValue ?? ""
                        $0.pageSize = size
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.escalations, page.nextCursor)
                }
                if connection.json {
                    printJSON(encoding: ListJSON(key: "escalations", items: escalations.map(EscalationJSON.init), nextCursor: next))
                } else if escalations.isEmpty {
                    say("no escalations")
                } else {
                    let names = await Names.lookUp(escalations, client: client, connection: connection)
                    printTable([["customer", "action", "agency / assignee", "on", "status", "reason"]] + escalations.map { names.row($0) })
                    if !next.isEmpty { say("more: --cursor \(next)") }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an escalation with its account summary.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Escalation id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let escalation = try await client.unary(Dunning.getEscalation, .with { $0.id = id }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: EscalationJSON(escalation)) }
                let names = await Names.lookUp([escalation], client: client, connection: connection)
                names.detail(escalation)
            }
        }
    }

    struct Recall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recall a placement from its agency (managers; on the server): the customer is dunned again."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The placement's id (dunlin escalations list --action place --json shows it).") var id: String
        @Option(help: "Why it is recalled.") var reason: String

        func run() async throws {
            try await connection.withClient { client in
                let recalled = try await client.unary(Dunning.recallPlacement, .with { $0.id = id; $0.reason = reason }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: EscalationJSON(recalled)) }
                say("placement \(recalled.id) with \(recalled.agency) recalled on \(recalled.recalledOn)")
            }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the escalation rules now (managers; on the server; dunlind serve does it once a tenant day). Nothing is made twice."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "The date to evaluate as of (default: the tenant's today).") var asOf: String?

        func validate() throws {
            if let asOf, CivilDate(asOf) == nil { throw ValidationError("--as-of must be a date YYYY-MM-DD, not \"\(asOf)\"") }
        }

        func run() async throws {
            try await connection.withClient { client in
                let result = try await client.unary(Dunning.evaluateEscalations, .with { $0.asOf = asOf ?? "" }, options: connection.callOptions)
                if connection.json {
                    return printJSON(encoding: EvaluationJSON(created: result.created.map(EscalationJSON.init), existing: result.existing))
                }
                say("\(result.created.count) new escalations, \(result.existing) made before")
                if !result.created.isEmpty {
                    let names = await Names.lookUp(result.created, client: client, connection: connection)
                    printTable([["customer", "action", "agency / assignee", "on", "status", "reason"]] + result.created.map { names.row($0) })
                }
            }
        }
    }
}

/// The customers' and people's names an escalation table shows instead of ids.
private struct Names {
    var customers: [String: String]
    var people: People

    static func lookUp(_ escalations: [Dunlin_V1_EscalationRecord], client: any UnaryCaller, connection: ConnectionOptions) async -> Names {
        Names(
            customers: await CustomerNames.lookUp(escalations.map(\.customerID), client: client, connection: connection),
            people: await People.lookUp(connection: connection, client: client)
        )
    }

    func customer(_ id: String) -> String { customers[id] ?? id }

    func row(_ escalation: Dunlin_V1_EscalationRecord) -> [String] {
        let who = escalation.action == EscalationAction.place.rawValue ? escalation.agency : people.name(escalation.assigneeID)
        let status = escalation.status == EscalationStatus.recalled.rawValue
            ? "recalled \(escalation.recalledOn) by \(people.name(escalation.recalledBy))" : escalation.status
        return [customer(escalation.customerID), escalation.action, who, escalation.escalatedOn, status, escalation.reason]
    }

    func detail(_ escalation: Dunlin_V1_EscalationRecord) {
        let what = escalation.action == EscalationAction.place.rawValue
            ? "placed with \(escalation.agency)" : "escalated to \(escalation.assigneeID.isEmpty ? "nobody (no manager or analyst)" : people.name(escalation.assigneeID))"
        say("\(customer(escalation.customerID)): \(what) on \(escalation.escalatedOn), \(escalation.status)")
        say("why: \(escalation.reason)")
        say("account: \(escalation.summary)")
        if !escalation.taskID.isEmpty { say("task: \(escalation.taskID)") }
        if escalation.status == EscalationStatus.recalled.rawValue {
            say("recalled on \(escalation.recalledOn) by \(people.name(escalation.recalledBy)): \(escalation.recallReason)")
        }
    }
}

/// An escalation in `--json`: ids, never names.
struct EscalationJSON: Encodable {
    var id, customer_id, action, rule_id, notice_id, reason, agency, escalated_on, summary, task_id, assignee_id, status: String
    var recalled_on: String?
    var recalled_by, recall_reason: String
    var created_at: Int64

    init(_ escalation: Dunlin_V1_EscalationRecord) {
        id = escalation.id
        customer_id = escalation.customerID
        action = escalation.action
        rule_id = escalation.ruleID
        notice_id = escalation.noticeID
        reason = escalation.reason
        agency = escalation.agency
        escalated_on = escalation.escalatedOn
        summary = escalation.summary
        task_id = escalation.taskID
        assignee_id = escalation.assigneeID
        status = escalation.status
        recalled_on = escalation.recalledOn.isEmpty ? nil : escalation.recalledOn
        recalled_by = escalation.recalledBy
        recall_reason = escalation.recallReason
        created_at = escalation.createdAt
    }
}

struct EvaluationJSON: Encodable {
    var created: [EscalationJSON]
    var existing: UInt32
}

// MARK: Rules

extension Dunlin_V1_EscalationRuleRecord: RecordCommandKind {
    static var help: RecordHelp {
        RecordHelp(
            noun: "rule", command: "rule", family: "Escalation rules: what escalates a customer to the manager or places it with an agency.",
            list: "List rules by name.", add: "Add a rule (managers).",
            addDiscussion: """
                dunlin escalations rule add --name "Big and old" --overdue-days 60 --over "USD 10,000.00" --action escalate
                dunlin escalations rule add --name "Twice broken" --broken 2 --within 90 --action place --agency "Acme Recovery"
                """
        )
    }

    static var header: [String] { ["id", "name", "when", "action", "agency"] }
    func row(_ people: People) -> [String] { [id, name, condition, action, agency] }

    /// The rule's condition in words.
    var condition: String {
        (try? record(today: CivilDate(year: 2000, month: 1, day: 1)!, caller: ""))?.condition ?? trigger
    }

    struct JSON: Encodable {
        var id, name, trigger, action, agency: String
        var days, count, window_days: Int32
        var amount: AmountJSON?
    }

    var json: JSON {
        JSON(
            id: id, name: name, trigger: trigger, action: action, agency: agency, days: days, count: count, window_days: windowDays,
            amount: hasAmount ? AmountJSON(amount) : nil
        )
    }

    struct Filters: RecordFilters {
        func apply(to request: inout Dunlin_V1_ListEscalationRulesRequest) {}
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_EscalationRuleRecord
        @Option(help: "Rule name.") var name: String
        @Option(help: "Overdue rule: count items more than this many days past due.") var overdueDays: Int32?
        @Option(help: "Overdue rule: fire above this amount, in the base currency (\"USD 10,000.00\").") var over: String?
        @Option(help: "Broken-promises rule: fire at this many broken promises.") var broken: Int32?
        @Option(help: "Broken-promises rule: within the last this many days.") var within: Int32?
        @Option(help: "What it does.") var action: EscalationAction
        @Option(help: "place: the collection agency.") var agency = ""

        func record() throws -> Dunlin_V1_EscalationRuleRecord {
            try EscalationRuleText.rule(
                name: name, overdueDays: overdueDays, over: over, broken: broken, within: within, action: action, agency: agency
            )
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Rule name.") var name: String?
        @Option(help: "What it does.") var action: EscalationAction?
        @Option(help: "place: the collection agency.") var agency: String?

        func apply(to rule: inout Dunlin_V1_EscalationRuleRecord) {
            if let name { rule.name = name }
            if let action { rule.action = action.rawValue }
            if let agency { rule.agency = agency }
        }
    }
}

/// A rule from the CLI's options: exactly one trigger's options.
enum EscalationRuleText {
    static func rule(
        name: String, overdueDays: Int32?, over: String?, broken: Int32?, within: Int32?, action: EscalationAction, agency: String
    ) throws -> Dunlin_V1_EscalationRuleRecord {
        var rule = Dunlin_V1_EscalationRuleRecord()
        rule.name = name
        rule.action = action.rawValue
        rule.agency = agency
        switch (overdueDays != nil || over != nil, broken != nil || within != nil) {
        case (true, false):
            guard let overdueDays, let over else { throw ValidationError("an overdue rule needs --overdue-days and --over") }
            let words = over.split(separator: " ")
            guard words.count == 2, let currency = Currency(code: String(words[0])), let amount = try? Money(parsing: String(words[1]), currency: currency) else {
                throw ValidationError("--over: \"\(over)\" is not CUR AMOUNT (\"USD 10,000.00\")")
            }
            rule.trigger = EscalationTrigger.overdue.rawValue
            rule.days = overdueDays
            rule.amount = Dunlin_V1_Amount(amount)
        case (false, true):
            guard let broken, let within else { throw ValidationError("a broken-promises rule needs --broken and --within") }
            rule.trigger = EscalationTrigger.brokenPromises.rawValue
            rule.count = broken
            rule.windowDays = within
        default:
            throw ValidationError("give an overdue rule (--overdue-days, --over) or a broken-promises rule (--broken, --within), not both")
        }
        return rule
    }
}
