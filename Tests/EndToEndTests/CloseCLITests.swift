import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// The month-end close through the real CLI against `dunlind demo`: Mia (manager) closes last
/// month with its CSV exports, a back-dated invoice leaves it as it was and is listed as a
/// post-close adjustment, Ana reads the close offline, only a tenant admin reopens it.
@Suite("Month-end close through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct CloseCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    static func number(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

    @Test func lastMonthIsClosedFrozenExportedAndReopenedOnlyByAnAdmin() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)
        // Last month on the demo tenant's clock (Chicago), whatever the day the suite runs.
        let through = WallClock.system.today(in: TimeZone(identifier: "America/Chicago")!).firstOfMonth.adding(days: -1)
        let month = String(through.description.prefix(7))

        #expect(try await run(world, "ana", ["close", "month", month]).status == 107, "an analyst cannot close")
        let allowanceFile = world.directory.appendingPathComponent("allowance.csv").path
        let snapshotFile = world.directory.appendingPathComponent("aging.csv").path
        let closed = try #require(try await run(world, "mia", ["close", "month", month, "--allowance-csv", allowanceFile, "--snapshot-csv", snapshotFile]).json as? [String: Any])
        #expect(closed["status"] as? String == "closed" && closed["through"] as? String == through.description)
        let allowance = try #require(Self.number(closed["allowance"]))
        let buckets = try #require(closed["buckets"] as? [[String: Any]])
        #expect(buckets.map { $0["label"] as? String } == ["current", "1-30", "31-60", "61-90", "90+"])
        #expect(buckets.compactMap { Self.number($0["allowance"]) }.reduce(0, +) == allowance && allowance > 0)
        #expect(try await run(world, "mia", ["close", "month", month]).status == 109, "closed twice: FAILED_PRECONDITION")

        // The exports: the allowance per bucket with its total; the frozen aging per customer,
        // whose USD total is the close's USD total and the as-of aging's.
        let allowanceCSV = try String(contentsOfFile: allowanceFile, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(allowanceCSV.first == "month,bucket,amount,rate_percent,allowance,currency" && allowanceCSV.count == 9, "\(allowanceCSV)")
        let totalLine = try #require(allowanceCSV.first { $0.hasPrefix("\(month),total,") })
        #expect(totalLine.contains(",\(Money(minorUnits: allowance, currency: .usd).decimalString),"), "\(totalLine)")
        let snapshot = try String(contentsOfFile: snapshotFile, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(snapshot.first == "customer_id,customer,currency,current,1-30,31-60,61-90,90+,total" && snapshot.count > 5, "\(snapshot.prefix(3))")
        let usdSnapshot = snapshot.dropFirst().filter { $0.contains(",USD,") }.compactMap { line -> Int64? in
            guard let total = line.split(separator: ",").last else { return nil }
            return try? Money(parsing: String(total), currency: .usd).minorUnits
        }.reduce(0, +)
        let usdClosed = (closed["currencies"] as? [[String: Any]])?.first { $0["currency"] as? String == "USD" }.flatMap { Self.number($0["total"]) }
        #expect(usdClosed == usdSnapshot, "\(String(describing: usdClosed)) against \(usdSnapshot)")

        // A back-dated invoice at the server: the close stays; the invoice is a post-close adjustment.
        let customer = try #require(snapshot.dropFirst().first { $0.contains(",USD,") }?.split(separator: ",").first.map(String.init))
        let invoices = world.directory.appendingPathComponent("late.csv")
        try "id,customer_id,number,amount,currency,issue_date,due_date\nINV-LATE-1,\(customer),LATE-1,1234.56,USD,\(through.adding(days: -10)),\(through.adding(days: -2))\n"
            .write(to: invoices, atomically: true, encoding: .utf8)
        let atServer = ["--server", world.address, "--token", world.managerToken]
        #expect(try await run(world, "mia", ["invoices", "import", invoices.path] + atServer).status == 0)
        let after = try #require(try await run(world, "mia", ["close", "show", month] + atServer).json as? [String: Any])
        #expect(Self.number(after["allowance"]) == allowance && Self.number(after["receivables"]) == Self.number(closed["receivables"]))
        let adjustments = try #require(try await run(world, "mia", ["close", "adjustments", month]).json as? [String: Any])
        #expect((adjustments["entries"] as? [[String: Any]])?.map { $0["id"] as? String } == ["INV-LATE-1"], "\(adjustments)")

        // Ana, offline: the close is on her replica; the per-customer snapshot is the server's.
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        world.server.terminate()
        let listed = try #require(try await run(world, "ana", ["close", "list"]).json as? [[String: Any]])
        #expect(listed.map { $0["month"] as? String } == [month])
        let shown = try await run(world, "ana", ["close", "show", month], json: false)
        #expect(shown.status == 0 && shown.text.contains("allowance change") && shown.text.contains("TOTAL"), "\(shown.text)")
        #expect(try await run(world, "ana", ["close", "show", month, "--snapshot-csv", "-"]).status != 0, "needs the server")
    }

    @Test func onlyATenantAdminReopensAClosedMonthWithAReason() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let through = WallClock.system.today(in: TimeZone(identifier: "America/Chicago")!).firstOfMonth.adding(days: -1)
        let month = String(through.description.prefix(7))
        let asManager = ["--server", world.address, "--token", world.managerToken]
        #expect(try await run(world, "mia", ["close", "month", month] + asManager).status == 0)
        #expect(try await run(world, "mia", ["close", "reopen", month, "--reason", "late credit"] + asManager).status == 107)

        let env = try String(contentsOf: world.data.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        let rootToken = try #require(env.split(separator: "\n").first { $0.hasPrefix("export DUNLIN_ADMIN_TOKEN=") }?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let asRoot = ["--server", world.address, "--token", rootToken]
        let admin = try #require(try await run(world, "root", ["admin", "user", "create", "--tenant", "demo", "--name", "Ada Admin", "--role", "admin"] + asRoot).json as? [String: Any])
        let adminID = try #require(admin["id"] as? String)
        let token = try #require(try await run(world, "root", ["admin", "token", "issue", adminID, "--device", "ada-laptop", "--expires-in", "30d"] + asRoot).json as? [String: Any])
        let secret = try #require(token["token"] as? String)
        let asAdmin = ["--server", world.address, "--token", secret]
        #expect(try await run(world, "ada", ["close", "reopen", month, "--reason", " "] + asAdmin).status == 103)
        let reopened = try #require(try await run(world, "ada", ["close", "reopen", month, "--reason", "late credit memo"] + asAdmin).json as? [String: Any])
        #expect(reopened["status"] as? String == "reopened" && reopened["reopen_reason"] as? String == "late credit memo")
        let again = try #require(try await run(world, "mia", ["close", "month", month] + asManager).json as? [String: Any])
        #expect(again["status"] as? String == "closed" && again["reopen_reason"] as? String == "late credit memo")
    }
}
