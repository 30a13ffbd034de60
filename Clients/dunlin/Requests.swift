import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// Approval requests over the Records service (Protocol/records.proto): `dunlin requests add
// writeoff|refund|adjustment|credit|terms`, `list` (the audit trail, also as CSV), `show`,
// `approve` and `reject`. Every command works offline on the replica; an approval given there is
// settled by the server on the next sync, which writes the entry or refuses it.

extension ApprovalKind: ExpressibleByArgument {}
extension ApprovalStatus: ExpressibleByArgument {}

/// `dunlin requests`.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "Write-offs, refunds, adjustments, credit memos and terms changes that need someone else's approval.",
        discussion: """
            Anyone from analyst up asks; someone else approves or rejects, with a reason. An analyst \
            approves up to 500.00 of the base currency, a manager up to 10,000.00, an admin anything \
            (the tenant's settings approvals.<kind>.analyst|manager change the limits, in minor units); \
            a terms change needs a manager. The ledger entry is written only on approval, on the server.
            """,
        subcommands: [Add.self, List.self, Show.self, Approve.self, Reject.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask for a write-off, refund, adjustment, credit memo or terms change.",
            discussion: """
                dunlin requests add writeoff --customer C1 --invoice INV-1 --amount 120.00 --reason "short-paid freight"
                dunlin requests add refund --customer C1 --source PAY-1 --amount 50.00 --reason "paid twice"
                dunlin requests add adjustment --customer C1 --invoice INV-1 --amount -15.00 --reason "price correction"
                dunlin requests add credit --customer C1 --amount 200.00 --reason "goodwill"
                dunlin requests add terms --customer C1 --terms-days 45 --reason "new contract"
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "writeoff, refund, adjustment, credit or terms.") var kind: ApprovalKind
        @Option(help: "Request id (default: generated).") var id = ""
        @Option(help: "The customer.") var customer: String
        @Option(help: "The invoice (writeoff, adjustment; a credit may name one).") var invoice = ""
        @Option(help: "The payment or credit memo paid back (refund).") var source = ""
        @Option(help: "Amount, e.g. 1,000.50 (an adjustment's is signed).") var amount: String?
        @Option(help: "ISO 4217 currency (default: the one the customer's invoices are in).") var currency: String?
        @Option(help: "The new payment terms in days (terms).") var termsDays: Int32?
        @Option(help: "Why.") var reason: String

        func validate() throws {
            if kind == .terms {
                guard termsDays != nil, amount == nil else { throw ValidationError("a terms request takes --terms-days and no --amount") }
            } else {
                guard amount != nil, termsDays == nil else { throw ValidationError("a \(kind.rawValue) request takes --amount and no --terms-days") }
            }
        }

        func run() async throws {
            try await connection.withCaller { client in
                var record = Dunlin_V1_ApprovalRequestRecord.with {
                    $0.id = id
                    $0.kind = kind.rawValue
                    $0.customerID = customer
                    $0.invoiceID = invoice
                    $0.sourceID = source
                    $0.reason = reason
                }
                if let termsDays { record.termsDays = termsDays }
                if let amount {
                    record.amount = try money(
                        amount, try await customerCurrency(currency, of: customer, client: client, options: connection.callOptions), option: "--amount"
                    )
                }
                let asked = try await client.unary(Records.addApprovalRequest, .with { $0.request = record }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: ApprovalRequestJSON(asked)) }
                say("request \(asked.id): \(summary(asked)), pending")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The requests by the day asked (the approvals' audit trail; offline from the replica).",
            discussion: "dunlin requests list --from 2026-11-01 --through 2026-11-30 --csv november-approvals.csv"
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var paging: PageOptions
        @Option(help: "Only this customer's.") var customer = ""
        @Option(help: "Only these statuses (pending, approved, rejected; repeat).") var status: [ApprovalStatus] = []
        @Option(help: "Asked on or after this day, YYYY-MM-DD.") var from = ""
        @Option(help: "Asked on or before this day, YYYY-MM-DD.") var through = ""
        @Option(help: "Write CSV to this file (- for stdout) instead of a table: every page.") var csv: String?

        func run() async throws {
            try await connection.withCaller { client in
                var paging = paging
                if csv != nil { paging.all = true }
                let (requests, next) = try await paging.read { size, cursor in
                    let page = try await client.unary(Records.listApprovalRequests, .with {
                        $0.customerID = customer
                        $0.statuses = status.map(\.rawValue)
                        $0.requestedFrom = from
                        $0.requestedThrough = through
                        $0.pageSize = size
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.requests, page.nextCursor)
                }
                let names = await CustomerNames.lookUp(requests.map(\.customerID), client: client, connection: connection)
                if let csv {
                    let header = [
                        "id", "kind", "customer_id", "customer_name", "invoice_id", "source_id", "currency", "amount", "terms_days", "reason",
                        "requested_by", "requested_on", "status", "decided_by", "decided_on", "decision_reason", "entry_id",
                    ]
                    var lines = [header.joined(separator: ",")]
                    for request in requests {
                        let amount = request.hasAmount ? AmountJSON(request.amount).amount : ""
                        let fields = [
                            request.id, request.kind, request.customerID, names[request.customerID] ?? "", request.invoiceID, request.sourceID,
                            request.hasAmount ? request.amount.currency : "", amount, request.hasTermsDays ? String(request.termsDays) : "", request.reason,
                            request.requestedBy, request.requestedOn, request.status, request.decidedBy, request.decidedOn, request.decisionReason, request.entryID,
                        ]
                        lines.append(fields.map(csvField).joined(separator: ","))
                    }
                    try writeCSV(lines, to: csv)
                } else if connection.json {
                    printJSON(encoding: ListJSON(key: "requests", items: requests.map(ApprovalRequestJSON.init), nextCursor: next))
                } else if requests.isEmpty {
                    say("no requests")
                } else {
                    let people = await People.lookUp(connection: connection, client: client)
                    printTable([["id", "customer", "what", "asked by", "on", "status", "decided by", "entry"]] + requests.map { request in
                        [
                            request.id, names[request.customerID] ?? request.customerID, summary(request), people.name(request.requestedBy), request.requestedOn,
                            request.status, request.decidedBy.isEmpty ? "" : "\(people.name(request.decidedBy)) \(request.decidedOn)", entryText(request),
                        ]
                    })
                    if !next.isEmpty { say("more: --cursor \(next)") }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a request: who asked, who decided, when, why, and the entry written.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let request = try await client.unary(Records.getApprovalRequest, .with { $0.id = id }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: ApprovalRequestJSON(request)) }
                let names = await CustomerNames.lookUp([request.customerID], client: client, connection: connection)
                let people = await People.lookUp(connection: connection, client: client)
                say("request \(request.id): \(summary(request)) for \(names[request.customerID] ?? request.customerID)")
                say("asked by \(people.name(request.requestedBy)) on \(request.requestedOn): \(request.reason)")
                if request.decidedBy.isEmpty {
                    say("pending")
                } else {
                    say("\(request.status) by \(people.name(request.decidedBy)) on \(request.decidedOn): \(request.decisionReason)")
                }
                let entry = entryText(request)
                if !entry.isEmpty { say("entry: \(entry)") }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a request (not your own; your role must cover it). Offline, the server settles it on the next sync."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: "Why.") var reason: String

        func run() async throws { try await decide(id, approve: true, reason: reason, connection: connection) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a request (not your own; your role must cover it). Nothing is written.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Request id.") var id: String
        @Option(help: "Why.") var reason: String

        func run() async throws { try await decide(id, approve: false, reason: reason, connection: connection) }
    }
}

private func decide(_ id: String, approve: Bool, reason: String, connection: ConnectionOptions) async throws {
    try await connection.withCaller { client in
        let decided = try await client.unary(
            Records.decideApprovalRequest, .with { $0.id = id; $0.approve = approve; $0.reason = reason }, options: connection.callOptions
        )
        if connection.json { return printJSON(encoding: ApprovalRequestJSON(decided)) }
        let entry = entryText(decided)
        say("request \(decided.id) \(decided.status): \(summary(decided))" + (entry.isEmpty ? "" : "; \(entry)"))
    }
}

/// "writeoff of USD 120.00 on INV-1", "terms of 45 days".
private func summary(_ request: Dunlin_V1_ApprovalRequestRecord) -> String {
    if request.kind == ApprovalKind.terms.rawValue { return "terms of \(request.termsDays) days" }
    let on = [request.invoiceID, request.sourceID].first { !$0.isEmpty }.map { " on \($0)" } ?? ""
    return "\(request.kind) of \(request.amount.currency) \(text(request.amount))\(on)"
}

/// The entry an approval wrote, or what is still to come of it.
private func entryText(_ request: Dunlin_V1_ApprovalRequestRecord) -> String {
    if !request.entryID.isEmpty { return request.entryID }
    if request.status == ApprovalStatus.approved.rawValue, request.kind != ApprovalKind.terms.rawValue { return "awaiting the server (sync)" }
    return ""
}

/// A request in `--json`: ids, never names; the amount absent for terms, terms_days for terms only.
struct ApprovalRequestJSON: Encodable {
    var id, kind, customer_id, invoice_id, source_id: String
    var amount: AmountJSON?
    var terms_days: Int32?
    var reason, requested_by, requested_on, status, decided_by: String
    var decided_on: String?
    var decision_reason: String
    var entry_id: String?

    init(_ request: Dunlin_V1_ApprovalRequestRecord) {
        id = request.id
        kind = request.kind
        customer_id = request.customerID
        invoice_id = request.invoiceID
        source_id = request.sourceID
        amount = request.hasAmount ? AmountJSON(request.amount) : nil
        terms_days = request.hasTermsDays ? request.termsDays : nil
        reason = request.reason
        requested_by = request.requestedBy
        requested_on = request.requestedOn
        status = request.status
        decided_by = request.decidedBy
        decided_on = request.decidedOn.isEmpty ? nil : request.decidedOn
        decision_reason = request.decisionReason
        entry_id = request.entryID.isEmpty ? nil : request.entryID
    }
}
