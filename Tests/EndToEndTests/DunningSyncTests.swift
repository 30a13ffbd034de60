import DunlinClient
import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// Dunning across sync, on a real server and a laptop's replica: a dispute opened offline holds
/// dunning once it reaches the server, notices reach the laptop and preview there offline, and no
/// replica may push a notice.
@Suite(.serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct DunningSyncTests {
    @Test("a dispute opened offline holds dunning after sync; the run's notices reach the laptop; a pushed notice is refused")
    func dunningAcrossSync() async throws {
        let world = try await SyncWorld.start()
        defer { Task { try? await world.stop() } }
        try await seed(world)  // C1: INV-1 USD 1,000.00 due 2026-09-01, INV-2 due 2026-12-01
        let manager = world.server.client(token: "manager")
        defer { Task { await manager.close() } }
        _ = try await manager.unary(Dunning.upsertPolicies, .with {
            $0.policies = [.with {
                $0.id = "POL-1"
                $0.name = "Standard"
                $0.customerIds = ["C1"]
                $0.levels = [
                    .with { $0.days = 30; $0.channel = "email"; $0.template = "first_notice" },
                    .with { $0.days = 60; $0.channel = "letter"; $0.template = "second_notice" },
                ]
            }]
        })
        let ana = try world.laptop("ana")
        defer { Task { await ana.close() } }
        try await ana.sync()
        #expect(try await ana.replica.unary(Dunning.getPolicy, .with { $0.id = "POL-1" }).levels.count == 2)

        // Offline, Ana records the customer's dispute of INV-1; then she syncs.
        _ = try await ana.replica.unary(Records.upsertDisputes, .with {
            $0.disputes = [.with {
                $0.id = "D-OFF"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = usd(1_000_00); $0.reasonCode = "not_received"
                $0.openedOn = "2026-11-20"
            }]
        })
        try await ana.sync()
        let held = try await manager.unary(Dunning.runDunning, .with { $0.asOf = "2026-11-30" })
        #expect(held.created.isEmpty)
        #expect(held.heldItems == 1)

        // Rejected, the dispute holds nothing: INV-1 is 90 days past due.
        _ = try await manager.unary(Records.upsertDisputes, .with {
            $0.disputes = [.with {
                $0.id = "D-OFF"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = usd(1_000_00); $0.reasonCode = "not_received"
                $0.openedOn = "2026-11-20"; $0.status = "rejected"; $0.resolvedOn = "2026-11-30"
            }]
        })
        let run = try await manager.unary(Dunning.runDunning, .with { $0.asOf = "2026-11-30" })
        #expect(run.created.map(\.id) == ["DN:C1:60:INV-1"])
        #expect(run.created.first?.lines.map(\.invoiceID) == ["INV-1"])

        // The notice reaches the laptop, and the preview answers there, from the replica.
        try await ana.sync()
        let preview = try await ana.replica.unary(Dunning.listNotices, .with { $0.statuses = ["pending"] })
        #expect(preview.notices.map(\.id) == ["DN:C1:60:INV-1"])
        await #expect(throws: RPCError.self) { _ = try await ana.replica.unary(Dunning.releaseNotices, .init()) }

        // A replica that pushes a notice, new or changed, is refused as no RPC could make it.
        let raw = RPCClient(configuration: .init(
            host: "127.0.0.1", port: world.server.port, token: "manager", replicaID: testReplica("rogue"), schemaVersion: SyncMethods.schemaVersion
        ))
        defer { Task { await raw.close() } }
        var forged = try #require(try world.tenant.store.dunningNotice("DN:C1:60:INV-1"))
        forged.status = .released
        var fields = forged.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        fields["id"] = .string("DN:C1:30:INV-2")
        let newest = UInt64(try world.tenant.store.snapshotStart())
        let pushed = try await raw.unary(SyncMethods.push, .with {
            $0.replicaID = testReplica("rogue")
            $0.changes = [
                .with { $0.kind = "dunning_notice"; $0.id = "DN:C1:30:INV-2"; $0.counter = 1; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(fields); $0.atMs = 1 },
                .with { $0.kind = "dunning_notice"; $0.id = "DN:C1:60:INV-1"; $0.counter = 2; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(["status": .string("released")]); $0.atMs = 1 },
            ]
        })
        #expect(pushed.results.map(\.outcome) == [.refused, .refused])
        #expect(pushed.results.allSatisfy { $0.code == StatusCode.permissionDenied.rawValue })
        #expect(try world.tenant.store.dunningNotice("DN:C1:30:INV-2") == nil)
        #expect(try world.tenant.store.dunningNotice("DN:C1:60:INV-1")?.status == .pending)

        // Pushed policies and holds are held to the rights table as their RPCs are: an analyst's
        // policy is refused, her hold accepted.
        let analyst = RPCClient(configuration: .init(
            host: "127.0.0.1", port: world.server.port, token: "ana", replicaID: testReplica("ana-raw"), schemaVersion: SyncMethods.schemaVersion
        ))
        defer { Task { await analyst.close() } }
        var policy = DunningPolicy(id: "POL-ANA", name: "Mine", segment: "ana", levels: [DunningLevel(days: 1, channel: .email, template: "nudge")]).fieldMap
        policy[RecordCoding.deletedField] = .bool(false)
        var hold = DunningHold(id: "H-ANA", customerID: "C1", reason: "CFO on leave", placedOn: CivilDate("2026-11-30")!).fieldMap
        hold[RecordCoding.deletedField] = .bool(false)
        let byAnalyst = try await analyst.unary(SyncMethods.push, .with {
            $0.replicaID = testReplica("ana-raw")
            $0.changes = [
                .with { $0.kind = "dunning_policy"; $0.id = "POL-ANA"; $0.counter = 1; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(policy); $0.atMs = 1 },
                .with { $0.kind = "dunning_hold"; $0.id = "H-ANA"; $0.counter = 2; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(hold); $0.atMs = 1 },
            ]
        })
        #expect(byAnalyst.results.map(\.outcome) == [.refused, .accepted])
        #expect(byAnalyst.results.first?.code == StatusCode.permissionDenied.rawValue)
        #expect(try world.tenant.store.dunningPolicy("POL-ANA") == nil)
        #expect(try world.tenant.store.dunningHold("H-ANA")?.reason == "CFO on leave")
    }
}
