import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// The receivables commands: customers, invoices, payments, cash application and reports.
// Each talks to the server (the next milestone moves them onto the local replica).

/// Prints rows as an aligned table: the first row is the header; numeric-looking columns align right.
/// Prints aligned columns for a person; every cell goes through ``terminalSafe(_:newlines:)`` first,
/// so stored text can neither move the cursor nor break a row.
func printTable(_ rows: [[String]]) {
    let rows = rows.map { $0.map { terminalSafe($0) } }
    guard let header = rows.first else { return }
    var widths = header.map(\.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    // Amounts and counts align right; dates ("2026-11-22", digits and dashes too) stay left, under
    // their headers like any other text.
    let numeric = (0..<header.count).map { column in
        rows.dropFirst().allSatisfy { row in row[column].isEmpty || row[column].allSatisfy { "0123456789.,-".contains($0) } }
            && !rows.dropFirst().contains { row in CivilDate(row[column]) != nil }
    }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            let pad = String(repeating: " ", count: widths[index] - cell.count)
            return numeric[index] ? pad + cell : cell + pad
        }
        print(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}

/// An amount for people ("1,000.50") and for JSON ({"currency", "minor", "amount"}).
func text(_ amount: Dunlin_V1_Amount) -> String {
    guard let currency = Currency(code: amount.currency) else { return "\(amount.minor) \(amount.currency)" }
    return String(Money(minorUnits: amount.minor, currency: currency).description.dropFirst(4))
}

func json(_ amount: Dunlin_V1_Amount) -> [String: Any] {
    let decimal = Currency(code: amount.currency).map { Money(minorUnits: amount.minor, currency: $0).decimalString } ?? "\(amount.minor)"
    return ["currency": amount.currency, "minor": amount.minor, "amount": decimal]
}

func json(_ entry: Dunlin_V1_LedgerEntryRecord) -> [String: Any] {
    var object: [String: Any] = [
        "id": entry.id, "kind": entry.kind, "customer_id": entry.customerID, "amount": json(entry.amount),
        "date": entry.date, "reference": entry.reference, "reversed": entry.reversed,
    ]
    if !entry.dueDate.isEmpty { object["due_date"] = entry.dueDate }
    if !entry.sourceID.isEmpty { object["source_id"] = entry.sourceID }
    if !entry.targetID.isEmpty { object["target_id"] = entry.targetID }
    if entry.hasBalance { object["balance"] = json(entry.balance) }
    return object
}

func money(_ text: String, _ code: String, option: String) throws -> Dunlin_V1_Amount {
    guard let currency = Currency(code: code) else { throw ValidationError("--currency: \"\(code)\" is not an ISO 4217 currency") }
    do {
        return Dunlin_V1_Amount(try Money(parsing: text, currency: currency))
    } catch {
        throw ValidationError("\(option): \(error)")
    }
}

/// `given`, or else the one currency the invoices `ids` are in: what `disputes add` and `promises
/// add` take when --currency is left out. Invoices in several currencies need --currency.
func invoiceCurrency(_ given: String?, of ids: [String], client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> String {
    if let given { return given }
    var currencies: Set<String> = []
    for id in ids {
        currencies.insert(try await client.unary(Receivables.getEntry, .with { $0.id = id }, options: options).amount.currency)
    }
    return try onlyCurrency(currencies, of: "the invoices")
}

/// `given`, or else the one currency `customer` bills in (that of all its invoices): what
/// `payments record` takes when --currency is left out.
func customerCurrency(_ given: String?, of customer: String, client: any UnaryCaller, options: RPCClient.CallOptions) async throws -> String {
    if let given { return given }
    guard !customer.isEmpty else { throw ValidationError("--currency: an unidentified payer's payment needs --currency") }
    var currencies: Set<String> = []
    var cursor = ""
    repeat {
        let page = try await client.unary(Receivables.listEntries, .with {
            $0.customerID = customer; $0.kinds = [LedgerEntryKind.invoice.rawValue]; $0.pageSize = 1000; $0.cursor = cursor
        }, options: options)
        for entry in page.entries { currencies.insert(entry.amount.currency) }
        cursor = page.nextCursor
    } while !cursor.isEmpty
    return try onlyCurrency(currencies, of: "customer \(customer)'s invoices")
}

private func onlyCurrency(_ currencies: Set<String>, of what: String) throws -> String {
    guard currencies.count == 1, let only = currencies.first else {
        let found = currencies.isEmpty ? "there are none" : "they are in \(currencies.sorted().joined(separator: " and "))"
        throw ValidationError("--currency: no one currency to take from \(what) (\(found)); give --currency")
    }
    return only
}

struct Customers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Customer accounts.", subcommands: [List.self, Get.self, Update.self, Import.self, HoldCustomer.self, ReleaseCustomer.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List customers by name, a page at a time (--all for every page); the analyst by name (--json: the id).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only this analyst's customers.") var analyst = ""
        @Option(help: "Customers per page (at most 1000).") var pageSize: UInt32 = 100
        @Option(help: "Start after this cursor (from a previous page).") var cursor = ""
        @Flag(help: "Follow the cursor to the last page.") var all = false

        func run() async throws {
            try await connection.withCaller { client in
                var customers: [Dunlin_V1_CustomerRecord] = []
                var next = cursor
                repeat {
                    let page = try await client.unary(Receivables.listCustomers, .with {
                        $0.analystID = analyst; $0.pageSize = pageSize; $0.cursor = next
                    }, options: connection.callOptions)
                    customers += page.customers
                    next = page.nextCursor
                } while all && !next.isEmpty
                if connection.json {
                    printJSON([
                        "customers": customers.map { ["id": $0.id, "number": $0.number, "name": $0.name, "analyst_id": $0.analystID, "time_zone": $0.timeZone] },
                        "next_cursor": next,
                    ])
                } else {
                    let people = await People.lookUp(connection: connection, client: client)
                    printTable([["id", "number", "name", "analyst", "time zone"]] + customers.map { [$0.id, $0.number, $0.name, people.name($0.analystID), $0.timeZone] })
                    if !next.isEmpty { say("more: --cursor \(next)") }
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change some of a customer's details (the others stay as they are). Needs the manager role.",
            discussion: "On a replica, only the fields you change are sent at the next sync, so someone else's edit of another field survives."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Customer id.") var id: String
        @Option(help: "Name.") var name: String?
        @Option(help: "Accounts-payable phone number.") var phone: String?
        @Option(help: "Billing address.") var billingAddress: String?
        @Option(help: "Credit limit, e.g. 50,000.00 (with --currency; \"none\" removes it).") var creditLimit: String?
        @Option(help: "Currency of the credit limit (default: the current limit's).") var currency: String?
        @Option(help: "Payment terms in net days.") var terms: Int?
        @Option(help: "Risk rating 1 (low) to 5 (high).") var risk: Int?
        @Option(help: "Assigned analyst's user id.") var analyst: String?
        @Option(help: "The AP portal invoices go to (name and account; \"none\" for email).") var portal: String?
        @Option(help: "Days after the issue date an invoice must be on the portal, 0-90 (\"default\": the tenant's setting).") var portalUploadDays: String?

        func run() async throws {
            try await connection.withCaller { client in
                var customer = try await client.unary(Receivables.getCustomer, .with { $0.id = id }, options: connection.callOptions).customer
                if let name { customer.name = name }
                if let phone { customer.phone = phone }
                if let billingAddress { customer.billingAddress = billingAddress }
                if let terms { customer.paymentTermsDays = Int32(clamping: terms) }
                if let risk { customer.riskRating = Int32(clamping: risk) }
                if let analyst { customer.analystID = analyst }
                if let portal { customer.portalBilling = portal == "none" ? "" : portal }
                if portalUploadDays == "default" {
                    customer.clearPortalUploadDays()
                } else if let portalUploadDays {
                    guard let days = Int32(portalUploadDays) else { throw ValidationError("--portal-upload-days: \"\(portalUploadDays)\" is not a number of days") }
                    customer.portalUploadDays = days
                }
                if creditLimit == "none" {
                    customer.clearCreditLimit()
                } else if let creditLimit {
                    let code = currency ?? (customer.hasCreditLimit ? customer.creditLimit.currency : "")
                    guard !code.isEmpty else { throw ValidationError("--currency is needed for a first credit limit") }
                    customer.creditLimit = try money(creditLimit, code, option: "--credit-limit")
                }
                _ = try await client.unary(Receivables.upsertCustomers, .with { $0.customers = [customer] }, options: connection.callOptions)
                if connection.json { printJSON(["updated": id]) } else { say("updated \(id)") }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a customer with its open balance and unapplied cash.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Customer id.") var id: String

        func run() async throws {
            try await connection.withCaller { client in
                let response = try await client.unary(Receivables.getCustomer, .with { $0.id = id }, options: connection.callOptions)
                let customer = response.customer
                if connection.json {
                    printJSON([
                        "id": customer.id, "number": customer.number, "name": customer.name, "analyst_id": customer.analystID,
                        "time_zone": customer.timeZone, "risk_rating": customer.riskRating, "payment_terms_days": customer.paymentTermsDays,
                        "phone": customer.phone, "billing_address": customer.billingAddress,
                        "credit_limit": customer.hasCreditLimit ? json(customer.creditLimit) as Any : NSNull(),
                        "open_balance": response.openBalance.map(json), "unapplied": response.unapplied.map(json),
                    ])
                } else {
                    let people = await People.lookUp(connection: connection, client: client)
                    printTable([
                        ["id", "number", "name", "analyst", "time zone", "risk", "terms"],
                        [customer.id, customer.number, customer.name, people.name(customer.analystID), customer.timeZone, "\(customer.riskRating)", "net \(customer.paymentTermsDays)"],
                    ])
                    if !customer.phone.isEmpty { say("phone     \(customer.phone)") }
                    if customer.hasCreditLimit { say("limit     \(customer.creditLimit.currency) \(text(customer.creditLimit))") }
                    for amount in response.openBalance { say("open      \(amount.currency) \(text(amount))") }
                    for amount in response.unapplied { say("unapplied \(amount.currency) \(text(amount))") }
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import customers from CSV: id,number,name[,billing_address,payment_terms_days,credit_limit,credit_currency,risk_rating,analyst_id,time_zone,language,portal_billing,tags,portal_upload_days].",
            discussion: "All or nothing: one bad line imports nothing and names its line and column."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            let table = try readCSV(file, connection: connection)
            let customers: [(line: Int, customer: Dunlin_V1_CustomerRecord)]
            do {
                customers = try ImportFiles.customers(table)
            } catch {
                throw connection.report(importFailure(file, error.description))
            }
            try await connection.withCaller { client in
                do {
                    let response = try await client.unary(Receivables.upsertCustomers, .with { $0.customers = customers.map(\.customer) }, options: connection.callOptions)
                    report(imported: Int(response.count), "customers", file: file, json: connection.json)
                } catch let error as RPCError {
                    throw error.locatedIn(file, lines: customers.map(\.line))
                }
            }
        }
    }
}

struct Invoices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Invoices.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import invoices from CSV: id,customer_id,number,amount,currency,issue_date,due_date[,memo].",
            discussion: "All or nothing: one bad line imports nothing and names its line and column."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws { try await importEntries(file, kind: .invoices, connection: connection) }
    }
}

struct Payments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cash receipts.", subcommands: [Import.self, Record.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import payments from CSV: id,customer_id,amount,currency,date[,reference,memo].",
            discussion: "All or nothing: one bad line imports nothing and names its line and column."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "CSV file.") var file: String

        func run() async throws { try await importEntries(file, kind: .payments, connection: connection) }
    }

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record one payment.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Payment id (default: generated).") var id = ""
        @Option(help: "Customer id (empty: unidentified payer).") var customer = ""
        @Option(help: "Amount, e.g. 1,000.50.") var amount: String
        @Option(help: "ISO 4217 currency (default: the one the customer's invoices are in).") var currency: String?
        @Option(help: "Receipt date YYYY-MM-DD (default: today in the tenant's time zone).") var date = ""
        @Option(help: "Bank or remittance reference.") var reference = ""

        func run() async throws {
            var entry = Dunlin_V1_LedgerEntryRecord()
            entry.id = id.isEmpty ? RecordID.new(for: LedgerEntryKind.payment) : id
            entry.kind = LedgerEntryKind.payment.rawValue
            entry.customerID = customer
            entry.date = date  // empty: the service dates it today in the tenant's time zone
            entry.reference = reference
            try await connection.withCaller { client in
                entry.amount = try money(amount, try await customerCurrency(currency, of: customer, client: client, options: connection.callOptions), option: "--amount")
                _ = try await client.unary(Receivables.postEntries, .with { $0.entries = [entry] }, options: connection.callOptions)
                let recorded = try await client.unary(Receivables.getEntry, .with { $0.id = entry.id }, options: connection.callOptions)
                if connection.json {
                    printJSON(json(recorded))
                } else {
                    say("recorded payment \(recorded.id) on \(recorded.date): \(recorded.amount.currency) \(text(recorded.amount))")
                }
            }
        }
    }
}

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List ledger entries by date (--all for every page).")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this customer's entries.") var customer = ""
    @Option(help: "Only these kinds (repeat): invoice, credit_memo, payment, application, adjustment, write_off, refund, reversal.") var kind: [String] = []
    @Option(help: "From this date, YYYY-MM-DD.") var from = ""
    @Option(help: "Through this date, YYYY-MM-DD.") var through = ""
    @Option(help: "Entries per page (at most 1000).") var pageSize: UInt32 = 100
    @Option(help: "Start after this cursor.") var cursor = ""
    @Flag(help: "Follow the cursor to the last page.") var all = false

    func run() async throws {
        try await connection.withCaller { client in
            var entries: [Dunlin_V1_LedgerEntryRecord] = []
            var next = cursor
            repeat {
                let page = try await client.unary(Receivables.listEntries, .with {
                    $0.customerID = customer; $0.kinds = kind; $0.from = from; $0.through = through
                    $0.pageSize = pageSize; $0.cursor = next
                }, options: connection.callOptions)
                entries += page.entries
                next = page.nextCursor
            } while all && !next.isEmpty
            if connection.json {
                printJSON(["entries": entries.map(json), "next_cursor": next])
            } else {
                printTable([["date", "kind", "id", "customer", "reference", "cur", "amount", "source", "target"]] + entries.map {
                    [$0.date, $0.kind, $0.id, $0.customerID, $0.reference, $0.amount.currency, text($0.amount), $0.sourceID, $0.targetID]
                })
                if !next.isEmpty { say("more: --cursor \(next)") }
            }
        }
    }
}

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply a payment or credit memo to invoices.",
        discussion: """
            Pair each --invoice with an --amount: dunlin apply --source PAY-1 --invoice INV-1 --amount 600 --invoice INV-2 --amount 400.00
            With one --invoice and no --amount, applies what can be: the smaller of the source's unapplied amount and the invoice's open balance.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "The payment or credit memo id.") var source: String
    @Option(help: "Invoice id (repeat for several).") var invoice: [String]
    @Option(help: "Amount for the matching --invoice, in the source's currency (one invoice: default all that can be applied).") var amount: [String] = []
    @Option(help: "Application date YYYY-MM-DD (default: today in the tenant's time zone).") var date = ""

    func validate() throws {
        guard !invoice.isEmpty, invoice.count == amount.count || (invoice.count == 1 && amount.isEmpty) else {
            throw ValidationError("give one --amount for each --invoice (or one --invoice and no --amount to apply all that can be)")
        }
    }

    func run() async throws {
        try await connection.withCaller { client in
            try await applyCash(from: source, to: invoice, amounts: amount, date: date, client: client, connection: connection)
        }
    }
}

/// Applies payment or credit memo `sourceID` to `invoices` (`dunlin apply`, `dunlin cash apply`)
/// and prints the applications: each invoice with its amount in the source's currency, or one
/// invoice and no amount for all that can be applied, the smaller of the source's unapplied amount
/// and the invoice's open balance.
func applyCash(
    from sourceID: String, to invoices: [String], amounts: [String], date: String, client: any UnaryCaller, connection: ConnectionOptions
) async throws {
    let source = try await client.unary(Receivables.getEntry, .with { $0.id = sourceID }, options: connection.callOptions)
    var allocations: [Dunlin_V1_ApplyCashRequest.Allocation] = []
    if amounts.isEmpty, let invoiceID = invoices.first {
        // The source's unapplied amount and the invoice's open balance are both derived
        // `balance`s; the smaller is all this application can take.
        let target = try await client.unary(Receivables.getEntry, .with { $0.id = invoiceID }, options: connection.callOptions)
        guard target.balance.currency == source.balance.currency else {
            throw ValidationError("--amount: \(sourceID) is in \(source.balance.currency) and \(invoiceID) in \(target.balance.currency); give --amount")
        }
        guard source.balance.minor > 0, target.balance.minor > 0 else {
            let empty = source.balance.minor > 0 ? "\(invoiceID) has no open balance" : "\(sourceID) has nothing unapplied"
            throw ValidationError("--amount: nothing to apply: \(empty)")
        }
        allocations.append(.with { $0.invoiceID = invoiceID; $0.amount = source.balance.minor <= target.balance.minor ? source.balance : target.balance })
    }
    for (index, invoiceID) in invoices.enumerated() where index < amounts.count {
        let value = try money(amounts[index], source.amount.currency, option: "--amount")
        allocations.append(.with { $0.invoiceID = invoiceID; $0.amount = value })
    }
    let response = try await client.unary(Receivables.applyCash, .with {
        $0.sourceID = sourceID
        $0.allocations = allocations
        $0.date = date
    }, options: connection.callOptions)
    if connection.json {
        printJSON(["applications": response.applications.map(json)])
    } else {
        printTable([["application", "invoice", "amount"]] + response.applications.map { [$0.id, $0.targetID, "\($0.amount.currency) \(text($0.amount))"] })
    }
}

struct Unapply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reverse a cash application (the money becomes unapplied again).")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Application id.") var application: String

    func run() async throws {
        try await connection.withCaller { client in
            let response = try await client.unary(Receivables.unapply, .with { $0.applicationID = application }, options: connection.callOptions)
            if connection.json { printJSON(json(response.reversal)) } else { say("reversed \(application) with \(response.reversal.id)") }
        }
    }
}

struct Aging: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open receivables by age, per customer and currency, with totals.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "As-of date YYYY-MM-DD (default: today in the tenant's time zone).") var asOf = ""
    @Option(help: "Only this analyst's customers.") var analyst = ""
    @Option(help: "Bucket bounds in days past due, e.g. 0,30,60,90,120.") var buckets = ""
    @Option(help: "Base currency for the converted total (default: the tenant's; - for none).") var base = ""
    @Option(help: "Exchange rate to the base currency, CUR=RATE, instead of the tenant's (repeat).") var rate: [String] = []
    @Option(help: "Write CSV to this file (- for stdout) instead of a table.") var csv: String?

    func run() async throws {
        var request = Dunlin_V1_AgingRequest()
        request.asOf = asOf
        request.analystID = analyst
        request.baseCurrency = base
        if !buckets.isEmpty {
            request.bucketBounds = try buckets.split(separator: ",").map {
                guard let bound = Int32($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--buckets: \"\($0)\" is not a number") }
                return bound
            }
        }
        request.rates = try exchangeRateOptions(rate)
        try await connection.withCaller { client in
            let report = try await client.agingReport(request, options: connection.callOptions)
            func amounts(_ row: Dunlin_V1_AgingRow) -> [String] {
                (row.buckets + [row.total]).map { minor in text(.with { $0.currency = row.currency; $0.minor = minor }) }
            }
            if let csv {
                var lines = [(["customer_id", "customer", "currency"] + report.labels + ["total"]).joined(separator: ",")]
                for row in report.rows {
                    let values = (row.buckets + [row.total]).map { minor in
                        Currency(code: row.currency).map { Money(minorUnits: minor, currency: $0).decimalString } ?? "\(minor)"
                    }
                    lines.append(([csvField(row.customerID), csvField(row.customerName), row.currency] + values).joined(separator: ","))
                }
                try writeCSV(lines, to: csv)
            } else if connection.json {
                func object(_ row: Dunlin_V1_AgingRow) -> [String: Any] {
                    ["customer_id": row.customerID, "customer": row.customerName, "currency": row.currency, "buckets": row.buckets, "total": row.total]
                }
                var result: [String: Any] = ["as_of": report.asOf, "labels": report.labels, "rows": report.rows.map(object), "totals": report.totals.map(object)]
                if report.hasBaseTotal {
                    result["base_total"] = object(report.baseTotal)
                    result["rates"] = report.rates.map { AppliedRateJSON($0).object }
                }
                printJSON(result)
            } else {
                var rows = [["customer", "cur"] + report.labels + ["total"]]
                rows += report.rows.map { ["\($0.customerName.isEmpty ? $0.customerID : $0.customerName)", $0.currency] + amounts($0) }
                rows += report.totals.map { ["TOTAL", $0.currency] + amounts($0) }
                if report.hasBaseTotal { rows.append(["TOTAL (converted)", report.baseTotal.currency] + amounts(report.baseTotal)) }
                say("Aging as of \(report.asOf)")
                printTable(rows)
                if report.hasBaseTotal, let line = ratesLine(report.rates) { say(line) }
                if !report.hasBaseTotal, report.totals.count > 1 {
                    let others = report.totals.map(\.currency).joined(separator: ", ")
                    say("(no converted total: a currency here has no rate on \(report.asOf); set one with dunlin rates set, or give one with --rate PHP=0.0172; currencies here: \(others))")
                }
            }
        }
    }
}

struct Statement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A customer's statement: open invoices, unapplied payments and credits.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Customer id.") var customer: String
    @Option(help: "As-of date YYYY-MM-DD.") var asOf = ""

    func run() async throws {
        try await connection.withCaller { client in
            let statement = try await client.unary(Receivables.statement, .with { $0.customerID = customer; $0.asOf = asOf; $0.packed = true }, options: connection.callOptions)
            let invoices = try statement.openInvoiceRecords()
            if connection.json {
                printJSON([
                    "customer_id": statement.customer.id, "as_of": statement.asOf,
                    "open_invoices": invoices.map(json), "payments": statement.payments.map(json),
                    "credits": statement.credits.map(json), "total_open": statement.totalOpen.map(json),
                    "total_unapplied": statement.totalUnapplied.map(json),
                ])
            } else {
                say("Statement for \(statement.customer.name) (\(statement.customer.number)) as of \(statement.asOf)")
                let items = invoices + statement.payments + statement.credits
                printTable([["kind", "id", "reference", "date", "due", "cur", "amount", "open"]] + items.map {
                    [$0.kind, $0.id, $0.reference, $0.date, $0.dueDate, $0.amount.currency, text($0.amount), text($0.balance)]
                })
                for total in statement.totalOpen { say("open      \(total.currency) \(text(total))") }
                for total in statement.totalUnapplied { say("unapplied \(total.currency) \(text(total))") }
            }
        }
    }
}

struct Unapplied: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Payments and credits not yet applied, including unidentified payers.")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Only this customer.") var customer = ""

    func run() async throws {
        try await connection.withCaller { client in
            let response = try await client.unary(Receivables.unappliedCash, .with { $0.customerID = customer }, options: connection.callOptions)
            if connection.json {
                printJSON(["sources": response.sources.map(json), "totals": response.totals.map(json)])
            } else {
                printTable([["kind", "id", "customer", "date", "cur", "amount", "unapplied"]] + response.sources.map {
                    [$0.kind, $0.id, $0.customerID.isEmpty ? "(unidentified)" : $0.customerID, $0.date, $0.amount.currency, text($0.amount), text($0.balance)]
                })
                for total in response.totals { say("total \(total.currency) \(text(total))") }
            }
        }
    }
}

struct Entry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one ledger entry with its derived balance.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Entry id.") var id: String

    func run() async throws {
        try await connection.withCaller { client in
            let entry = try await client.unary(Receivables.getEntry, .with { $0.id = id }, options: connection.callOptions)
            if connection.json {
                printJSON(json(entry))
            } else {
                printTable([["kind", "id", "customer", "date", "cur", "amount", "balance", "reversed"],
                            [entry.kind, entry.id, entry.customerID, entry.date, entry.amount.currency, text(entry.amount),
                             entry.hasBalance ? text(entry.balance) : "", entry.reversed ? "yes" : ""]])
            }
        }
    }
}

// MARK: Import plumbing

/// Reads and parses a CSV file; a file that cannot be read or parsed (including bytes that are
/// not UTF-8) is reported and exits 103, INVALID_ARGUMENT, like every import refusal.
func readCSV(_ file: String, connection: ConnectionOptions) throws -> CSVTable {
    let data: Data
    do {
        data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
    } catch {
        throw connection.report(importFailure(file, "cannot read: \(error.localizedDescription)"))
    }
    do {
        return try CSVTable(parsing: data)
    } catch {
        throw connection.report(importFailure(file, error.description))
    }
}

func importEntries(_ file: String, kind: ImportFiles.Kind, connection: ConnectionOptions) async throws {
    let table = try readCSV(file, connection: connection)
    let entries: [(line: Int, entry: Dunlin_V1_LedgerEntryRecord)]
    do {
        entries = try ImportFiles.entries(table, kind: kind)
    } catch {
        throw connection.report(importFailure(file, error.description))
    }
    try await connection.withCaller { client in
        do {
            // One transaction (a streamed call on the server): all or nothing, however large the file.
            let count = try await client.importLedgerEntries(entries.map(\.entry), options: connection.callOptions)
            report(imported: count, kind.rawValue, file: file, json: connection.json)
        } catch let error as RPCError {
            throw error.locatedIn(file, lines: entries.map(\.line))
        }
    }
}

func report(imported count: Int, _ what: String, file: String, json: Bool) {
    if json { printJSON(["imported": count, "kind": what, "file": file]) } else { say("imported \(count) \(what) from \(file)") }
}

/// A file that cannot be imported: INVALID_ARGUMENT (exit 103 once passed through
/// ``ConnectionOptions/report(_:)``), nothing sent.
func importFailure(_ file: String, _ message: String) -> RPCError {
    RPCError(.invalidArgument, "\(file): \(message); nothing was imported")
}

extension RPCError {
    /// Names the CSV line of the item the server refused (details carry 1-based item numbers).
    func locatedIn(_ file: String, lines: [Int]) -> RPCError {
        guard let item = details.first?.line, item > 0, Int(item) <= lines.count else { return self }
        var located = self
        located.message = "\(file): line \(lines[Int(item) - 1]): \(message.replacingOccurrences(of: "item \(item): ", with: "")); nothing was imported"
        return located
    }
}

/// CSV lines (the header first) to the file at `path`, or to stdout for "-".
func writeCSV(_ lines: [String], to path: String) throws {
    let output = lines.joined(separator: "\n") + "\n"
    if path == "-" { print(output, terminator: "") } else { try output.write(toFile: path, atomically: true, encoding: .utf8) }
}

func csvField(_ text: String) -> String {
    text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
}
