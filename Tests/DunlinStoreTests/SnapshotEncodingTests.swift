import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import Testing

/// Insert-only kinds (ledger entries, activities) take a fast path through snapshots and pulls:
/// encoded straight from their Codable form on the server, decoded straight into rows on the
/// replica. It must be byte for byte the feed the field-map path makes, and keep set union.
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

    @Test("a snapshot page of ledger entries and activities is byte for byte the field-map encoding")
    func snapshotPagesMatchTheFieldMapEncoding() throws {
        let store = try server()
        let ledger = try store.snapshotPage(kind: .ledgerEntry, after: "", limit: 100)
        #expect(ledger.map(\.id) == entries.map(\.id).sorted())
        for record in ledger {
            let entry = try #require(entries.first { $0.id == record.id })
            #expect(String(decoding: record.fields, as: UTF8.self) == String(decoding: RecordCoding.canonical(entry.fieldMap), as: UTF8.self))
        }
        let logged = try store.snapshotPage(kind: .activity, after: "", limit: 100)
        #expect(logged.map(\.id) == activities.map(\.id).sorted())
        for record in logged {
            let activity = try #require(activities.first { $0.id == record.id })
            #expect(String(decoding: record.fields, as: UTF8.self) == String(decoding: RecordCoding.canonical(activity.fieldMap), as: UTF8.self))
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

    @Test("a pulled ledger entry whose fields are not an entry is refused and writes nothing")
    func aMalformedInsertOnlyRecordIsRefused() throws {
        let replica = try TenantStore()
        let good = try server().snapshotPage(kind: .ledgerEntry, after: "", limit: 1)
        let bad = SyncRecordState(kind: "ledger_entry", id: "X1", seq: 0, fields: Data(#"{"id":"X1","kind":"invoice"}"#.utf8))
        #expect(throws: DomainError.self) { try replica.applySyncBatch(good + [bad], checkpoint: 9) }
        #expect(try replica.syncedRecords().isEmpty)
        #expect(try replica.syncValue(.checkpoint) == nil)
    }
}

@Suite struct SyncChecksumTests {
    @Test("a batch checksum is SHA-256 over kind, id, decimal seq and fields, each followed by a zero byte")
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
    }
}

private func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
