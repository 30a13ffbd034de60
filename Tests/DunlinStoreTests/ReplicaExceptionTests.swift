import DunlinCore
import DunlinStore
import DunlinSync
import Foundation
import Testing

/// The replica side of the reconciliation queue: local work that, with what was pulled, breaks a
/// ledger invariant is an exception until a reversing entry resolves it; nothing is deleted.
@Suite struct ReplicaExceptionTests {
    let usd = Currency(code: "USD")!
    let day = CivilDate(year: 2026, month: 11, day: 20)!

    func pulled(_ entry: LedgerEntry, seq: Int64) throws -> SyncRecordState {
        SyncRecordState(kind: "ledger_entry", id: entry.id, seq: seq, fields: RecordCoding.canonical(entry.fieldMap))
    }

    @Test func aPulledApplicationThatOverAppliesLocalWorkIsAnExceptionUntilReversed() throws {
        let replica = try TenantStore()
        let customer = Customer(id: "C1", number: "1001", name: "Globe")
        var customerFields = customer.fieldMap
        customerFields[RecordCoding.deletedField] = .bool(false)
        let invoice1 = LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, dueDate: day, reference: "I1")
        let invoice2 = LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd), date: day, dueDate: day, reference: "I2")
        let payment = LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 500_00, currency: usd), date: day)
        try replica.applySyncBatch([
            SyncRecordState(kind: "customer", id: "C1", seq: 1, fields: RecordCoding.canonical(customerFields)),
            try pulled(invoice1, seq: 2), try pulled(invoice2, seq: 3), try pulled(payment, seq: 4),
        ], checkpoint: 4)
        // Offline: 400.00 of P1 to I1. Meanwhile someone applied 300.00 of it to I2.
        try replica.post([LedgerEntry(id: "A-LOCAL", kind: .application, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day, sourceID: "P1", targetID: "I1")])
        #expect(try replica.recheckInvariants().isEmpty)
        try replica.applySyncBatch([
            try pulled(LedgerEntry(id: "A-REMOTE", kind: .application, customerID: "C1", amount: Money(minorUnits: 300_00, currency: usd), date: day, sourceID: "P1", targetID: "I2"), seq: 5),
        ], checkpoint: 5)
        let open = try replica.recheckInvariants()
        #expect(open.map(\.kind) == [.sourceOverApplied])
        #expect(open.first?.excess == Money(minorUnits: 200_00, currency: usd))
        #expect(open.first?.entryIDs == ["A-LOCAL", "A-REMOTE"])
        #expect(try replica.exceptions().count == 1)
        // Resolved by a reversing entry: the exception is marked resolved, not deleted.
        try replica.post([LedgerEntry(id: "R1", kind: .reversal, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: day, targetID: "A-LOCAL")])
        #expect(try replica.recheckInvariants().isEmpty)
        #expect(try replica.exceptions().isEmpty)
        #expect(try replica.exceptions(includeResolved: true).map(\.status) == ["resolved"])
        #expect(try replica.entry("A-LOCAL") != nil)
    }
}
