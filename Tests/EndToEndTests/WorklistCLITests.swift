import DunlinCore
import DunlinWire
import Foundation
import Testing

/// `dunlin worklist` as an analyst starts the day: real `dunlind demo` (tenant in Chicago; Ana, in
/// Manila, has a time zone of her own) and `dunlin` processes, both clocks at one instant:
/// 2026-11-23 03:00 UTC, which is 11:00 on the 23rd in Manila and 21:00 on the 22nd in Chicago.
@Suite("The worklist through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct WorklistCLITests {
    func json(_ world: FaultWorld, _ arguments: [String], zone: String = "UTC") async throws -> [String: Any] {
        let (status, output) = try await runCLI(arguments + ["--json"], environment: world.cliEnvironment(["TZ": zone]))
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)")
        }
        return object
    }

    @Test func anAnalystStartsTheDayFromTheWorklistOffline() async throws {
        let world = try await FaultWorld(environment: ["DUNLIN_CLOCK_OFFSET": TenantDatesTests.clockOffset()])
        _ = try await world.login()
        // On whatever laptop time zone, Ana's day is Manila's.
        let list = try await json(world, ["worklist"], zone: "America/Los_Angeles")
        #expect(list["as_of"] as? String == "2026-11-23")
        #expect(list["time_zone"] as? String == "Asia/Manila")
        let rows = try #require(list["rows"] as? [[String: Any]])
        #expect(!rows.isEmpty)
        // Priority rows first, then by score.
        let keys = rows.map { [($0["priority"] as? Bool) == true ? 1 : 0, $0["score"] as? Int ?? -1] }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { !$0.lexicographicallyPrecedes($1) }, "non-increasing: \(keys)")
        for row in rows {
            #expect(!((row["reasons"] as? [String]) ?? []).isEmpty, "every row says why: \(row)")
            let parts = (row["parts"] as? [String: Int]) ?? [:]
            #expect(parts.values.reduce(0, +) == row["score"] as? Int, "the parts add up to the score: \(row)")
        }
        let analyst = try #require(list["analyst_id"] as? String)

        // The table: names, not ids, and why.
        let (status, table) = try await runCLI(["worklist", "--limit", "5"], environment: world.cliEnvironment())
        #expect(status == 0)
        #expect(table.contains("Worklist of Ana Reyes for 2026-11-23 (Asia/Manila)"), "\(table)")
        let first = try #require(rows.first?["customer"] as? String)
        #expect(table.contains(first))
        #expect(!table.contains(try #require(rows.first?["customer_id"] as? String)))

        // The server's view for the manager (no time zone of her own: the tenant's day, the 22nd).
        let (serverStatus, serverOutput) = try await runCLI(
            ["worklist", "--analyst", analyst, "--server", world.address, "--token", world.managerToken, "--json"], environment: world.cliEnvironment()
        )
        #expect(serverStatus == 0)
        let serverList = try #require(try JSONSerialization.jsonObject(with: Data(serverOutput.utf8)) as? [String: Any])
        #expect(serverList["as_of"] as? String == "2026-11-22" && serverList["time_zone"] as? String == "America/Chicago")

        // Mia, a manager, changes a weight on her laptop; after both sync, Ana's list uses it.
        // An analyst may not change weights, on her replica either.
        _ = try await json(world, ["login", "--server", world.address, "--token", world.managerToken, "--profile", "mia"])
        let (set, setOutput) = try await runCLI(["settings", "worklist", "--broken-promise", "200", "--profile", "mia", "--json"], environment: world.cliEnvironment())
        #expect(set == 0)
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(setOutput.utf8)) as? [[String: Any]])
        #expect(shown.first { $0["id"] as? String == "worklist.broken_promise" }?["value"] as? String == "200")
        _ = try await json(world, ["sync", "--profile", "mia"])
        _ = try await json(world, ["sync"])
        let reweighted = try await json(world, ["worklist"])
        #expect((reweighted["weights"] as? [String: Int])?["broken_promise"] == 200)
        let (denied, _) = try await runCLI(["settings", "worklist", "--risk", "1"], environment: world.cliEnvironment())
        #expect(denied == 100 + Int32(StatusCode.permissionDenied.rawValue))
        let (_, settingsTable) = try await runCLI(["settings"], environment: world.cliEnvironment())
        #expect(settingsTable.contains("worklist.broken_promise") && settingsTable.contains("200"), "\(settingsTable)")

        // A payment plan, on Ana's replica: two installments, each evaluated on its own.
        let customer = try #require(rows.first?["customer_id"] as? String)
        let ledger = try await json(world, ["ledger", "--customer", customer, "--kind", "invoice"])
        let invoice = try #require((ledger["entries"] as? [[String: Any]])?.first?["id"] as? String)
        let plan = try await json(world, ["promises", "add", "--customer", customer, "--invoice", invoice, "--installment", "2026-12-15=10", "--installment", "2027-01-15=15"])
        #expect(plan["promised_date"] as? String == "2027-01-15")
        #expect((plan["installments"] as? [[String: Any]])?.map { $0["due_date"] as? String } == ["2026-12-15", "2027-01-15"])
        let planID = try #require(plan["id"] as? String)
        let evaluated = try await json(world, ["promises", "evaluate", planID, "--as-of", "2026-12-20"])
        #expect(evaluated["status"] as? String == "broken")
        #expect((evaluated["installments"] as? [[String: Any]])?.map { $0["status"] as? String } == ["broken", "open"])
        let (badPlan, _) = try await runCLI(["promises", "add", "--customer", customer, "--invoice", invoice, "--installment", "15 December=10"], environment: world.cliEnvironment())
        #expect(badPlan == 64)

        // Offline: the same list from the replica.
        world.server.child.signal(SIGKILL)
        _ = try await world.server.waitForExit()
        let offline = try await json(world, ["worklist"])
        #expect((offline["rows"] as? [[String: Any]])?.map { $0["customer_id"] as? String } == (reweighted["rows"] as? [[String: Any]])?.map { $0["customer_id"] as? String })

        // Bad input exits 64 before anything is read.
        #expect(try await runCLI(["worklist", "--as-of", "2026-13-01"], environment: world.cliEnvironment()).status == 64)
        #expect(try await runCLI(["worklist", "--limit", "5000"], environment: world.cliEnvironment()).status == 64)
        try? FileManager.default.removeItem(at: world.directory)
    }
}
