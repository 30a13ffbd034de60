import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// A push is held to the same rights table as the RPC that makes the same change, and a replica
/// id to the user who made it: what a hand-edited replica file or a raw client can send is
/// refused with the status and field the RPC answers.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SyncRightsTests {
    /// A client speaking Sync directly, as a hand-edited replica or a script would.
    private func rawClient(_ world: SyncWorld, _ user: String, replica: String) -> RPCClient {
        RPCClient(configuration: .init(host: "127.0.0.1", port: world.server.port, token: user, replicaID: replica, schemaVersion: SyncMethods.schemaVersion))
    }

    /// Pushes `changes` as a replica that has pulled everything (`base_seq` the newest change), so
    /// what they change is an edit of what the server holds, not a concurrent one.
    private func push(
        _ client: RPCClient, replica: String, _ changes: [(kind: String, id: String, counter: UInt64, fields: FieldMap)], in world: SyncWorld
    ) async throws -> Dunlin_V1_PushResponse {
        let newest = UInt64(try world.tenant.store.snapshotStart())
        return try await client.unary(SyncMethods.push, .with {
            $0.replicaID = replica
            $0.changes = changes.map { change in
                .with {
                    $0.kind = change.kind
                    $0.id = change.id
                    $0.counter = change.counter
                    $0.baseSeq = newest
                    $0.fields = RecordCoding.canonical(change.fields)
                    $0.atMs = 1_795_000_000_000
                }
            }
        })
    }

    private func taskFields(_ id: String, assignee: String) throws -> FieldMap {
        var fields = CollectionTask(id: id, assigneeID: assignee, customerID: "C1", title: "call Rosa", dueDate: CivilDate("2026-11-30")!).fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        return fields
    }

    @Test("an analyst cannot push a task for someone else, nor change another analyst's task: the RPC's refusal, field and all")
    func pushedTasksFollowTheOwnerRule() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let manager = world.server.client(token: "manager")
        _ = try await manager.unary(Records.upsertTasks, .with {
            $0.tasks = [.with { $0.id = "T-BEN"; $0.assigneeID = "u-ben"; $0.customerID = "C1"; $0.title = "Ben's call"; $0.dueDate = "2026-11-30" }]
        })
        let ana = rawClient(world, "ana", replica: testReplica("ana"))

        // The RPC path.
        let rpcAssign = await #expect(throws: RPCError.self) {
            try await world.server.client(token: "ana").unary(Records.upsertTasks, .with {
                $0.tasks = [.with { $0.id = "T-NEW"; $0.assigneeID = "u-ben"; $0.title = "for Ben"; $0.dueDate = "2026-11-30" }]
            })
        }
        #expect(rpcAssign?.code == .permissionDenied && rpcAssign?.details.first?.field == "assignee_id")

        // The same through a push: a new task for Ben, and Ben's task taken over.
        let result = try await push(ana, replica: testReplica("ana"), [
            ("collection_task", "T-NEW", 1, try taskFields("T-NEW", assignee: "u-ben")),
            ("collection_task", "T-BEN", 2, ["assignee_id": .string("u-ana")]),
            ("collection_task", "T-BEN", 3, ["title": .string("Ana's now")]),
            ("collection_task", "T-ANA", 4, try taskFields("T-ANA", assignee: "u-ana")),
        ], in: world)
        #expect(result.results.map(\.outcome) == [.refused, .refused, .refused, .accepted])
        #expect(result.results.prefix(3).allSatisfy { $0.code == StatusCode.permissionDenied.rawValue && $0.field == "assignee_id" })
        #expect(try world.tenant.store.task("T-NEW") == nil)
        #expect(try world.tenant.store.task("T-BEN")?.assigneeID == "u-ben")
        #expect(try world.tenant.store.task("T-BEN")?.title == "Ben's call")
        #expect(try world.tenant.store.task("T-ANA")?.assigneeID == "u-ana")

        // A manager may assign through either path.
        let mo = rawClient(world, "mo", replica: testReplica("mo"))
        let managed = try await push(mo, replica: testReplica("mo"), [("collection_task", "T-BEN", 1, ["assignee_id": .string("u-cy")])], in: world)
        #expect(managed.results.map(\.outcome) == [.accepted])
        #expect(try world.tenant.store.task("T-BEN")?.assigneeID == "u-cy")
        await ana.close(); await mo.close(); await manager.close()
        try await world.stop()
    }

    @Test("a pushed activity names its caller as author, and a viewer cannot push one at all")
    func pushedActivitiesAreTheCallers() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        func activity(_ id: String, author: String) throws -> FieldMap {
            Activity(
                id: id, customerID: "C1", kind: .call, direction: .outbound, outcome: "no answer", authorID: author,
                occurredAt: Date(timeIntervalSince1970: 1_795_000_000)
            ).fieldMap
        }
        let ana = rawClient(world, "ana", replica: testReplica("ana"))
        let result = try await push(ana, replica: testReplica("ana"), [
            ("activity", "ACT-FORGED", 1, try activity("ACT-FORGED", author: "u-m")),
            ("activity", "ACT-OWN", 2, try activity("ACT-OWN", author: "u-ana")),
        ], in: world)
        #expect(result.results.map(\.outcome) == [.refused, .accepted])
        #expect(result.results[0].code == StatusCode.permissionDenied.rawValue && result.results[0].field == "author_id")
        #expect(try world.tenant.store.activities(customerID: "C1", page: PageRequest(size: 10)).items.map(\.id) == ["ACT-OWN"])

        let viewer = rawClient(world, "viewer", replica: testReplica("vi"))
        let viewed = try await push(viewer, replica: testReplica("vi"), [("activity", "ACT-V", 1, try activity("ACT-V", author: "u-v"))], in: world)
        #expect(viewed.results.map(\.code) == [StatusCode.permissionDenied.rawValue])
        await ana.close(); await viewer.close()
        try await world.stop()
    }

    @Test("a write-off, adjustment, credit memo or refund pushed from a hand-edited replica is refused for every role: only an approval writes one")
    func owedChangingEntriesComeFromApprovals() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let usd = Currency.usd
        let day = CivilDate("2026-11-23")!
        let entries = [
            LedgerEntry(id: "WO-H", kind: .writeOff, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, targetID: "INV-1"),
            LedgerEntry(id: "ADJ-H", kind: .adjustment, customerID: "C1", amount: Money(minorUnits: -500_00, currency: usd), date: day, targetID: "INV-2"),
            LedgerEntry(id: "CM-H", kind: .creditMemo, customerID: "C1", amount: Money(minorUnits: 900_00, currency: usd), date: day),
            LedgerEntry(id: "REF-H", kind: .refund, customerID: "C1", amount: Money(minorUnits: 100_00, currency: usd), date: day, sourceID: "PAY-1"),
        ]
        let sequence = try world.tenant.store.lastChangeSequence()
        for user in ["ana", "mo", "admin"] {
            let client = rawClient(world, user, replica: testReplica(user))
            let pushed = try await push(client, replica: testReplica(user), entries.map { ("ledger_entry", $0.id, 1, $0.fieldMap) }, in: world)
            #expect(pushed.results.map(\.code) == Array(repeating: StatusCode.permissionDenied.rawValue, count: entries.count), "\(user)")
            #expect(pushed.results.allSatisfy { $0.message.contains("only when a request for it is approved") }, "\(user): \(pushed.results.map(\.message))")
            await client.close()
        }
        #expect(try world.tenant.store.lastChangeSequence() == sequence)
        #expect(try entries.allSatisfy { try world.tenant.store.entry($0.id) == nil })
        try await world.stop()
    }

    @Test("a tenant setting pushed from an analyst's hand-edited replica is refused; a manager's lands; a bad value is refused naming the setting")
    func settingsAreManagers() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        func setting(_ value: String) -> FieldMap {
            var fields = TenantSetting(id: "worklist.risk", value: value).fieldMap
            fields[RecordCoding.deletedField] = .bool(false)
            return fields
        }
        let ana = rawClient(world, "ana", replica: testReplica("ana"))
        let refused = try await push(ana, replica: testReplica("ana"), [("tenant_setting", "worklist.risk", 1, setting("50"))], in: world)
        #expect(refused.results.map(\.code) == [StatusCode.permissionDenied.rawValue])
        let mo = rawClient(world, "mo", replica: testReplica("mo"))
        let pushed = try await push(mo, replica: testReplica("mo"), [
            ("tenant_setting", "worklist.risk", 1, setting("lots")),
            ("tenant_setting", "worklist.risk", 2, setting("9")),
        ], in: world)
        #expect(pushed.results.map(\.outcome) == [.refused, .accepted])
        #expect(pushed.results[0].code == StatusCode.invalidArgument.rawValue && pushed.results[0].field == "worklist.risk")
        #expect(try world.tenant.store.settings() == [TenantSetting(id: "worklist.risk", value: "9")])
        await ana.close(); await mo.close()
        try await world.stop()
    }

    @Test("an exchange rate pushed from an analyst's hand-edited replica is refused; a manager's lands; a malformed rate or a forged id is refused naming the field")
    func ratesAreManagers() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        func rate(_ text: String, id: String? = nil) -> FieldMap {
            var fields = DatedRate(from: .php, to: .usd, date: CivilDate("2026-11-01")!, rate: text, source: "BSP").fieldMap
            if let id { fields["id"] = .string(id) }
            fields[RecordCoding.deletedField] = .bool(false)
            return fields
        }
        let id = "fx_PHP_USD_2026-11-01"
        let ana = rawClient(world, "ana", replica: testReplica("ana"))
        let refused = try await push(ana, replica: testReplica("ana"), [("exchange_rate", id, 1, rate("0.0178"))], in: world)
        #expect(refused.results.map(\.code) == [StatusCode.permissionDenied.rawValue])
        let mo = rawClient(world, "mo", replica: testReplica("mo"))
        let pushed = try await push(mo, replica: testReplica("mo"), [
            ("exchange_rate", id, 1, rate("-0.0178")),
            ("exchange_rate", "fx_PHP_USD_2026-12-01", 2, rate("0.0178", id: "fx_PHP_USD_2026-12-01")),
            ("exchange_rate", id, 3, rate("0.0178")),
        ], in: world)
        #expect(pushed.results.map(\.outcome) == [.refused, .refused, .accepted])
        #expect(pushed.results[0].field == "rate" && pushed.results[1].field == "id", "\(pushed.results)")
        #expect(try world.tenant.store.exchangeRates().items.map(\.rate) == ["0.0178"])
        await ana.close(); await mo.close()
        try await world.stop()
    }

    @Test("a replica cannot plant a conflict, and settles one only as itself, changing nothing else")
    func conflictsAreTheServers() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = rawClient(world, "ana", replica: testReplica("ana"))
        let planted = ConflictRecord(Conflict(
            kind: "contact", recordID: "K1", field: "phone", kept: .string("+1"), keptStamp: Stamp(authority: "server", seq: 1, dot: nil, at: 1),
            lost: .string("+2"), lostStamp: Stamp(authority: "server", seq: 2, dot: nil, at: 2)
        ))
        var fields = planted.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        let result = try await push(ana, replica: testReplica("ana"), [("sync_conflict", planted.id, 1, fields)], in: world)
        #expect(result.results.map(\.outcome) == [.refused])
        #expect(result.results[0].code == StatusCode.permissionDenied.rawValue)
        #expect(try world.tenant.store.syncedRecords()["sync_conflict/\(planted.id)"] == nil)

        // A real conflict: two laptops change one phone.
        let one = try world.laptop("ana"), two = try world.laptop("ben")
        try await one.sync(); try await two.sync()
        for (laptop, phone) in [(one, "+1 312 555 0111"), (two, "+1 312 555 0122")] {
            _ = try await laptop.replica.unary(Records.upsertContacts, .with {
                $0.contacts = [.with { $0.id = "K1"; $0.customerID = "C1"; $0.name = "Rosa"; $0.phone = phone; $0.email = "rosa@globe.example" }]
            })
            try await laptop.sync()
        }
        let conflict = try #require(try world.tenant.store.syncedRecords().first { $0.key.hasPrefix("sync_conflict/") })
        let conflictID = String(conflict.key.dropFirst("sync_conflict/".count))
        let ben = rawClient(world, "ben", replica: testReplica("ben2"))
        let forged = try await push(ben, replica: testReplica("ben2"), [
            ("sync_conflict", conflictID, 1, ["status": .string("settled"), "settled_by": .string("u-m")]),
            ("sync_conflict", conflictID, 2, ["status": .string("settled"), "settled_by": .string("u-ben"), "lost": .string("+0")]),
            ("sync_conflict", conflictID, 3, ["_deleted": .bool(true)]),
            // A settlement says which value stays.
            ("sync_conflict", conflictID, 4, ["status": .string("settled"), "settled_by": .string("u-ben")]),
            ("sync_conflict", conflictID, 5, ["status": .string("settled"), "settled_by": .string("u-ben"), "outcome": .string("kept"), "settled_at": .string("5")]),
            // Once settled, it stays settled: a second settlement is refused.
            ("sync_conflict", conflictID, 6, ["status": .string("settled"), "settled_by": .string("u-ben"), "outcome": .string("set_aside"), "settled_at": .string("6")]),
        ], in: world)
        #expect(forged.results.map(\.outcome) == [.refused, .refused, .refused, .refused, .accepted, .refused])
        #expect(forged.results.map(\.field) == ["settled_by", "lost", "", "outcome", "", "status"])
        #expect(forged.results[5].code == StatusCode.failedPrecondition.rawValue)
        let settled = try #require(try world.tenant.store.syncedRecords()["sync_conflict/\(conflictID)"])
        #expect(settled["settled_by"] == .string("u-ben") && settled["lost"] == conflict.value["lost"] && settled["outcome"] == .string("kept"))
        #expect(try world.tenant.store.contact("K1")?.phone == conflict.value["kept"]?.text)
        await ana.close(); await ben.close(); await one.close(); await two.close()
        try await world.stop()
    }

    @Test("nobody pulls, bootstraps or pushes under another user's replica id, and its checkpoint stays where it was")
    func replicaIdsBelongToTheirUser() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = try world.laptop("ana")
        try await ana.sync()
        let replicaID = ana.replica.profile.replicaID
        let before = try #require(try world.tenant.store.replica(replicaID))

        let viewer = rawClient(world, "viewer", replica: replicaID)
        for attempt in 0..<3 {
            let error = await #expect(throws: RPCError.self) {
                switch attempt {
                case 0: for try await _ in viewer.serverStreaming(SyncMethods.pull, .with { $0.replicaID = replicaID; $0.afterSeq = 999_999 }) {}
                case 1: for try await _ in viewer.serverStreaming(SyncMethods.bootstrap, .with { $0.replicaID = replicaID }) {}
                default: _ = try await push(viewer, replica: replicaID, [], in: world)
                }
            }
            #expect(error?.code == .permissionDenied && error?.details.first?.field == "replica_id")
        }
        let after = try #require(try world.tenant.store.replica(replicaID))
        #expect(after.checkpoint == before.checkpoint && after.userID == "u-ana")

        // A HELLO that names one replica and a request that names another.
        let mismatched = rawClient(world, "ana", replica: testReplica("other"))
        let mismatch = await #expect(throws: RPCError.self) {
            for try await _ in mismatched.serverStreaming(SyncMethods.pull, .with { $0.replicaID = replicaID; $0.afterSeq = 1 }) {}
        }
        #expect(mismatch?.code == .invalidArgument && mismatch?.details.first?.reason == "replica_mismatch")
        await viewer.close(); await mismatched.close(); await ana.close()
        try await world.stop()
    }

    @Test("a replica id must be r and 32 lower-case hex digits: a HELLO naming another is refused, and so is a Sync request")
    func replicaIdsHaveTheirFormat() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        // At HELLO: refused like a bad credential (GOAWAY, nothing runs), saying what is wrong.
        for bad in ["r-ana", "R" + String(repeating: "a", count: 32), "r" + String(repeating: "A", count: 32), "r" + String(repeating: "a", count: 31)] {
            let client = rawClient(world, "ana", replica: bad)
            let refused = await #expect(throws: RPCError.self) {
                _ = try await client.unary(Diagnostics.ping, .init())
            }
            #expect(refused?.code == .invalidArgument && refused?.message.contains("replica_id") == true, "\(bad): \(String(describing: refused))")
            await client.close()
        }
        // In a Sync request, from a connection that named no replica at HELLO.
        let script = rawClient(world, "ana", replica: "")
        for bad in ["r-ana", "", testReplica("ana") + "0"] {
            let error = await #expect(throws: RPCError.self) {
                for try await _ in script.serverStreaming(SyncMethods.pull, .with { $0.replicaID = bad; $0.afterSeq = 0 }) {}
            }
            #expect(error?.code == .invalidArgument && error?.details.first?.field == "replica_id", "\(bad)")
        }
        _ = try await push(script, replica: testReplica("ana"), [], in: world)
        await script.close()
        try await world.stop()
    }

    @Test("a checkpoint past the feed is OUT_OF_RANGE, never a crash, and a retired replica is told to bootstrap again")
    func checkpointsAreChecked() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let viewer = rawClient(world, "viewer", replica: testReplica("vi"))
        for afterSeq: UInt64 in [1 << 63, UInt64.max, 999_999] {
            let error = await #expect(throws: RPCError.self) {
                for try await _ in viewer.serverStreaming(SyncMethods.pull, .with { $0.replicaID = testReplica("vi"); $0.afterSeq = afterSeq }) {}
            }
            #expect(error?.code == .outOfRange && error?.details.first?.field == "after_seq")
        }
        let pushed = await #expect(throws: RPCError.self) {
            try await push(viewer, replica: testReplica("vi"), [("contact", "K1", 1 << 63, ["phone": .string("+1")])], in: world)
        }
        #expect(pushed?.code == .outOfRange && pushed?.details.first?.field == "changes[0].counter")
        // The same connection still answers.
        #expect(try await viewer.unary(Diagnostics.ping, .init()).serverTimeMs > 0)

        let ana = try world.laptop("ana")
        try await ana.sync()
        let admin = world.server.client(token: "admin")
        _ = try await admin.unary(SyncMethods.retireReplica, .with { $0.replicaID = ana.replica.profile.replicaID })
        let retired = await #expect(throws: RPCError.self) {
            for try await _ in ana.client.serverStreaming(SyncMethods.pull, .with { $0.replicaID = ana.replica.profile.replicaID; $0.afterSeq = 1 }) {}
        }
        #expect(retired?.code == .failedPrecondition && retired?.details.first?.reason == "rebootstrap")
        #expect(try world.tenant.store.isRetired(ana.replica.profile.replicaID))
        // The engine pushes, bootstraps again, and is back in the horizon.
        #expect(try await ana.sync().bootstrapped)
        #expect(try !world.tenant.store.isRetired(ana.replica.profile.replicaID))
        await viewer.close(); await admin.close(); await ana.close()
        try await world.stop()
    }
}
