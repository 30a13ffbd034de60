import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import Testing

/// The replica's outbox: what it sends after a push was accepted but before the next pull.
@Suite struct ReplicaOutboxTests {
    @Test func anEditAfterAnAcceptedPushSendsOnlyWhatChangedSince() throws {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        try replica.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example", phone: "+1 312 555 0100")])
        let first = try replica.outboxBatch(limit: 500)
        #expect(first.changes.map(\.kind) == ["customer", "contact"])
        #expect(first.changes[1].fields["phone"] == .string("+1 312 555 0100"))
        try replica.settlePush(first, refusals: [nil, nil])

        // Before any pull: only the email changes, so only the email is sent, still on base 0.
        var contact = try #require(try replica.contact("K1"))
        contact.email = "rosa.cruz@globe.example"
        try replica.upsert([contact])
        let second = try replica.pendingChanges()
        #expect(second.count == 1)
        #expect(second.first?.fields == ["email": .string("rosa.cruz@globe.example")])
        #expect(second.first?.baseSeq == 0)
    }
}

/// The outbox is pushed batch by batch, each batch's answers recorded as they come: a push cut off
/// after some batches resumes after the last answered one, never from the start.
@Suite struct ReplicaOutboxBatchTests {
    /// A replica with customer C1 and `payments` payments P0, P1, ... made after it.
    func replica(payments: Int) throws -> TenantStore {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        try replica.post((0..<payments).map { n in
            LedgerEntry(id: "P\(n)", kind: .payment, customerID: "C1", amount: Money(minorUnits: 100 + Int64(n), currency: .usd), date: CivilDate("2026-11-20")!)
        })
        return replica
    }

    @Test("an answered batch leaves the outbox at once: the next batch starts after it and the pushed-through counter moves")
    func answeredBatchLeavesTheOutbox() throws {
        let replica = try replica(payments: 5)
        #expect(try replica.pendingCount() == 6)
        let first = try replica.outboxBatch(limit: 2)
        #expect(first.changes.map(\.id) == ["C1", "P0"])
        // Preparing a batch settles nothing.
        #expect(try replica.pendingCount() == 6)
        try replica.settlePush(first, refusals: [nil, nil])
        #expect(try replica.pendingCount() == 4)
        #expect(try replica.syncInteger(.pushedThrough) == 2)
        let second = try replica.outboxBatch(limit: 2)
        #expect(second.changes.map(\.id) == ["P1", "P2"])
        try replica.settlePush(second, refusals: [nil, .init(code: 6, message: "already exists", field: "id")])
        #expect(try replica.refusedChanges().map(\.id) == ["P2"])
        #expect(try replica.pendingChanges().map(\.id) == ["P3", "P4"])
    }

    @Test("a record answered ahead of an older unanswered change is not sent again, and the counter waits for the older one")
    func answeredAheadIsNotSentAgain() throws {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])          // 1
        try replica.upsert([Customer(id: "C2", number: "1002", name: "Harbor")])         // 2
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])   // 3
        let first = try replica.outboxBatch(limit: 1)
        #expect(first.changes.map(\.id) == ["C1"])
        #expect(first.changes.first?.counter == 3)
        try replica.settlePush(first, refusals: [nil])
        #expect(try replica.syncInteger(.pushedThrough) == 1, "C2's change 2 is not answered yet")
        #expect(try replica.pendingCount() == 1)
        #expect(try replica.pendingChanges().map(\.id) == ["C2"])
        try replica.settlePush(try replica.outboxBatch(limit: 10), refusals: [nil])
        #expect(try replica.syncInteger(.pushedThrough) == 3)
        #expect(try replica.pendingCount() == 0)
        #expect(try replica.outboxBatch(limit: 10).isEmpty)
    }

    @Test("a change made after its batch was prepared stays in the outbox and goes with its own dot")
    func changeDuringThePushStays() throws {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        let batch = try replica.outboxBatch(limit: 10)
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
        try replica.settlePush(batch, refusals: [nil])
        #expect(try replica.pendingCount() == 1)
        let next = try replica.pendingChanges()
        #expect(next.map(\.counter) == [2])
        #expect(next.first?.fields == ["name": .string("Globe Retail")])
    }

    @Test("a record edited back to what the server has is settled with its batch without being sent")
    func unchangedRecordsLeaveTheOutbox() throws {
        let replica = try TenantStore()
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        try replica.settlePush(try replica.outboxBatch(limit: 10), refusals: [nil])
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
        try replica.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        let batch = try replica.outboxBatch(limit: 10)
        #expect(batch.changes.isEmpty)
        #expect(batch.unchanged.map(\.id) == ["C1"])
        try replica.settlePush(batch, refusals: [])
        #expect(try replica.pendingCount() == 0)
        #expect(try replica.outboxBatch(limit: 10).isEmpty)
    }
}
