import DunlinCore
import Foundation
import Testing

/// Every date a command fills in by default is the tenant's today, whatever the laptop's time zone:
/// real `dunlind demo` (tenant in America/Chicago) and `dunlin` processes, both clocks moved to one
/// instant with `DUNLIN_CLOCK_OFFSET`, the same day's work run at laptops in Manila, New York and UTC.
@Suite("Default dates are the tenant's", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct TenantDatesTests {
    /// 2026-11-23 03:00 UTC: 21:00 on the 22nd in Chicago (the tenant's day), but already the 23rd
    /// in Manila and in UTC. A laptop that dates by its own calendar gets the wrong day.
    static let instant = Date(timeIntervalSince1970: 1_795_402_800)
    static let tenantToday = "2026-11-22"

    /// The offset that moves a process's clock to ``instant``. The one place a test reads the real
    /// clock: to stand the processes it starts at a fixed instant, whatever day the suite runs.
    static func clockOffset() -> String {
        "\(Int64((instant.timeIntervalSince1970 - Date().timeIntervalSince1970).rounded()))s"
    }

    /// Runs `dunlin ARGUMENTS --json` on a laptop in `zone` and decodes its object.
    func run(_ world: FaultWorld, zone: String, _ arguments: [String]) async throws -> [String: Any] {
        let (status, output) = try await runCLI(arguments + ["--json"], environment: world.cliEnvironment(["TZ": zone]))
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw RawError("TZ=\(zone) dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)")
        }
        return object
    }

    @Test func everyDefaultDateIsTheTenantsTodayAtEveryLaptopTimeZone() async throws {
        #expect(CivilDate(Self.instant, in: TimeZone(identifier: "America/Chicago")!).description == Self.tenantToday)
        #expect(CivilDate(Self.instant, in: TimeZone(identifier: "Asia/Manila")!).description != Self.tenantToday)
        let world = try await FaultWorld(environment: ["DUNLIN_CLOCK_OFFSET": Self.clockOffset()])
        _ = try await world.login()
        let csv = world.directory.appendingPathComponent("invoices.csv")
        try "id,customer_id,number,amount,currency,issue_date,due_date\nINV-TZ,CUS-1007,TZ-1,900.00,USD,2026-10-01,2026-10-31\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        _ = try await run(world, zone: "UTC", ["invoices", "import", csv.path])

        for (n, zone) in ["Asia/Manila", "America/New_York", "UTC"].enumerated() {
            let payment = "PAY-TZ\(n)"
            let recorded = try await run(world, zone: zone, ["payments", "record", "--id", payment, "--customer", "CUS-1007", "--amount", "10.00", "--currency", "USD"])
            #expect(recorded["date"] as? String == Self.tenantToday, "payments record at \(zone)")

            _ = try await run(world, zone: zone, ["apply", "--source", payment, "--invoice", "INV-TZ", "--amount", "10.00"])
            let ledger = try await run(world, zone: zone, ["ledger", "--customer", "CUS-1007", "--kind", "application"])
            let application = try #require((ledger["entries"] as? [[String: Any]])?.first { $0["source_id"] as? String == payment })
            #expect(application["date"] as? String == Self.tenantToday, "apply at \(zone)")

            let dispute = try await run(world, zone: zone, [
                "disputes", "add", "--customer", "CUS-1007", "--invoice", "INV-TZ", "--amount", "1.00", "--currency", "USD", "--reason", "pricing",
            ])
            #expect(dispute["opened_on"] as? String == Self.tenantToday, "disputes add at \(zone)")
            let disputeID = try #require(dispute["id"] as? String)
            let resolved = try await run(world, zone: zone, ["disputes", "update", disputeID, "--status", "resolved"])
            #expect(resolved["resolved_on"] as? String == Self.tenantToday, "disputes update --status resolved at \(zone)")

            let promise = try await run(world, zone: zone, [
                "promises", "add", "--customer", "CUS-1007", "--invoice", "INV-TZ", "--amount", "5.00", "--currency", "USD", "--date", "2026-12-15",
            ])
            #expect(promise["made_on"] as? String == Self.tenantToday, "promises add at \(zone)")

            let task = try await run(world, zone: zone, ["tasks", "add", "--title", "Call AP", "--customer", "CUS-1007"])
            #expect(task["due_date"] as? String == Self.tenantToday, "tasks add at \(zone)")

            let aging = try await run(world, zone: zone, ["aging"])
            #expect(aging["as_of"] as? String == Self.tenantToday, "aging at \(zone)")
        }

        // In tables, dates stay under their headers (the header row is not shifted left of them).
        let (status, table) = try await runCLI(["ledger", "--customer", "CUS-1007", "--kind", "payment"], environment: world.cliEnvironment())
        #expect(status == 0)
        let lines = table.split(separator: "\n")
        let header = try #require(lines.first)
        let row = try #require(lines.dropFirst().first { $0.contains("PAY-TZ0") })
        #expect(header.hasPrefix("date "), "\(table)")
        #expect(row.hasPrefix(Self.tenantToday), "\(table)")
        #expect(header.range(of: "kind").map { header.distance(from: header.startIndex, to: $0.lowerBound) }
            == row.range(of: "payment").map { row.distance(from: row.startIndex, to: $0.lowerBound) }, "\(table)")
        try await world.stop()
    }

    /// The defaults of issue 10's "defaults a person expects": the customer's currency for a
    /// payment, the invoices' for a dispute or a promise, and an application of all that can be.
    @Test func currenciesAndAmountsDefaultToWhatTheInvoicesSay() async throws {
        let world = try await FaultWorld()
        _ = try await world.login()
        let csv = world.directory.appendingPathComponent("invoices.csv")
        try "id,customer_id,number,amount,currency,issue_date,due_date\nINV-D1,CUS-1007,D-1,900.00,USD,2026-10-01,2026-10-31\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        _ = try await world.cli(["invoices", "import", csv.path])
        let recorded = try await world.cli(["payments", "record", "--id", "PAY-D1", "--customer", "CUS-1007", "--amount", "1,000.00"])
        #expect((recorded["amount"] as? [String: Any])?["currency"] as? String == "USD")

        // One invoice, no --amount: the smaller of 1,000.00 unapplied and 900.00 open.
        let applied = try await world.cli(["apply", "--source", "PAY-D1", "--invoice", "INV-D1"])
        let application = try #require((applied["applications"] as? [[String: Any]])?.first)
        #expect((application["amount"] as? [String: Any])?["minor"] as? Int == 900_00)
        // Again: the invoice is paid, so there is nothing to apply, and nothing changes.
        let (again, _) = try await runCLI(["apply", "--source", "PAY-D1", "--invoice", "INV-D1", "--json"], environment: world.cliEnvironment())
        #expect(again == 64)

        let dispute = try await world.cli(["disputes", "add", "--customer", "CUS-1007", "--invoice", "INV-D1", "--amount", "1.00", "--reason", "pricing"])
        // Two weeks from the clock the CLI and the server read (DUNLIN_CLOCK_OFFSET moves both).
        let promised = WallClock.system.today(in: .gmt).adding(days: 14).description
        #expect((dispute["amount"] as? [String: Any])?["currency"] as? String == "USD")
        let promise = try await world.cli(["promises", "add", "--customer", "CUS-1007", "--invoice", "INV-D1", "--amount", "5.00", "--date", promised])
        #expect((promise["amount"] as? [String: Any])?["currency"] as? String == "USD")

        // An unidentified payer has no invoices to take a currency from: a usage error, nothing written.
        let (unidentified, _) = try await runCLI(["payments", "record", "--id", "PAY-D2", "--amount", "5.00", "--json"], environment: world.cliEnvironment())
        #expect(unidentified == 64)
        let (missing, _) = try await runCLI(["entry", "PAY-D2", "--json"], environment: world.cliEnvironment())
        #expect(missing != 0)
        try await world.stop()
    }
}
