import DunlinCore
import Foundation
import Testing

private let day = CivilDate("2026-10-01")!
private let maximum = Money.maximumMinorUnits
private func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: .usd) }

@Suite("Limits on what enters: amounts, customers, text")
struct InputLimitTests {
    @Test("an amount above 10^15 minor units is refused OUT_OF_RANGE naming amount; the maximum itself is taken")
    func amountMaximum() throws {
        var ledger = Ledger(customers: ["C1"])
        try ledger.post(LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(maximum), date: day))
        // The issue's two payments of 92233720368547758.07 USD.
        let huge = LedgerEntry(id: "P2", kind: .payment, customerID: "C1", amount: usd(.max), date: day)
        let error = #expect(throws: DomainError.self) { try ledger.post(huge) }
        guard case .outOfRange(field: "amount", _)? = error else { Issue.record("not OUT_OF_RANGE: \(String(describing: error))"); return }
        #expect(ledger.entry("P2") == nil)
        let adjustment = LedgerEntry(id: "J1", kind: .adjustment, amount: usd(-maximum - 1), date: day, targetID: "I1")
        #expect(throws: DomainError.self) { try ledger.post(adjustment) }
    }

    @Test("promises, disputes and credit limits above the maximum are OUT_OF_RANGE")
    func recordAmounts() {
        let promise = PromiseToPay(id: "PR1", customerID: "C1", invoiceIDs: ["I1"], amount: usd(maximum + 1), madeOn: day, promisedDate: day)
        #expect(throws: DomainError.outOfRange(field: "amount", "USD 10,000,000,000,000.01 is above the maximum amount, USD 10,000,000,000,000.00 (1000000000000000 minor units)")) {
            try promise.validate()
        }
        let dispute = Dispute(id: "D1", customerID: "C1", invoiceIDs: ["I1"], amount: usd(.max), reasonCode: "pricing", openedOn: day)
        #expect(throws: DomainError.self) { try dispute.validate() }
        let customer = Customer(id: "C1", number: "1", name: "Acme", creditLimit: usd(maximum + 1))
        let error = #expect(throws: DomainError.self) { try customer.validate() }
        #expect(error?.field == "credit_limit")
    }

    @Test("many adjustments cannot take one invoice's balance beyond 10^18 minor units, in either mode")
    func balanceMaximum() throws {
        var ledger = Ledger()
        try ledger.post(LedgerEntry(id: "I1", kind: .invoice, customerID: "C1", amount: usd(maximum), date: day, dueDate: day, reference: "1"))
        for index in 1..<1000 {
            try ledger.post(LedgerEntry(id: "J\(index)", kind: .adjustment, amount: usd(maximum), date: day, targetID: "I1"))
        }
        #expect(ledger.openBalance(ofInvoice: "I1") == usd(Money.maximumBalanceMinorUnits))
        let beyond = LedgerEntry(id: "J1000", kind: .adjustment, amount: usd(1), date: day, targetID: "I1")
        for mode in [LedgerRules.Balances.enforce, .reconcile] {
            let error = #expect(throws: DomainError.self) { try LedgerRules.validate(beyond, against: ledger, balances: mode) }
            #expect(error?.field == "amount")
            guard case .outOfRange? = error else { Issue.record("not OUT_OF_RANGE"); continue }
        }
    }

    @Test("an entry naming a customer the tenant does not have is NOT_FOUND on customer_id; an unidentified payment is fine")
    func unknownCustomer() throws {
        var ledger = Ledger(customers: ["C1"])
        let error = #expect(throws: DomainError.self) {
            try ledger.post(LedgerEntry(id: "P1", kind: .payment, customerID: "NOPE", amount: usd(100), date: day))
        }
        #expect(error == .notFound(field: "customer_id", id: "NOPE"))
        try ledger.post(LedgerEntry(id: "P2", kind: .payment, amount: usd(100), date: day))
        try ledger.post(LedgerEntry(id: "P3", kind: .payment, customerID: "C1", amount: usd(100), date: day))
        #expect(ledger.entry("P1") == nil)
    }

    @Test("NUL and control characters are refused in every text field, naming it; tab, newline and any other Unicode are kept")
    func controlCharacters() throws {
        let customer = Customer(id: "C1", number: "1", name: "nul\0byte")
        #expect(throws: DomainError.self) { try customer.validate() }
        #expect((try? customer.validate()) == nil)
        let escaped = Customer(id: "C1", number: "1", name: "Acme \u{1B}]52;c;cGF5bG9hZA==\u{07}")
        let error = #expect(throws: DomainError.self) { try escaped.validate() }
        #expect(error?.field == "name")
        #expect(error?.description.contains("U+001B") == true)
        for (field, customer) in [
            ("billing_address", Customer(id: "C1", number: "1", name: "A", billingAddress: "x\u{9B}2J")),
            ("portal_billing", Customer(id: "C1", number: "1", name: "A", portalBilling: "\u{7F}")),
            ("tags[1]", Customer(id: "C1", number: "1", name: "A", tags: ["ok", "b\u{08}ad"])),
        ] {
            #expect((#expect(throws: DomainError.self) { try customer.validate() })?.field == field)
        }
        try Customer(id: "C1", number: "1", name: "Niño Café 株式会社", billingAddress: "Line 1\nLine 2\tSuite 3").validate()

        let entry = LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(1), date: day, reference: "ref", memo: "a\rb")
        var ledger = Ledger(customers: ["C1"])
        #expect((#expect(throws: DomainError.self) { try ledger.post(entry) })?.field == "memo")
        let reference = LedgerEntry(id: "P1", kind: .payment, customerID: "C1", amount: usd(1), date: day, reference: "r\0")
        #expect((#expect(throws: DomainError.self) { try ledger.post(reference) })?.field == "reference")

        let contact = Contact(id: "K1", customerID: "C1", name: "Ana\u{1B}[8m")
        #expect((#expect(throws: DomainError.self) { try contact.validate() })?.field == "name")
        let task = CollectionTask(id: "T1", assigneeID: "U1", title: "Call", dueDate: day, notes: "\u{00}")
        #expect((#expect(throws: DomainError.self) { try task.validate() })?.field == "notes")
        let activity = Activity(id: "A1", customerID: "C1", kind: .note, direction: .undirected, authorID: "U1", occurredAt: Date(timeIntervalSince1970: 1_800_000_000), body: "x\u{85}y")
        #expect((#expect(throws: DomainError.self) { try activity.validate() })?.field == "body")
        let promise = PromiseToPay(id: "PR1", customerID: "C1", invoiceIDs: ["I1"], amount: usd(1), madeOn: day, promisedDate: day, note: "\u{1B}")
        #expect((#expect(throws: DomainError.self) { try promise.validate() })?.field == "note")
        let dispute = Dispute(id: "D1", customerID: "C1", invoiceIDs: ["I1"], amount: usd(1), reasonCode: "pricing", openedOn: day, note: "\u{1B}")
        #expect((#expect(throws: DomainError.self) { try dispute.validate() })?.field == "note")
    }

    @Test("aging sums of many items at the maximum are exact; a total beyond int64 is OUT_OF_RANGE, never a trap")
    func agingWide() throws {
        // 9,000 items at the maximum: 9 x 10^18, within int64; every bucket and total exact.
        let items = (0..<9_000).map { index in
            AgingItem(customerID: "C1", dueDate: day.adding(days: -(index % 200)), open: usd(maximum))
        }
        let report = try AgingReport.compute(items, asOf: day)
        #expect(try report.rows[0].total() == 9_000 * maximum)
        #expect(report.totals[.usd]?.reduce(Int128(0)) { $0 + Int128($1) } == Int128(9_000 * maximum))
        // Two such customers, all current: each row fits, the portfolio's current bucket does not.
        let two = items.flatMap { [AgingItem(customerID: "C1", dueDate: day, open: $0.open), AgingItem(customerID: "C2", dueDate: day, open: $0.open)] }
        let error = #expect(throws: DomainError.self) { try AgingReport.compute(two, asOf: day) }
        guard case .outOfRange? = error else { Issue.record("not OUT_OF_RANGE: \(String(describing: error))"); return }
        // A row whose buckets fit but whose total does not.
        let row = AgingReport.Row(customerID: "C1", currency: .usd, buckets: [.max, .max])
        #expect(throws: DomainError.self) { try row.total() }
    }

    @Test("totals per currency add in 128 bits and refuse only a total int64 cannot carry")
    func moneyTotals() throws {
        var totals = MoneyTotals()
        totals.add(usd(.max))
        totals.add(usd(.max))
        totals.add(usd(-.max))
        #expect(try totals.total(.usd) == usd(.max))
        totals.add(usd(1))
        #expect(throws: MoneyError.totalOutOfRange(.usd)) { try totals.amounts() }
    }
}
