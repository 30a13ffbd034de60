import DunlinClient
import DunlinCore
import DunlinWire
import Foundation
import Testing

/// Dunning through the real CLI against `dunlind demo` (two policies and a held customer): a bad
/// policy's exit code, the run on the server and its idempotence, the preview offline on a
/// laptop's replica, the rights of run and release, and a release.
@Suite("Dunning through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct DunningCLITests {
    /// `dunlin ARGUMENTS --profile PROFILE --json`: the exit status and the decoded output.
    func run(_ world: FaultWorld, _ profile: String, _ arguments: [String]) async throws -> (status: Int32, json: Any?) {
        let (status, output) = try await runCLI(arguments + ["--profile", profile, "--json"], environment: world.cliEnvironment())
        return (status, try? JSONSerialization.jsonObject(with: Data(output.utf8)))
    }

    @Test func aRunQueuesNoticesOnceThePreviewWorksOfflineAndAManagerReleasesThem() async throws {
        let world = try await FaultWorld()
        #expect(try await run(world, "ana", ["login", "--server", world.address, "--token", world.analystToken]).status == 0)
        #expect(try await run(world, "mia", ["login", "--server", world.address, "--token", world.managerToken]).status == 0)

        // The demo's policies are on every replica; a bad one is refused, naming the level (exit 103).
        let policies = try #require(try await run(world, "ana", ["dunning", "policy", "list"]).json as? [String: Any])
        #expect((policies["policies"] as? [[String: Any]])?.compactMap { $0["id"] as? String }.sorted() == ["POL-KEY", "POL-STD"])
        let bad = try await run(world, "mia", ["dunning", "policy", "add", "--name", "Bad", "--level", "30:email:first", "--level", "15:letter:second"])
        #expect(bad.status == 103)
        #expect(((bad.json as? [String: Any])?["error"] as? [String: Any])?["message"] as? String == "item 1: levels[1].days: 15 days comes before level 1's 30: levels go in increasing order of days")
        #expect(try await run(world, "ana", ["dunning", "run"]).status == 107, "an analyst may not run dunning")

        // The run, on the server; again, it creates nothing.
        let first = try #require(try await run(world, "mia", ["dunning", "run"]).json as? [String: Any])
        let created = try #require(first["created"] as? [[String: Any]])
        #expect(Set(created.compactMap { $0["level_days"] as? Int }).count >= 3, "notices at several levels")
        #expect(first["held_customers"] as? Int == 1)
        let again = try #require(try await run(world, "mia", ["dunning", "run"]).json as? [String: Any])
        #expect((again["created"] as? [Any])?.isEmpty == true)
        #expect(again["existing"] as? Int == created.count)

        // Ana syncs; Mia releases them all on the server.
        #expect(try await run(world, "ana", ["sync"]).status == 0)
        let released = try #require(try await run(world, "mia", ["dunning", "release"]).json as? [String: Any])
        let notices = try #require(released["notices"] as? [[String: Any]])
        #expect(notices.count == created.count)
        #expect(notices.allSatisfy { $0["status"] as? String == "released" })

        // A revoked token runs nothing: every call re-checks the credential (exit 116).
        let tokenID = String(world.managerToken.dropFirst(4).prefix(16))
        #expect(try await run(world, "mia", ["admin", "token", "revoke", tokenID]).status == 0)
        #expect(try await run(world, "mia", ["dunning", "run"]).status == 116)

        // The server goes away; Ana's preview still answers from her replica (what she last pulled).
        world.server.terminate()
        _ = try await world.server.waitForExit()
        let preview = try #require(try await run(world, "ana", ["dunning", "preview"]).json as? [String: Any])
        #expect((preview["notices"] as? [[String: Any]])?.count == created.count)
        let id = try #require(created.first?["id"] as? String)
        let shown = try #require(try await run(world, "ana", ["notices", "show", id]).json as? [String: Any])
        #expect(shown["status"] as? String == "pending")
        #expect(try await run(world, "ana", ["customers", "hold", "CUS-1010", "--reason", "CFO on leave"]).status == 0)
        #expect(try await run(world, "mia", ["dunning", "release"]).status == 114, "the release needs the server")
        try? FileManager.default.removeItem(at: world.directory)
    }
}
