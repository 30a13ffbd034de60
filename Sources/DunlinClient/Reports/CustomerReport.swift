import DunlinCore
import DunlinWire
import Foundation

/// The customer report (`dunlin report customer CUS-1001`): the account, its aging per currency,
/// twelve months of invoices and payments, its open invoices and unapplied cash. Made of the
/// customer's statement (`Receivables/Statement`, as of a day) and its ledger
/// (`Receivables/ListEntries`), so its figures are `dunlin statement`'s, offline as online.
public struct CustomerReport: Sendable {
    public var organization: String
    public var statement: Dunlin_V1_StatementResponse
    /// The analyst by name (the CLI knows names; the report does not ask).
    public var analystName: String
    /// The customer's invoices and payments of the twelve months ending with the statement's day.
    public var entries: [Dunlin_V1_LedgerEntryRecord]

    public init(organization: String, statement: Dunlin_V1_StatementResponse, analystName: String, entries: [Dunlin_V1_LedgerEntryRecord]) {
        self.organization = organization
        self.statement = statement
        self.analystName = analystName
        self.entries = entries
    }

    /// The customer `given` names: its id, else its number, else its name (letter case aside).
    /// NOT_FOUND when none has it; INVALID_ARGUMENT, naming them, when several have that name.
    public static func customerID(_ given: String, caller: any UnaryCaller, options: RPCClient.CallOptions) async throws -> String {
        do {
            return try await caller.unary(Receivables.getCustomer, .with { $0.id = given }, options: options).customer.id
        } catch let error as RPCError where error.code == .notFound {
            var customers: [Dunlin_V1_CustomerRecord] = []
            var cursor = ""
            repeat {
                let page = try await caller.unary(Receivables.listCustomers, .with { $0.pageSize = 1000; $0.cursor = cursor }, options: options)
                customers += page.customers
                cursor = page.nextCursor
            } while !cursor.isEmpty
            let wanted = given.lowercased()
            let byNumber = customers.filter { $0.number.lowercased() == wanted }
            let matches = byNumber.isEmpty ? customers.filter { $0.name.lowercased() == wanted } : byNumber
            guard let match = matches.first else {
                throw RPCError(.notFound, "customer: no customer has the id, number or name \"\(given)\"")
            }
            guard matches.count == 1 else {
                throw RPCError(.invalidArgument, "customer: \(matches.count) customers are named \"\(given)\" (\(matches.map(\.id).joined(separator: ", "))); give an id")
            }
            return match.id
        }
    }

    /// Reads the report's figures through `caller` (the replica or the server). `asOf` empty: the
    /// tenant's today.
    public static func load(customerID: String, asOf: String, analystName: (String) async -> String, caller: any UnaryCaller, options: RPCClient.CallOptions) async throws -> CustomerReport {
        // Packed on the wire (PROTOCOL.md §16.1), records from here on.
        var statement = try await caller.unary(Receivables.statement, .with { $0.customerID = customerID; $0.asOf = asOf; $0.packed = true }, options: options)
        statement.openInvoices = try statement.openInvoiceRecords()
        statement.clearOpenInvoiceColumns()
        let day = CivilDate(statement.asOf) ?? CivilDate(year: 2000, month: 1, day: 1)!
        var entries: [Dunlin_V1_LedgerEntryRecord] = []
        var cursor = ""
        repeat {
            let page = try await caller.unary(Receivables.listEntries, .with {
                $0.customerID = customerID
                $0.kinds = ["invoice", "payment"]
                $0.from = ReportFigures.twelveMonths(endingIn: day).description
                $0.through = day.description
                $0.pageSize = 1000
                $0.cursor = cursor
            }, options: options)
            entries += page.entries
            cursor = page.nextCursor
        } while !cursor.isEmpty
        return CustomerReport(
            organization: try await caller.letterheadName(options: options), statement: statement,
            analystName: await analystName(statement.customer.analystID), entries: entries
        )
    }

    var asOf: CivilDate { CivilDate(statement.asOf) ?? CivilDate(year: 2000, month: 1, day: 1)! }

    /// The open invoices aged as of the statement's day, per currency, in the standard buckets.
    public func aging() throws(DomainError) -> AgingReport {
        let items = statement.openInvoices.compactMap { invoice -> AgingItem? in
            guard let currency = Currency(code: invoice.balance.currency), let due = CivilDate(invoice.dueDate.isEmpty ? invoice.date : invoice.dueDate) else { return nil }
            return AgingItem(customerID: statement.customer.id, dueDate: due, open: Money(minorUnits: invoice.balance.minor, currency: currency))
        }
        return try AgingReport.compute(items, asOf: asOf)
    }

    /// Invoiced and collected per month and currency, oldest month first: invoices and payments
    /// dated in the month and not reversed, summed in 128 bits (OUT_OF_RANGE beyond int64).
    public func activity() throws(DomainError) -> [(currency: String, months: [(month: String, invoiced: Int64, collected: Int64)])] {
        let first = ReportFigures.twelveMonths(endingIn: asOf)
        let months = CivilDate.months(from: first, through: asOf).map { ReportFigures.month($0.first) }
        var sums: [String: [String: (invoiced: Int128, collected: Int128)]] = [:]
        for entry in entries where !entry.reversed {
            let month = String(entry.date.prefix(7))
            guard months.contains(month) else { continue }
            var sum = sums[entry.amount.currency, default: [:]][month, default: (0, 0)]
            if entry.kind == "invoice" { sum.invoiced += Int128(entry.amount.minor) } else if entry.kind == "payment" { sum.collected += Int128(entry.amount.minor) }
            sums[entry.amount.currency, default: [:]][month] = sum
        }
        return try sums.keys.sorted().map { code throws(DomainError) in
            let currency = Currency(code: code) ?? .usd
            var rows: [(month: String, invoiced: Int64, collected: Int64)] = []
            for month in months {
                let sum = sums[code]?[month] ?? (0, 0)
                rows.append((month, try AgingReport.narrow(sum.invoiced, currency, field: "invoiced"), try AgingReport.narrow(sum.collected, currency, field: "collected")))
            }
            return (code, rows)
        }
    }

    /// What the page template reads (``ReportPage/customerTemplate``).
    public func document() throws(DomainError) -> TemplateValue {
        let customer = statement.customer
        let amounts = { (totals: [Dunlin_V1_Amount]) -> TemplateValue in
            .list(totals.map { ["currency": .text($0.currency), "amount": .text(ReportFigures.amount($0))] })
        }
        var document: [String: TemplateValue] = [
            "title": .text("Customer report: \(customer.name.isEmpty ? customer.id : customer.name)"),
            "organization": .text(organization), "has_organization": .flag(!organization.isEmpty), "as_of": .text(statement.asOf),
            "customer": .object([
                "name": .text(customer.name), "number": .text(customer.number), "id": .text(customer.id),
                "analyst": .text(analystName.isEmpty ? "-" : analystName), "terms": .text("net \(customer.paymentTermsDays) days"),
                "credit_limit": .text(customer.hasCreditLimit ? "\(customer.creditLimit.currency) \(ReportFigures.amount(customer.creditLimit))" : "none"),
                "risk": .text(customer.riskRating == 0 ? "-" : String(customer.riskRating)),
                "open": amounts(statement.totalOpen), "unapplied": amounts(statement.totalUnapplied),
            ]),
        ]

        let aged = try aging()
        document["aging"] = .list(try aged.rows.sorted { $0.currency.code < $1.currency.code }.map { row throws(DomainError) in
            ReportPage.agingSection(asOf: aged.asOf.description, currency: row.currency.code, labels: aged.buckets.labels, buckets: row.buckets, total: try row.total())
        })

        document["activity"] = .list(try activity().map { currency, months in
            let amount = { (minor: Int64) in ReportFigures.amount(minor, currency) }
            let chart = Chart.bars(title: "Invoiced and collected by month, \(currency)", categories: months.map(\.month), series: [
                Chart.Series(name: "invoiced", values: months.map { ReportFigures.chartValue($0.invoiced, currency) }, tips: months.map { amount($0.invoiced) }),
                Chart.Series(name: "collected", values: months.map { ReportFigures.chartValue($0.collected, currency) }, tips: months.map { amount($0.collected) }),
            ])
            return ReportPage.monthsSection(
                id: "activity-\(currency)", heading: "Invoiced and collected, 12 months, \(currency)", chart: chart,
                columns: [("invoiced", "invoiced"), ("collected", "collected")], rows: months.map { ($0.month, [amount($0.invoiced), amount($0.collected)]) }
            )
        })

        document["invoices"] = .list(statement.openInvoices.map { invoice in
            let due = CivilDate(invoice.dueDate)
            return [
                "id": .text(invoice.id), "reference": .text(invoice.reference), "date": .text(invoice.date), "due": .text(invoice.dueDate),
                "days_past_due": .text(due.map { max(0, $0.days(until: asOf)) }.map(String.init) ?? "-"),
                "currency": .text(invoice.amount.currency), "amount": .text(ReportFigures.amount(invoice.amount)), "open": .text(ReportFigures.amount(invoice.balance)),
            ]
        })
        let sources = statement.payments + statement.credits
        document["has_sources"] = .flag(!sources.isEmpty)
        document["sources"] = .list(sources.map { source in
            [
                "id": .text(source.id), "kind": .text(source.kind), "reference": .text(source.reference), "date": .text(source.date),
                "currency": .text(source.amount.currency), "amount": .text(ReportFigures.amount(source.amount)), "open": .text(ReportFigures.amount(source.balance)),
            ]
        })
        return .object(document)
    }

    /// The page: self-contained HTML.
    public func html() throws -> String { try ReportPage.render(.customer, document()) }
}
