import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// `dunlin sql` against a laptop's replica of `dunlind demo`: the views answer offline with the
/// figures the CLI's own reports give; anything beyond the views, a write or a malformed query is
/// refused with its exit code; CSV and JSON for scripts.
@Suite("SQL for analysts through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct SQLCLITests {
    func run(_ world: FaultWorld, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", "ana"] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    @Test func theViewsAnswerOfflineWithTheCLIsFigures() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        world.server.terminate()  // offline from here on

        // Each customer's open USD total from the view equals its statement's.
        let totals = try #require(try await run(world, [
            "sql", "SELECT customer_id, SUM(open_minor) AS open_minor FROM ar_open_items WHERE currency = 'USD' GROUP BY customer_id ORDER BY customer_id",
        ]).json as? [String: Any])
        #expect(totals["columns"] as? [String] == ["customer_id", "open_minor"])
        let rows = try #require(totals["rows"] as? [[Any]])
        #expect(!rows.isEmpty)
        for row in rows.prefix(3) {
            let customer = try #require(row[0] as? String), open = try #require((row[1] as? NSNumber)?.int64Value)
            let statement = try #require(try await run(world, ["statement", customer]).json as? [String: Any])
            let usd = (statement["total_open"] as? [[String: Any]])?.first { $0["currency"] as? String == "USD" }
            #expect((usd?["minor"] as? NSNumber)?.int64Value == open, "\(customer)")
        }

        // The metrics' closing receivables are the views' open items, offline as well.
        let metrics = try #require(try await run(world, ["metrics"]).json as? [String: Any])
        let closing = try #require((((metrics["rows"] as? [[String: Any]])?.first?["closing"] as? [String: Any])?["minor"] as? NSNumber)?.int64Value)
        let usdOpen = try #require(try await run(world, ["sql", "SELECT SUM(open_minor) FROM ar_open_items WHERE currency = 'USD'"]).json as? [String: Any])
        #expect(metrics["base_currency"] as? String == "USD")
        #expect(((usdOpen["rows"] as? [[Any]])?.first?.first as? NSNumber)?.int64Value == closing)
        let byMonth = try await run(world, ["metrics", "--by", "month", "--by", "analyst"], json: false)
        #expect(byMonth.status == 0 && byMonth.text.contains("countback") && byMonth.text.contains("(tenant)"), "\(byMonth.text)")

        // The table shows names; CSV for a spreadsheet; the report day is --as-of.
        let table = try await run(world, ["sql", "SELECT customer_name, bucket, open FROM ar_open_items ORDER BY days_past_due DESC LIMIT 3"], json: false)
        #expect(table.status == 0 && table.text.contains("customer_name") && table.text.contains("bucket"), "\(table.text)")
        let csvFile = world.directory.appendingPathComponent("open.csv").path
        #expect(try await run(world, ["sql", "SELECT invoice_id, open FROM ar_open_items ORDER BY invoice_id", "--csv", csvFile], json: false).status == 0)
        #expect(try String(contentsOfFile: csvFile, encoding: .utf8).hasPrefix("invoice_id,open\n"))
        let day = try #require(try await run(world, ["sql", "SELECT report_day FROM ar_views", "--as-of", "2027-01-15"]).json as? [String: Any])
        #expect((day["rows"] as? [[Any]])?.first?.first as? String == "2027-01-15")

        // Beyond the views, a write, or a malformed query: refused with its exit code, nothing changed.
        #expect(try await run(world, ["sql", "SELECT * FROM sync_meta"]).status == 107)
        #expect(try await run(world, ["sql", "DELETE FROM ar_report_day"]).status == 107)
        #expect(try await run(world, ["sql", "SELECT * FROM ar_nothing"]).status == 103)
        #expect(try await run(world, ["sql", "SELECT 1; DROP TABLE customer"]).status == 103)
        #expect(try await run(world, ["sql", "SELECT 1", "--as-of", "2027-13-01"]).status == 64)
        let after = try #require(try await run(world, ["sql", "SELECT count(*) FROM ar_customers"]).json as? [String: Any])
        #expect(((after["rows"] as? [[Any]])?.first?.first as? NSNumber)?.intValue ?? 0 > 0, "\(after)")
    }
}
