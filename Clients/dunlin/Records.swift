import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// The collection records and the activity log over the Records service (Protocol/records.proto):
// `dunlin contacts|disputes|promises|tasks list|get|add|update|delete` (one family,
// RecordCommands.swift, with each kind's columns, JSON and options here), `dunlin promises
// evaluate`, `dunlin log call|email|letter|meeting|note` and `dunlin activities`.

typealias ContactsCommand = RecordFamily<Dunlin_V1_ContactRecord>
typealias DisputesCommand = RecordFamily<Dunlin_V1_DisputeRecord>
typealias PromisesCommand = RecordFamily<Dunlin_V1_PromiseRecord>
typealias TasksCommand = RecordFamily<Dunlin_V1_TaskRecord>

// The domain's choices as option values: help lists them and a bad one exits 64 before any call.
extension ContactChannel: ExpressibleByArgument {}
extension DisputeStatus: ExpressibleByArgument {}
extension DisputeOwnerTeam: ExpressibleByArgument {}
extension PromiseStatus: ExpressibleByArgument {}
extension ActivityKind: ExpressibleByArgument {}

// MARK: Shared

/// The paging options every list command takes.
struct PageOptions: ParsableArguments {
    @Option(help: "Rows per page (at most 1000).") var pageSize: UInt32 = 100
    @Option(help: "Start after this cursor (from a previous page).") var cursor = ""
    @Flag(help: "Follow the cursor to the last page.") var all = false

    /// One page from `--cursor`, or with `--all` every page after it; and the cursor after the
    /// rows read (empty when they reach the end).
    func read<Row>(_ page: (_ size: UInt32, _ cursor: String) async throws -> (rows: [Row], next: String)) async throws -> (rows: [Row], next: String) {
        var rows: [Row] = []
        var next = cursor
        repeat {
            let (more, after) = try await page(pageSize, next)
            rows += more
            next = after
        } while all && !next.isEmpty
        return (rows, next)
    }
}


// MARK: Contacts

extension Dunlin_V1_ContactRecord: RecordCommandKind {

    static var help: RecordHelp {
        RecordHelp(
            noun: "contact", family: "People at customers: role, email, phone, preferred channel.",
            list: "List contacts by name (--all for every page).", add: "Add a contact to a customer."
        )
    }

    static var header: [String] { ["id", "customer", "name", "role", "email", "phone", "channel"] }
    func row(_ people: People) -> [String] { [id, customerID, name, role, email, phone, preferredChannel] }

    struct JSON: Encodable {
        var id, customer_id, name, role, email, phone, preferred_channel: String
    }

    var json: JSON {
        JSON(id: id, customer_id: customerID, name: name, role: role, email: email, phone: phone, preferred_channel: preferredChannel)
    }

    struct Filters: RecordFilters {
        @Option(help: "Only this customer's contacts.") var customer = ""
        func apply(to request: inout Dunlin_V1_ListContactsRequest) { request.customerID = customer }
    }

    /// The fields `add` and `update` share.
    struct Fields: ParsableArguments {
        @Option(help: "Their job at the customer (AP clerk, Controller).") var role: String?
        @Option(help: "Email address.") var email: String?
        @Option(help: "Telephone number.") var phone: String?
        @Option(help: "Preferred channel (default email).") var channel: ContactChannel?

        func apply(to contact: inout Dunlin_V1_ContactRecord) {
            if let role { contact.role = role }
            if let email { contact.email = email }
            if let phone { contact.phone = phone }
            if let channel { contact.preferredChannel = channel.rawValue }
        }
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_ContactRecord
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Full name.") var name: String
        @OptionGroup var fields: Fields

        func record() -> Dunlin_V1_ContactRecord {
            var contact = Dunlin_V1_ContactRecord()
            contact.customerID = customer
            contact.name = name
            fields.apply(to: &contact)
            return contact
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Move to this customer.") var customer: String?
        @Option(help: "Full name.") var name: String?
        @OptionGroup var fields: Fields

        func apply(to contact: inout Dunlin_V1_ContactRecord) {
            if let customer { contact.customerID = customer }
            if let name { contact.name = name }
            fields.apply(to: &contact)
        }
    }
}

// MARK: Disputes

extension Dunlin_V1_DisputeRecord: RecordCommandKind {

    static var help: RecordHelp {
        RecordHelp(
            noun: "dispute", family: "Customers' objections to invoices: amount, reason, status, owner team.",
            list: "List disputes by the date they were opened (--all for every page).", add: "Open a dispute.",
            addDiscussion: "dunlin disputes add --customer C1 --invoice INV-1 --amount 250.00 --currency USD --reason pricing",
            updateDiscussion: "dunlin disputes update DSP-1 --status resolved --note \"credit memo CM-7 issued\""
        )
    }

    static var header: [String] { ["id", "customer", "invoices", "cur", "amount", "reason", "status", "team", "opened", "resolved"] }
    func row(_ people: People) -> [String] {
        [id, customerID, invoiceIds.joined(separator: " "), amount.currency, text(amount), reasonCode, status, ownerTeam, openedOn, resolvedOn]
    }

    struct JSON: Encodable {
        var id, customer_id: String
        var invoice_ids: [String]
        var amount: AmountJSON
        var reason_code, status, owner_team, opened_on, note: String
        var resolved_on: String?
    }

    var json: JSON {
        JSON(
            id: id, customer_id: customerID, invoice_ids: invoiceIds, amount: AmountJSON(amount), reason_code: reasonCode,
            status: status, owner_team: ownerTeam, opened_on: openedOn, note: note, resolved_on: resolvedOn.isEmpty ? nil : resolvedOn
        )
    }

    var remark: String? { note.isEmpty ? nil : "note: \(note)" }

    struct Filters: RecordFilters {
        @Option(help: "Only this customer's disputes.") var customer = ""
        @Option(help: "Only disputes of this invoice.") var invoice = ""
        @Option(help: "Only this status (repeat for several).") var status: [DisputeStatus] = []
        @Option(help: "Only this owner team (repeat for several).") var team: [DisputeOwnerTeam] = []
        @Option(help: "Opened on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Opened on or before YYYY-MM-DD.") var through = ""

        func apply(to request: inout Dunlin_V1_ListDisputesRequest) {
            request.customerID = customer
            request.invoiceID = invoice
            request.statuses = status.map(\.rawValue)
            request.ownerTeams = team.map(\.rawValue)
            request.openedFrom = from
            request.openedThrough = through
        }
    }

    /// The fields `add` and `update` share.
    struct Fields: ParsableArguments {
        @Option(help: "Owner team (default billing).") var team: DisputeOwnerTeam?
        @Option(help: "Status (default open).") var status: DisputeStatus?
        @Option(help: "Date it was resolved or rejected, YYYY-MM-DD (default: today in the tenant's time zone when closing).") var resolved: String?
        @Option(help: "Free-text note.") var note: String?

        /// Sets the fields given; closing without --resolved leaves the date to the service (the
        /// tenant's today), reopening clears it.
        func apply(to dispute: inout Dunlin_V1_DisputeRecord) {
            if let team { dispute.ownerTeam = team.rawValue }
            if let note { dispute.note = note }
            if let status {
                dispute.status = status.rawValue
                if !status.isClosed { dispute.resolvedOn = "" }
            }
            if let resolved { dispute.resolvedOn = resolved }
        }
    }

    struct NewRecord: NewRecordOptions {
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Disputed invoice id (repeat for several).") var invoice: [String]
        @Option(help: "Disputed amount, e.g. 1,000.50.") var amount: String
        @Option(help: "ISO 4217 currency (default: the invoices').") var currency: String?
        @Option(help: "Reason code (pricing, damaged_goods, not_received...).") var reason: String
        @Option(help: "Date opened, YYYY-MM-DD (default: today in the tenant's time zone).") var opened = ""
        @OptionGroup var fields: Fields

        func record(client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> Dunlin_V1_DisputeRecord {
            var dispute = Dunlin_V1_DisputeRecord()
            dispute.customerID = customer
            dispute.invoiceIds = invoice
            dispute.amount = try money(amount, try await invoiceCurrency(currency, of: invoice, client: client, options: options), option: "--amount")
            dispute.reasonCode = reason
            dispute.openedOn = opened
            fields.apply(to: &dispute)
            return dispute
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Disputed invoice id; replaces the list (repeat for several).") var invoice: [String] = []
        @Option(help: "Disputed amount, in the dispute's currency unless --currency.") var amount: String?
        @Option(help: "ISO 4217 currency for --amount.") var currency: String?
        @Option(help: "Reason code.") var reason: String?
        @OptionGroup var fields: Fields

        func apply(to dispute: inout Dunlin_V1_DisputeRecord) throws {
            if !invoice.isEmpty { dispute.invoiceIds = invoice }
            if let amount { dispute.amount = try money(amount, currency ?? dispute.amount.currency, option: "--amount") }
            if let reason { dispute.reasonCode = reason }
            fields.apply(to: &dispute)
        }
    }
}

// MARK: Promises to pay

extension Dunlin_V1_PromiseRecord: RecordCommandKind {
    static var moreCommands: [any ParsableCommand.Type] { [EvaluatePromise.self] }

    static var help: RecordHelp {
        RecordHelp(
            noun: "promise", family: "Promises to pay: amount, date, and whether they were kept.",
            list: "List promises by promised date (--all for every page).",
            add: "Record a promise to pay.", get: "Show a promise as recorded (see evaluate for what the ledger says).",
            addDiscussion: """
                dunlin promises add --customer C1 --invoice INV-1 --amount 5,000 --currency USD --date 2026-11-27
                A payment plan: dunlin promises add --customer C1 --invoice INV-1 --installment 2026-12-15=5000 --installment 2027-01-15=5000
                """
        )
    }

    static var header: [String] { ["id", "customer", "invoices", "cur", "amount", "made", "promised", "status"] }
    func row(_ people: People) -> [String] {
        [id, customerID, invoiceIds.joined(separator: " "), amount.currency, text(amount), madeOn,
         installments.isEmpty ? promisedDate : "\(promisedDate) (\(installments.count) installments)", status]
    }

    struct JSON: Encodable {
        struct Installment: Encodable {
            var due_date: String
            var amount: AmountJSON
        }

        var id, customer_id: String
        var invoice_ids: [String]
        var amount: AmountJSON
        var made_on, promised_date, status, note: String
        var installments: [Installment]
    }

    var json: JSON {
        JSON(
            id: id, customer_id: customerID, invoice_ids: invoiceIds, amount: AmountJSON(amount), made_on: madeOn,
            promised_date: promisedDate, status: status, note: note,
            installments: installments.map { .init(due_date: $0.dueDate, amount: AmountJSON($0.amount)) }
        )
    }

    var remark: String? { note.isEmpty ? nil : "note: \(note)" }

    struct Filters: RecordFilters {
        @Option(help: "Only this customer's promises.") var customer = ""
        @Option(help: "Only promises covering this invoice.") var invoice = ""
        @Option(help: "Only this status (repeat for several).") var status: [PromiseStatus] = []
        @Option(help: "Promised on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Promised on or before YYYY-MM-DD.") var through = ""

        func apply(to request: inout Dunlin_V1_ListPromisesRequest) {
            request.customerID = customer
            request.invoiceID = invoice
            request.statuses = status.map(\.rawValue)
            request.promisedFrom = from
            request.promisedThrough = through
        }
    }

    struct NewRecord: NewRecordOptions {
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Invoice the payment is for (repeat for several).") var invoice: [String]
        @Option(help: "Promised amount, e.g. 5,000.00 (default with --installment: their sum).") var amount: String?
        @Option(help: "ISO 4217 currency (default: the invoices').") var currency: String?
        @Option(help: "The date the customer promised to pay by, YYYY-MM-DD (default with --installment: the last one's).") var date: String?
        @Option(help: "A payment plan's installment, DATE=AMOUNT, e.g. 2026-12-15=5000 (repeat, in date order).") var installment: [String] = []
        @Option(help: "The date the promise was made (default: today in the tenant's time zone).") var madeOn = ""
        @Option(help: "Free-text note.") var note = ""

        func record(client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> Dunlin_V1_PromiseRecord {
            var promise = Dunlin_V1_PromiseRecord()
            promise.customerID = customer
            promise.invoiceIds = invoice
            let code = try await invoiceCurrency(currency, of: invoice, client: client, options: options)
            var total: Int64 = 0
            for pair in installment {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, CivilDate(parts[0]) != nil else {
                    throw ValidationError("--installment: \"\(pair)\" is not DATE=AMOUNT, e.g. 2026-12-15=5000")
                }
                let amount = try money(parts[1], code, option: "--installment")
                let (sum, overflow) = total.addingReportingOverflow(amount.minor)
                guard !overflow else { throw ValidationError("--installment: the installments add up to more than an amount can be") }
                total = sum
                promise.installments.append(.with { $0.dueDate = parts[0]; $0.amount = amount })
            }
            if let amount {
                promise.amount = try money(amount, code, option: "--amount")
            } else if !promise.installments.isEmpty {
                promise.amount = .with { $0.currency = code; $0.minor = total }
            } else {
                throw ValidationError("--amount is needed (or --installment DATE=AMOUNT for a payment plan)")
            }
            guard let promised = date ?? promise.installments.last?.dueDate else {
                throw ValidationError("--date is needed (or --installment DATE=AMOUNT for a payment plan)")
            }
            promise.promisedDate = promised
            promise.madeOn = madeOn
            promise.note = note
            return promise
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "Invoice id; replaces the list (repeat for several).") var invoice: [String] = []
        @Option(help: "Promised amount, in the promise's currency unless --currency.") var amount: String?
        @Option(help: "ISO 4217 currency for --amount.") var currency: String?
        @Option(help: "The date promised, YYYY-MM-DD.") var date: String?
        @Option(help: "Status.") var status: PromiseStatus?
        @Option(help: "Free-text note.") var note: String?

        func apply(to promise: inout Dunlin_V1_PromiseRecord) throws {
            if !invoice.isEmpty { promise.invoiceIds = invoice }
            if let amount { promise.amount = try money(amount, currency ?? promise.amount.currency, option: "--amount") }
            if let date { promise.promisedDate = date }
            if let status { promise.status = status.rawValue }
            if let note { promise.note = note }
        }
    }
}

struct EvaluatePromise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure a promise against the payments applied to its invoices.",
        discussion: """
            Kept when the full amount arrived by the promised date plus the grace days; otherwise open until \
            then, and afterwards partly kept or broken. --record stores the status on the promise (analysts).
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Promise id.") var id: String
    @Option(help: "Evaluate as of YYYY-MM-DD (default: today in the tenant's time zone).") var asOf = ""
    @Option(help: "Days after the promised date a payment still counts (default 3).") var graceDays: UInt32?
    @Flag(help: "Store the evaluated status on the promise.") var record = false

    struct JSON: Encodable {
        struct Installment: Encodable {
            var due_date: String
            var amount: AmountJSON
            var status: String
            var received: AmountJSON
            var deadline: String
        }

        var promise: Dunlin_V1_PromiseRecord.JSON
        var status: String
        var received: AmountJSON
        var deadline, as_of: String
        var recorded: Bool
        var installments: [Installment]
    }

    func run() async throws {
        try await connection.withCaller { client in
            let result = try await client.unary(Records.evaluatePromise, .with {
                $0.id = id; $0.asOf = asOf; $0.record = record
                if let graceDays { $0.graceDays = graceDays }
            }, options: connection.callOptions)
            let promise = result.promise
            if connection.json {
                printJSON(encoding: JSON(
                    promise: promise.json, status: result.status, received: AmountJSON(result.received),
                    deadline: result.deadline, as_of: result.asOf, recorded: result.recorded,
                    installments: result.installments.map {
                        .init(due_date: $0.dueDate, amount: AmountJSON($0.amount), status: $0.status, received: AmountJSON($0.received), deadline: $0.deadline)
                    }
                ))
            } else {
                printTable([
                    ["id", "cur", "promised", "received", "promised date", "deadline", "as of", "status", "recorded"],
                    [promise.id, promise.amount.currency, text(promise.amount), text(result.received), promise.promisedDate,
                     result.deadline, result.asOf, result.status, result.recorded ? "yes" : ""],
                ])
                if !promise.installments.isEmpty {
                    printTable([["installment", "due", "amount", "received", "deadline", "status"]] + result.installments.enumerated().map { index, item in
                        ["\(index + 1)", item.dueDate, text(item.amount), text(item.received), item.deadline, item.status]
                    })
                }
            }
        }
    }
}

// MARK: Tasks

/// A task list filter: open or done.
enum TaskState: String, EnumerableFlag {
    case open
    case done

    static func help(for value: TaskState) -> ArgumentHelp? {
        value == .open ? "Only tasks not done." : "Only tasks done."
    }
}

extension Dunlin_V1_TaskRecord: RecordCommandKind {
    static var showsPeople: Bool { true }

    static var help: RecordHelp {
        RecordHelp(
            noun: "task", family: "To-dos and reminders on analysts' worklists.",
            list: "List tasks by due date (--all for every page); the assignee by name (--json: the id).",
            add: "Add a task.", addDiscussion: "Analysts add tasks for themselves; managers may assign them to anyone with --assignee.",
            updateDiscussion: "dunlin tasks update TSK-1 --done; reassigning (--assignee) needs the manager role."
        )
    }

    static var header: [String] { ["id", "due", "assignee", "customer", "done", "title"] }
    func row(_ people: People) -> [String] { [id, dueDate, people.name(assigneeID), customerID, done ? "yes" : "", title] }

    struct JSON: Encodable {
        var id, assignee_id, customer_id, title, due_date: String
        var done: Bool
        var notes: String
    }

    var json: JSON {
        JSON(id: id, assignee_id: assigneeID, customer_id: customerID, title: title, due_date: dueDate, done: done, notes: notes)
    }

    var remark: String? { notes.isEmpty ? nil : "notes: \(notes)" }

    struct Filters: RecordFilters {
        @Option(help: "Only tasks assigned to this user id.") var assignee = ""
        @Option(help: "Only tasks about this customer.") var customer = ""
        @Flag var state: TaskState?
        @Option(help: "Due on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Due on or before YYYY-MM-DD.") var through = ""

        func apply(to request: inout Dunlin_V1_ListTasksRequest) {
            request.assigneeID = assignee
            request.customerID = customer
            if let state { request.done = state == .done }
            request.dueFrom = from
            request.dueThrough = through
        }
    }

    struct NewRecord: PlainNewRecordOptions {
        typealias Record = Dunlin_V1_TaskRecord
        @Option(help: "What to do.") var title: String
        @Option(help: "Due date YYYY-MM-DD (default: today in the tenant's time zone).") var due = ""
        @Option(help: "User id of who should do it (default: you).") var assignee = ""
        @Option(help: "The customer it is about.") var customer = ""
        @Option(help: "Free-text notes.") var notes = ""

        func record() -> Dunlin_V1_TaskRecord {
            var task = Dunlin_V1_TaskRecord()
            task.title = title
            task.dueDate = due
            task.assigneeID = assignee
            task.customerID = customer
            task.notes = notes
            return task
        }
    }

    struct Changes: RecordChanges {
        @Option(help: "What to do.") var title: String?
        @Option(help: "Due date YYYY-MM-DD.") var due: String?
        @Option(help: "User id of who should do it.") var assignee: String?
        @Option(help: "The customer it is about (empty for none).") var customer: String?
        @Option(help: "Free-text notes.") var notes: String?
        @Flag(inversion: .prefixedNo, help: "Mark done (--done) or not done (--no-done).") var done: Bool?

        func apply(to task: inout Dunlin_V1_TaskRecord) {
            if let title { task.title = title }
            if let due { task.dueDate = due }
            if let assignee { task.assigneeID = assignee }
            if let customer { task.customerID = customer }
            if let notes { task.notes = notes }
            if let done { task.done = done }
        }
    }
}

// MARK: Activity log

extension Dunlin_V1_ActivityRecord {
    struct JSON: Encodable {
        var id, customer_id, kind, direction, outcome, author_id, occurred_at: String
        var occurred_at_ms: Int64
        var body: String
    }

    var json: JSON {
        JSON(
            id: id, customer_id: customerID, kind: kind, direction: direction, outcome: outcome, author_id: authorID,
            occurred_at: isoInstant(occurredAt), occurred_at_ms: occurredAt, body: body
        )
    }

    static let header = ["when", "kind", "direction", "customer", "author", "outcome", "id"]
    /// The table row; the author by name where `people` knows it.
    func row(_ people: People) -> [String] {
        [localTime(milliseconds: occurredAt), kind, direction, customerID, people.name(authorID), outcome, id]
    }
}

/// An instant as ISO 8601 in UTC with milliseconds, for JSON.
private func isoInstant(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Activity.instant(milliseconds: milliseconds))
}



/// Reads `--at`: ISO 8601 with an offset ("2026-11-23T09:05:00+08:00", "...Z"), or
/// "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DDTHH:MM[:SS]" in this machine's time zone.
func parseInstant(_ text: String, option: String) throws -> Date {
    if let date = parseISOInstant(text) { return date }
    let local = DateFormatter()
    local.locale = Locale(identifier: "en_US_POSIX")
    local.timeZone = .current
    for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"] {
        local.dateFormat = format
        if let date = local.date(from: text) { return date }
    }
    throw ValidationError("\(option): \"\(text)\" is not a time (2026-11-23T09:05:00+08:00, or 2026-11-23 09:05 in local time)")
}

/// Who reached whom, for `dunlin log`.
enum LoggedDirection: String, EnumerableFlag {
    case inbound
    case outbound

    static func help(for value: LoggedDirection) -> ArgumentHelp? {
        value == .inbound ? "The customer reached us." : "We reached the customer (the default for calls, emails and letters)."
    }
}

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Log a call, email, letter, meeting or note on a customer (you are its author).",
        discussion: "dunlin log call --customer C1 --outcome \"promised 5,000 by Friday\" --body \"spoke with Ana, AP\"",
        subcommands: [Call.self, Email.self, Letter.self, Meeting.self, Note.self]
    )

    struct Fields: ParsableArguments {
        @Option(help: "Customer id.") var customer: String
        @Option(help: "What came of it, short (left voicemail, promised 5,000 by Friday).") var outcome = ""
        @Option(help: "The details.") var body = ""
        @Option(help: "When it happened (default: now): 2026-11-23T09:05:00+08:00, or 2026-11-23 09:05 in local time.") var at: String?
        @Option(help: "Activity id (default: generated); logging the same id twice is refused.") var id = ""

        func log(_ kind: ActivityKind, direction: LoggedDirection?, connection: ConnectionOptions) async throws {
            var activity = Dunlin_V1_ActivityRecord()
            activity.id = id
            activity.customerID = customer
            activity.kind = kind.rawValue
            activity.direction = direction?.rawValue ?? ""
            activity.outcome = outcome
            activity.body = body
            if let at { activity.occurredAt = Activity.milliseconds(of: try parseInstant(at, option: "--at")) }
            try await connection.withCaller { client in
                let response = try await client.unary(Records.logActivities, .with { $0.activities = [activity] }, options: connection.callOptions)
                let logged = response.activities.first ?? activity
                if connection.json {
                    printJSON(encoding: logged.json)
                } else {
                    let people = await People.lookUp(connection: connection, client: client)
                    printTable([Dunlin_V1_ActivityRecord.header, logged.row(people)])
                }
            }
        }
    }

    struct Call: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log a telephone call (outbound unless --inbound).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var fields: Fields
        @Flag var direction: LoggedDirection?
        func run() async throws { try await fields.log(.call, direction: direction, connection: connection) }
    }

    struct Email: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log an email (outbound unless --inbound).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var fields: Fields
        @Flag var direction: LoggedDirection?
        func run() async throws { try await fields.log(.email, direction: direction, connection: connection) }
    }

    struct Letter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log a letter (outbound unless --inbound).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var fields: Fields
        @Flag var direction: LoggedDirection?
        func run() async throws { try await fields.log(.letter, direction: direction, connection: connection) }
    }

    struct Meeting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log a meeting (no direction unless --inbound or --outbound).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var fields: Fields
        @Flag var direction: LoggedDirection?
        func run() async throws { try await fields.log(.meeting, direction: direction, connection: connection) }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log an internal note (no one was contacted).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var fields: Fields
        func run() async throws { try await fields.log(.note, direction: nil, connection: connection) }
    }
}

struct ActivitiesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activities",
        abstract: "A customer's activity log, oldest first (--newest-first to reverse; --all for every page); authors by name (--json: the id).",
        discussion: "dunlin activities --customer C1 --newest-first"
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var paging: PageOptions
    @Option(help: "Customer id (omit for every customer's).") var customer = ""
    @Option(help: "Only activities logged by this user id.") var author = ""
    @Option(help: "Only this kind (repeat for several).") var kind: [ActivityKind] = []
    @Option(help: "Occurred at or after this time (ISO 8601, or YYYY-MM-DD HH:MM local).") var since: String?
    @Option(help: "Occurred before this time.") var before: String?
    @Flag(help: "Newest first.") var newestFirst = false

    func run() async throws {
        let from = try since.map { Activity.milliseconds(of: try parseInstant($0, option: "--since")) } ?? 0
        let until = try before.map { Activity.milliseconds(of: try parseInstant($0, option: "--before")) } ?? 0
        try await connection.withCaller { client in
            let (activities, next) = try await paging.read { size, cursor in
                let page = try await client.unary(Records.listActivities, .with {
                    $0.customerID = customer; $0.authorID = author; $0.kinds = kind.map(\.rawValue)
                    $0.occurredFrom = from; $0.occurredBefore = until; $0.newestFirst = newestFirst
                    $0.pageSize = size; $0.cursor = cursor
                }, options: connection.callOptions)
                return (page.activities, page.nextCursor)
            }
            if connection.json {
                printJSON(encoding: ListJSON(key: "activities", items: activities.map(\.json), nextCursor: next))
            } else {
                let people = await People.lookUp(connection: connection, client: client)
                printTable([Dunlin_V1_ActivityRecord.header] + activities.map { $0.row(people) })
                if !next.isEmpty { say("more: --cursor \(next)") }
            }
        }
    }
}
