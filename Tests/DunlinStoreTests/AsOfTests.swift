import DunlinCore
import DunlinStore
import Testing

@Suite("Balances as of a date")
struct AsOfTests {
    @Test("an aging as of a past date ignores what was applied, reversed or invoiced after it")
    func agingAsOf() throws {
        let store = try TenantStore()
        try store.addCustomers("C1")
        func day(_ text: String) -> CivilDate { CivilDate(text)! }
        let usd = { (minor: Int64) in Money(minorUnits: minor, currency: .usd) }
        try store.post([
            LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(100_00), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "1"),
            LedgerEntry(id: "I2", kind: .invoice, customerID: "C1", amount: usd(50_00), date: day("2026-11-15"), dueDate: day("2026-12-15"), reference: "2"),
            LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(100_00), date: day("2026-11-19")),
            LedgerEntry(id: "A1", kind: .application, customerID: "C1", amount: usd(100_00), date: day("2026-11-20"), sourceID: "P1", targetID: "I1"),
            LedgerEntry(id: "R1", kind: .reversal, amount: usd(100_00), date: day("2026-11-25"), targetID: "A1"),
        ])
        func open(_ date: String) throws -> Int64 { try store.agingItems(asOf: day(date)).reduce(0) { $0 + $1.open.minorUnits } }
        func unapplied(_ date: String) throws -> Int64 { try store.unappliedSources(asOf: day(date)).reduce(0) { $0 + $1.open.minorUnits } }
        #expect(try open("2026-11-10") == 100_00)           // before I2 existed and before the payment
        #expect(try open("2026-11-19") == 150_00)           // I2 issued; cash received but not applied
        #expect(try unapplied("2026-11-19") == 100_00)
        #expect(try open("2026-11-21") == 50_00)            // applied
        #expect(try unapplied("2026-11-21") == 0)
        #expect(try open("2026-11-26") == 150_00)           // unapplied again
        #expect(try open("2026-11-26") == (try store.agingItems()).reduce(0) { $0 + $1.open.minorUnits })
    }
}
