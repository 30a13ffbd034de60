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

    @Test func possibleDuplicatePaymentsAreFoundAsTheInMemoryRuleFindsThemAndADismissalSticks() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe"), Customer(id: "C2", number: "1002", name: "Ayala")])
        func payment(_ id: String, _ customer: String, day: Int, _ minor: Int64 = 5_000_00, reference: String = "BDO 7781") -> LedgerEntry {
            LedgerEntry(id: id, kind: .payment, customerID: customer, amount: Money(minorUnits: minor, currency: usd),
                        date: CivilDate(year: 2026, month: 11, day: day)!, reference: reference)
        }
        let ledger = [
            payment("P1", "C1", day: 2), payment("P2", "C1", day: 4),                    // a pair
            payment("P3", "C1", day: 20), payment("P4", "C1", day: 23), payment("P5", "C1", day: 26),  // a chain
            payment("P6", "C1", day: 2, reference: "other"), payment("P7", "C2", day: 2),  // no match
            payment("P8", "C2", day: 10, 700_00), payment("P9", "C2", day: 11, 700_00),   // a pair, one voided below
        ]
        try store.post(ledger)
        try store.post([LedgerEntry(id: "V9", kind: .reversal, customerID: "C2", amount: Money(minorUnits: 700_00, currency: usd), date: day, targetID: "P9")])
        let found = try store.recheckInvariants()
        let voiding = try #require(try store.entry("V9"))
        #expect(found == LedgerInvariants.violations(in: ledger + [voiding]))
        #expect(found.map(\.entryIDs) == [["P1", "P2"], ["P3", "P4", "P5"]])
        #expect(found.map(\.id) == ["exc_possible_duplicate_payment_P2", "exc_possible_duplicate_payment_P5"])

        // Both of P1 and P2 are real: dismissed, it stays out of the queue when checked again.
        try store.dismissException("exc_possible_duplicate_payment_P2")
        #expect(try store.recheckInvariants().map(\.id) == ["exc_possible_duplicate_payment_P5"])
        #expect(try store.exceptions().map(\.exception.id) == ["exc_possible_duplicate_payment_P5"])
        #expect(try store.exceptions(includeResolved: true).map(\.status) == ["dismissed", "open"])
        // Only an open possible duplicate can be dismissed.
        #expect(throws: DomainError.self) { try store.dismissException("exc_possible_duplicate_payment_P2") }
        #expect(throws: DomainError.self) { try store.dismissException("exc_nothing") }
    }

    @Test func anEntryIdTakenByOtherContentIsRefusedNamingTheFieldsThatDiffer() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe")])
        let first = LedgerEntry(id: "BANK-77", kind: .payment, customerID: "C1", amount: Money(minorUnits: 250_00, currency: usd), date: day, reference: "R")
        try store.post([first])
        var other = first
        other.date = day.adding(days: 1)
        other.amount = Money(minorUnits: 260_00, currency: usd)
        do {
            try store.post([other])
            Issue.record("the same id with other content was accepted")
        } catch let error as StoreError {
            #expect("\(error)".contains("amount and date differ"), "\(error)")
        }
    }
}
