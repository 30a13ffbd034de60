import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
@testable import DunlinStore
import DunlinWire
import Foundation
import GRDB
import Testing

/// A real `dunlind demo` data directory served by a real process on 127.0.0.1, and one laptop: the
/// analyst Ana's `dunlin` profile and replica in XDG directories of its own, so nothing touches the
/// real home. Processes are killed with SIGKILL at the instants the test-only pauses
/// (``FaultPause``) announce on stderr.
///
/// Sizes come from `DUNLIN_FAULT_TEST_SIZE` (payments per test, at least 1,000; default 1,200:
/// three push batches of 500 and several pulled batches; the suite takes about 35 s on two shared
/// cores). The long setting, `DUNLIN_FAULT_TEST_SIZE=20000`, is for a nightly run: 3,000 already
/// takes about 90 s, and the time grows faster than the size.
final class FaultWorld {
    let directory: URL
    private(set) var server: DunlindProcess
    let managerToken: String
    let analystToken: String
    /// Whether the server speaks TLS (the demo's self-signed certificate), and that certificate's
    /// fingerprint, from demo-tokens.env.
    let tls: Bool
    let fingerprint: String?

    static let size = ProcessInfo.processInfo.environment["DUNLIN_FAULT_TEST_SIZE"].flatMap(Int.init) ?? 1_200
    /// A pause at the `n`-th time, long enough that only the SIGKILL ends it.
    static func pause(at n: Int) -> String { "30000@\(n)" }

    var data: URL { directory.appendingPathComponent("data") }
    var serverStorePath: String { data.appendingPathComponent("tenants/demo.sqlite").path }
    var replicaPath: String { directory.appendingPathComponent("xdg-data/dunlin/default/replica.sqlite").path }
    var address: String { "127.0.0.1:\(server.port)" }

    /// Added to the environment of every process of this world, the server's and the laptop's (a
    /// clock offset, say).
    let environment: [String: String]
    /// Added to the server's command line, at the start and at every restart (a mail command, say).
    let serverArguments: [String]

    init(environment: [String: String] = [:], serverArguments: [String] = [], tls: Bool = false) async throws {
        self.environment = environment
        self.serverArguments = serverArguments
        self.tls = tls
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        server = try await DunlindProcess(
            command: "demo", arguments: ["--data", directory.appendingPathComponent("data").path] + serverArguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new }, tls: tls
        )
        var tokens: [String: String] = [:]
        let env = try String(contentsOf: directory.appendingPathComponent("data/demo-tokens.env"), encoding: .utf8)
        for line in env.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { tokens[String(pair[0])] = String(pair[1]) }
        }
        managerToken = try #require(tokens["DUNLIN_TOKEN"])
        analystToken = try #require(tokens["DUNLIN_ANALYST_TOKEN"])
        fingerprint = tokens["DUNLIN_FINGERPRINT"]
    }

    /// The environment of every `dunlin` process: this world's XDG directories and home, no
    /// DUNLIN_* settings from outside, plus `extra`.
    func cliEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        // The CLI keeps the test's clock (DUNLIN_CLOCK_OFFSET), as dunlind does: both read one day.
        var environment = ProcessInfo.processInfo.environment.filter {
            ($0.key == "DUNLIN_CLOCK_OFFSET" || !$0.key.hasPrefix("DUNLIN_")) && !$0.key.hasPrefix("XDG_")
        }
        environment["HOME"] = directory.appendingPathComponent("home").path
        environment["XDG_CONFIG_HOME"] = directory.appendingPathComponent("xdg-config").path
        environment["XDG_DATA_HOME"] = directory.appendingPathComponent("xdg-data").path
        return environment.merging(self.environment) { _, new in new }.merging(extra) { _, new in new }
    }

    /// Starts `dunlin ARGUMENTS` without waiting for it.
    func startCLI(_ arguments: [String], pauses: [String: String] = [:]) throws -> ChildProcess {
        try ChildProcess(try Executables.url("dunlin"), arguments, environment: cliEnvironment(pauses))
    }

    /// Runs `dunlin ARGUMENTS --json` to the end and decodes its stdout; a non-zero exit fails.
    @discardableResult
    func cli(_ arguments: [String]) async throws -> [String: Any] {
        let (status, output) = try await runCLI(arguments + ["--json"], environment: cliEnvironment())
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else {
            throw RawError("dunlin \(arguments.joined(separator: " ")) exited \(status): \(output)")
        }
        return object
    }

    func login() async throws -> [String: Any] {
        try await cli(["login", "--server", address, "--token", analystToken])
    }

    /// A finished `dunlin sync`'s report.
    func sync() async throws -> SyncCounts { SyncCounts(try await cli(["sync"])) }

    /// SIGKILLs the server (if it still runs) and starts `dunlind serve` on the same data directory
    /// and port, with `pauses` in its environment.
    func restartServer(pauses: [String: String] = [:], arguments: [String]? = nil) async throws {
        server.child.signal(SIGKILL)
        _ = try await server.waitForExit()
        var environment = ProcessInfo.processInfo.environment
        environment.merge(self.environment) { _, new in new }
        environment.merge(pauses) { _, new in new }
        server = try await DunlindProcess(
            arguments: ["--data", data.path, "--port", "\(server.port)"] + (arguments ?? serverArguments), environment: environment, tls: tls
        )
    }

    /// Posts `count` payments of 1.00 + n cents to `customer` on the server, as the manager, 500 a call.
    func postOnServer(payments count: Int, prefix: String, customer: String) async throws {
        let client = RPCClient(configuration: .init(host: "127.0.0.1", port: server.port, token: managerToken, connectPatience: .seconds(5)))
        for start in stride(from: 0, to: count, by: 500) {
            _ = try await client.unary(Receivables.postEntries, .with {
                $0.entries = (start..<min(start + 500, count)).map { payment(prefix, $0, customer: customer) }
            })
        }
        await client.close()
    }

    /// Makes an outbox on the laptop while `dunlin` is not running: `count` payments and a fifth as
    /// many activities, written through the replica as the CLI would write them offline.
    func workOffline(payments count: Int, prefix: String) async throws {
        let file = directory.appendingPathComponent("xdg-config/dunlin/profiles/default.json")
        let profile = try JSONDecoder().decode(Profile.self, from: Data(contentsOf: file))
        let replica = try Replica(profile: profile, path: replicaPath)
        let customer = try firstCustomer(replica.store)
        for start in stride(from: 0, to: count, by: 500) {
            let range = start..<min(start + 500, count)
            _ = try await replica.unary(Receivables.postEntries, .with { $0.entries = range.map { payment(prefix, $0, customer: customer) } })
            _ = try await replica.unary(Records.logActivities, .with {
                $0.activities = range.filter { $0 % 5 == 0 }.map { n in
                    .with { $0.id = "\(prefix)-ACT-\(n)"; $0.customerID = customer; $0.kind = "call"; $0.direction = "outbound"; $0.outcome = "left a message" }
                }
            })
        }
    }

    func stop() async throws {
        server.terminate()
        _ = try await server.waitForExit()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// What `dunlin sync --json` reported.
struct SyncCounts: Equatable, CustomStringConvertible {
    var bootstrapped: Bool
    var accepted: Int
    var duplicates: Int
    var refused: Int

    init(_ json: [String: Any]) {
        bootstrapped = json["bootstrapped"] as? Bool ?? false
        accepted = json["accepted"] as? Int ?? -1
        duplicates = json["duplicates"] as? Int ?? -1
        refused = json["refused"] as? Int ?? -1
    }

    var description: String { "bootstrapped \(bootstrapped), accepted \(accepted), duplicates \(duplicates), refused \(refused)" }
}

private func payment(_ prefix: String, _ n: Int, customer: String) -> Dunlin_V1_LedgerEntryRecord {
    .with {
        $0.id = "\(prefix)-\(n)"
        $0.kind = "payment"
        $0.customerID = customer
        $0.amount = .with { $0.currency = "USD"; $0.minor = Int64(100 + n) }
        $0.date = "2026-11-20"
    }
}

private func firstCustomer(_ store: TenantStore) throws -> String {
    try store.writer.read { db in try String.fetchOne(db, sql: "SELECT id FROM customer ORDER BY id LIMIT 1") } ?? "none"
}

/// One tenant database as the sync feed sees it, opened for the length of one look.
struct StoreContents: Equatable {
    /// Every live record, "kind/id" → canonical fields.
    var records: [String: Data] = [:]
    /// Ledger totals to the minor unit, "kind currency" → (count, sum).
    var totals: [String: [Int64]] = [:]

    /// `readingOnly`: without migrating or changing a byte of the file (a backup's copy).
    init(_ path: String, readingOnly: Bool = false) throws {
        let store = try readingOnly ? TenantStore(readingOnly: path) : TenantStore(path: path)
        for kind in TenantStore.syncKindOrder {
            var cursor = ""
            while true {
                let page = try store.snapshotPage(kind: kind, after: cursor, limit: 2_000)
                guard let last = page.last else { break }
                cursor = last.id
                for record in page { records["\(kind)/\(record.id)"] = record.bytes }
            }
        }
        try store.writer.read { db in
            for row in try Row.fetchAll(db, sql: "SELECT kind, currency, COUNT(*) AS n, SUM(amount) AS total FROM ledger_entry GROUP BY kind, currency") {
                totals["\(row["kind"] as String) \(row["currency"] as String)"] = [row["n"], row["total"]]
            }
        }
    }

    /// The ids of `prefix`-numbered records, each once.
    func ids(_ kind: String, prefix: String) -> Set<String> {
        Set(records.keys.filter { $0.hasPrefix("\(kind)/\(prefix)-") })
    }
}

/// Reads the replica's checkpoint and the records every change the server logged up to it touched,
/// and answers which of them the replica lacks.
private func missingBelowCheckpoint(replica replicaPath: String, server serverPath: String) throws -> (checkpoint: Int64?, missing: [String]) {
    let replica = try TenantStore(path: replicaPath)
    guard let checkpoint = try replica.syncValue(.checkpoint).flatMap(Int64.init) else { return (nil, []) }
    let server = try TenantStore(path: serverPath)
    let touched = try server.writer.read { db in
        try Row.fetchAll(db, sql: "SELECT DISTINCT record_kind, record_id FROM change_log WHERE seq <= ?", arguments: [checkpoint])
            .map { ($0["record_kind"] as String, $0["record_id"] as String) }
    }
    let held = try StoreContents(replicaPath).records
    return (checkpoint, touched.filter { held["\($0.0)/\($0.1)"] == nil }.map { "\($0.0)/\($0.1)" })
}

/// Each pushed change was absorbed exactly once and logged exactly once on the server.
private func expectEachPushedChangeOnce(server serverPath: String, prefix: String, count: Int) throws {
    let server = try TenantStore(path: serverPath)
    try server.writer.read { db in
        let logged = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM change_log WHERE record_kind = 'ledger_entry' AND record_id LIKE ?", arguments: ["\(prefix)-%"]
        )
        #expect(logged == count)
        let doubled = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM (SELECT record_id FROM change_log WHERE record_id LIKE ? GROUP BY record_kind, record_id HAVING COUNT(*) > 1)",
            arguments: ["\(prefix)-%"]
        )
        #expect(doubled == 0)
    }
}

@Suite("Killing dunlin or dunlind at any instant of a sync", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct SyncFaultTests {
    @Test("a client killed mid-bootstrap and mid-pull resumes: its checkpoint never passes its data and the replica ends equal to the server")
    func clientKilledMidPull() async throws {
        let world = try await FaultWorld()
        let customer = try firstCustomer(TenantStore(path: world.serverStorePath))
        try await world.postOnServer(payments: FaultWorld.size, prefix: "SRV", customer: customer)

        // Killed after the second bootstrap batch of its first sync (the one `login` runs).
        let login = try world.startCLI(["login", "--server", world.address, "--token", world.analystToken], pauses: ["DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS": FaultWorld.pause(at: 2)])
        try await login.waitForLine(containing: "DUNLIN_TEST_PAUSE after-pull-batch 2", onStderr: true)
        login.signal(SIGKILL)
        _ = try await login.waitForExit()
        let halfway = try missingBelowCheckpoint(replica: world.replicaPath, server: world.serverStorePath)
        #expect(halfway.checkpoint == nil, "an interrupted bootstrap sets no checkpoint")
        #expect(try !StoreContents(world.replicaPath).records.isEmpty, "the kill came after some batches were applied")

        let again = try await world.sync()
        #expect(again.bootstrapped)
        #expect(try StoreContents(world.replicaPath) == StoreContents(world.serverStorePath))

        // More work on the server; the pull of it is killed after its second batch.
        try await world.postOnServer(payments: FaultWorld.size, prefix: "SRV2", customer: customer)
        let sync = try world.startCLI(["sync"], pauses: ["DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS": FaultWorld.pause(at: 2)])
        try await sync.waitForLine(containing: "DUNLIN_TEST_PAUSE after-pull-batch 2", onStderr: true)
        sync.signal(SIGKILL)
        _ = try await sync.waitForExit()
        let killed = try missingBelowCheckpoint(replica: world.replicaPath, server: world.serverStorePath)
        let newest = try TenantStore(path: world.serverStorePath).lastChangeSequence()
        #expect(killed.missing.isEmpty, "the checkpoint got ahead of the data")
        #expect((killed.checkpoint ?? 0) < newest, "the kill came mid-pull")
        #expect(try StoreContents(world.replicaPath).ids("ledger_entry", prefix: "SRV2").count < FaultWorld.size)

        let resumed = try await world.sync()
        #expect(!resumed.bootstrapped)
        let replica = try StoreContents(world.replicaPath), server = try StoreContents(world.serverStorePath)
        #expect(replica == server)
        #expect(replica.ids("ledger_entry", prefix: "SRV2").count == FaultWorld.size)
        try await world.stop()
    }

    @Test("a contact deleted on the server while a killed bootstrap had already brought it is gone from the replica after it bootstraps again")
    func deletedWhileBootstrapWasKilled() async throws {
        let world = try await FaultWorld()
        let server = RPCClient(configuration: .init(host: "127.0.0.1", port: world.server.port, token: world.managerToken, connectPatience: .seconds(5)))
        let customer = try firstCustomer(TenantStore(path: world.serverStorePath))
        _ = try await server.unary(Records.upsertContacts, .with {
            $0.contacts = [.with { $0.id = "K-GONE"; $0.customerID = customer; $0.name = "Rosa"; $0.phone = "+1 312 555 0100"; $0.email = "rosa@example.com" }]
        })
        // The snapshot sends each kind in pages of 500, in order: pause after the last contact page.
        let live = try StoreContents(world.serverStorePath).records.keys
        let pages = TenantStore.syncKindOrder.prefix(through: TenantStore.syncKindOrder.firstIndex(of: .contact)!).map { kind in
            (live.filter { $0.hasPrefix("\(kind.rawValue)/") }.count + 499) / 500
        }.reduce(0, +)
        let login = try world.startCLI(["login", "--server", world.address, "--token", world.analystToken], pauses: ["DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS": FaultWorld.pause(at: pages)])
        try await login.waitForLine(containing: "DUNLIN_TEST_PAUSE after-pull-batch \(pages)", onStderr: true)
        login.signal(SIGKILL)
        _ = try await login.waitForExit()
        #expect(try StoreContents(world.replicaPath).records["contact/K-GONE"] != nil)

        _ = try await server.unary(Records.deleteContacts, .with { $0.ids = ["K-GONE"] })
        await server.close()
        #expect(try await world.sync().bootstrapped)
        let replica = try StoreContents(world.replicaPath)
        #expect(replica.records["contact/K-GONE"] == nil)
        #expect(try replica == StoreContents(world.serverStorePath))
        try await world.stop()
    }

    @Test("a client killed after the server answered two batches of its outbox, before it recorded the second, sends only the second again (as duplicates) and the rest; every payment exists once")
    func clientKilledMidPush() async throws {
        let world = try await FaultWorld()
        _ = try await world.login()
        try await world.workOffline(payments: FaultWorld.size, prefix: "OFF")
        let outbox = FaultWorld.size + (FaultWorld.size + 4) / 5

        let sync = try world.startCLI(["sync"], pauses: ["DUNLIN_TEST_PAUSE_BETWEEN_BATCHES_MS": FaultWorld.pause(at: 2)])
        try await sync.waitForLine(containing: "DUNLIN_TEST_PAUSE after-push-batch 2", onStderr: true)
        sync.signal(SIGKILL)
        _ = try await sync.waitForExit()
        #expect(try TenantStore(path: world.replicaPath).pendingCount() == outbox - 500, "the first answered batch is recorded, the second not yet")

        let again = try await world.sync()
        #expect(again.duplicates == 500)
        #expect(again.accepted == outbox - 1_000)
        #expect(again.refused == 0)
        let replica = try StoreContents(world.replicaPath), server = try StoreContents(world.serverStorePath)
        #expect(replica == server)
        #expect(server.ids("ledger_entry", prefix: "OFF").count == FaultWorld.size)
        try expectEachPushedChangeOnce(server: world.serverStorePath, prefix: "OFF", count: FaultWorld.size)
        #expect(try TenantStore(path: world.replicaPath).pendingCount() == 0)
        try await world.stop()
    }

    @Test("a server killed before it applies a push, and between its commit and its answer, loses nothing and doubles nothing after restart; the next sync continues after the last answered batch")
    func serverKilledMidPush() async throws {
        let world = try await FaultWorld()
        _ = try await world.login()
        let outbox = FaultWorld.size + (FaultWorld.size + 4) / 5

        // Killed while holding the second push, not yet applied: the first is committed, nothing of the second.
        try await world.workOffline(payments: FaultWorld.size, prefix: "PRE")
        try await world.restartServer(pauses: ["DUNLIN_TEST_PAUSE_BEFORE_PUSH_MS": FaultWorld.pause(at: 2)])
        var sync = try world.startCLI(["sync"])
        try await world.server.child.waitForLine(containing: "DUNLIN_TEST_PAUSE before-push 2", onStderr: true)
        world.server.child.signal(SIGKILL)
        #expect(try await sync.waitForExit() == 100 + Int32(StatusCode.unavailable.rawValue))
        #expect(try StoreContents(world.serverStorePath).ids("ledger_entry", prefix: "PRE").count == 500)
        #expect(try TenantStore(path: world.replicaPath).pendingCount() == outbox - 500, "the answered first batch is recorded")

        try await world.restartServer()
        var again = try await world.sync()
        #expect(again == SyncCounts(["accepted": outbox - 500, "duplicates": 0, "refused": 0]), "\(again)")
        try expectEachPushedChangeOnce(server: world.serverStorePath, prefix: "PRE", count: FaultWorld.size)

        // Killed after committing the first push, before answering it.
        try await world.workOffline(payments: FaultWorld.size, prefix: "POST")
        try await world.restartServer(pauses: ["DUNLIN_TEST_PAUSE_AFTER_PUSH_COMMIT_MS": FaultWorld.pause(at: 1)])
        sync = try world.startCLI(["sync"])
        try await world.server.child.waitForLine(containing: "DUNLIN_TEST_PAUSE after-push-commit 1", onStderr: true)
        world.server.child.signal(SIGKILL)
        #expect(try await sync.waitForExit() != 0)
        #expect(try StoreContents(world.serverStorePath).ids("ledger_entry", prefix: "POST").count == 500)
        #expect(try TenantStore(path: world.replicaPath).pendingCount() == outbox, "nothing was settled")

        try await world.restartServer()
        again = try await world.sync()
        #expect(again == SyncCounts(["accepted": outbox - 500, "duplicates": 500, "refused": 0]), "\(again)")
        let replica = try StoreContents(world.replicaPath), server = try StoreContents(world.serverStorePath)
        #expect(replica == server)
        try expectEachPushedChangeOnce(server: world.serverStorePath, prefix: "POST", count: FaultWorld.size)
        try expectEachPushedChangeOnce(server: world.serverStorePath, prefix: "PRE", count: FaultWorld.size)
        try await world.stop()
    }
}
