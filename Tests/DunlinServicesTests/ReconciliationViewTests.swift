import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// ListExceptions and ListConflicts, the views `dunlin exceptions|conflicts|status` read from a
/// replica or (with --server) from the server, through the same handlers.
@Suite("Services in process: the reconciliation views")
struct ReconciliationViewTests {
    /// Breaks an invariant in `store` the way a merge does: a pulled application that, with one
    /// made locally, applies more of PAY-1 than it holds.
    static func overApply(_ store: TenantStore) throws {
        let usd = Currency.usd
        let day = CivilDate("2026-11-20")!
        let customer = Customer(id: "C9", number: "9009", name: "Cebu Air").fieldMap.merging([RecordCoding.deletedField: .bool(false)]) { $1 }
        func pulled(_ entry: LedgerEntry, _ seq: Int64) throws -> SyncRecordState {
            SyncRecordState(kind: "ledger_entry", id: entry.id, seq: seq, fields: RecordCoding.canonical(entry.fieldMap))
        }
        try store.applySyncBatch([
            SyncRecordState(kind: "customer", id: "C9", seq: 1, fields: RecordCoding.canonical(customer)),
            try pulled(LedgerEntry(id: "INV-9", kind: .invoice, customerID: "C9", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, dueDate: day, reference: "9"), 2),
            try pulled(LedgerEntry(id: "PAY-9", kind: .payment, customerID: "C9", amount: Money(minorUnits: 500_00, currency: usd), date: day), 3),
        ], checkpoint: 3)
        try store.post([LedgerEntry(id: "APP-A", kind: .application, customerID: "C9", amount: Money(minorUnits: 400_00, currency: usd), date: day, sourceID: "PAY-9", targetID: "INV-9")])
        try store.applySyncBatch([
            try pulled(LedgerEntry(id: "APP-B", kind: .application, customerID: "C9", amount: Money(minorUnits: 300_00, currency: usd), date: day, sourceID: "PAY-9", targetID: "INV-9"), 4),
        ], checkpoint: 4)
    }

    @Test("every tenant role reads its own tenant's queue, checked again first; another tenant sees none of it", arguments: RightsTableTests.tenantRoles)
    func exceptionsPerRole(role: Role) async throws {
        let world = try RightsTableTests.World.make()
        try Self.overApply(world.acme.store)
        let queue = try await world.call(Records.listExceptions, .init(), as: role).exceptions
        #expect(queue.map(\.kind) == ["source_over_applied"])
        #expect(queue.first?.subjectID == "PAY-9")
        #expect(queue.first?.entryIds == ["APP-A", "APP-B"])
        #expect(queue.first?.excess.minor == 200_00)
        #expect(queue.first?.status == "open")
        #expect(try await world.call(Records.listExceptions, .init(), as: role, tenant: "t-bayani").exceptions.isEmpty)

        // A reversal resolves it: gone from the open list, listed as resolved when asked.
        try world.acme.store.post([
            LedgerEntry(id: "REV-A", kind: .reversal, customerID: "C9", amount: Money(minorUnits: 400_00, currency: .usd), date: CivilDate("2026-11-21")!, targetID: "APP-A"),
        ])
        #expect(try await world.call(Records.listExceptions, .init(), as: role).exceptions.isEmpty)
        let all = try await world.call(Records.listExceptions, .with { $0.includeResolved = true }, as: role).exceptions
        #expect(all.map(\.status) == ["resolved"])
    }

    @Test("conflicts list the tenant's own, open ones unless settled ones are asked for", arguments: RightsTableTests.tenantRoles)
    func conflictsPerRole(role: Role) async throws {
        let world = try RightsTableTests.World.make()
        #expect(try await world.call(Records.listConflicts, .init(), as: role).conflicts.isEmpty)
        // A conflict as a merge records it, arriving as the feed carries it.
        let conflict = ConflictRecord(Conflict(
            kind: "contact", recordID: "K1", field: "phone",
            kept: .string("+1 312 555 0102"), keptStamp: Stamp(authority: "t-acme", seq: 7, at: 1_795_400_000_000),
            lost: .string("+1 312 555 0101"), lostStamp: Stamp(authority: "t-acme", seq: 6, dot: Dot(replica: testReplicaID, counter: 3), at: 1_795_399_000_000)
        ))
        var fields = conflict.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        try world.acme.store.applySyncBatch([SyncRecordState(kind: "sync_conflict", id: conflict.id, seq: 8, fields: RecordCoding.canonical(fields))], checkpoint: 8)

        let listed = try await world.call(Records.listConflicts, .init(), as: role).conflicts
        #expect(listed.map(\.id) == [conflict.id])
        #expect(listed.first.map { [$0.field, $0.kept, $0.lost, $0.lostBy, $0.status] } == ["phone", "+1 312 555 0102", "+1 312 555 0101", testReplicaID, "open"])
        #expect(listed.first?.keptAtMs == 1_795_400_000_000)
        #expect(try await world.call(Records.listConflicts, .with { $0.includeSettled = true }, as: role, tenant: "t-bayani").conflicts.isEmpty)
    }

    let testReplicaID = "r0123456789abcdef0123456789abcdef"

    @Test("a value shows as people read it: a string as itself, an amount as money, anything else as its JSON")
    func conflictValuesAsText() {
        #expect(Dunlin_V1_SyncConflict.text(.string("+63 1111")) == "+63 1111")
        #expect(Dunlin_V1_SyncConflict.text(.integer(42)) == "42")
        #expect(Dunlin_V1_SyncConflict.text(.object(["currency": .string("USD"), "minor": .string("150000")])) == "USD 1,500.00")
        #expect(Dunlin_V1_SyncConflict.text(.object(["currency": .string("USD")])) == #"{"currency":"USD"}"#)
        #expect(Dunlin_V1_SyncConflict.text(.null) == "null")
    }
}
