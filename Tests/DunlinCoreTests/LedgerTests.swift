import DunlinCore
import Testing

/// A small ledger: customer C1 with invoice INV-1 (1,000.00 USD due in 30 days) and payment
/// PAY-1 (1,000.00 USD).
private func ledger() throws -> Ledger {
    var ledger = Ledger()
    let day = CivilDate("2026-11-01")!
    try ledger.post(LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: usd(1000_00), date: day, dueDate: day.adding(days: 30), reference: "1001"))
    try ledger.post(LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C1", amount: usd(400_00), date: day, dueDate: day.adding(days: 30), reference: "1002"))
    try ledger.post(LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: usd(1000_00), date: day))
    return ledger
}

private func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }
private let today = CivilDate("2026-11-20")!

private func application(_ id: String, _ amount: Money, from source: String = "PAY-1", to invoice: String = "INV-1") -> LedgerEntry {
    LedgerEntry(id: id, kind: .application, customerID: "C1", amount: amount, date: today, sourceID: source, targetID: invoice)
}

@Suite("Ledger rules")
struct LedgerTests {
    @Test("applying cash lowers the invoice's balance and the payment's unapplied amount")
    func applyCash() throws {
        var ledger = try ledger()
        try ledger.post(application("APP-1", usd(600_00)))
        try ledger.post(application("APP-2", usd(400_00), to: "INV-2"))
        #expect(ledger.openBalance(ofInvoice: "INV-1") == usd(400_00))
        #expect(ledger.openBalance(ofInvoice: "INV-2") == usd(0))
        #expect(ledger.unapplied(ofSource: "PAY-1") == usd(0))
    }

    @Test("unapplying is a reversal, and it restores both balances")
    func unapply() throws {
        var ledger = try ledger()
        try ledger.post(application("APP-1", usd(600_00)))
        try ledger.post(LedgerEntry(id: "REV-1", kind: .reversal, customerID: "C1", amount: usd(600_00), date: today, targetID: "APP-1"))
        #expect(ledger.openBalance(ofInvoice: "INV-1") == usd(1000_00))
        #expect(ledger.unapplied(ofSource: "PAY-1") == usd(1000_00))
    }

    @Test("a reversal cannot be reversed, and an entry is reversed at most once")
    func reversalOfReversal() throws {
        var ledger = try ledger()
        try ledger.post(application("APP-1", usd(600_00)))
        try ledger.post(LedgerEntry(id: "REV-1", kind: .reversal, amount: usd(600_00), date: today, targetID: "APP-1"))
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "REV-2", kind: .reversal, amount: usd(600_00), date: today, targetID: "REV-1"))
        }
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "REV-3", kind: .reversal, amount: usd(600_00), date: today, targetID: "APP-1"))
        }
    }

    @Test("an application above the payment's unapplied amount is refused and changes nothing")
    func overApplyPayment() throws {
        var ledger = try ledger()
        try ledger.post(application("APP-1", usd(900_00)))
        let before = ledger.entries
        #expect(throws: DomainError.self) { try ledger.post(application("APP-2", usd(200_00), to: "INV-2")) }
        #expect(ledger.entries == before)
    }

    @Test("an application above the invoice's open balance is refused")
    func overApplyInvoice() throws {
        var ledger = try ledger()
        #expect(throws: DomainError.self) { try ledger.post(application("APP-1", usd(400_01), to: "INV-2")) }
    }

    @Test("zero and negative amounts are refused", arguments: [Int64(0), -1, -100_00])
    func nonPositive(_ minor: Int64) throws {
        var ledger = try ledger()
        #expect(throws: DomainError.self) { try ledger.post(application("APP-1", usd(minor))) }
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "PAY-2", kind: .payment, amount: usd(minor), date: today))
        }
    }

    @Test("an application mixing currencies is refused")
    func mixedCurrencies() throws {
        var ledger = try ledger()
        try ledger.post(LedgerEntry(id: "PAY-PHP", kind: .payment, customerID: "C1", amount: Money(minorUnits: 56_000_00, currency: .php), date: today))
        #expect(throws: DomainError.self) { try ledger.post(application("APP-1", usd(100_00), from: "PAY-PHP")) }
        #expect(throws: DomainError.self) {
            try ledger.post(application("APP-2", Money(minorUnits: 100_00, currency: .php), from: "PAY-PHP"))
        }
    }

    @Test("a due date before the issue date is refused")
    func dueBeforeIssue() throws {
        var ledger = Ledger()
        #expect(throws: DomainError.invalid(field: "due_date", "due date 2026-10-31 is before the issue date 2026-11-01")) {
            try ledger.post(LedgerEntry(
                id: "INV-X", kind: .invoice, customerID: "C1", amount: usd(1), date: CivilDate("2026-11-01")!,
                dueDate: CivilDate("2026-10-31")!, reference: "X"
            ))
        }
    }

    @Test("an invoice with applications cannot be voided until they are reversed")
    func voidWithApplications() throws {
        var ledger = try ledger()
        try ledger.post(application("APP-1", usd(100_00)))
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "VOID-1", kind: .reversal, amount: usd(1000_00), date: today, targetID: "INV-1"))
        }
        try ledger.post(LedgerEntry(id: "REV-1", kind: .reversal, amount: usd(100_00), date: today, targetID: "APP-1"))
        try ledger.post(LedgerEntry(id: "VOID-1", kind: .reversal, amount: usd(1000_00), date: today, targetID: "INV-1"))
        #expect(ledger.openBalance(ofInvoice: "INV-1") == usd(0))
        #expect(throws: DomainError.self) { try ledger.post(application("APP-2", usd(1_00))) }
    }

    @Test("write-offs, adjustments and refunds move the balances they name")
    func otherEntries() throws {
        var ledger = try ledger()
        try ledger.post(LedgerEntry(id: "ADJ-1", kind: .adjustment, amount: usd(-100_00), date: today, targetID: "INV-1"))
        try ledger.post(LedgerEntry(id: "WO-1", kind: .writeOff, amount: usd(50_00), date: today, targetID: "INV-1"))
        #expect(ledger.openBalance(ofInvoice: "INV-1") == usd(850_00))
        try ledger.post(LedgerEntry(id: "REF-1", kind: .refund, amount: usd(250_00), date: today, sourceID: "PAY-1"))
        #expect(ledger.unapplied(ofSource: "PAY-1") == usd(750_00))
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "WO-2", kind: .writeOff, amount: usd(850_01), date: today, targetID: "INV-1"))
        }
        #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "REF-2", kind: .refund, amount: usd(750_01), date: today, sourceID: "PAY-1"))
        }
    }

    @Test("random applications and reversals never take a balance below zero, and totals reconcile")
    func randomWalk() throws {
        var generator = SeededGenerator(seed: 7)
        var ledger = Ledger()
        let day = CivilDate("2026-01-01")!
        for index in 0..<50 {
            try ledger.post(LedgerEntry(id: "I\(index)", kind: .invoice, customerID: "C", amount: usd(Int64.random(in: 1...100_000, using: &generator)), date: day, dueDate: day, reference: "\(index)"))
            try ledger.post(LedgerEntry(id: "P\(index)", kind: .payment, customerID: "C", amount: usd(Int64.random(in: 1...100_000, using: &generator)), date: day))
        }
        var applications: [String] = []
        for step in 0..<2_000 {
            if Bool.random(using: &generator), let target = applications.randomElement(using: &generator) {
                let amount = ledger.entry(target)!.amount
                if (try? ledger.post(LedgerEntry(id: "R\(step)", kind: .reversal, amount: amount, date: day, targetID: target))) != nil {
                    applications.removeAll { $0 == target }
                }
            } else {
                let amount = usd(Int64.random(in: 1...50_000, using: &generator))
                let entry = application("A\(step)", amount, from: "P\(Int.random(in: 0..<50, using: &generator))", to: "I\(Int.random(in: 0..<50, using: &generator))")
                if (try? ledger.post(entry)) != nil { applications.append(entry.id) }
            }
        }
        var invoiced: Int64 = 0, received: Int64 = 0, open: Int64 = 0, unapplied: Int64 = 0, applied: Int64 = 0
        for index in 0..<50 {
            invoiced += ledger.entry("I\(index)")!.amount.minorUnits
            received += ledger.entry("P\(index)")!.amount.minorUnits
            let balance = ledger.openBalance(ofInvoice: "I\(index)")!.minorUnits
            let cash = ledger.unapplied(ofSource: "P\(index)")!.minorUnits
            #expect(balance >= 0 && cash >= 0)
            open += balance
            unapplied += cash
        }
        for id in applications { applied += ledger.entry(id)!.amount.minorUnits }
        #expect(invoiced - applied == open)
        #expect(received - applied == unapplied)
    }
}
