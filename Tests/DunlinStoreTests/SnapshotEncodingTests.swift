import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import GRDB
import Testing

/// Insert-only kinds (ledger entries, activities) take a fast path through snapshots and pulls:
/// packed straight from their columns on the server, bound straight to an insert on the replica.
/// They must read back as the records' sync forms, and keep set union.
@Suite struct SnapshotEncodingTests {
    let usd = Currency(code: "USD")!
    let php = Currency(code: "PHP")!
    let day = CivilDate(year: 2026, month: 11, day: 20)!

    /// Every kind of entry, optional fields present and absent, text that JSON must escape.
    var entries: [LedgerEntry] {
        [
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, dueDate: day, reference: "INV/1 \"net\" 30"),
            LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 25_000_00, currency: php), date: day, dueDate: day, reference: "INV-2", memo: "Zahlung fällig \u{1F4B0}\n"),
            LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 500_00, currency: usd), date: day, reference: "WIRE\\7"),
            LedgerEntry(id: "P2", kind: .payment, amount: Money(minorUnits: 1, currency: usd), date: day),
            LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day, sourceID: "P1", targetID: "I1"),
            LedgerEntry(id: "J1", kind: .adjustment, customerID: "C1", amount: Money(minorUnits: -3_00, currency: usd), date: day, targetID: "I1"),
            LedgerEntry(id: "R1", kind: .reversal, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day, targetID: "A1"),
        ]
    }

    var activities: [Activity] {
        [
            Activity(id: "ACT1", customerID: "C1", kind: .call, direction: .outbound, outcome: "left voicemail", authorID: "u1",
                     occurredAt: Date(timeIntervalSince1970: 1_795_000_000.123)),
            Activity(id: "ACT2", customerID: "C1", kind: .note, direction: .undirected, authorID: "u1",
                     occurredAt: Date(timeIntervalSince1970: 1_795_000_000), body: "said \"Friday\"\tfor sure / maybe"),
            Activity(id: "ACT3", customerID: "C1", kind: .email, direction: .inbound, authorID: "u2", occurredAt: Date(timeIntervalSince1970: 0.001)),
        ]
    }

    func server() throws -> TenantStore {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        try store.post(entries)
        try store.append(activities)
        return store
    }

    @Test("a snapshot page of ledger entries and activities is byte for byte each record's packed form, read from its columns")
    func snapshotPagesAreThePackedForms() throws {
        let store = try server()
        let ledger = try store.snapshotPage(kind: .ledgerEntry, after: "", limit: 100)
        #expect(ledger.map(\.id) == entries.map(\.id).sorted())
        for record in ledger {
            let entry = try #require(entries.first { $0.id == record.id })
            #expect(record.form == .ledgerEntry)
            #expect(record.bytes == PackedLedgerEntry(entry).packed, "\(entry.id)")
            #expect(try record.fieldMap() == entry.fieldMap, "\(entry.id)")
        }
        let logged = try store.snapshotPage(kind: .activity, after: "", limit: 100)
        #expect(logged.map(\.id) == activities.map(\.id).sorted())
        for record in logged {
            let activity = try #require(activities.first { $0.id == record.id })
            #expect(record.form == .activity)
            #expect(record.bytes == PackedActivity(activity).packed, "\(activity.id)")
            #expect(try record.fieldMap() == activity.fieldMap, "\(activity.id)")
        }
        // Paging by id: a cursor and a limit cut the same list.
        #expect(try store.snapshotPage(kind: .ledgerEntry, after: "I1", limit: 2).map(\.id) == ["I2", "J1"])
    }

    @Test("bootstrap pages carry each record's latest change-log seq, the seq the pull feed gives it, insert-only kinds included")
    func snapshotSeqsAreThePullFeeds() throws {
        let store = try server()
        try store.upsert([Customer(id: "C2", number: "1002", name: "Later")])
        try store.post([LedgerEntry(id: "B0", kind: .payment, customerID: "C2", amount: Money(minorUnits: 7_00, currency: usd), date: day)])
        let feed = try store.changes(after: 0, limit: 10_000)
        let pulled = Dictionary(uniqueKeysWithValues: feed.records.map { ("\($0.kind)/\($0.id)", $0.seq) })
        var paged: [String: Int64] = [:]
        for kind in TenantStore.syncKindOrder {
            // Small pages, so a page's change-log range starts and ends inside the kind.
            var cursor: String? = ""
            while let after = cursor {
                let page = try store.snapshotPage(kind: kind, after: after, limit: 2)
                for record in page { paged["\(kind.rawValue)/\(record.id)"] = record.seq }
                cursor = page.last?.id
            }
        }
        #expect(paged.count == entries.count + activities.count + 3)
        #expect(paged == pulled)
        #expect(paged.values.allSatisfy { $0 > 0 })
    }

    @Test("a replica bootstrapped from the pages holds what the server holds, and a record pulled twice is there once")
    func pagesAppliedOnAReplicaEqualTheServer() throws {
        let store = try server()
        let replica = try TenantStore()
        for kind in TenantStore.syncKindOrder {
            let page = try store.snapshotPage(kind: kind, after: "", limit: 100)
            try replica.applySyncBatch(page, checkpoint: nil)
            try replica.applySyncBatch(page, checkpoint: nil)  // again: set union, nothing doubles
        }
        #expect(try replica.syncedRecords() == store.syncedRecords())
        #expect(try replica.derivedBalanceMismatches().isEmpty)
    }

    @Test("a bootstrap builds the lists' indexes after its snapshot, as the schema defines them; a replica cut short builds them when opened")
    func deferredIndexesAreBuiltWithTheCheckpoint() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-deferred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("replica.sqlite").path
        func indexes() throws -> [String: String] {
            try DatabaseQueue(path: path).read { db in
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
                    .map { ($0["name"] as String, $0["sql"] as String) })
            }
        }
        let store = try server()
        var replica: TenantStore? = try TenantStore(path: path)
        let schema = try indexes()
        #expect(Set(TenantStore.bootstrapDeferredIndexes).isSubset(of: Set(schema.keys)))
        try replica?.deferIndexesForBootstrap()
        #expect(Set(try indexes().keys) == Set(schema.keys).subtracting(TenantStore.bootstrapDeferredIndexes))
        for kind in TenantStore.syncKindOrder { try replica?.applySyncBatch(try store.snapshotPage(kind: kind, after: "", limit: 100), checkpoint: nil) }
        #expect(Set(try indexes().keys) == Set(schema.keys).subtracting(TenantStore.bootstrapDeferredIndexes), "not before the checkpoint")
        // A replica that holds records drops nothing.
        try replica?.deferIndexesForBootstrap()
        try replica?.applySyncBatch([], checkpoint: 5)
        #expect(try indexes() == schema)
        try replica?.deferIndexesForBootstrap()
        #expect(try indexes() == schema)
        #expect(try replica?.syncedRecords() == store.syncedRecords())

        // Cut short: emptied, indexes dropped, never a checkpoint; opened again, it builds them.
        try replica?.resetForBootstrap()
        try replica?.deferIndexesForBootstrap()
        #expect(try indexes() != schema)
        replica = nil
        try TenantStore(path: path).rebuildDeferredIndexes()
        #expect(try indexes() == schema)
    }

    @Test("a pulled ledger entry whose fields are not an entry is refused and writes nothing")
    func aMalformedInsertOnlyRecordIsRefused() throws {
        let replica = try TenantStore()
        let good = try server().snapshotPage(kind: .ledgerEntry, after: "", limit: 1)
        let bad = SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, fields: Data(#"{"id":"X1","kind":"invoice"}"#.utf8))
        #expect(throws: DomainError.self) { try replica.applySyncBatch(good + [bad], checkpoint: 9) }
        #expect(try replica.syncedRecords().isEmpty)
        #expect(try replica.syncValue(.checkpoint) == nil)
    }

    @Test("a packed entry or activity the ledger cannot hold, or one cut short, is refused whole and writes nothing")
    func aMalformedPackedRecordIsRefused() throws {
        let replica = try TenantStore()
        let good = try server().snapshotPage(kind: .ledgerEntry, after: "", limit: 1)
        let entry = PackedLedgerEntry(entries[0])
        var unknownKind = entry
        unknownKind.kind = "gift"
        var badCurrency = entry
        badCurrency.currency = "usd"
        var badDue = entry
        badDue.dueDate = "2026-02-30"
        let activity = PackedActivity(activities[0])
        var badDirection = activity
        badDirection.direction = "sideways"
        let bad: [SyncRecordState] = [
            SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, form: .ledgerEntry, bytes: unknownKind.packed),
            SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, form: .ledgerEntry, bytes: badCurrency.packed),
            SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, form: .ledgerEntry, bytes: badDue.packed),
            SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, form: .ledgerEntry, bytes: entry.packed.dropLast(1)),
            SyncRecordState(kind: "activity", id: "X1", seq: 0, form: .activity, bytes: badDirection.packed),
            SyncRecordState(kind: "activity", id: "X1", seq: 0, form: .activity, bytes: Data([0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])),
        ]
        for (index, record) in bad.enumerated() {
            #expect(throws: PackedForm.DecodingError.self, "bad record \(index)") { try replica.applySyncBatch(good + [record], checkpoint: 9) }
        }
        // A packed form under another kind is not that kind's record.
        let customer = SyncRecordState(kind: "customer", id: "C1", seq: 1, form: .ledgerEntry, bytes: entry.packed)
        #expect(throws: PackedForm.DecodingError.self) { try replica.applySyncBatch(good + [customer], checkpoint: 9) }
        let swapped = SyncRecordState(kind: "activity", id: "X2", seq: 1, form: .ledgerEntry, bytes: entry.packed)
        #expect(throws: PackedForm.DecodingError.self) { try replica.applySyncBatch(good + [swapped], checkpoint: 9) }
        #expect(try replica.syncedRecords().isEmpty)
        #expect(try replica.syncValue(.checkpoint) == nil)
    }

    @Test("an entry's optional fields keep null apart from empty through the packed form, and a JSON-form entry still applies")
    func optionalFieldsSurviveThePackedForm() throws {
        let store = try server()
        let replica = try TenantStore()
        for kind in TenantStore.syncKindOrder { try replica.applySyncBatch(try store.snapshotPage(kind: kind, after: "", limit: 100), checkpoint: nil) }
        var entry = PackedLedgerEntry(entries[0])
        entry.sourceID = ""
        entry.targetID = nil
        entry.memo = ""
        let unpacked = try PackedLedgerEntry(packed: entry.packed)
        #expect(unpacked == entry)
        #expect(unpacked.sourceID == "" && unpacked.targetID == nil)
        // The JSON form (what a push carries) of an entry goes the general way on a replica.
        let extra = LedgerEntry(id: "J9", kind: .payment, customerID: "C1", amount: Money(minorUnits: 1, currency: usd), date: day)
        try replica.applySyncBatch([SyncRecordState(kind: "ledger_entry", id: "J9", seq: 99, fields: RecordCoding.canonical(extra.fieldMap))], checkpoint: nil)
        #expect(try replica.syncedRecords()["ledger_entry/J9"] == extra.fieldMap)
    }
}

@Suite struct SyncChecksumTests {
    @Test("a batch checksum is SHA-256 over kind, id, decimal seq and the form's bytes, each followed by a zero byte")
    func checksumFollowsItsDefinition() {
        let records = [
            SyncRecordState(kind: "customer", id: "C1", seq: 42, fields: Data(#"{"id":"C1","name":"Glöbe"}"#.utf8)),
            SyncRecordState(kind: "ledger_entry", id: "I-é", seq: 0, fields: Data("{}".utf8)),
        ]
        // sha256 of "customer\0C1\042\0{...}\0ledger_entry\0I-é\00\0{}\0", computed outside Swift.
        #expect(hex(SyncRecordState.checksum(records)) == "e98fa9b3cae1b08787899ce2aaee5a4271b7feec7827100f198f57ff005a0402")
        #expect(hex(SyncRecordState.checksum([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var changed = records
        changed[1].seq = 1
        #expect(SyncRecordState.checksum(changed) != SyncRecordState.checksum(records))
        // Packed bytes are covered as they are: one bit of them changes the checksum.
        let packed = SyncRecordState(kind: "activity", id: "A1", seq: 7, form: .activity, bytes: Data([0x0A, 0x02, 0x43, 0x31]))
        // sha256 of "activity\0A1\07\0" + 0a 02 43 31 + "\0", computed outside Swift.
        #expect(hex(SyncRecordState.checksum([packed])) == "cf2d9b88720c5caef50a84849c69d24e0fe4a92c5e32faa6225a07a95e44edab")
        var flipped = packed
        flipped.bytes[3] ^= 1
        #expect(SyncRecordState.checksum([flipped]) != SyncRecordState.checksum([packed]))
    }
}

private func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
