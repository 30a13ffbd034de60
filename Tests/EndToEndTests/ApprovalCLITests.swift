import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// Approvals through the real CLI against `dunlind demo`: Ana (analyst) asks for a write-off
/// offline, Mia (manager) approves it on her laptop, the server writes the entry when she syncs;
/// the requester cannot approve her own, a viewer cannot ask, a revoked token does nothing, the
/// audit trail lists by name and exports as CSV.
@Suite("Approvals through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct ApprovalCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    @Test func aWriteOffAskedOfflineIsApprovedOfflineAndWrittenByTheServerOnSync() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)

        // An open USD invoice of more than 600.00, from the customers' statements.
        let entries = try #require((try await run(world, "ana", ["ledger", "--all"]).json as? [String: Any])?["entries"] as? [[String: Any]])
        var found: (invoice: String, customer: String, open: Int64)?
        for customer in Set(entries.compactMap { $0["customer_id"] as? String }).sorted() where found == nil {
            let statement = try await run(world, "ana", ["statement", customer]).json as? [String: Any]
            for item in statement?["open_invoices"] as? [[String: Any]] ?? [] {
                guard let balance = item["balance"] as? [String: Any], balance["currency"] as? String == "USD",
                      let open = (balance["minor"] as? NSNumber)?.int64Value, open > 600_00, let id = item["id"] as? String else { continue }
                found = (id, customer, open)
                break
            }
        }
        let (invoiceID, customerID, before) = try #require(found, "no open USD invoice over 600.00 among \(entries.count) entries")

        // Offline (her replica), Ana asks; a bad request is refused naming the field, exit 103.
        let bad = try await run(world, "ana", ["requests", "add", "writeoff", "--customer", customerID, "--invoice", "INV-NOPE", "--amount", "600.00", "--reason", "x"])
        #expect(bad.status == 105 && bad.text.contains("invoice_id"), "\(bad.text)")
        #expect(try await run(world, "ana", ["requests", "add", "writeoff", "--customer", customerID, "--invoice", invoiceID, "--amount=-1.00", "--reason", "x"]).status == 103)
        let asked = try #require(try await run(world, "ana", [
            "requests", "add", "writeoff", "--customer", customerID, "--invoice", invoiceID, "--amount", "600.00", "--reason", "freight dispute settled",
        ]).json as? [String: Any])
        #expect(asked["status"] as? String == "pending")
        let id = try #require(asked["id"] as? String)
        // Her own request: refused, even before the server sees it.
        #expect(try await run(world, "ana", ["requests", "approve", id, "--reason", "mine"]).status == 107)
        #expect(try await run(world, "ana", ["sync"]).status == 0)

        // Mia pulls it, approves on her laptop (awaiting the server), then syncs: the server writes the entry.
        #expect(try await run(world, "mia", ["sync"]).status == 0)
        let offline = try #require(try await run(world, "mia", ["requests", "approve", id, "--reason", "agreed"]).json as? [String: Any])
        #expect(offline["status"] as? String == "approved" && offline["entry_id"] == nil)
        let waiting = try await run(world, "mia", ["requests", "show", id], json: false)
        #expect(waiting.text.contains("awaiting the server"), "\(waiting.text)")
        #expect(try await run(world, "mia", ["sync"]).status == 0)
        let atServer = ["--server", world.address, "--token", world.managerToken]
        let settled = try #require(try await run(world, "mia", ["requests", "show", id] + atServer).json as? [String: Any])
        #expect(settled["entry_id"] as? String == "\(id):writeoff")
        let after = try #require(try await run(world, "mia", ["statement", customerID] + atServer).json as? [String: Any])
        let balance = (after["open_invoices"] as? [[String: Any]])?.first { $0["id"] as? String == invoiceID }?["balance"] as? [String: Any]
        #expect((balance?["minor"] as? NSNumber)?.int64Value == before - 600_00)

        // The audit trail: by name in the table, the stored text escaped; every field in the CSV.
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let name = try #require((try await run(world, "ana", ["customers", "get", customerID]).json as? [String: Any])?["name"] as? String)
        let table = try await run(world, "ana", ["requests", "list", "--customer", customerID], json: false)
        #expect(table.text.contains("writeoff of USD 600.00") && table.text.contains("\(id):writeoff") && table.text.contains(name), "\(table.text)")
        let shown = try await run(world, "ana", ["requests", "show", id], json: false)
        #expect(shown.text.contains("approved by") && shown.text.contains("agreed") && shown.text.contains("freight dispute settled"), "\(shown.text)")
        let csvFile = world.directory.appendingPathComponent("approvals.csv").path
        #expect(try await run(world, "ana", ["requests", "list", "--status", "approved", "--csv", csvFile], json: false).status == 0)
        let csv = try String(contentsOfFile: csvFile, encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("id,kind,customer_id,customer_name,") == true)
        #expect(csv.count == 2 && csv[1].contains("\(id):writeoff") && csv[1].contains(",600.00,"), "\(csv)")

        // A viewer cannot ask; a revoked token changes nothing.
        let env = try String(contentsOf: world.data.appendingPathComponent("demo-tokens.env"), encoding: .utf8)
        let adminToken = try #require(env.split(separator: "\n").first { $0.hasPrefix("export DUNLIN_ADMIN_TOKEN=") }?.split(separator: "=", maxSplits: 1).last.map(String.init))
        let asAdmin = ["--server", world.address, "--token", adminToken]
        let viewer = try #require(try await run(world, "root", ["admin", "user", "create", "--tenant", "demo", "--name", "Vic Viewer", "--role", "viewer"] + asAdmin).json as? [String: Any])
        let viewerID = try #require(viewer["id"] as? String)
        let viewerToken = try #require(try await run(world, "root", ["admin", "token", "issue", viewerID, "--device", "vic-laptop", "--expires-in", "30d"] + asAdmin).json as? [String: Any])
        let viewerSecret = try #require(viewerToken["token"] as? String)
        let asViewer = ["--server", world.address, "--token", viewerSecret]
        #expect(try await run(world, "vic", ["requests", "add", "credit", "--customer", customerID, "--amount", "1.00", "--currency", "USD", "--reason", "x"] + asViewer).status == 107)
        #expect(try await run(world, "vic", ["requests", "list"] + asViewer).status == 0)
        let viewerTokenID = try #require(viewerToken["id"] as? String)
        #expect(try await run(world, "root", ["admin", "token", "revoke", viewerTokenID] + asAdmin).status == 0)
        #expect(try await run(world, "vic", ["requests", "list"] + asViewer).status == 116)
    }
}
