import DunlinCore
@testable import DunlinStore
import DunlinSync
import Foundation
import GRDB
import Testing

/// Stores written by replica schema 1 (Tests/Fixtures/schema1, made by that build's binaries)
/// opened by this one: the "v9" migration rewrites every field map they keep into today's form,
/// so a replica's unpushed changes go out whole and in today's form, and the server's stamps still
/// tell concurrent writes apart.
@Suite struct SchemaUpgradeTests {
    static let usd = Currency(code: "USD")!

    /// A copy of a fixture in a fresh folder (the fixtures themselves are never opened).
    static func open(_ name: String) throws -> TenantStore {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema1/\(name)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let copy = folder.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: copy)
        return try TenantStore(path: copy.path)
    }

    /// Every field stamp names a field of its kind's form today (or the tombstone).
    static func expectStampsNameTodaysFields(_ store: TenantStore) throws {
        let stamped = try store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT record_kind, field FROM field_stamp").map { ($0["record_kind"] as String, $0["field"] as String) }
        }
        #expect(!stamped.isEmpty)
        for (kind, field) in stamped {
            let names = SyncForms.byKind[kind]?.form.map(\.name) ?? []
            #expect(field == RecordCoding.deletedField || names.contains(field), "\(kind).\(field)")
        }
    }

    /// Every record the store would send reads by its kind's form.
    static func expectFeedInTodaysForm(_ store: TenantStore) throws {
        let (records, _, _) = try store.changes(after: 0, limit: 5000)
        #expect(!records.isEmpty)
        for record in records {
            let form = try #require(SyncForms.byKind[record.kind])
            _ = try form.init(fieldMap: record.fieldMap())
        }
    }

    @Test("a schema 1 replica keeps its whole outbox across the upgrade, in today's form")
    func replicaOutboxSurvives() throws {
        let replica = try Self.open("replica-schema1.sqlite")
        let pushedThrough = try replica.syncInteger(.pushedThrough)
        #expect(pushedThrough == 3)
        let changes = try replica.pendingChanges()
        #expect(changes.map(\.counter).max() == 9)
        #expect(changes.map(\.kind) == ["dispute", "sync_conflict", "contact", "activity", "collection_task", "customer"])
        guard changes.count == 6 else { return }
        // Only what Mia changed: with bases left in schema 1's form, every renamed key would differ.
        #expect(changes[0].fields == ["amount": SyncValue.amount(Money(minorUnits: 900_00, currency: Self.usd))])
        #expect(changes[1].fields == ["status": .string("settled"), "settled_by": .string("ufeulptxdw5ggd7nf")])
        #expect(changes[2].fields == ["email": .string("rosa.cruz@northwind.example"), "role": .string("AP clerk")])
        #expect(changes[3].fields["occurred_at"] == .string("1796030079619"))
        #expect(try Activity(fieldMap: changes[3].fields).body == "Rosa: \"next week\"")
        #expect(try CollectionTask(fieldMap: changes[4].fields).title == "call Rosa about INV-10035")
        #expect(changes[5].fields == ["credit_limit": SyncValue.amount(Money(minorUnits: 50_000_00, currency: Self.usd))])
        for change in changes {
            try SyncForms.check(change.fields, kind: change.kind, allowsDeleted: TenantStore.isMutable(kind: change.kind))
        }

        let conflicts = try replica.conflicts(includeSettled: true)
        #expect(conflicts.count == 2)
        let amount = try #require(conflicts.first { $0.field == "amount" })
        #expect(amount.kept == SyncValue.amount(Money(minorUnits: 800_00, currency: Self.usd)))
        #expect(amount.lost == SyncValue.amount(Money(minorUnits: 900_00, currency: Self.usd)))
        #expect(amount.status == .settled)
        #expect(amount.id == "cfl_dispute_D-FX_amount_red141d192939f550a69edc08543e74e7_3")

        let refused = try #require(try replica.refusedChanges().first)
        let entry = try LedgerEntry(fieldMap: RecordCoding.decode(refused.fields))
        #expect(entry.amount == Money(minorUnits: 200_00, currency: Self.usd))
        #expect(entry.customerID == "CUS-1007")

        try Self.expectStampsNameTodaysFields(replica)
        for (key, fields) in try replica.syncedRecords() {
            let kind = String(key.prefix { $0 != "/" })
            let form = try #require(SyncForms.byKind[kind])
            _ = try form.init(fieldMap: fields)
        }
    }

    @Test("a schema 1 server store feeds today's form, and its upgraded stamps still catch a concurrent edit")
    func serverStampsSurvive() throws {
        let server = try Self.open("server-schema1.sqlite")
        try Self.expectStampsNameTodaysFields(server)
        try Self.expectFeedInTodaysForm(server)
        let conflicts = try server.conflicts(includeSettled: true)
        #expect(Set(conflicts.map(\.field)) == ["amount", "phone"])

        // K-FX's preferred channel was last written at seq 201; a change made on base 200 did not
        // see it, so it is concurrent: a conflict, found through the stamp schema 1 called
        // "preferredChannel".
        let replica = "r" + String(repeating: "ab", count: 16)
        let (outcomes, _) = try server.applyPush(
            replica: replica, userID: "u-test",
            changes: [PushedChange(kind: "contact", id: "K-FX", counter: 1, baseSeq: 200, fields: ["preferred_channel": .string("phone")], at: 1)],
            authorize: { _, _, _ in }, refusal: { PushRefusal(code: 3, message: "\($0)") }
        )
        #expect(outcomes.map(\.kind) == [.accepted])
        #expect(outcomes.first?.conflictIDs == ["cfl_contact_K-FX_preferred_channel_\(replica)_1"])
    }
}
