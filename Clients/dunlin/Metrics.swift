import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinWire
import Foundation

/// `dunlin metrics`: the numbers an AR team is judged by (README "Metrics"), offline from the
/// replica or from the server.
struct MetricsCommand: AsyncParsableCommand {
    enum By: String, ExpressibleByArgument, CaseIterable {
        case analyst
        case month
        case team
    }

    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "DSO (simple and countback), best possible DSO, days delinquent, CEI, over 90 days, promises kept, disputes, cash collected.",
        discussion: """
            In the tenant's base currency (other currencies are left out and named). Every formula: README, "Metrics".
              dunlin metrics --from 2026-01-01 --through 2026-12-31 --by month --csv 2026.csv
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "First day, YYYY-MM-DD (default: the first of --through's month).") var from = ""
    @Option(help: "Last day, YYYY-MM-DD (default: today).") var through = ""
    @Option(help: "Only this analyst's customers.") var analyst = ""
    @Option(help: "A row per analyst, per team (team calendars with members) or per month (repeat to combine).") var by: [By] = []
    @Option(help: "Exchange rate to the base currency, CUR=RATE, instead of the tenant's (repeat).") var rate: [String] = []
    @Option(help: "Write CSV to this file (- for stdout) instead of a table.") var csv: String?

    func run() async throws {
        let rates = try exchangeRateOptions(rate)
        try await connection.withCaller { client in
            let response = try await client.unary(Receivables.metrics, .with {
                $0.rates = rates
                $0.from = from
                $0.through = through
                $0.analystID = analyst
                $0.byMonth = by.contains(.month)
                $0.byAnalyst = by.contains(.analyst)
                $0.byTeam = by.contains(.team)
            }, options: connection.callOptions)
            let rows = response.rows.map(MetricsRowJSON.init)
            if let csv {
                let header = [
                    "from", "through", "analyst_id", "team_id", "currency", "opening", "closing", "closing_current", "closing_over_90", "sales", "collected",
                    "dso_simple", "dso_countback", "best_possible_dso", "average_days_delinquent", "cei", "over_90_percent",
                    "promises_due", "promises_kept", "promise_kept_percent", "disputes_open", "dispute_average_age_days",
                    "target", "collected_percent_of_target", "tickets_resolved", "tickets_within_sla", "ticket_sla_percent", "rates",
                ]
                let lines = [header.joined(separator: ",")] + zip(rows, response.rows).map { (row: MetricsRowJSON, message: Dunlin_V1_MetricsRow) -> String in
                    var fields = [row.from, row.through, row.analyst_id, row.team_id, response.baseCurrency]
                    fields += [row.opening, row.closing, row.closing_current, row.closing_over_90, row.sales, row.collected].map(\.amount)
                    fields += [row.dso_simple, row.dso_countback, row.best_possible_dso, row.average_days_delinquent, row.cei, row.over_90_percent].map(Self.figure)
                    fields += [String(row.promises_due), String(row.promises_kept), Self.figure(row.promise_kept_percent)]
                    fields += [String(row.disputes_open), Self.figure(row.dispute_average_age_days), row.target.amount, Self.figure(row.collected_percent_of_target)]
                    fields += [String(row.tickets_resolved), String(row.tickets_within_sla), Self.figure(row.ticket_sla_percent)]
                    fields.append(ratesLine(message.rates).map { String($0.dropFirst("rates: ".count)) } ?? "")
                    return fields.map(csvField).joined(separator: ",")
                }
                try writeCSV(lines, to: csv)
            } else if connection.json {
                printJSON(encoding: MetricsJSON(base_currency: response.baseCurrency, excluded_currencies: response.excludedCurrencies, rows: rows))
            } else {
                let people = await People.lookUp(connection: connection, client: client)
                printTable([["period", "analyst", "DSO", "countback", "best", "delinquent", "CEI %", ">90 %", "kept", "disputes", "SLA met", "sales", "collected", "of target %"]] + rows.map { row in
                    [
                        row.from == row.through ? row.from : "\(row.from) to \(row.through)", !row.team_id.isEmpty ? "team \(row.team_id)" : row.analyst_id.isEmpty ? "(tenant)" : people.name(row.analyst_id),
                        Self.figure(row.dso_simple), Self.figure(row.dso_countback), Self.figure(row.best_possible_dso), Self.figure(row.average_days_delinquent),
                        Self.figure(row.cei), Self.figure(row.over_90_percent), "\(row.promises_kept) of \(row.promises_due)",
                        row.disputes_open == 0 ? "0" : "\(row.disputes_open), \(Self.figure(row.dispute_average_age_days)) days",
                        row.tickets_resolved == 0 ? "-" : "\(row.tickets_within_sla) of \(row.tickets_resolved)",
                        row.sales.amount, row.collected.amount, Self.figure(row.collected_percent_of_target),
                    ]
                })
                say("amounts in \(response.baseCurrency)" + (response.excludedCurrencies.isEmpty ? "" : "; left out (no rate): \(response.excludedCurrencies.joined(separator: ", "))"))
                var used: [Dunlin_V1_AppliedRate] = []
                for rate in response.rows.flatMap(\.rates) where !used.contains(rate) { used.append(rate) }
                if let line = ratesLine(used) { say(line + " (each row at its last day's)") }
            }
        }
    }

    /// One decimal, or "-" where the formula has nothing to divide by.
    static func figure(_ value: Double?) -> String {
        guard let value else { return "-" }
        return String(format: "%.1f", value)
    }
}

struct MetricsJSON: Encodable {
    var base_currency: String
    var excluded_currencies: [String]
    var rows: [MetricsRowJSON]
}

/// A metrics row in `--json`: figures as numbers, absent (null) where the formula has nothing to divide by.
struct MetricsRowJSON: Encodable {
    var from, through, analyst_id, team_id: String
    var opening, closing, closing_current, closing_over_90, sales, collected: AmountJSON
    var dso_simple, dso_countback, best_possible_dso, average_days_delinquent, cei, over_90_percent: Double?
    var promises_due, promises_kept: Int32
    var promise_kept_percent: Double?
    var disputes_open: Int32
    var dispute_average_age_days: Double?
    var target: AmountJSON
    var collected_percent_of_target: Double?
    var rates: [AppliedRateJSON]
    var tickets_resolved, tickets_within_sla: Int32
    var ticket_sla_percent: Double?

    init(_ row: Dunlin_V1_MetricsRow) {
        from = row.from
        through = row.through
        analyst_id = row.analystID
        team_id = row.teamID
        opening = AmountJSON(row.opening)
        closing = AmountJSON(row.closing)
        closing_current = AmountJSON(row.closingCurrent)
        closing_over_90 = AmountJSON(row.closingOver90)
        sales = AmountJSON(row.sales)
        collected = AmountJSON(row.collected)
        dso_simple = row.hasDsoSimple ? row.dsoSimple : nil
        dso_countback = row.hasDsoCountback ? row.dsoCountback : nil
        best_possible_dso = row.hasBestPossibleDso ? row.bestPossibleDso : nil
        average_days_delinquent = row.hasAverageDaysDelinquent ? row.averageDaysDelinquent : nil
        cei = row.hasCei ? row.cei : nil
        over_90_percent = row.hasOver90Percent ? row.over90Percent : nil
        promises_due = row.promisesDue
        promises_kept = row.promisesKept
        promise_kept_percent = row.hasPromiseKeptPercent ? row.promiseKeptPercent : nil
        disputes_open = row.disputesOpen
        dispute_average_age_days = row.hasDisputeAverageAgeDays ? row.disputeAverageAgeDays : nil
        target = AmountJSON(row.target)
        collected_percent_of_target = row.hasCollectedPercentOfTarget ? row.collectedPercentOfTarget : nil
        rates = row.rates.map(AppliedRateJSON.init)
        tickets_resolved = row.ticketsResolved
        tickets_within_sla = row.ticketsWithinSla
        ticket_sla_percent = row.hasTicketSlaPercent ? row.ticketSlaPercent : nil
    }
}
