import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// The offline workflow as two people would run it: real `dunlind demo` and `dunlin` processes, two
/// profiles on one machine (Ana, an analyst, and Mia, a manager), each with its own replica.
@Suite("Offline work through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct OfflineCLITests {
    /// Runs `dunlin ARGUMENTS --profile PROFILE --json` and decodes its output (object or array).
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String]) async throws -> Any {
        let child = try ChildProcess(try Executables.url("dunlin"), arguments + ["--profile", profile, "--json"], environment: world.cliEnvironment())
        let status: Int32
        do {
            status = try await child.waitForExit(timeout: .seconds(60))
        } catch {
            throw RawError("dunlin \(arguments.joined(separator: " ")) --profile \(profile): \(error); stderr: \(child.stderr)")
        }
        let output = child.stdout
        guard status == 0 else { throw RawError("dunlin \(arguments.joined(separator: " ")) --profile \(profile) exited \(status): \(output)") }
        return try JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    /// Runs `dunlin ARGUMENTS --server ... --json` as the manager, against the server's own view.
    func serverView(_ world: FaultWorld, _ arguments: [String]) async throws -> Any {
        let (status, output) = try await runCLI(
            arguments + ["--server", world.address, "--token", world.managerToken, "--json"], environment: world.cliEnvironment()
        )
        guard status == 0 else { throw RawError("dunlin \(arguments.joined(separator: " ")) --server exited \(status): \(output)") }
        return try JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    func sync(_ world: FaultWorld, _ profiles: String...) async throws {
        for profile in profiles { _ = try await run(world, profile, ["sync"]) }
    }

    @Test func theSamePaymentAppliedOnTwoLaptopsIsAnExceptionUntilOneApplicationIsReversed() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        // Mia, on her replica: two invoices and a 1,000.00 payment from the nightly files, synced.
        let csv = world.directory.appendingPathComponent("invoices.csv")
        try "id,customer_id,number,amount,currency,issue_date,due_date\nINV-T1,CUS-1007,T-1,1000.00,USD,2026-10-01,2026-10-31\nINV-T2,CUS-1007,T-2,1000.00,USD,2026-10-01,2026-10-31\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        _ = try await run(world, "mia", ["invoices", "import", csv.path])
        _ = try await run(world, "mia", ["payments", "record", "--id", "PAY-T", "--customer", "CUS-1007", "--amount", "1,000.00", "--currency", "USD"])
        try await sync(world, "mia", "ana")

        // Offline, each applies all of it, to a different invoice.
        _ = try await run(world, "ana", ["apply", "--source", "PAY-T", "--invoice", "INV-T1", "--amount", "1000.00"])
        _ = try await run(world, "mia", ["apply", "--source", "PAY-T", "--invoice", "INV-T2", "--amount", "1000.00"])
        try await sync(world, "ana", "mia", "ana")

        var exceptionID = ""
        var entries: [String] = []
        for profile in ["ana", "mia"] {
            let list = try #require(try await run(world, profile, ["exceptions"]) as? [[String: Any]])
            #expect(list.count == 1)
            let exception = try #require(list.first)
            #expect(exception["kind"] as? String == "source_over_applied")
            #expect(exception["subject_id"] as? String == "PAY-T")
            #expect((exception["excess"] as? [String: Any])?["minor"] as? Int == 1_000_00)
            #expect(exception["holds"] as? [String] == ["INV-T1", "INV-T2"])
            exceptionID = try #require(exception["id"] as? String)
            entries = try #require(exception["entry_ids"] as? [String])
        }
        #expect(entries.count == 2)
        // Both applications are there everywhere: nothing was deleted.
        let status = try #require(try await run(world, "ana", ["status"]) as? [String: Any])
        #expect(status["open_exceptions"] as? Int == 1)
        // The server's view (--server skips the replica): its own ledger holds both applications,
        // so its queue has the same exception; its status says so.
        let onServer = try #require(try await serverView(world, ["exceptions"]) as? [[String: Any]])
        #expect(onServer.map { $0["id"] as? String } == [exceptionID])
        #expect(onServer.first?["entry_ids"] as? [String] == entries)
        let serverStatus = try #require(try await serverView(world, ["status"]) as? [String: Any])
        #expect(serverStatus["open_exceptions"] as? Int == 1)
        #expect(serverStatus["server"] as? String == world.address)

        // Ana reverses one application; after syncing, both queues are empty.
        let resolved = try #require(try await run(world, "ana", ["exceptions", "resolve", exceptionID, "--entry", entries[0]]) as? [String: Any])
        #expect(resolved["resolved"] as? Bool == true)
        try await sync(world, "ana", "mia")
        for profile in ["ana", "mia"] {
            #expect((try await run(world, profile, ["exceptions"]) as? [Any])?.isEmpty == true)
        }
        #expect((try await serverView(world, ["exceptions"]) as? [Any])?.isEmpty == true)
        try await world.stop()
    }

    @Test func theSameBankLineKeyedOnTwoLaptopsWithoutAnIdIsAPossibleDuplicateUntilOneIsVoided() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        let line = ["payments", "record", "--customer", "CUS-1007", "--amount", "5,000.00", "--currency", "USD", "--reference", "BDO 7781"]
        let first = try #require(try await run(world, "ana", line) as? [String: Any])
        let second = try #require(try await run(world, "mia", line) as? [String: Any])
        try await sync(world, "ana", "mia", "ana")
        var exceptionID = ""
        for profile in ["ana", "mia"] {
            let status = try #require(try await run(world, profile, ["status"]) as? [String: Any])
            #expect(status["open_exceptions"] as? Int == 1, "\(profile)")
            let list = try #require(try await run(world, profile, ["exceptions"]) as? [[String: Any]])
            #expect(list.map { $0["kind"] as? String } == ["possible_duplicate_payment"])
            #expect(Set(list.first?["entry_ids"] as? [String] ?? []) == Set([first["id"] as? String, second["id"] as? String].compactMap { $0 }))
            exceptionID = try #require(list.first?["id"] as? String)
        }
        #expect((try await serverView(world, ["exceptions"]) as? [[String: Any]])?.map { $0["id"] as? String } == [exceptionID])
        // Mia, a manager, voids the one she keyed: resolved on every laptop after syncing.
        let duplicate = try #require(second["id"] as? String)
        let resolved = try #require(try await run(world, "mia", ["exceptions", "resolve", exceptionID, "--entry", duplicate]) as? [String: Any])
        #expect(resolved["resolved"] as? Bool == true)
        try await sync(world, "mia", "ana")
        #expect((try await run(world, "ana", ["exceptions"]) as? [Any])?.isEmpty == true)
        try await world.stop()
    }

    @Test func aBankLineKeyedInTwiceIsRefusedOnceListedByStatusAndDismissed() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        _ = try await run(world, "ana", ["payments", "record", "--id", "BANK-77", "--customer", "CUS-1007", "--amount", "250.00", "--currency", "USD"])
        _ = try await run(world, "mia", ["payments", "record", "--id", "BANK-77", "--customer", "CUS-1007", "--amount", "260.00", "--currency", "USD"])
        try await sync(world, "ana", "mia")
        let status = try #require(try await run(world, "mia", ["status"]) as? [String: Any])
        let refused = try #require(status["refused"] as? [[String: Any]])
        #expect(refused.count == 1)
        #expect(refused.first?["id"] as? String == "BANK-77")
        #expect(refused.first?["status"] as? Int == Int(StatusCode.alreadyExists.rawValue))
        #expect((refused.first?["message"] as? String)?.contains("already exists") == true)
        #expect((refused.first?["message"] as? String)?.contains("amount differs") == true, "the refusal names what differs")
        // Mia's replica shows Ana's 250.00, as the server does.
        let entry = try #require(try await run(world, "mia", ["entry", "BANK-77"]) as? [String: Any])
        #expect((entry["amount"] as? [String: Any])?["minor"] as? Int == 250_00)
        let counter = try #require(refused.first?["counter"] as? Int)
        let after = try #require(try await run(world, "mia", ["status", "--dismiss", "\(counter)"]) as? [String: Any])
        #expect((after["refused"] as? [Any])?.isEmpty == true)
        try await world.stop()
    }

    @Test func twoPhonesForOneContactLeaveOneValueAndAConflictThatCanBeSettled() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        _ = try await run(world, "mia", ["contacts", "add", "--id", "K-T", "--customer", "CUS-1007", "--name", "Rosa Cruz", "--email", "rosa@example.com"])
        try await sync(world, "mia", "ana")
        _ = try await run(world, "ana", ["contacts", "update", "K-T", "--phone", "+1 312 555 0101"])
        try await Task.sleep(for: .milliseconds(20))
        _ = try await run(world, "mia", ["contacts", "update", "K-T", "--phone", "+1 312 555 0102"])
        try await sync(world, "ana", "mia", "ana")

        var conflictID = ""
        for profile in ["ana", "mia"] {
            let contact = try #require(try await run(world, profile, ["contacts", "get", "K-T"]) as? [String: Any])
            #expect(contact["phone"] as? String == "+1 312 555 0102")
            let conflicts = try #require(try await run(world, profile, ["conflicts"]) as? [[String: Any]])
            #expect(conflicts.count == 1)
            #expect(conflicts.first?["kept"] as? String == "+1 312 555 0102")
            #expect(conflicts.first?["lost"] as? String == "+1 312 555 0101")
            conflictID = try #require(conflicts.first?["id"] as? String)
        }
        // Ana puts her number back; Mia sees it after syncing, and the conflict is settled everywhere.
        // For people: who wrote each value, and when in the reader's time zone.
        let (shown, text) = try await runCLI(["conflicts", "show", conflictID, "--profile", "ana"], environment: world.cliEnvironment(["TZ": "Asia/Manila"]))
        #expect(shown == 0)
        #expect(text.contains("set aside: +1 312 555 0101  (by you, on this laptop at "), "\(text)")
        #expect(text.contains("kept:      +1 312 555 0102  (by Mia Santos on mia-laptop at "), "by name and device: \(text)")
        #expect(text.components(separatedBy: " +08:00)").count == 3, "both times in Manila's offset: \(text)")
        let serverConflicts = try #require(try await serverView(world, ["conflicts"]) as? [[String: Any]])
        #expect(serverConflicts.map { $0["id"] as? String } == [conflictID])
        #expect(serverConflicts.first?["lost"] as? String == "+1 312 555 0101")
        // Both settle it, each for their own number, before either syncs: Ana's reaches the server
        // first and stands; Mia's is refused, and her laptop says who settled it, in names.
        _ = try await run(world, "ana", ["conflicts", "settle", conflictID, "--keep", "set-aside"])
        _ = try await run(world, "mia", ["conflicts", "settle", conflictID, "--keep", "kept"])
        try await sync(world, "ana", "mia")
        for profile in ["ana", "mia"] {
            let contact = try #require(try await run(world, profile, ["contacts", "get", "K-T"]) as? [String: Any])
            #expect(contact["phone"] as? String == "+1 312 555 0101", "\(profile)")
            #expect((try await run(world, profile, ["conflicts"]) as? [Any])?.isEmpty == true)
            let all = try #require(try await run(world, profile, ["conflicts", "--all"]) as? [[String: Any]])
            #expect(all.map { [$0["status"] as? String, $0["outcome"] as? String] } == [["settled", "set_aside"]], "\(profile)")
        }
        #expect((try await serverView(world, ["conflicts"]) as? [Any])?.isEmpty == true)
        let (_, status) = try await runCLI(["status", "--profile", "mia"], environment: world.cliEnvironment())
        #expect(status.contains("your settlement of conflict \(conflictID) (FAILED_PRECONDITION): it was settled by Ana Reyes at "), "\(status)")
        #expect(status.contains(": put back +1 312 555 0101"), "\(status)")
        // Settling it again is refused on the laptop, naming who settled it.
        let again = try ChildProcess(try Executables.url("dunlin"), ["conflicts", "settle", conflictID, "--profile", "mia"], environment: world.cliEnvironment())
        #expect(try await again.waitForExit(timeout: .seconds(60)) == 109)
        #expect(again.stderr.contains("settled by Ana Reyes"), "\(again.stderr)")
        // Settling is the replica's edit: --server refuses it before any call.
        let (settle, _) = try await runCLI(
            ["conflicts", "settle", conflictID, "--server", world.address, "--token", world.managerToken, "--json"], environment: world.cliEnvironment()
        )
        #expect(settle == 64)
        try await world.stop()
    }

    @Test func syncWatchPullsOtherPeoplesWorkPushesItsOwnAndSurvivesTheServerRestarting() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        let watch = try ChildProcess(try Executables.url("dunlin"), ["sync", "--watch", "--profile", "ana", "--json"], environment: world.cliEnvironment())
        defer { watch.signal(SIGKILL) }
        _ = try await watch.waitForLine(containing: "checkpoint")
        func activities(_ profile: String) async throws -> [String] {
            let list = try await run(world, profile, ["activities", "--customer", "CUS-1007"])
            return (((list as? [String: Any])?["activities"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if try await condition() { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        // Mia's note reaches Ana's replica with nobody running `dunlin sync` there.
        _ = try await run(world, "mia", ["log", "note", "--customer", "CUS-1007", "--id", "ACT-MIA", "--body", "called the controller"])
        try await sync(world, "mia")
        #expect(try await eventually { try await activities("ana").contains("ACT-MIA") })
        // Ana's own note is pushed by the watcher.
        _ = try await run(world, "ana", ["log", "note", "--customer", "CUS-1007", "--id", "ACT-ANA", "--body", "sent the statement"])
        try await sync(world, "mia")
        #expect(try await eventually {
            try await self.sync(world, "mia")
            return try await activities("mia").contains("ACT-ANA")
        })
        // The server goes away and comes back: the watcher reconnects and carries on.
        try await world.restartServer()
        _ = try await run(world, "mia", ["log", "note", "--customer", "CUS-1007", "--id", "ACT-MIA-2", "--body", "after the restart"])
        try await sync(world, "mia")
        #expect(try await eventually { try await activities("ana").contains("ACT-MIA-2") })
        watch.signal(SIGTERM)
        #expect(try await watch.waitForExit(timeout: .seconds(10)) == 0)
        try await world.stop()
    }

    /// Runs `dunlin ARGUMENTS` for people (no --json) and returns what it printed.
    func table(_ world: FaultWorld, _ arguments: [String]) async throws -> String {
        let (status, output) = try await runCLI(arguments, environment: world.cliEnvironment())
        guard status == 0 else { throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)") }
        return output
    }

    @Test("tables show an assignee, an author and an analyst by name, offline too; --json shows the ids")
    func peopleByName() async throws {
        let world = try await FaultWorld()
        _ = try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken])
        _ = try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken])
        let task = try #require(try await run(world, "ana", ["tasks", "add", "--id", "TSK-N", "--title", "call the controller"]) as? [String: Any])
        let ana = try #require(task["assignee_id"] as? String)
        _ = try await run(world, "ana", ["log", "note", "--customer", "CUS-1007", "--id", "ACT-N", "--body", "left a message"])
        try await sync(world, "ana", "mia")

        // Mia's laptop, with the server stopped: the names come from what her last sync saved.
        world.server.terminate()
        _ = try await world.server.waitForExit()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let tasks = try await table(world, ["tasks", "list", "--profile", "mia"])
        #expect(tasks.contains("Ana Reyes"))
        #expect(!tasks.contains(ana))
        let activities = try await table(world, ["activities", "--customer", "CUS-1007", "--profile", "mia"])
        #expect(activities.contains("Ana Reyes"))
        #expect(!activities.contains(ana))
        let customers = try await table(world, ["customers", "list", "--analyst", ana, "--profile", "mia"])
        #expect(customers.contains("Ana Reyes"))
        #expect(!customers.contains(ana))
        // --json keeps the ids.
        let listed = try #require(try await run(world, "mia", ["tasks", "list"]) as? [String: Any])
        #expect((listed["tasks"] as? [[String: Any]])?.first?["assignee_id"] as? String == ana)
        let logged = try #require(try await run(world, "mia", ["activities", "--customer", "CUS-1007"]) as? [String: Any])
        #expect((logged["activities"] as? [[String: Any]])?.contains { $0["author_id"] as? String == ana } == true)
        let owned = try #require(try await run(world, "mia", ["customers", "list", "--analyst", ana]) as? [String: Any])
        #expect((owned["customers"] as? [[String: Any]])?.allSatisfy { $0["analyst_id"] as? String == ana } == true)
    }

    @Test("against the server, an analyst's and a manager's tables show names through Admin/ListPeople")
    func peopleByNameOnline() async throws {
        let world = try await FaultWorld()
        let task = try #require(try await runJSON(world, ["tasks", "add", "--id", "TSK-O", "--title", "send the statement"]))
        let ana = try #require(task["assignee_id"] as? String)
        let tasks = try await table(world, ["tasks", "get", "TSK-O", "--server", world.address, "--token", world.analystToken])
        #expect(tasks.contains("Ana Reyes"))
        #expect(!tasks.contains(ana))
        let customers = try await table(world, ["customers", "list", "--analyst", ana, "--server", world.address, "--token", world.managerToken])
        #expect(customers.contains("Ana Reyes"))
        try await world.stop()
    }

    /// Runs `dunlin ARGUMENTS --json` as Ana straight against the server.
    func runJSON(_ world: FaultWorld, _ arguments: [String]) async throws -> [String: Any]? {
        let (status, output) = try await runCLI(arguments + ["--server", world.address, "--token", world.analystToken, "--json"], environment: world.cliEnvironment())
        guard status == 0 else { throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)") }
        return try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
    }

    @Test("a choice the domain does not have exits 64 before any call, and help lists the choices")
    func enumOptions() async throws {
        let nowhere = ["--server", "127.0.0.1:1", "--token", "unused"]
        #expect(try await runCLI(["disputes", "list", "--status", "settled"] + nowhere).status == 64)
        #expect(try await runCLI(["promises", "update", "P-1", "--status", "paid"] + nowhere).status == 64)
        #expect(try await runCLI(["contacts", "add", "--customer", "C", "--name", "N", "--channel", "fax"] + nowhere).status == 64)
        #expect(try await runCLI(["activities", "--kind", "telegram"] + nowhere).status == 64)
        let help = try await runCLI(["disputes", "list", "--help"])
        #expect(help.output.contains("investigating") && help.output.contains("customer_service"))
    }
}
