import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

/// `dunlin worklist`: whom to call today, in order, and why. Reads the replica (offline) or, with
/// `--server`, the server; "today" is the analyst's own day.
struct WorklistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worklist",
        abstract: "Your customers in the order to work them today, each with why.",
        discussion: """
            Call-backs and promises due come first, then the highest score: amount overdue, days past due, broken \
            promises, open disputes, risk, credit limit and days since the last contact (README, "The worklist"). \
            Today is your own day, in your time zone (dunlin admin user update --time-zone), else the tenant's.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Another analyst's list, by user id (default: yours).") var analyst = ""
    @Option(help: "The day, YYYY-MM-DD (default: today in your time zone).") var asOf = ""
    @Option(help: "At most this many customers (default 50, at most 1000).") var limit: UInt32 = 0
    @Option(help: "Base currency for the overdue amounts (default: the tenant's).") var base = ""
    @Option(help: "Exchange rate to the base currency, CUR=RATE (repeat).") var rate: [String] = []

    func validate() throws {
        guard limit <= 1000 else { throw ValidationError("--limit: at most 1000") }
        if !asOf.isEmpty, CivilDate(asOf) == nil { throw ValidationError("--as-of: \"\(asOf)\" is not a date YYYY-MM-DD") }
    }

    func run() async throws {
        let request = try Dunlin_V1_WorklistRequest.with {
            $0.analystID = analyst
            $0.asOf = asOf
            $0.limit = limit
            $0.baseCurrency = base
            $0.rates = try exchangeRateOptions(rate)
        }
        try await connection.withCaller { client in
            let list = try await client.unary(Receivables.worklist, request, options: connection.callOptions)
            if connection.json { return printJSON(encoding: WorklistJSON(list)) }
            let people = await People.lookUp(connection: connection, client: client)
            say("Worklist of \(people.name(list.analystID)) for \(list.asOf) (\(list.timeZone)): \(list.total) customer\(list.total == 1 ? "" : "s")")
            guard !list.rows.isEmpty else { return say("nothing overdue, no call-backs and no promises due") }
            printTable([["#", "customer", "score", "overdue", "days", "why"]] + list.rows.enumerated().map { index, row in
                [
                    "\(index + 1)\(row.priority ? "*" : "")", row.customerName.isEmpty ? row.customerID : row.customerName, "\(row.score)",
                    row.overdueBase.minor == 0 ? "" : "\(row.overdueBase.currency) \(text(row.overdueBase))",
                    row.daysPastDue == 0 ? "" : "\(row.daysPastDue)", row.reasons.joined(separator: "; "),
                ]
            })
            if list.rows.contains(where: \.priority) { say("* a call-back or a promise is due") }
            if let line = ratesLine(list.rates) { say(line) }
        }
    }
}

/// `--rate CUR=RATE` options as a request's rates.
func exchangeRateOptions(_ options: [String]) throws -> [Dunlin_V1_AgingRequest.Rate] {
    try options.map { pair in
        let parts = pair.split(separator: "=")
        guard parts.count == 2 else { throw ValidationError("--rate: \"\(pair)\" is not CUR=RATE") }
        return .with { $0.currency = String(parts[0]); $0.rate = String(parts[1]) }
    }
}

/// `dunlin worklist --json`: stable keys, amounts as ``AmountJSON``.
struct WorklistJSON: Encodable {
    struct Row: Encodable {
        var customerID: String
        var customer: String
        var priority: Bool
        var score: Int64
        var parts: [String: Int64]
        var reasons: [String]
        var overdueBase: AmountJSON
        var overdue: [AmountJSON]
        var daysPastDue: Int32

        enum CodingKeys: String, CodingKey {
            case customer, priority, score, parts, reasons, overdue
            case customerID = "customer_id"
            case overdueBase = "overdue_base"
            case daysPastDue = "days_past_due"
        }
    }

    var asOf: String
    var analystID: String
    var timeZone: String
    var total: UInt32
    var weights: [String: Int32]
    var rows: [Row]
    var rates: [AppliedRateJSON]

    enum CodingKeys: String, CodingKey {
        case total, weights, rows, rates
        case asOf = "as_of"
        case analystID = "analyst_id"
        case timeZone = "time_zone"
    }

    init(_ list: Dunlin_V1_WorklistResponse) {
        asOf = list.asOf
        analystID = list.analystID
        timeZone = list.timeZone
        total = list.total
        weights = list.weights
        rates = list.rates.map(AppliedRateJSON.init)
        rows = list.rows.map { row in
            Row(
                customerID: row.customerID, customer: row.customerName, priority: row.priority, score: row.score,
                parts: Dictionary(row.parts.map { ($0.name, $0.points) }) { first, _ in first }, reasons: row.reasons,
                overdueBase: AmountJSON(row.overdueBase), overdue: row.overdue.map(AmountJSON.init), daysPastDue: row.daysPastDue
            )
        }
    }
}
