import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// The collection records and the activity log over the Records service (Protocol/records.proto):
// `dunlin contacts|disputes|promises|tasks list|get|add|update|delete`, `dunlin promises evaluate`,
// `dunlin log call|email|letter|meeting|note` and `dunlin activities`. `update` reads the record,
// changes the fields given and writes it back; fields not given keep their value.

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

/// Prints a list: `{"<key>": [...], "next_cursor": "..."}` with --json, else a table and, when
/// there is more, the option that reads on.
func printList(_ key: String, json: Bool, objects: [[String: Any]], table: [[String]], next: String) {
    if json {
        printJSON([key: objects, "next_cursor": next])
    } else {
        printTable(table)
        if !next.isEmpty { say("more: --cursor \(next)") }
    }
}

/// Prints one record: its JSON object, or a one-row table.
func printRecord(json: Bool, object: [String: Any], header: [String], row: [String]) {
    if json { printJSON(object) } else { printTable([header, row]) }
}

/// Prints the outcome of a delete.
func printDeleted(_ count: UInt32, _ what: String, ids: [String], json: Bool) {
    if json { printJSON(["deleted": count, "ids": ids]) } else { say("deleted \(count) \(what)") }
}

/// Today on this machine's calendar: the default for dates the server does not default itself.
private func localToday() -> String { WallClock.system.today(in: .current).description }

// MARK: Contacts

func json(_ contact: Dunlin_V1_ContactRecord) -> [String: Any] {
    [
        "id": contact.id, "customer_id": contact.customerID, "name": contact.name, "role": contact.role,
        "email": contact.email, "phone": contact.phone, "preferred_channel": contact.preferredChannel,
    ]
}

private let contactHeader = ["id", "customer", "name", "role", "email", "phone", "channel"]
private func contactRow(_ contact: Dunlin_V1_ContactRecord) -> [String] {
    [contact.id, contact.customerID, contact.name, contact.role, contact.email, contact.phone, contact.preferredChannel]
}

struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts", abstract: "People at customers: role, email, phone, preferred channel.",
        subcommands: [List.self, Get.self, Add.self, Update.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List contacts by name (--all for every page).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's contacts.") var customer = ""

        func run() async throws {
            try await connection.withCaller { client in
                let (contacts, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Records.listContacts, .with {
                        $0.customerID = customer; $0.pageSize = size; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.contacts, page.nextCursor)
                }
                printList("contacts", json: connection.json, objects: contacts.map(json), table: [contactHeader] + contacts.map(contactRow), next: next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a contact.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Contact id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let contact = try await client.unary(Records.getContact, .with { $0.id = id }, options: connection.callOptions)
                printRecord(json: connection.json, object: json(contact), header: contactHeader, row: contactRow(contact))
            }
        }
    }

    struct Fields: ParsableArguments {
        @Option(help: "Their job at the customer (AP clerk, Controller).") var role: String?
        @Option(help: "Email address.") var email: String?
        @Option(help: "Telephone number.") var phone: String?
        @Option(help: "Preferred channel: email, phone, sms, letter or portal.") var channel: String?

        func apply(to contact: inout Dunlin_V1_ContactRecord) {
            if let role { contact.role = role }
            if let email { contact.email = email }
            if let phone { contact.phone = phone }
            if let channel { contact.preferredChannel = channel }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a contact to a customer.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Contact id (default: generated).") var id = ""
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Full name.") var name: String
        @OptionGroup var fields: Fields

        func run() async throws {
            var contact = Dunlin_V1_ContactRecord()
            contact.id = id
            contact.customerID = customer
            contact.name = name
            fields.apply(to: &contact)
            try await saveContact(contact, connection: connection)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a contact's fields (those not given keep their value).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Contact id.") var id: String
        @Option(help: "Move to this customer.") var customer: String?
        @Option(help: "Full name.") var name: String?
        @OptionGroup var fields: Fields

        func run() async throws {
            try await connection.withCaller { client in
                var contact = try await client.unary(Records.getContact, .with { $0.id = id }, options: connection.callOptions)
                if let customer { contact.customerID = customer }
                if let name { contact.name = name }
                fields.apply(to: &contact)
                try await saveContact(contact, client: client, connection: connection)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete contacts (managers; all or none).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Contact ids.") var ids: [String]

        func run() async throws {
            try await connection.withCaller { client in
                let response = try await client.unary(Records.deleteContacts, .with { $0.ids = ids }, options: connection.callOptions)
                printDeleted(response.count, "contacts", ids: ids, json: connection.json)
            }
        }
    }
}

private func saveContact(_ contact: Dunlin_V1_ContactRecord, connection: ConnectionOptions) async throws {
    try await connection.withCaller { client in try await saveContact(contact, client: client, connection: connection) }
}

private func saveContact(_ contact: Dunlin_V1_ContactRecord, client: any UnaryCaller, connection: ConnectionOptions) async throws {
    let response = try await client.unary(Records.upsertContacts, .with { $0.contacts = [contact] }, options: connection.callOptions)
    let saved = response.contacts.first ?? contact
    printRecord(json: connection.json, object: json(saved), header: contactHeader, row: contactRow(saved))
}

// MARK: Disputes

func json(_ dispute: Dunlin_V1_DisputeRecord) -> [String: Any] {
    var object: [String: Any] = [
        "id": dispute.id, "customer_id": dispute.customerID, "invoice_ids": dispute.invoiceIds, "amount": json(dispute.amount),
        "reason_code": dispute.reasonCode, "status": dispute.status, "owner_team": dispute.ownerTeam, "opened_on": dispute.openedOn,
        "note": dispute.note,
    ]
    if !dispute.resolvedOn.isEmpty { object["resolved_on"] = dispute.resolvedOn }
    return object
}

private let disputeHeader = ["id", "customer", "invoices", "cur", "amount", "reason", "status", "team", "opened", "resolved"]
private func disputeRow(_ dispute: Dunlin_V1_DisputeRecord) -> [String] {
    [
        dispute.id, dispute.customerID, dispute.invoiceIds.joined(separator: " "), dispute.amount.currency, text(dispute.amount),
        dispute.reasonCode, dispute.status, dispute.ownerTeam, dispute.openedOn, dispute.resolvedOn,
    ]
}

struct DisputesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disputes", abstract: "Customers' objections to invoices: amount, reason, status, owner team.",
        subcommands: [List.self, Get.self, Add.self, Update.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List disputes by the date they were opened (--all for every page).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's disputes.") var customer = ""
        @Option(help: "Only disputes of this invoice.") var invoice = ""
        @Option(help: "Only this status: open, investigating, resolved, rejected (repeat for several).") var status: [String] = []
        @Option(help: "Only this owner team: billing, sales, customer_service, legal (repeat).") var team: [String] = []
        @Option(help: "Opened on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Opened on or before YYYY-MM-DD.") var through = ""

        func run() async throws {
            try await connection.withCaller { client in
                let (disputes, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Records.listDisputes, .with {
                        $0.customerID = customer; $0.invoiceID = invoice; $0.statuses = status; $0.ownerTeams = team
                        $0.openedFrom = from; $0.openedThrough = through; $0.pageSize = size; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.disputes, page.nextCursor)
                }
                printList("disputes", json: connection.json, objects: disputes.map(json), table: [disputeHeader] + disputes.map(disputeRow), next: next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a dispute.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dispute id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let dispute = try await client.unary(Records.getDispute, .with { $0.id = id }, options: connection.callOptions)
                printRecord(json: connection.json, object: json(dispute), header: disputeHeader, row: disputeRow(dispute))
                if !connection.json, !dispute.note.isEmpty { say("note: \(dispute.note)") }
            }
        }
    }

    struct Fields: ParsableArguments {
        @Option(help: "Owner team: billing (default), sales, customer_service, legal.") var team: String?
        @Option(help: "Status: open (default), investigating, resolved, rejected.") var status: String?
        @Option(help: "Date it was resolved or rejected, YYYY-MM-DD (default: today when closing).") var resolved: String?
        @Option(help: "Free-text note.") var note: String?

        /// Sets the fields given; closing without --resolved dates it today, reopening clears the date.
        func apply(to dispute: inout Dunlin_V1_DisputeRecord) {
            if let team { dispute.ownerTeam = team }
            if let note { dispute.note = note }
            if let status {
                dispute.status = status
                let closed = status == DisputeStatus.resolved.rawValue || status == DisputeStatus.rejected.rawValue
                if closed, dispute.resolvedOn.isEmpty { dispute.resolvedOn = localToday() }
                if !closed { dispute.resolvedOn = "" }
            }
            if let resolved { dispute.resolvedOn = resolved }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a dispute.",
            discussion: "dunlin disputes add --customer C1 --invoice INV-1 --amount 250.00 --currency USD --reason pricing"
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Dispute id (default: generated).") var id = ""
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Disputed invoice id (repeat for several).") var invoice: [String]
        @Option(help: "Disputed amount, e.g. 1,000.50.") var amount: String
        @Option(help: "ISO 4217 currency of the invoices.") var currency: String
        @Option(help: "Reason code (pricing, damaged_goods, not_received...).") var reason: String
        @Option(help: "Date opened, YYYY-MM-DD (default: today in the tenant's time zone).") var opened = ""
        @OptionGroup var fields: Fields

        func run() async throws {
            var dispute = Dunlin_V1_DisputeRecord()
            dispute.id = id
            dispute.customerID = customer
            dispute.invoiceIds = invoice
            dispute.amount = try money(amount, currency, option: "--amount")
            dispute.reasonCode = reason
            dispute.openedOn = opened
            fields.apply(to: &dispute)
            try await connection.withCaller { client in try await saveDispute(dispute, client: client, connection: connection) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a dispute's fields (those not given keep their value).",
            discussion: "dunlin disputes update DSP-1 --status resolved --note \"credit memo CM-7 issued\""
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dispute id.") var id: String
        @Option(help: "Disputed invoice id; replaces the list (repeat for several).") var invoice: [String] = []
        @Option(help: "Disputed amount, in the dispute's currency unless --currency.") var amount: String?
        @Option(help: "ISO 4217 currency for --amount.") var currency: String?
        @Option(help: "Reason code.") var reason: String?
        @OptionGroup var fields: Fields

        func run() async throws {
            try await connection.withCaller { client in
                var dispute = try await client.unary(Records.getDispute, .with { $0.id = id }, options: connection.callOptions)
                if !invoice.isEmpty { dispute.invoiceIds = invoice }
                if let amount { dispute.amount = try money(amount, currency ?? dispute.amount.currency, option: "--amount") }
                if let reason { dispute.reasonCode = reason }
                fields.apply(to: &dispute)
                try await saveDispute(dispute, client: client, connection: connection)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete disputes (managers; all or none).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Dispute ids.") var ids: [String]

        func run() async throws {
            try await connection.withCaller { client in
                let response = try await client.unary(Records.deleteDisputes, .with { $0.ids = ids }, options: connection.callOptions)
                printDeleted(response.count, "disputes", ids: ids, json: connection.json)
            }
        }
    }
}

private func saveDispute(_ dispute: Dunlin_V1_DisputeRecord, client: any UnaryCaller, connection: ConnectionOptions) async throws {
    let response = try await client.unary(Records.upsertDisputes, .with { $0.disputes = [dispute] }, options: connection.callOptions)
    let saved = response.disputes.first ?? dispute
    printRecord(json: connection.json, object: json(saved), header: disputeHeader, row: disputeRow(saved))
}

// MARK: Promises to pay

func json(_ promise: Dunlin_V1_PromiseRecord) -> [String: Any] {
    [
        "id": promise.id, "customer_id": promise.customerID, "invoice_ids": promise.invoiceIds, "amount": json(promise.amount),
        "made_on": promise.madeOn, "promised_date": promise.promisedDate, "status": promise.status, "note": promise.note,
    ]
}

private let promiseHeader = ["id", "customer", "invoices", "cur", "amount", "made", "promised", "status"]
private func promiseRow(_ promise: Dunlin_V1_PromiseRecord) -> [String] {
    [
        promise.id, promise.customerID, promise.invoiceIds.joined(separator: " "), promise.amount.currency, text(promise.amount),
        promise.madeOn, promise.promisedDate, promise.status,
    ]
}

struct PromisesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promises", abstract: "Promises to pay: amount, date, and whether they were kept.",
        subcommands: [List.self, Get.self, Add.self, Update.self, Delete.self, Evaluate.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List promises by promised date (--all for every page).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's promises.") var customer = ""
        @Option(help: "Only promises covering this invoice.") var invoice = ""
        @Option(help: "Only this status: open, kept, partly_kept, broken (repeat for several).") var status: [String] = []
        @Option(help: "Promised on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Promised on or before YYYY-MM-DD.") var through = ""

        func run() async throws {
            try await connection.withCaller { client in
                let (promises, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Records.listPromises, .with {
                        $0.customerID = customer; $0.invoiceID = invoice; $0.statuses = status
                        $0.promisedFrom = from; $0.promisedThrough = through; $0.pageSize = size; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.promises, page.nextCursor)
                }
                printList("promises", json: connection.json, objects: promises.map(json), table: [promiseHeader] + promises.map(promiseRow), next: next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a promise as recorded (see evaluate for what the ledger says).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Promise id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let promise = try await client.unary(Records.getPromise, .with { $0.id = id }, options: connection.callOptions)
                printRecord(json: connection.json, object: json(promise), header: promiseHeader, row: promiseRow(promise))
                if !connection.json, !promise.note.isEmpty { say("note: \(promise.note)") }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a promise to pay.",
            discussion: "dunlin promises add --customer C1 --invoice INV-1 --amount 5,000 --currency USD --date 2026-11-27"
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Promise id (default: generated).") var id = ""
        @Option(help: "Customer id.") var customer: String
        @Option(help: "Invoice the payment is for (repeat for several).") var invoice: [String]
        @Option(help: "Promised amount, e.g. 5,000.00.") var amount: String
        @Option(help: "ISO 4217 currency of the invoices.") var currency: String
        @Option(help: "The date the customer promised to pay by, YYYY-MM-DD.") var date: String
        @Option(help: "The date the promise was made (default: today in the tenant's time zone).") var madeOn = ""
        @Option(help: "Free-text note.") var note = ""

        func run() async throws {
            var promise = Dunlin_V1_PromiseRecord()
            promise.id = id
            promise.customerID = customer
            promise.invoiceIds = invoice
            promise.amount = try money(amount, currency, option: "--amount")
            promise.promisedDate = date
            promise.madeOn = madeOn
            promise.note = note
            try await connection.withCaller { client in try await savePromise(promise, client: client, connection: connection) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a promise's fields (those not given keep their value).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Promise id.") var id: String
        @Option(help: "Invoice id; replaces the list (repeat for several).") var invoice: [String] = []
        @Option(help: "Promised amount, in the promise's currency unless --currency.") var amount: String?
        @Option(help: "ISO 4217 currency for --amount.") var currency: String?
        @Option(help: "The date promised, YYYY-MM-DD.") var date: String?
        @Option(help: "Status: open, kept, partly_kept, broken.") var status: String?
        @Option(help: "Free-text note.") var note: String?

        func run() async throws {
            try await connection.withCaller { client in
                var promise = try await client.unary(Records.getPromise, .with { $0.id = id }, options: connection.callOptions)
                if !invoice.isEmpty { promise.invoiceIds = invoice }
                if let amount { promise.amount = try money(amount, currency ?? promise.amount.currency, option: "--amount") }
                if let date { promise.promisedDate = date }
                if let status { promise.status = status }
                if let note { promise.note = note }
                try await savePromise(promise, client: client, connection: connection)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete promises (managers; all or none).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Promise ids.") var ids: [String]

        func run() async throws {
            try await connection.withCaller { client in
                let response = try await client.unary(Records.deletePromises, .with { $0.ids = ids }, options: connection.callOptions)
                printDeleted(response.count, "promises", ids: ids, json: connection.json)
            }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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

        func run() async throws {
            try await connection.withCaller { client in
                let result = try await client.unary(Records.evaluatePromise, .with {
                    $0.id = id; $0.asOf = asOf; $0.record = record
                    if let graceDays { $0.graceDays = graceDays }
                }, options: connection.callOptions)
                let promise = result.promise
                if connection.json {
                    printJSON([
                        "promise": json(promise), "status": result.status, "received": json(result.received),
                        "deadline": result.deadline, "as_of": result.asOf, "recorded": result.recorded,
                    ])
                } else {
                    printTable([
                        ["id", "cur", "promised", "received", "promised date", "deadline", "as of", "status", "recorded"],
                        [promise.id, promise.amount.currency, text(promise.amount), text(result.received), promise.promisedDate,
                         result.deadline, result.asOf, result.status, result.recorded ? "yes" : ""],
                    ])
                }
            }
        }
    }
}

private func savePromise(_ promise: Dunlin_V1_PromiseRecord, client: any UnaryCaller, connection: ConnectionOptions) async throws {
    let response = try await client.unary(Records.upsertPromises, .with { $0.promises = [promise] }, options: connection.callOptions)
    let saved = response.promises.first ?? promise
    printRecord(json: connection.json, object: json(saved), header: promiseHeader, row: promiseRow(saved))
}

// MARK: Tasks

func json(_ task: Dunlin_V1_TaskRecord) -> [String: Any] {
    [
        "id": task.id, "assignee_id": task.assigneeID, "customer_id": task.customerID, "title": task.title,
        "due_date": task.dueDate, "done": task.done, "notes": task.notes,
    ]
}

private let taskHeader = ["id", "due", "assignee", "customer", "done", "title"]
private func taskRow(_ task: Dunlin_V1_TaskRecord) -> [String] {
    [task.id, task.dueDate, task.assigneeID, task.customerID, task.done ? "yes" : "", task.title]
}

/// A task list filter: open or done.
enum TaskState: String, EnumerableFlag {
    case open
    case done

    static func help(for value: TaskState) -> ArgumentHelp? {
        value == .open ? "Only tasks not done." : "Only tasks done."
    }
}

struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks", abstract: "To-dos and reminders on analysts' worklists.",
        subcommands: [List.self, Get.self, Add.self, Update.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tasks by due date (--all for every page).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only tasks assigned to this user id.") var assignee = ""
        @Option(help: "Only tasks about this customer.") var customer = ""
        @Flag var state: TaskState?
        @Option(help: "Due on or after YYYY-MM-DD.") var from = ""
        @Option(help: "Due on or before YYYY-MM-DD.") var through = ""

        func run() async throws {
            try await connection.withCaller { client in
                let (tasks, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Records.listTasks, .with {
                        $0.assigneeID = assignee; $0.customerID = customer
                        if let state { $0.done = state == .done }
                        $0.dueFrom = from; $0.dueThrough = through; $0.pageSize = size; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.tasks, page.nextCursor)
                }
                printList("tasks", json: connection.json, objects: tasks.map(json), table: [taskHeader] + tasks.map(taskRow), next: next)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a task.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Task id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let task = try await client.unary(Records.getTask, .with { $0.id = id }, options: connection.callOptions)
                printRecord(json: connection.json, object: json(task), header: taskHeader, row: taskRow(task))
                if !connection.json, !task.notes.isEmpty { say("notes: \(task.notes)") }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a task.",
            discussion: "Analysts add tasks for themselves; managers may assign them to anyone with --assignee."
        )
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Task id (default: generated).") var id = ""
        @Option(help: "What to do.") var title: String
        @Option(help: "Due date YYYY-MM-DD (default: today in the tenant's time zone).") var due = ""
        @Option(help: "User id of who should do it (default: you).") var assignee = ""
        @Option(help: "The customer it is about.") var customer = ""
        @Option(help: "Free-text notes.") var notes = ""

        func run() async throws {
            var task = Dunlin_V1_TaskRecord()
            task.id = id
            task.title = title
            task.dueDate = due
            task.assigneeID = assignee
            task.customerID = customer
            task.notes = notes
            try await connection.withCaller { client in try await saveTask(task, client: client, connection: connection) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a task's fields (those not given keep their value).",
            discussion: "dunlin tasks update TSK-1 --done; reassigning (--assignee) needs the manager role."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Task id.") var id: String
        @Option(help: "What to do.") var title: String?
        @Option(help: "Due date YYYY-MM-DD.") var due: String?
        @Option(help: "User id of who should do it.") var assignee: String?
        @Option(help: "The customer it is about (empty for none).") var customer: String?
        @Option(help: "Free-text notes.") var notes: String?
        @Flag(inversion: .prefixedNo, help: "Mark done (--done) or not done (--no-done).") var done: Bool?

        func run() async throws {
            try await connection.withCaller { client in
                var task = try await client.unary(Records.getTask, .with { $0.id = id }, options: connection.callOptions)
                if let title { task.title = title }
                if let due { task.dueDate = due }
                if let assignee { task.assigneeID = assignee }
                if let customer { task.customerID = customer }
                if let notes { task.notes = notes }
                if let done { task.done = done }
                try await saveTask(task, client: client, connection: connection)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete tasks (managers; all or none).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Task ids.") var ids: [String]

        func run() async throws {
            try await connection.withCaller { client in
                let response = try await client.unary(Records.deleteTasks, .with { $0.ids = ids }, options: connection.callOptions)
                printDeleted(response.count, "tasks", ids: ids, json: connection.json)
            }
        }
    }
}

private func saveTask(_ task: Dunlin_V1_TaskRecord, client: any UnaryCaller, connection: ConnectionOptions) async throws {
    let response = try await client.unary(Records.upsertTasks, .with { $0.tasks = [task] }, options: connection.callOptions)
    let saved = response.tasks.first ?? task
    printRecord(json: connection.json, object: json(saved), header: taskHeader, row: taskRow(saved))
}

// MARK: Activity log

func json(_ activity: Dunlin_V1_ActivityRecord) -> [String: Any] {
    [
        "id": activity.id, "customer_id": activity.customerID, "kind": activity.kind, "direction": activity.direction,
        "outcome": activity.outcome, "author_id": activity.authorID, "occurred_at": isoInstant(activity.occurredAt),
        "occurred_at_ms": activity.occurredAt, "body": activity.body,
    ]
}

/// An instant as ISO 8601 in UTC with milliseconds, for JSON.
private func isoInstant(_ milliseconds: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Activity.instant(milliseconds: milliseconds))
}

/// An instant for people: this machine's time zone, to the minute.
private func localInstant(_ milliseconds: Int64) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: Activity.instant(milliseconds: milliseconds))
}

/// Reads `--at`: ISO 8601 with an offset ("2026-11-23T09:05:00+08:00", "...Z"), or
/// "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DDTHH:MM[:SS]" in this machine's time zone.
func parseInstant(_ text: String, option: String) throws -> Date {
    let iso = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
        iso.formatOptions = options
        if let date = iso.date(from: text) { return date }
    }
    let local = DateFormatter()
    local.locale = Locale(identifier: "en_US_POSIX")
    local.timeZone = .current
    for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"] {
        local.dateFormat = format
        if let date = local.date(from: text) { return date }
    }
    throw ValidationError("\(option): \"\(text)\" is not a time (2026-11-23T09:05:00+08:00, or 2026-11-23 09:05 in local time)")
}

private let activityHeader = ["when", "kind", "direction", "customer", "author", "outcome", "id"]
private func activityRow(_ activity: Dunlin_V1_ActivityRecord) -> [String] {
    [localInstant(activity.occurredAt), activity.kind, activity.direction, activity.customerID, activity.authorID, activity.outcome, activity.id]
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
                printRecord(json: connection.json, object: json(logged), header: activityHeader, row: activityRow(logged))
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
        commandName: "activities", abstract: "A customer's activity log, oldest first (--newest-first to reverse; --all for every page).",
        discussion: "dunlin activities --customer C1 --newest-first"
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var paging: PageOptions
    @Option(help: "Customer id (omit for every customer's).") var customer = ""
    @Option(help: "Only activities logged by this user id.") var author = ""
    @Option(help: "Only this kind: call, email, letter, meeting, note (repeat for several).") var kind: [String] = []
    @Option(help: "Occurred at or after this time (ISO 8601, or YYYY-MM-DD HH:MM local).") var since: String?
    @Option(help: "Occurred before this time.") var before: String?
    @Flag(help: "Newest first.") var newestFirst = false

    func run() async throws {
        let from = try since.map { Activity.milliseconds(of: try parseInstant($0, option: "--since")) } ?? 0
        let until = try before.map { Activity.milliseconds(of: try parseInstant($0, option: "--before")) } ?? 0
        try await connection.withCaller { client in
            let (activities, next) = try await paging.read { size, cursor in
                let page = try await client.unary(Records.listActivities, .with {
                    $0.customerID = customer; $0.authorID = author; $0.kinds = kind
                    $0.occurredFrom = from; $0.occurredBefore = until; $0.newestFirst = newestFirst
                    $0.pageSize = size; $0.cursor = cursor
                }, options: connection.callOptions)
                return (page.activities, page.nextCursor)
            }
            printList("activities", json: connection.json, objects: activities.map(json), table: [activityHeader] + activities.map(activityRow), next: next)
        }
    }
}
