import DunlinCore
@testable import DunlinStore
import DunlinSync
import Foundation
import GRDB
import Testing

/// The pull feed (`changes(after:limit:)`) reads a batch's insert-only records a kind at a time,
/// as snapshot pages do, and its mutable ones one by one: what it sends must not depend on which.
@Suite struct PullFeedTests {
    let day = CivilDate(year: 2026, month: 11, day: 20)!

    /// A server with customer C1, then changes of every sort interleaved, C1 edited twice; returns
    /// the store, where the feed starts, and each record's latest seq by "kind/id".
    func server() throws -> (store: TenantStore, start: Int64, latest: [String: Int64]) {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        let start = try store.lastChangeSequence()
        var latest: [String: Int64] = [:]
        func logged(_ key: String, _ write: () throws -> Void) throws {
            try write()
            latest[key] = try store.lastChangeSequence()
        }
        let usd = Currency.usd
        try logged("ledger_entry/I1") {
            try store.post([LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, dueDate: day, reference: "INV \"1\"")])
        }
        try logged("activity/ACT1") {
            try store.append([Activity(id: "ACT1", customerID: "C1", kind: .call, direction: .outbound, outcome: "left voicemail", authorID: "u1",
                                       occurredAt: Date(timeIntervalSince1970: 1_795_000_000.123))])
        }
        try logged("customer/C1") { try store.upsert([Customer(id: "C1", number: "1001", name: "Globe", phone: "+1 312 555 0100")]) }
        try logged("ledger_entry/P1") {
            try store.post([LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 600_00, currency: usd), date: day, reference: "WIRE-1")])
        }
        try logged("contact/K1") {
            try store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example", phone: "+1 312 555 0101")])
        }
        try logged("ledger_entry/A1") {
            try store.post([LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day, sourceID: "P1", targetID: "I1")])
        }
        try logged("activity/ACT2") {
            try store.append([Activity(id: "ACT2", customerID: "C1", kind: .note, direction: .undirected, authorID: "u1",
                                       occurredAt: Date(timeIntervalSince1970: 1_795_000_060), body: "said \"Friday\"\tfor sure")])
        }
        try logged("customer/C1") { try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", phone: "+1 312 555 0100")]) }
        return (store, start, latest)
    }

    /// The feed after `checkpoint`, batch by batch, as the Pull call reads it.
    func batches(_ store: TenantStore, after checkpoint: Int64, limit: Int) throws -> [[SyncRecordState]] {
        var checkpoint = checkpoint
        var batches: [[SyncRecordState]] = []
        while true {
            let (records, through, last) = try store.changes(after: checkpoint, limit: limit)
            batches.append(records)
            checkpoint = through
            if last { return batches }
        }
    }

    @Test("a pull batch mixing kinds sends each record once, in the order of its last change, with its latest seq, in its kind's form")
    func aMixedBatchIsTheFieldMapFeed() throws {
        let (store, start, latest) = try server()
        let current = try store.syncedRecords()
        let feed = try store.changes(after: start, limit: 100)
        #expect(feed.last)
        #expect(feed.records.map { "\($0.kind)/\($0.id)" } == [
            "ledger_entry/I1", "activity/ACT1", "ledger_entry/P1", "contact/K1", "ledger_entry/A1", "activity/ACT2", "customer/C1",
        ])
        for record in feed.records {
            let key = "\(record.kind)/\(record.id)"
            #expect(record.seq == latest[key], "\(key)")
            let fields = try #require(current[key])
            #expect(record.form == SyncRecordState.Form.of(kind: record.kind), "\(key)")
            #expect(try record.fieldMap() == fields, "\(key)")
            if record.form == .fields {
                #expect(String(decoding: record.bytes, as: UTF8.self) == String(decoding: RecordCoding.canonical(fields), as: UTF8.self), "\(key)")
            }
        }
    }

    @Test("batches cut the change log: each sends what its stretch touched, a record changed again later as it stands now")
    func batchesFollowTheirStretch() throws {
        let (store, start, latest) = try server()
        let batches = try batches(store, after: start, limit: 3)
        #expect(batches.map { $0.map(\.id) } == [["I1", "ACT1", "C1"], ["P1", "K1", "A1"], ["ACT2", "C1"]])
        // C1's first edit is in the first stretch, its second in the last: both batches send it at its latest.
        #expect(batches[0][2].seq == latest["customer/C1"])
        #expect(batches[0][2].bytes == batches[2][1].bytes)
        #expect(try store.changes(after: try store.lastChangeSequence(), limit: 3).records.isEmpty)
    }

    @Test("a replica applying the feed batch by batch holds what the server holds, each insert-only record once")
    func aReplicaPullingBatchesEqualsTheServer() throws {
        let (store, _, _) = try server()
        let replica = try TenantStore()
        for batch in try batches(store, after: 0, limit: 2) {
            try replica.applySyncBatch(batch, checkpoint: nil)
            try replica.applySyncBatch(batch, checkpoint: nil)  // again: set union, nothing doubles
        }
        #expect(try replica.syncedRecords() == store.syncedRecords())
        #expect(try replica.derivedBalanceMismatches().isEmpty)
    }

    @Test("a pull batch finds its insert-only records through the change log's seq, never by reading every change of their kind")
    func aBatchReadsItsStretchByPrimaryKey() throws {
        let store = try TenantStore()
        try store.writer.read { db in
            for request in [
                RecordSelection.changed(after: 10, through: 510).apply(to: LedgerEntryRow.all(), kind: .ledgerEntry).asRequest(of: Row.self),
                RecordSelection.changed(after: 10, through: 510).apply(to: ActivityRow.all(), kind: .activity).asRequest(of: Row.self),
            ] {
                let statement = try request.makePreparedRequest(db, forSingleResult: false).statement
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(statement.sql)", arguments: statement.arguments).map { $0["detail"] as String }
                #expect(plan.contains { $0.contains("change_log USING INTEGER PRIMARY KEY") }, "\(plan)")
                #expect(!plan.contains { $0.contains("change_log_by_record") }, "\(plan)")
            }
        }
    }
}
