import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

// Exchange rates over the Records service (Protocol/records.proto): `dunlin rates set`, `import`,
// `list` and `delete`. Managers write them, offline like every record; the aging, the worklist,
// the metrics and the reports convert with the rate in force on their day and say which.

/// `dunlin rates`.
struct RatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rates",
        abstract: "The tenant's exchange rates by currency pair and day (managers set them).",
        discussion: """
            A rate 1 FROM = RATE TO is in force from its day until a later rate of the pair. Converted \
            totals (aging, worklist, metrics, reports) use, for each currency, the latest rate into the \
            base currency (or out of it, divided) dated on or before their day, unless --rate overrides it.
            """,
        subcommands: [Set.self, Import.self, List.self, Delete.self], defaultSubcommand: List.self
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set one rate: 1 FROM = RATE TO, from a day on.",
            discussion: "dunlin rates set USD PHP 56.125 --date 2026-11-30 --source \"BSP reference rate\""
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The currency converted from (ISO 4217).") var from: String
        @Argument(help: "The currency converted into.") var to: String
        @Argument(help: "A positive decimal, at most 12 decimals.") var rate: String
        @Option(help: "The first day it is in force, YYYY-MM-DD (default: today).") var date = ""
        @Option(help: "Where the rate came from.") var source = ""

        func run() async throws {
            let record = Dunlin_V1_ExchangeRateRecord.with {
                $0.fromCurrency = from.uppercased()
                $0.toCurrency = to.uppercased()
                $0.date = date
                $0.rate = rate
                $0.source = source
            }
            try await connection.withCaller { client in
                let saved = try await client.unary(Records.upsertExchangeRates, .with { $0.rates = [record] }, options: connection.callOptions).rates
                RatesCommand.show(saved, json: connection.json)
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set rates from a CSV file, all or none.",
            discussion: """
                Columns: from_currency,to_currency,date,rate[,source] (a header line first). A bad line is \
                refused with its line and column, and nothing is set.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The CSV file (- for stdin).") var file: String

        func run() async throws {
            let table = try readCSV(file, connection: connection)
            let rates: [(line: Int, rate: Dunlin_V1_ExchangeRateRecord)]
            do {
                rates = try ImportFiles.exchangeRates(table)
            } catch {
                throw connection.report(importFailure(file, error.description))
            }
            try await connection.withCaller { client in
                do {
                    let saved = try await client.unary(Records.upsertExchangeRates, .with { $0.rates = rates.map(\.rate) }, options: connection.callOptions)
                    report(imported: saved.rates.count, "exchange rates", file: file, json: connection.json)
                } catch let error as RPCError {
                    throw error.locatedIn(file, lines: rates.map(\.line))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rates by day: all, or of one currency, within dates.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Only rates from or into this currency.") var currency = ""
        @Option(help: "First day, YYYY-MM-DD.") var from = ""
        @Option(help: "Last day, YYYY-MM-DD.") var through = ""

        func run() async throws {
            try await connection.withCaller { client in
                var rates: [Dunlin_V1_ExchangeRateRecord] = []
                var cursor = ""
                repeat {
                    let page = try await client.unary(Records.listExchangeRates, .with {
                        $0.currency = currency.uppercased()
                        $0.from = from
                        $0.through = through
                        $0.pageSize = 1000
                        $0.cursor = cursor
                    }, options: connection.callOptions)
                    rates += page.rates
                    cursor = page.nextCursor
                } while !cursor.isEmpty
                RatesCommand.show(rates, json: connection.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one day's rate of a pair (the rate in force before it applies again).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The currency converted from.") var from: String
        @Argument(help: "The currency converted into.") var to: String
        @Argument(help: "The rate's day, YYYY-MM-DD.") var date: String

        func run() async throws {
            guard let from = Currency(code: from.uppercased()) else { throw ValidationError("\"\(from)\" is not an ISO 4217 currency") }
            guard let to = Currency(code: to.uppercased()) else { throw ValidationError("\"\(to)\" is not an ISO 4217 currency") }
            guard let day = CivilDate(date) else { throw ValidationError("\"\(date)\" is not a date (YYYY-MM-DD)") }
            let id = DatedRate.id(from: from, to: to, date: day)
            try await connection.withCaller { client in
                _ = try await client.unary(Records.deleteExchangeRates, .with { $0.ids = [id] }, options: connection.callOptions)
                if connection.json { printJSON(["deleted": id]) } else { say("deleted the \(from)/\(to) rate of \(day)") }
            }
        }
    }

    static func show(_ rates: [Dunlin_V1_ExchangeRateRecord], json: Bool) {
        if json { return printJSON(encoding: rates.map(ExchangeRateJSON.init)) }
        printTable([["from", "to", "rate", "in force from", "source"]] + rates.map { [$0.fromCurrency, $0.toCurrency, $0.rate, $0.date, $0.source] })
    }
}

/// A stored rate in `--json` output.
struct ExchangeRateJSON: Codable {
    var id: String
    var from_currency: String
    var to_currency: String
    var date: String
    var rate: String
    var source: String

    init(_ rate: Dunlin_V1_ExchangeRateRecord) {
        id = rate.id
        from_currency = rate.fromCurrency
        to_currency = rate.toCurrency
        date = rate.date
        self.rate = rate.rate
        source = rate.source
    }
}

/// A rate a report used, in `--json` output.
struct AppliedRateJSON: Codable {
    var currency: String
    var base_currency: String
    var rate: String
    var inverse: Bool
    var date: String
    var source: String
    var given: Bool

    init(_ rate: Dunlin_V1_AppliedRate) {
        currency = rate.currency
        base_currency = rate.baseCurrency
        self.rate = rate.rate
        inverse = rate.inverse
        date = rate.date
        source = rate.source
        given = rate.given
    }

    /// A plain dictionary, for the commands whose JSON is built by hand.
    var object: [String: Any] {
        ["currency": currency, "base_currency": base_currency, "rate": rate, "inverse": inverse, "date": date, "source": source, "given": given]
    }
}

/// The line under a converted table saying which rates it used ("rates: 1 PHP = 0.0172 USD
/// (given); 1 EUR = 1.08 USD (from 2026-11-01, ECB)"), or nil when none.
func ratesLine(_ rates: [Dunlin_V1_AppliedRate]) -> String? {
    guard !rates.isEmpty else { return nil }
    return "rates: " + rates.map { rate in
        let quote = rate.inverse ? "1 \(rate.baseCurrency) = \(rate.rate) \(rate.currency)" : "1 \(rate.currency) = \(rate.rate) \(rate.baseCurrency)"
        let origin = rate.given ? "given" : (["from \(rate.date)"] + (rate.source.isEmpty ? [] : [rate.source])).joined(separator: ", ")
        return "\(quote) (\(origin))"
    }.joined(separator: "; ")
}
