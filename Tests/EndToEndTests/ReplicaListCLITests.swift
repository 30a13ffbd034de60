import Foundation
import Testing

/// `dunlin admin replica list` over real processes: it reads every page of `Sync/ListReplicas`
/// (which pages by id) and shows the replicas most recently seen first, as it always has.
@Suite("Replica list through the CLI", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct ReplicaListCLITests {
    /// Runs `dunlin ARGUMENTS --json` and decodes its output.
    func run(_ world: FaultWorld, _ arguments: [String]) async throws -> Any {
        let child = try ChildProcess(try Executables.url("dunlin"), arguments + ["--json"], environment: world.cliEnvironment())
        let status = try await child.waitForExit(timeout: .seconds(60))
        guard status == 0 else { throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(child.stdout) \(child.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(child.stdout.utf8))
    }

    @Test("a tenant admin lists every replica that synced, most recently seen first, with the horizon")
    func everyReplicaMostRecentFirst() async throws {
        let world = try await FaultWorld()
        let hints = try String(contentsOf: world.directory.appendingPathComponent("data/demo-tokens.env"), encoding: .utf8)
        let rootToken = try #require(hints.split(separator: "\n").lazy.compactMap { line -> String? in
            let pair = line.replacingOccurrences(of: "export ", with: "").split(separator: "=", maxSplits: 1)
            return pair.count == 2 && pair[0] == "DUNLIN_ADMIN_TOKEN" ? String(pair[1]) : nil
        }.first)
        let server = ["--server", world.address, "--token", rootToken]
        let admin = try #require(try await run(world, ["admin", "user", "create", "--tenant", "demo", "--name", "Tia Admin", "--role", "admin"] + server) as? [String: Any])
        let adminID = try #require(admin["id"] as? String)
        let issued = try #require(try await run(world, ["admin", "token", "issue", adminID, "--device", "tia-laptop", "--no-expiry"] + server) as? [String: Any])
        let adminToken = try #require(issued["token"] as? String)

        var synced: [String] = []
        for (profile, token) in [("ana", world.analystToken), ("mia", world.managerToken)] {
            _ = try await run(world, ["login", "--server", world.address, "--token", token, "--profile", profile])
            _ = try await run(world, ["sync", "--profile", profile])
            let profileFile = world.directory.appendingPathComponent("xdg-config/dunlin/profiles/\(profile).json")
            let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: profileFile)) as? [String: Any])
            synced.append(try #require(saved["replica_id"] as? String ?? saved["replicaID"] as? String))
        }

        let listed = try #require(try await run(world, ["admin", "replica", "list", "--server", world.address, "--token", adminToken]) as? [String: Any])
        let replicas = try #require(listed["replicas"] as? [[String: Any]])
        let ids = replicas.compactMap { $0["id"] as? String }
        #expect(Set(ids) == Set(synced))
        #expect(ids.count == synced.count)
        let seen = replicas.compactMap { replica in (replica["last_seen"] as? String).map { ($0, replica["id"] as? String ?? "") } }
        #expect(seen.map(\.1) == seen.sorted { ($1.0, $0.1) < ($0.0, $1.1) }.map(\.1))
        #expect(listed["horizon"] as? Int != nil)
    }
}
