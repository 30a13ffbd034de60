import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// The ticket queue through the real CLI against `dunlind demo`: Mia (manager) sets the teams'
/// calendars and syncs; Ana (analyst) opens, comments and hands off a ticket on her laptop, lists
/// the breaching ones offline and syncs; an analyst cannot set a calendar, a bad ticket is refused
/// with the RPC's exit code. The ticket came in long before the test runs, on a team that works
/// every minute, so its breach does not depend on the day the test runs.
@Suite("Tickets through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct TicketsCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    @Test func aTicketOpenedOfflineBreachesInItsTeamsHoursAndSyncs() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)

        // Calendars are a manager's: Ana's is refused (107), Mia's land and sync.
        let everyDay = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].flatMap { ["--day", $0] }
        #expect(try await run(world, "ana", ["teams", "set", "billing-global", "--time-zone", "UTC", "--hours", "00:00-24:00"] + everyDay).status == 107)
        #expect(try await run(world, "mia", ["teams", "set", "billing-global", "--time-zone", "UTC", "--hours", "00:00-24:00"] + everyDay).status == 0)
        let manila = try await run(world, "mia", ["teams", "set", "billing-manila", "--time-zone", "Asia/Manila", "--hours", "09:00-18:00", "--holiday", "2026-11-30"])
        #expect(manila.status == 0 && (manila.json as? [[String: Any]])?.first?["holidays"] as? [String] == ["2026-11-30"], "\(manila.text)")
        #expect(try await run(world, "mia", ["teams", "set", "bad", "--time-zone", "Mars/Olympus"]).status == 103)
        #expect(try await run(world, "mia", ["sync"]).status == 0)
        #expect(try await run(world, "ana", ["sync"]).status == 0)

        // A customer's invoice from the demo ledger.
        let entries = try #require((try await run(world, "ana", ["ledger", "--all"]).json as? [String: Any])?["entries"] as? [[String: Any]])
        let invoice = try #require(entries.first { $0["kind"] as? String == "invoice" })
        let customer = try #require(invoice["customer_id"] as? String), invoiceID = try #require(invoice["id"] as? String)

        // Offline: the server goes away. An urgent ticket (two hours) that came in in 2020 on the
        // round-the-clock team is long breached.
        world.server.terminate()
        let refused = try await run(world, "ana", ["tickets", "add", customer, "copy", "--category", "billing", "--team", "billing-global", "--invoice", "INV-NOPE"])
        #expect(refused.status == 105 && refused.text.contains("invoice_ids[0]"), "\(refused.text)")
        #expect(try await run(world, "ana", ["tickets", "add", customer, "copy", "--category", "marketing", "--team", "billing-global"]).status == 64)
        let added = try await run(world, "ana", [
            "tickets", "add", customer, "invoice copy", "--category", "billing", "--team", "billing-global", "--invoice", invoiceID,
            "--priority", "urgent", "--opened-at", "2020-01-06T00:00:00Z",
        ])
        let ticket = try #require((added.json as? [[String: Any]])?.first, "\(added.text)")
        let id = try #require(ticket["id"] as? String)
        let sla = try #require(ticket["sla"] as? [String: Any])
        #expect(sla["breached"] as? Bool == true && (sla["breached_at"] as? NSNumber)?.int64Value == 1_578_276_000_000, "\(sla)")
        #expect(try await run(world, "ana", ["tickets", "comment", id, "called AP, copy promised"]).status == 0)
        let handed = try await run(world, "ana", ["tickets", "assign", id, "--team", "billing-manila", "--note", "Manila has the PDFs"])
        #expect((handed.json as? [String: Any])?["team_id"] as? String == "billing-manila", "\(handed.text)")
        #expect(try await run(world, "ana", ["tickets", "assign", id, "--team", "nowhere"]).status == 105)
        let breaching = try #require(try await run(world, "ana", ["tickets", "list", "--breaching"]).json as? [[String: Any]])
        #expect(breaching.map { $0["id"] as? String } == [id])
        let table = try await run(world, "ana", ["tickets", "list", "--breaching"], json: false)
        #expect(table.status == 0 && table.text.contains("BREACHED"), "\(table.text)")
        let shown = try #require(try await run(world, "ana", ["tickets", "show", id]).json as? [String: Any])
        #expect((shown["events"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["opened", "comment", "assigned"], "\(shown)")
        #expect(try await run(world, "ana", ["tickets", "resume", id]).status == 109, "not waiting on the customer: FAILED_PRECONDITION")

        // Back online: the ticket and its events reach the server.
        try await world.restartServer()
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let atServer = try #require(try await run(world, "mia", ["tickets", "show", id, "--server", world.address, "--token", world.managerToken]).json as? [String: Any])
        #expect((atServer["events"] as? [[String: Any]])?.count == 3 && atServer["team_id"] as? String == "billing-manila", "\(atServer)")
        #expect(try await run(world, "ana", ["tickets", "resolve", id, "--note", "sent"]).status == 0)
        #expect((try await run(world, "ana", ["tickets", "list", "--breaching"]).json as? [Any])?.isEmpty == true)
    }
}
