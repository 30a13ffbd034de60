import ArgumentParser
import DunlinClient
import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

extension AnalystSQL.Value: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .integer(let value): try container.encode(value)
        case .real(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        }
    }

    var text: String {
        switch self {
        case .null: ""
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let value): value
        }
    }
}

/// `dunlin sql`: one read-only query over the replica's analyst views, offline.
struct SQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run one read-only SQL query over the replica's analyst views (offline).",
        discussion: """
            The views (README, "SQL for analysts"): ar_views, ar_customers, ar_open_items, ar_ledger, \
            ar_activities, ar_promises, ar_disputes, ar_approval_requests. Ages in ar_open_items count to \
            your today, or --as-of. Nothing else of the replica can be read, and nothing written.
              dunlin sql "SELECT bucket, currency, SUM(open) FROM ar_open_items GROUP BY 1, 2" --csv -
            Exit codes: 103 a query SQLite cannot run, 107 one that reads beyond the views or writes, \
            109 a replica whose first sync has not finished.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The query: one SELECT (or WITH ... SELECT).") var query: String
    @Option(help: "Count ages to this day, YYYY-MM-DD (default: your today).") var asOf: String?
    @Option(help: "Write CSV to this file (- for stdout) instead of a table.") var csv: String?

    func validate() throws {
        if let asOf, CivilDate(asOf) == nil { throw ValidationError("--as-of must be a date YYYY-MM-DD, not \"\(asOf)\"") }
    }

    func run() async throws {
        let replica = try bootstrappedReplica(connection)
        let zone = TimeZone(identifier: replica.profile.userTimeZone ?? replica.profile.timeZone) ?? .gmt
        try replica.store.setReportDay(asOf.flatMap(CivilDate.init) ?? WallClock.system.today(in: zone))
        let result: AnalystSQL.Result
        do {
            result = try AnalystSQL.run(query, path: replica.profile.replicaPath)
        } catch let refusal as AnalystSQL.Refusal {
            throw connection.report(RPCError(refusal.permission ? .permissionDenied : .invalidArgument, refusal.message))
        }
        if let csv {
            let lines = [result.columns.map(csvField).joined(separator: ",")] + result.rows.map { $0.map { csvField($0.text) }.joined(separator: ",") }
            try writeCSV(lines, to: csv)
        } else if connection.json {
            printJSON(encoding: SQLJSON(columns: result.columns, rows: result.rows))
        } else if result.rows.isEmpty {
            say("no rows")
        } else {
            printTable([result.columns] + result.rows.map { $0.map(\.text) })
        }
    }
}

/// `dunlin sql --json`: the columns, and each row's values in their order (numbers as numbers).
struct SQLJSON: Encodable {
    var columns: [String]
    var rows: [[AnalystSQL.Value]]
}
