import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// Escalation through the real CLI against `dunlind demo` (escalate and place levels; escalations
/// go to Mia, the manager): a release makes escalation tasks and placements, `dunlin escalations
/// list` shows them by name, a placed customer is not dunned until a manager recalls it, rules
/// are a manager's and evaluate once, a revoked token does nothing, and the preview on a laptop
/// marks a line the analyst disputed offline.
@Suite("Escalation through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct EscalationCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    @Test func escalationsAndPlacementsFromReleaseAndRules() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)
        // Mia's reads and record writes go to the server itself, not her replica.
        let atServer = ["--server", world.address, "--token", world.managerToken]

        // The schedule is the setting dunning.run_time: a manager's; off, then on again.
        #expect(try await run(world, "ana", ["dunning", "schedule", "--at", "06:30"]).status == 107)
        for (options, expected) in [(["--at", "06:30"], "06:30"), (["--off"], ""), (["--at", "07:15"], "07:15")] {
            let schedule = try await run(world, "mia", ["dunning", "schedule"] + options + atServer)
            #expect((schedule.json as? [String: Any])?["dunning.run_time"] as? String == expected, "\(options)")
        }
        #expect(try await run(world, "mia", ["dunning", "schedule", "--at", "25:00"] + atServer).status == 64, "refused before any call")
        let settings = try #require(try await run(world, "mia", ["settings"] + atServer).json as? [[String: Any]])
        #expect(settings.first { $0["id"] as? String == "dunning.run_time" }?["value"] as? String == "07:15")

        // The run queues notices; Ana pulls them, then disputes a line of one offline: her preview holds it at once.
        let first = try #require(try await run(world, "mia", ["dunning", "run"]).json as? [String: Any])
        let created = try #require(first["created"] as? [[String: Any]])
        let placeNotices = created.filter { $0["channel"] as? String == "place" }
        let escalateNotices = created.filter { $0["channel"] as? String == "escalate" }
        #expect(!placeNotices.isEmpty && !escalateNotices.isEmpty, "the demo reaches its escalate and place levels")
        let emailed = try #require(created.first { $0["channel"] as? String == "email" || $0["channel"] as? String == "letter" })
        let customer = try #require(emailed["customer_id"] as? String)
        let line = try #require((emailed["lines"] as? [[String: Any]])?.first)
        let invoice = try #require(line["invoice_id"] as? String)
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        #expect(try await run(world, "ana", [
            "disputes", "add", "--customer", customer, "--invoice", invoice, "--amount", "1.00", "--reason", "pricing",
        ]).status == 0)
        let preview = try #require((try await run(world, "ana", ["dunning", "preview"]).json as? [String: Any])?["notices"] as? [[String: Any]])
        let mine = try #require(preview.first { ($0["notice"] as? [String: Any])?["id"] as? String == emailed["id"] as? String })
        #expect((mine["held_lines"] as? [[String: Any]])?.compactMap { $0["invoice_id"] as? String } == [invoice])
        let table = try await run(world, "ana", ["dunning", "preview", "--customer", customer], json: false)
        #expect(table.text.contains("held: disputed"))

        // The server admin gives Ana a manager, Lea: escalations of Ana's customers go to Lea, the
        // others' to Mia (the demo's escalation.manager). A manager must be one (exit 109).
        let env = try String(contentsOf: world.data.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        let adminToken = try #require(env.split(separator: "\n").first { $0.hasPrefix("export DUNLIN_ADMIN_TOKEN=") }?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let asAdmin = ["--server", world.address, "--token", adminToken]
        let users = try #require((try await run(world, "root", ["admin", "user", "list", "--tenant", "demo"] + asAdmin).json as? [String: Any])?["users"] as? [[String: Any]])
        let anaID = try #require(users.first { $0["name"] as? String == "Ana Reyes" }?["id"] as? String)
        let benID = try #require(users.first { $0["name"] as? String == "Ben Carter" }?["id"] as? String)
        let lea = try #require(try await run(world, "root", ["admin", "user", "create", "--tenant", "demo", "--name", "Lea Cruz", "--role", "manager"] + asAdmin).json as? [String: Any])
        let leaID = try #require(lea["id"] as? String)
        #expect(try await run(world, "root", ["admin", "user", "update", anaID, "--manager", benID] + asAdmin).status == 109, "Ben is an analyst")
        #expect(try await run(world, "mia", ["admin", "user", "update", anaID, "--manager", leaID] + atServer).status == 107, "a manager does not manage users")
        let updated = try #require(try await run(world, "root", ["admin", "user", "update", anaID, "--manager", leaID] + asAdmin).json as? [String: Any])
        #expect(updated["manager_id"] as? String == leaID)

        // Mia releases: escalate levels make tasks for the managers, place levels place the customers.
        #expect(try await run(world, "ana", ["dunning", "release"]).status == 107, "an analyst may not release")
        #expect(try await run(world, "mia", ["dunning", "release"]).status == 0)
        let listed = try #require((try await run(world, "mia", ["escalations", "list", "--all"] + atServer).json as? [String: Any])?["escalations"] as? [[String: Any]])
        #expect(listed.filter { $0["action"] as? String == "place" }.count == placeNotices.count)
        #expect(listed.filter { $0["action"] as? String == "escalate" }.count == escalateNotices.count)
        let escalation = try #require(listed.first { $0["action"] as? String == "escalate" })
        let taskID = try #require(escalation["task_id"] as? String)
        #expect((escalation["summary"] as? String)?.contains("days past due") == true)
        let task = try #require(try await run(world, "mia", ["tasks", "get", taskID] + atServer).json as? [String: Any])
        #expect(task["assignee_id"] as? String == escalation["assignee_id"] as? String)
        let names = try await run(world, "mia", ["escalations", "list", "--all"] + atServer, json: false)
        #expect(names.text.contains("Mia Santos") && names.text.contains("Lea Cruz"), "the assignees by name")
        let anasCustomers = try #require((try await run(world, "mia", ["customers", "list", "--analyst", anaID, "--all"] + atServer).json as? [String: Any])?["customers"] as? [[String: Any]])
        let anas = Set(anasCustomers.compactMap { $0["id"] as? String })
        let miaID = try #require(users.first { $0["name"] as? String == "Mia Santos" }?["id"] as? String)
        #expect(!anas.isEmpty)
        for escalated in listed where escalated["action"] as? String == "escalate" {
            let customerID = escalated["customer_id"] as? String ?? ""
            #expect(escalated["assignee_id"] as? String == (anas.contains(customerID) ? leaID : miaID), "\(customerID)")
        }
        #expect(names.text.contains("agency_placement"), "the agency of a placement")
        let customerColumn = names.text.split(separator: "\n").dropFirst().map { $0.prefix { $0 != " " } }
        #expect(!customerColumn.isEmpty && !customerColumn.contains { $0.hasPrefix("CUS-") }, "customers by name, not id")

        // A placed customer is not dunned: the next run holds it.
        let placed = try #require(listed.first { $0["action"] as? String == "place" })
        let placedCustomer = try #require(placed["customer_id"] as? String)
        let later = try #require(try await run(world, "mia", ["dunning", "run", "--as-of", Self.daysFromNow(40)]).json as? [String: Any])
        #expect((later["created"] as? [[String: Any]])?.contains { $0["customer_id"] as? String == placedCustomer } == false)

        // Rules: a manager's; evaluating makes each escalation once.
        #expect(try await run(world, "ana", ["escalations", "rule", "add", "--name", "Any", "--overdue-days", "0", "--over", "USD 0.01", "--action", "escalate"]).status == 107)
        #expect(try await run(world, "mia", ["escalations", "rule", "add", "--name", "Any", "--overdue-days", "0", "--over", "USD 0.01", "--action", "escalate"] + atServer).status == 0)
        #expect(try await run(world, "mia", ["escalations", "rule", "add", "--name", "Bad", "--broken", "2", "--within", "90", "--action", "place"] + atServer).status == 103, "a placement names its agency")
        #expect(try await run(world, "ana", ["escalations", "evaluate"]).status == 107)
        let evaluated = try #require(try await run(world, "mia", ["escalations", "evaluate"]).json as? [String: Any])
        #expect((evaluated["created"] as? [Any])?.isEmpty == false)
        let again = try #require(try await run(world, "mia", ["escalations", "evaluate"]).json as? [String: Any])
        #expect((again["created"] as? [Any])?.isEmpty == true)

        // Recall: a manager's, on the server; the customer is dunned again.
        let placementID = try #require(placed["id"] as? String)
        #expect(try await run(world, "ana", ["escalations", "recall", placementID, "--reason", "paid"]).status == 107)
        let recalled = try #require(try await run(world, "mia", ["escalations", "recall", placementID, "--reason", "agency returned it"]).json as? [String: Any])
        #expect(recalled["status"] as? String == "recalled")

        // Ana syncs and reads them offline, by name; a pushed change to one would be refused (SyncRightsTests' pattern, in process).
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let tokenID = String(world.managerToken.dropFirst(4).prefix(16))
        #expect(try await run(world, "mia", ["admin", "token", "revoke", tokenID]).status == 0)
        #expect(try await run(world, "mia", ["escalations", "evaluate"]).status == 116, "a revoked token does nothing")
        world.server.terminate()
        _ = try await world.server.waitForExit()
        let offline = try #require((try await run(world, "ana", ["escalations", "list", "--all"]).json as? [String: Any])?["escalations"] as? [[String: Any]])
        #expect(offline.first { $0["id"] as? String == placementID }?["status"] as? String == "recalled")
    }

    /// The tenant's (America/Chicago) date `days` from today, YYYY-MM-DD.
    static func daysFromNow(_ days: Int) -> String {
        WallClock.system.today(in: TimeZone(identifier: "America/Chicago")!).adding(days: days).description
    }
}
