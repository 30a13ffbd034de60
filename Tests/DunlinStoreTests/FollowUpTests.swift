import DunlinCore
import DunlinStore
import Foundation
import Testing

/// Follow-up tasks for broken promises and installments: one per broken installment, for the
/// customer's analyst, made once whatever happens after.
@Suite struct FollowUpTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ major: Int64) -> Money { Money(minorUnits: major * 100, currency: .usd) }

    /// C1 (Ana's): a plan of 3 x 1,000 (11-05, 11-12, 12-05), 1,000 paid on 11-04; C2 (no analyst):
    /// a broken promise; C3 (Ana's): a promise kept.
    static func store() throws -> TenantStore {
        let store = try TenantStore()
        try store.upsert([
            Customer(id: "C1", number: "1", name: "Globe", analystID: "u-ana"),
            Customer(id: "C2", number: "2", name: "Nobody's"),
            Customer(id: "C3", number: "3", name: "Kept Co", analystID: "u-ana"),
        ])
        try store.post([
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(3_000), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "I1"),
            LedgerEntry(id: "I2", kind: .invoice, customerID: "C2", amount: usd(500), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "I2"),
            LedgerEntry(id: "I3", kind: .invoice, customerID: "C3", amount: usd(500), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "I3"),
            LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(1_000), date: day("2026-11-04")),
            LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: usd(1_000), date: day("2026-11-04"), sourceID: "P1", targetID: "I1"),
            LedgerEntry(id: "P3", kind: .payment, customerID: "C3", amount: usd(500), date: day("2026-11-04")),
            LedgerEntry(id: "A3", kind: .application, customerID: "C3", amount: usd(500), date: day("2026-11-04"), sourceID: "P3", targetID: "I3"),
        ])
        try store.upsert([
            PromiseToPay(
                id: "PLAN", customerID: "C1", invoiceIDs: ["I1"], amount: usd(3_000), madeOn: day("2026-11-01"), promisedDate: day("2026-12-05"),
                installments: [
                    Installment(dueDate: day("2026-11-05"), amount: usd(1_000)), Installment(dueDate: day("2026-11-12"), amount: usd(1_000)),
                    Installment(dueDate: day("2026-12-05"), amount: usd(1_000)),
                ]
            ),
            PromiseToPay(id: "NOONE", customerID: "C2", invoiceIDs: ["I2"], amount: usd(500), madeOn: day("2026-11-01"), promisedDate: day("2026-11-05")),
            PromiseToPay(id: "KEPT", customerID: "C3", invoiceIDs: ["I3"], amount: usd(500), madeOn: day("2026-11-01"), promisedDate: day("2026-11-05")),
        ])
        return store
    }

    @Test("the broken installment gets one task for the analyst, due that day; kept ones, open ones and customers without an analyst get none")
    func oneTaskPerBrokenInstallment() throws {
        let store = try Self.store()
        let made = try store.makeFollowUps(today: Self.day("2026-11-20"))
        #expect(made.map(\.id) == [TenantStore.followUpTaskID(promise: "PLAN", installment: 1)])
        let task = try #require(made.first)
        #expect(task.assigneeID == "u-ana" && task.customerID == "C1" && task.dueDate == Self.day("2026-11-20"))
        #expect(task.title == "Follow up: installment 2 of 3 of USD 1,000.00 due 2026-11-12 broken on 2026-11-16")
        #expect(try store.task(task.id) == task)
        #expect(try store.changes(after: 0, limit: 1000).records.contains { $0.kind == "collection_task" && $0.id == task.id }, "synced like any task")
    }

    @Test("running again, or after the analyst deleted the task, makes nothing twice")
    func idempotent() throws {
        let store = try Self.store()
        let first = try store.makeFollowUps(today: Self.day("2026-11-20"))
        #expect(try store.makeFollowUps(today: Self.day("2026-11-20")).isEmpty)
        #expect(try store.makeFollowUps(today: Self.day("2026-11-21")).isEmpty)
        try store.deleteTasks(first.map(\.id))
        #expect(try store.makeFollowUps(today: Self.day("2026-11-22")).isEmpty)
        // The third installment breaks later: its own task then.
        #expect(try store.makeFollowUps(today: Self.day("2026-12-09")).map(\.id) == [TenantStore.followUpTaskID(promise: "PLAN", installment: 2)])
    }
}
