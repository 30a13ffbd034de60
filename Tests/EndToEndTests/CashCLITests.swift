import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// Bank files through the real CLI against `dunlind demo`: Ana imports the demo's BAI2 file on the
/// server (once: the same file again imports nothing), a file that does not add up exits 103
/// naming its line, and on her laptop, offline, she settles a receipt from the queue; after a
/// sync the server's queue agrees.
@Suite("Bank files through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct CashCLITests {
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String], json: Bool = true) async throws -> (status: Int32, json: Any?, text: String) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile] + (json ? ["--json"] : []), environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)), output)
    }

    static let demoFiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Demo/bankfiles")

    func queue(_ world: FaultWorld, _ profile: String, _ extra: [String] = []) async throws -> [[String: Any]] {
        let listed = try await run(world, profile, ["cash", "queue"] + extra)
        return try #require((listed.json as? [String: Any])?["receipts"] as? [[String: Any]], "\(listed.text)")
    }

    @Test func importOnceSettleOfflineAndSync() async throws {
        let world = try await FaultWorld()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)
        let file = Self.demoFiles.appendingPathComponent("demo.bai2").path

        let imported = try #require(try await run(world, "ana", ["cash", "import", file]).json as? [String: Any])
        let record = try #require(imported["file"] as? [String: Any])
        #expect(record["format"] as? String == "bai2" && imported["already_imported"] as? Bool == false)
        let receipts = try #require(imported["receipts"] as? [[String: Any]])
        #expect(receipts.count == record["new_receipts"] as? Int && !receipts.isEmpty)
        let again = try #require(try await run(world, "ana", ["cash", "import", file]).json as? [String: Any])
        #expect(again["already_imported"] as? Bool == true && (again["receipts"] as? [Any])?.isEmpty == true)
        let table = try await run(world, "ana", ["cash", "import", file], json: false)
        #expect(table.status == 0 && table.text.contains("already imported"), "\(table.text)")

        // A file whose account total is off by one cent: exit 103, the line named, nothing written.
        let broken = world.directory.appendingPathComponent("broken.bai2")
        var text = try String(contentsOfFile: file, encoding: .utf8)
        let trailer = try #require(text.split(separator: "\n").first { $0.hasPrefix("49,") })
        let fields = trailer.split(separator: ",")
        let off = "49,\((Int(fields[1]) ?? 0) + 1)," + fields.dropFirst(2).joined(separator: ",")
        text = text.replacingOccurrences(of: String(trailer), with: off)
        try Data(text.utf8).write(to: broken)
        let refused = try await run(world, "ana", ["cash", "import", broken.path])
        #expect(refused.status == 103)
        let message = ((refused.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("line \(text.split(separator: "\n").firstIndex { $0.hasPrefix("49,") }! + 1)"), "\(refused.text)")

        // The matching applied the credit that names its invoice (NORTHWIND ... INV 0010034 pays
        // INV-10034), and says why.
        let northwind = try #require(receipts.first { ($0["remittance"] as? String)?.contains("0010034") == true })
        #expect(northwind["outcome"] as? String == "matched", "\(northwind)")
        #expect((northwind["applications"] as? [[String: Any]])?.map { $0["invoice_id"] as? String } == ["INV-10034"])
        #expect((northwind["explanation"] as? String)?.isEmpty == false)
        #expect((northwind["unapplied"] as? [String: Any])?["minor"] as? Int == 0)

        // On the laptop, offline: a credit the matching could only suggest is applied to the
        // invoice suggested; what is left of it, if anything, still waits.
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let files = try #require((try await run(world, "ana", ["cash", "files"]).json as? [String: Any])?["files"] as? [[String: Any]])
        #expect(files.map { $0["name"] as? String } == ["demo.bai2"], "the refused file left nothing")
        let waiting = try await queue(world, "ana")
        #expect(waiting.allSatisfy { $0["id"] as? String != northwind["id"] as? String })
        let suggested = try #require(waiting.first { (($0["suggestions"] as? [[String: Any]])?.first?["invoice_ids"] as? [String])?.count == 1 })
        let receiptID = try #require(suggested["id"] as? String)
        let invoice = try #require(((suggested["suggestions"] as? [[String: Any]])?.first?["invoice_ids"] as? [String])?.first)
        let before = try #require((suggested["unapplied"] as? [String: Any])?["minor"] as? Int)
        world.server.terminate()
        _ = try await world.server.waitForExit()
        let applied = try await run(world, "ana", ["cash", "apply", receiptID, "--invoice", invoice])
        #expect(applied.status == 0, "\(applied.text)")
        let amount = try #require((((applied.json as? [String: Any])?["applications"] as? [[String: Any]])?.first?["amount"] as? [String: Any])?["minor"] as? Int)
        let shown = try #require(try await run(world, "ana", ["cash", "show", receiptID]).json as? [String: Any])
        let after = try #require((shown["unapplied"] as? [String: Any])?["minor"] as? Int)
        #expect(amount > 0 && after == before - amount)
        #expect(try await queue(world, "ana").contains { $0["id"] as? String == receiptID } == (after > 0), "it waits while anything is unapplied")
        let listed = try await run(world, "ana", ["cash", "queue"], json: false)
        #expect(listed.status == 0 && listed.text.contains(receiptID) == (after > 0), "\(listed.text)")

        // Back online: the payment and its application reach the server, which agrees.
        try await world.restartServer()
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let atServer = ["--server", world.address, "--token", world.managerToken]
        let onServer = try #require(try await run(world, "mia", ["cash", "show", receiptID] + atServer).json as? [String: Any])
        #expect((onServer["unapplied"] as? [String: Any])?["minor"] as? Int == after)
        #expect(try await queue(world, "mia", atServer).count == waiting.count - (after == 0 ? 1 : 0))

        // A manager gives the bank's lockbox layout: the standard one printed, edited, set.
        let printed = try await run(world, "mia", ["settings", "cash", "--print-standard-lockbox-layout"], json: false)
        var layout = try JSONDecoder().decode(LockboxLayout.self, from: Data(printed.text.utf8))
        #expect(layout == .standard)
        layout.check.remitter = nil
        let layoutFile = world.directory.appendingPathComponent("bank-lockbox.json")
        try JSONEncoder().encode(layout).write(to: layoutFile)
        let analystSets = try await run(world, "ana", ["settings", "cash", "--lockbox-layout", layoutFile.path, "--server", world.address, "--token", world.analystToken])
        #expect(analystSets.status != 0, "only a manager changes settings")
        let set = try await run(world, "mia", ["settings", "cash", "--lockbox-layout", layoutFile.path, "--tolerance-basis-points", "50"] + atServer)
        let cashSettings = (set.json as? [[String: Any]]) ?? []
        let setLayout = try #require(cashSettings.first { $0["id"] as? String == "cash.lockbox_layout" }?["value"] as? String, "\(set.text)")
        #expect(try JSONDecoder().decode(LockboxLayout.self, from: Data(setLayout.utf8)) == layout)
        #expect(cashSettings.first { $0["id"] as? String == "cash.tolerance_basis_points" }?["value"] as? String == "50")
        try await world.stop()
    }
}
