import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// Month-end closes over the Receivables service (Protocol/receivables.proto): `dunlin close month`
// (managers) and `reopen` (admins) on the server; `list` and `show` offline too; the frozen
// per-customer snapshot and the post-close adjustments from the server.

/// `dunlin close`.
struct CloseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "close",
        abstract: "Month-end close: freeze a month's aging and compute the bad-debt allowance.",
        discussion: """
            dunlin close month 2026-11 --snapshot-csv aging-2026-11.csv --allowance-csv allowance-2026-11.csv
            The allowance rates per bucket are the setting close.allowance_rates (default 1,5,15,30,50 percent \
            for current, 1-30, 31-60, 61-90 and over 90 days past due). README, "Month-end close".
            """,
        subcommands: [Month.self, Show.self, List.self, Reopen.self, Adjustments.self], defaultSubcommand: List.self
    )

    /// The options every command that shows a close takes: where to write its CSV files.
    struct Exports: ParsableArguments {
        @Option(help: "Write the frozen aging per customer to this CSV file (- for stdout; needs the server).") var snapshotCsv: String?
        @Option(help: "Write the allowance per bucket to this CSV file (- for stdout).") var allowanceCsv: String?
    }

    struct Month: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a month (managers, on the server): its aging as of its last day is frozen, the allowance computed."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The month, YYYY-MM.") var month: String
        @OptionGroup var exports: Exports

        func run() async throws {
            try await connection.withClient { client in
                let close = try await client.unary(Receivables.closeMonth, .with { $0.month = month }, options: connection.callOptions)
                try await CloseCommand.present(close, exports: exports, client: client, connection: connection)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A month's close: its buckets, allowance and who closed it (offline too).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The month, YYYY-MM.") var month: String
        @OptionGroup var exports: Exports

        func run() async throws {
            if exports.snapshotCsv != nil {
                // The per-customer snapshot is kept on the server.
                return try await connection.withClient { client in
                    let close = try await client.unary(Receivables.getClose, .with { $0.month = month }, options: connection.callOptions)
                    try await CloseCommand.present(close, exports: exports, client: client, connection: connection)
                }
            }
            try await connection.withCaller { client in
                let close = try await client.unary(Receivables.getClose, .with { $0.month = month }, options: connection.callOptions)
                try await CloseCommand.present(close, exports: exports, client: client, connection: connection)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every close, newest month first (offline too).")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await connection.withCaller { client in
                let closes = try await client.unary(Receivables.listCloses, .init(), options: connection.callOptions).closes
                if connection.json { return printJSON(encoding: closes.map(PeriodCloseJSON.init)) }
                let people = await People.lookUp(connection: connection, client: client)
                printTable([["month", "status", "receivables", "allowance", "change", "closed by", "on"]] + closes.map { close in
                    [
                        close.month, close.status, CloseCommand.amount(close.receivables, close.baseCurrency),
                        CloseCommand.amount(close.allowance, close.baseCurrency), CloseCommand.amount(close.allowanceChange, close.baseCurrency),
                        people.name(close.closedBy), close.closedOn,
                    ]
                })
            }
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a closed month (admins, on the server), with a reason.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The month, YYYY-MM.") var month: String
        @Option(help: "Why.") var reason: String

        func run() async throws {
            try await connection.withClient { client in
                let close = try await client.unary(Receivables.reopenMonth, .with { $0.month = month; $0.reason = reason }, options: connection.callOptions)
                if connection.json { return printJSON(encoding: PeriodCloseJSON(close)) }
                say("\(close.month) reopened: \(terminalSafe(close.reopenReason))")
            }
        }
    }

    struct Adjustments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries dated in a closed month but posted after its close (from the server).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The closed month, YYYY-MM.") var month: String

        func run() async throws {
            try await connection.withClient { client in
                let entries = try await client.unary(Receivables.postCloseAdjustments, .with { $0.month = month }, options: connection.callOptions).entries
                if connection.json { return printJSON(["entries": entries.map(json)]) }
                say("\(entries.count) post-close adjustment\(entries.count == 1 ? "" : "s") to \(month)")
                printTable([["date", "entry", "kind", "customer", "amount"]] + entries.map { [$0.date, $0.id, $0.kind, $0.customerID, "\($0.amount.currency) \(text($0.amount))"] })
            }
        }
    }

    static func amount(_ minor: Int64, _ currency: String) -> String {
        "\(currency) \(text(.with { $0.currency = currency; $0.minor = minor }))"
    }

    /// Prints `close` (or its JSON) and writes the CSV files asked for.
    static func present(_ close: Dunlin_V1_PeriodCloseRecord, exports: Exports, client: any UnaryCaller, connection: ConnectionOptions) async throws {
        if let path = exports.allowanceCsv {
            var lines = ["month,bucket,amount,rate_percent,allowance,currency"]
            for bucket in close.buckets {
                lines.append([close.month, bucket.label, money(bucket.amount, close.baseCurrency), percent(bucket.rateBasisPoints), money(bucket.allowance, close.baseCurrency), close.baseCurrency]
                    .map(csvField).joined(separator: ","))
            }
            lines.append([close.month, "total", money(close.receivables, close.baseCurrency), "", money(close.allowance, close.baseCurrency), close.baseCurrency].joined(separator: ","))
            lines.append([close.month, "previous", "", "", money(close.previousAllowance, close.baseCurrency), close.baseCurrency].joined(separator: ","))
            lines.append([close.month, "change", "", "", money(close.allowanceChange, close.baseCurrency), close.baseCurrency].joined(separator: ","))
            try writeCSV(lines, to: path)
        }
        if let path = exports.snapshotCsv {
            var rows: [Dunlin_V1_AgingRow] = []
            var labels: [String] = []
            var cursor = ""
            repeat {
                let page = try await client.unary(Receivables.closeSnapshot, .with { $0.month = close.month; $0.cursor = cursor }, options: connection.callOptions)
                rows += page.rows
                labels = page.labels
                cursor = page.nextCursor
            } while !cursor.isEmpty
            var lines = [(["customer_id", "customer", "currency"] + labels + ["total"]).joined(separator: ",")]
            for row in rows {
                lines.append(([row.customerID, row.customerName, row.currency] + (row.buckets + [row.total]).map { money($0, row.currency) }).map(csvField).joined(separator: ","))
            }
            try writeCSV(lines, to: path)
        }
        if connection.json { return printJSON(encoding: PeriodCloseJSON(close)) }
        if exports.allowanceCsv == "-" || exports.snapshotCsv == "-" { return }
        let people = await People.lookUp(connection: connection, client: client)
        say("Close of \(close.month) (aging as of \(close.through)): \(close.status) by \(people.name(close.closedBy)) on \(close.closedOn)")
        if close.status == "reopened" || !close.reopenReason.isEmpty {
            say("reopened by \(people.name(close.reopenedBy)) on \(close.reopenedOn): \(terminalSafe(close.reopenReason))")
        }
        printTable([["bucket", "receivables", "rate", "allowance"]] + close.buckets.map {
            [$0.label, amount($0.amount, close.baseCurrency), percent($0.rateBasisPoints) + "%", amount($0.allowance, close.baseCurrency)]
        } + [["TOTAL", amount(close.receivables, close.baseCurrency), "", amount(close.allowance, close.baseCurrency)]])
        let previous = close.previousID.isEmpty ? "no earlier close" : "\(close.previousID.dropFirst("close_".count)): \(amount(close.previousAllowance, close.baseCurrency))"
        say("allowance change: \(amount(close.allowanceChange, close.baseCurrency)) (previous: \(previous))")
        for currency in close.currencies where currency.currency != close.baseCurrency {
            say(currency.rate.isEmpty
                ? "\(amount(currency.total, currency.currency)) left out: no rate into \(close.baseCurrency) in force on \(close.through)"
                : "\(amount(currency.total, currency.currency)) converted at \(currency.inverse ? "1 \(close.baseCurrency) = \(currency.rate) \(currency.currency)" : "1 \(currency.currency) = \(currency.rate) \(close.baseCurrency)") (from \(currency.rateDate))")
        }
        if close.postCloseAdjustments > 0 {
            say("\(close.postCloseAdjustments) post-close adjustment\(close.postCloseAdjustments == 1 ? "" : "s") to \(close.previousID.dropFirst("close_".count)): dunlin close adjustments \(close.previousID.dropFirst("close_".count))")
        }
    }

    /// Minor units as a decimal, as the currency has it ("1234.50").
    static func money(_ minor: Int64, _ code: String) -> String {
        AmountJSON(.with { $0.currency = code; $0.minor = minor }).amount
    }

    static func percent(_ points: Int32) -> String { AllowanceMatrix.percent(Int(points)) }
}

/// A close in `--json` output: amounts in minor units of `base_currency`.
struct PeriodCloseJSON: Encodable {
    struct Bucket: Encodable {
        var label: String
        var amount: Int64
        var rate_basis_points: Int32
        var allowance: Int64
    }
    struct CurrencyTotal: Encodable {
        var currency: String
        var total: Int64
        var rate: String
        var inverse: Bool
        var rate_date: String
    }
    var id, month, through, status, base_currency: String
    var buckets: [Bucket]
    var currencies: [CurrencyTotal]
    var receivables, allowance: Int64
    var previous_id: String
    var previous_allowance, allowance_change: Int64
    var closed_by, closed_on: String
    var reopened_by, reopened_on, reopen_reason: String
    var post_close_adjustments: Int32

    init(_ close: Dunlin_V1_PeriodCloseRecord) {
        id = close.id
        month = close.month
        through = close.through
        status = close.status
        base_currency = close.baseCurrency
        buckets = close.buckets.map { Bucket(label: $0.label, amount: $0.amount, rate_basis_points: $0.rateBasisPoints, allowance: $0.allowance) }
        currencies = close.currencies.map { CurrencyTotal(currency: $0.currency, total: $0.total, rate: $0.rate, inverse: $0.inverse, rate_date: $0.rateDate) }
        receivables = close.receivables
        allowance = close.allowance
        previous_id = close.previousID
        previous_allowance = close.previousAllowance
        allowance_change = close.allowanceChange
        closed_by = close.closedBy
        closed_on = close.closedOn
        reopened_by = close.reopenedBy
        reopened_on = close.reopenedOn
        reopen_reason = close.reopenReason
        post_close_adjustments = close.postCloseAdjustments
    }
}
