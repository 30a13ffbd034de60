import DunlinClient
import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// Approvals across sync, on a real server and laptops' replicas: a request made offline is
/// pending on the server after the push; an approval given offline is settled by the server on the
/// push (the entry written with it), or refused there and taken back on the laptop; a hand-made
/// push cannot make a request already approved, nor approve one as somebody else.
@Suite(.serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct ApprovalSyncTests {
    static func writeOff(_ minor: Int64) -> Dunlin_V1_AddApprovalRequestRequest {
        .with {
            $0.request = .with {
                $0.kind = "writeoff"
                $0.customerID = "C1"
                $0.invoiceID = "INV-1"
                $0.amount = usd(minor)
                $0.reason = "freight dispute settled"
            }
        }
    }

    static func approve(_ id: String) -> Dunlin_V1_DecideApprovalRequestRequest {
        .with {
            $0.id = id
            $0.approve = true
            $0.reason = "agreed with the customer"
        }
    }

    @Test("offline requests become pending after sync; an offline approval is settled by the server with its entry, or refused and taken back")
    func approvalsAcrossSync() async throws {
        let world = try await SyncWorld.start()
        defer { Task { try? await world.stop() } }
        try await seed(world)  // C1: INV-1 USD 1,000.00, INV-2 USD 500.00, PAY-1 USD 1,200.00
        let ana = try world.laptop("ana"), ben = try world.laptop("ben"), marta = try world.laptop("manager")
        defer { Task { await ana.close(); await ben.close(); await marta.close() } }
        for laptop in [ana, ben, marta] { try await laptop.sync() }

        // Offline, Ana asks for two write-offs of INV-1; then she syncs.
        let big = try await ana.replica.unary(Records.addApprovalRequest, Self.writeOff(600_00))
        let small = try await ana.replica.unary(Records.addApprovalRequest, Self.writeOff(50_00))
        #expect(try world.tenant.store.approvalRequest(big.id) == nil)
        #expect(try await ana.sync().accepted == 2)
        #expect(try world.tenant.store.approvalRequest(big.id)?.request.status == .pending)
        #expect(try world.tenant.store.approvalRequest(big.id)?.request.requestedBy == "u-ana")

        // Offline, Marta approves the big one: her laptop records the decision, no entry.
        try await marta.sync()
        let offline = try await marta.replica.unary(Records.decideApprovalRequest, Self.approve(big.id))
        #expect(offline.status == "approved" && offline.entryID.isEmpty)
        #expect(try marta.replica.store.entry(big.id + ":writeoff") == nil)
        // Offline, Ben (an analyst: up to 500.00) cannot approve the big one even on his laptop;
        // he approves the small one.
        try await ben.sync()
        await #expect(throws: RPCError.self) { _ = try await ben.replica.unary(Records.decideApprovalRequest, Self.approve(big.id)) }
        #expect(try await ben.replica.unary(Records.decideApprovalRequest, Self.approve(small.id)).status == "approved")
        // Meanwhile a manager lowers an analyst's write-off limit to 10.00 on the server.
        let manager = world.server.client(token: "manager")
        defer { Task { await manager.close() } }
        _ = try await manager.unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "approvals.writeoff.analyst"; $0.value = "1000" }] })

        // Ben syncs: the server holds his approval to the limits as they stand, refuses it, and
        // his laptop takes it back.
        let benReport = try await ben.sync()
        #expect(benReport.refused == 1 && benReport.accepted == 0)
        #expect(try ben.replica.store.refusedChanges().first?.refusal.code == StatusCode.permissionDenied.rawValue)
        #expect(try ben.replica.store.approvalRequest(small.id)?.request.status == .pending)
        #expect(try world.tenant.store.approvalRequest(small.id)?.request.status == .pending)
        #expect(try world.tenant.store.entry(small.id + ":writeoff") == nil)
        #expect(try world.tenant.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 1_000_00)

        // Marta syncs: the server settles her approval with its entry, in the push.
        #expect(try await marta.sync().accepted == 1)
        let settled = try #require(try world.tenant.store.approvalRequest(big.id))
        #expect(settled.request.status == .approved && settled.request.decidedBy == "u-m" && settled.entryID == big.id + ":writeoff")
        #expect(try world.tenant.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 400_00)
        // The entry reaches the laptops with the next pull.
        try await marta.sync()
        #expect(try marta.replica.store.entry(big.id + ":writeoff")?.amount.minorUnits == 600_00)
        try await ana.sync()
        #expect(try await ana.replica.unary(Records.getApprovalRequest, .with { $0.id = big.id }).entryID == big.id + ":writeoff")
    }

    @Test("a hand-made push cannot make a request already approved, approve as somebody else, or edit a request")
    func handMadePushes() async throws {
        let world = try await SyncWorld.start()
        defer { Task { try? await world.stop() } }
        try await seed(world)
        let ana = world.server.client(token: "ana")
        defer { Task { await ana.close() } }
        let asked = try await ana.unary(Records.addApprovalRequest, Self.writeOff(20_00))
        let newest = UInt64(try world.tenant.store.snapshotStart())

        let raw = RPCClient(configuration: .init(
            host: "127.0.0.1", port: world.server.port, token: "ben", replicaID: testReplica("ben-raw"), schemaVersion: SyncMethods.schemaVersion
        ))
        defer { Task { await raw.close() } }
        var made = ApprovalRequest(
            id: "req_forged", kind: .writeOff, customerID: "C1", invoiceID: "INV-1", amount: Money(minorUnits: 10_00, currency: .usd),
            reason: "x", requestedBy: "u-ben", requestedOn: CivilDate("2026-11-30")!, status: .approved, decidedBy: "u-cy",
            decidedOn: CivilDate("2026-11-30")!, decisionReason: "y"
        ).fieldMap
        made[RecordCoding.deletedField] = .bool(false)
        let decideAsCy: FieldMap = ["status": .string("approved"), "decided_by": .string("u-cy"), "decided_on": .string("2026-11-30"), "decision_reason": .string("y")]
        let edit: FieldMap = ["amount": SyncValue.amount(Money(minorUnits: 1, currency: .usd))]
        let pushed = try await raw.unary(SyncMethods.push, .with {
            $0.replicaID = testReplica("ben-raw")
            $0.changes = [
                .with { $0.kind = "approval_request"; $0.id = "req_forged"; $0.counter = 1; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(made); $0.atMs = 1 },
                .with { $0.kind = "approval_request"; $0.id = asked.id; $0.counter = 2; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(decideAsCy); $0.atMs = 1 },
                .with { $0.kind = "approval_request"; $0.id = asked.id; $0.counter = 3; $0.baseSeq = newest; $0.fields = RecordCoding.canonical(edit); $0.atMs = 1 },
            ]
        })
        #expect(pushed.results.map(\.outcome) == [.refused, .refused, .refused])
        #expect(pushed.results.prefix(2).map(\.code) == [StatusCode.permissionDenied.rawValue, StatusCode.permissionDenied.rawValue])
        #expect(try world.tenant.store.approvalRequest("req_forged") == nil)
        #expect(try world.tenant.store.approvalRequest(asked.id)?.request.status == .pending)
        #expect(try world.tenant.store.approvalRequest(asked.id)?.request.amount?.minorUnits == 20_00)
        #expect(try world.tenant.store.entry(asked.id + ":writeoff") == nil)
    }
}
