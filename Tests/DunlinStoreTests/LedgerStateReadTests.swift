import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

/// The ledger rules read the store through a protocol that cannot throw: a read that fails must
/// surface as the I/O error it is, never as a refusal ("no such invoice") or an acceptance.
@Suite struct LedgerStateReadTests {
    @Test("a failing read surfaces as its database error, not as the rules' verdict")
    func readFailuresSurface() throws {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1", name: "Globe")])
        let usd = Currency(code: "USD")!
        let day = CivilDate("2026-11-20")!
        try store.post([
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 100_00, currency: usd), date: day, dueDate: day, reference: "I1"),
            LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 50_00, currency: usd), date: day),
        ])
        let application = LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: Money(minorUnits: 10_00, currency: usd),
                                      date: day, sourceID: "P1", targetID: "I1")
        try store.writer.write { db in
            // As read through a healthy database, the application is fine.
            try SQLLedgerState.checking(db) { try LedgerRules.validate(application, against: $0) }
            // A balance table that cannot be read (here: gone) is an error, not "no such payment".
            try db.execute(sql: "ALTER TABLE source_balance RENAME TO source_balance_unreadable")
            #expect(throws: DatabaseError.self) {
                try SQLLedgerState.checking(db) { try LedgerRules.validate(application, against: $0) }
            }
            #expect(throws: DatabaseError.self) { try SQLLedgerState.checking(db) { $0.unapplied(ofSource: "P1") } }
            try db.execute(sql: "ALTER TABLE source_balance_unreadable RENAME TO source_balance")
        }
        #expect(try store.unapplied(ofSource: "P1") == Money(minorUnits: 50_00, currency: usd))
    }
}
