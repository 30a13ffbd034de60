import DunlinCore
import DunlinStore
import Foundation
import Testing

private let usd = Currency("USD")
private let day = CivilDate("2026-10-01")!

/// The questions the services ask the store instead of running SQL themselves.
@Suite("Store questions")
struct StoreQuestionsTests {
    @Test("an entry is reversed once a reversal targets it, and only then; an unknown id is not reversed")
    func reversedEntries() throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        try store.post([
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 100_00, currency: usd), date: day, dueDate: day, reference: "INV-1"),
            LedgerEntry(id: "PAY1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 100_00, currency: usd), date: day),
            LedgerEntry(id: "APP1", kind: .application, customerID: "C1", amount: Money(minorUnits: 60_00, currency: usd), date: day, sourceID: "PAY1", targetID: "I1"),
        ])
        #expect(try store.isReversed("APP1") == false)
        try store.post([LedgerEntry(id: "REV1", kind: .reversal, customerID: "C1", amount: Money(minorUnits: 60_00, currency: usd), date: day, targetID: "APP1")])
        #expect(try store.isReversed("APP1"))
        #expect(try store.isReversed("I1") == false)
        #expect(try store.isReversed("PAY1") == false)
        #expect(try store.isReversed("NOPE") == false)
    }

    @Test("every synced kind reads as the name the change log and the sync feed give it")
    func kindsReadAsTheirStoredNames() throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        let logged = try store.changes(after: 0, limit: 10).records.map(\.kind)
        #expect(logged == ["customer"])
        #expect(TenantStore.syncKindOrder.map { "\($0)" } == TenantStore.syncKindOrder.map(\.rawValue))
        #expect("\(RecordKind.ledgerEntry)/I1" == "ledger_entry/I1")
    }

    @Test("the change sequence gives the newest change at once, then follows each commit that moves it")
    func changeSequenceFollowsCommits() async throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        let start = try store.lastChangeSequence()
        var changes = store.changeSequence().makeAsyncIterator()
        #expect(try await changes.next() == start)

        try store.addCustomers("C2")
        #expect(try await changes.next() == start + 1)

        // Commits close together may come as one value: the newest.
        let task = CollectionTask(id: "T1", assigneeID: "U1", customerID: "C1", title: "Call", dueDate: day, done: false, notes: "")
        try store.upsert([task])
        try store.upsert([task])
        try store.post([LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_00, currency: usd), date: day, dueDate: day, reference: "R")])
        var seen = try #require(try await changes.next())
        if seen == start + 2 { seen = try #require(try await changes.next()) }
        #expect(seen == start + 3)
        #expect(try store.lastChangeSequence() == start + 3)
    }
}
