import DunlinCore
import Foundation
import Testing

/// The escalation rules (DunlinCore `EscalationRule`, `EscalationRules`, `Escalation`) as tables of
/// cases: when an overdue rule and a broken-promises rule fire, for which episode, what a hold or a
/// placement does, and which rules are refused.
@Suite("Escalation: rules, episodes, placements")
struct EscalationTests {
    static let usd = Currency(code: "USD")!
    static let php = Currency(code: "PHP")!
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ minor: Int64) -> Money { Money(minorUnits: minor, currency: usd) }
    static let asOf = day("2026-12-31")

    /// More than USD 10,000.00 over 60 days past due: escalate.
    static let bigAndOld = EscalationRule(id: "R1", name: "Big and old", trigger: .overdue, days: 60, amount: usd(10_000_00), action: .escalate)
    /// Two promises broken within 90 days: place with Acme Recovery.
    static let twiceBroken = EscalationRule(
        id: "R2", name: "Twice broken", trigger: .brokenPromises, count: 2, windowDays: 90, action: .place, agency: "Acme Recovery"
    )

    struct Case: Sendable, CustomTestStringConvertible {
        var what: String
        var facts: EscalationFacts
        /// The ids of the calls, in order.
        var calls: [String]
        var testDescription: String { what }
    }

    /// An item due `daysAgo` days before the as-of date.
    static func item(_ id: String, _ daysAgo: Int, _ minor: Int64, currency: Currency = usd, held: Bool = false) -> EscalationFacts.Item {
        .init(invoiceID: id, dueDate: asOf.adding(days: -daysAgo), balance: Money(minorUnits: minor, currency: currency), held: held)
    }

    static func broken(_ key: String, _ daysAgo: Int) -> EscalationFacts.BrokenPromise { .init(key: key, brokenOn: asOf.adding(days: -daysAgo)) }

    static let cases: [Case] = [
        Case(what: "over the amount, over the days: escalates, the oldest counted item the episode",
             facts: .init(customerID: "C1", items: [item("INV-2", 61, 6_000_00), item("INV-1", 75, 5_000_00)]), calls: ["ESC:R1:C1:INV-1"]),
        Case(what: "exactly the amount is not more than it", facts: .init(customerID: "C1", items: [item("INV-1", 75, 10_000_00)]), calls: []),
        Case(what: "exactly 60 days past due is not over 60", facts: .init(customerID: "C1", items: [item("INV-1", 60, 20_000_00)]), calls: []),
        Case(what: "items 60 days or younger do not count towards the amount",
             facts: .init(customerID: "C1", items: [item("INV-1", 61, 6_000_00), item("INV-2", 30, 9_000_00)]), calls: []),
        Case(what: "a held (disputed) item does not count",
             facts: .init(customerID: "C1", items: [item("INV-1", 90, 20_000_00, held: true), item("INV-2", 70, 1_00)]), calls: []),
        Case(what: "another currency than the base does not count (no rate on the server)",
             facts: .init(customerID: "C1", items: [item("INV-1", 90, 2_000_000_00, currency: php)]), calls: []),
        Case(what: "two promises broken within 90 days: placed, the latest the episode",
             facts: .init(customerID: "C2", brokenPromises: [broken("P-1", 80), broken("P-2#1", 10)]), calls: ["ESC:R2:C2:P-2#1"]),
        Case(what: "one broken promise is not twice", facts: .init(customerID: "C2", brokenPromises: [broken("P-1", 10)]), calls: []),
        Case(what: "a promise broken 90 days ago is outside the window",
             facts: .init(customerID: "C2", brokenPromises: [broken("P-1", 90), broken("P-2", 3)]), calls: []),
        Case(what: "both rules: an escalation and a placement",
             facts: .init(customerID: "C3", items: [item("INV-9", 100, 50_000_00)], brokenPromises: [broken("P-1", 5), broken("P-2", 4)]),
             calls: ["ESC:R1:C3:INV-9", "ESC:R2:C3:P-2"]),
        Case(what: "a customer on hold or placed is left alone",
             facts: .init(customerID: "C4", items: [item("INV-1", 100, 50_000_00)], brokenPromises: [broken("P-1", 5), broken("P-2", 4)],
                          heldBecause: "placed with Acme Recovery"),
             calls: []),
    ]

    @Test("which rule fires for which customer and episode", arguments: cases)
    func rulesFire(_ example: Case) {
        let calls = EscalationRules.evaluate(asOf: Self.asOf, baseCurrency: Self.usd, rules: [Self.twiceBroken, Self.bigAndOld], facts: [example.facts])
        #expect(calls.map(\.id) == example.calls)
    }

    @Test("among one customer's calls at most one places")
    func onePlacementAtATime() {
        let other = EscalationRule(id: "R3", name: "Also old", trigger: .overdue, days: 30, amount: Self.usd(1_00), action: .place, agency: "Beta Collect")
        let facts = EscalationFacts(customerID: "C1", items: [Self.item("INV-1", 100, 50_000_00)], brokenPromises: [Self.broken("P-1", 5), Self.broken("P-2", 4)])
        let calls = EscalationRules.evaluate(asOf: Self.asOf, baseCurrency: Self.usd, rules: [Self.bigAndOld, Self.twiceBroken, other], facts: [facts])
        #expect(calls.map(\.rule.id) == ["R1", "R2"])
    }

    @Test("a bad rule is refused naming the field", arguments: [
        (EscalationRule(id: "R", name: "x", trigger: .overdue, days: 60, action: .escalate), "amount"),
        (EscalationRule(id: "R", name: "x", trigger: .overdue, days: -1, amount: usd(1), action: .escalate), "days"),
        (EscalationRule(id: "R", name: "x", trigger: .overdue, days: 3651, amount: usd(1), action: .escalate), "days"),
        (EscalationRule(id: "R", name: "x", trigger: .overdue, days: 60, amount: usd(-5), action: .escalate), "amount"),
        (EscalationRule(id: "R", name: "x", trigger: .overdue, days: 60, amount: usd(1), count: 2, action: .escalate), "count"),
        (EscalationRule(id: "R", name: "x", trigger: .brokenPromises, count: 0, windowDays: 90, action: .escalate), "count"),
        (EscalationRule(id: "R", name: "x", trigger: .brokenPromises, count: 2, windowDays: 0, action: .escalate), "window_days"),
        (EscalationRule(id: "R", name: "x", trigger: .brokenPromises, count: 2, windowDays: 90, action: .place), "agency"),
        (EscalationRule(id: "R", name: "x", trigger: .brokenPromises, count: 2, windowDays: 90, action: .escalate, agency: "A"), "agency"),
        (EscalationRule(id: "R", name: "", trigger: .brokenPromises, count: 2, windowDays: 90, action: .escalate), "name"),
        (EscalationRule(id: "R", name: "x\u{1B}[2J", trigger: .brokenPromises, count: 2, windowDays: 90, action: .escalate), "name"),
    ] as [(EscalationRule, String)])
    func badRules(rule: EscalationRule, field: String) {
        #expect(throws: DomainError.self) { try rule.validate() }
        do { try rule.validate() } catch { #expect(error.field == field) }
    }

    @Test("an overdue rule's amount is in the tenant's base currency")
    func baseCurrencyRule() {
        #expect(throws: DomainError.self) { try Self.bigAndOld.validate(baseCurrency: Self.php) }
        #expect(throws: Never.self) { try Self.bigAndOld.validate(baseCurrency: Self.usd) }
    }

    @Test("a placement keeps dunning off its customer from its day until recalled", arguments: [
        ("2026-12-30", nil, false), ("2026-12-31", nil, true), ("2027-03-01", nil, true),
        ("2027-01-09", "2027-01-10", true), ("2027-01-10", "2027-01-10", false),
    ] as [(String, String?, Bool)])
    func placementHolds(on date: String, recalledOn: String?, held: Bool) throws {
        var placement = Escalation(
            id: "ESC:R2:C1:P-2", customerID: "C1", action: .place, ruleID: "R2", reason: "twice", agency: "Acme Recovery",
            escalatedOn: Self.asOf, summary: "", createdAt: Date(timeIntervalSince1970: 0)
        )
        if let recalledOn { placement = try placement.recalled(on: Self.day(recalledOn), by: "u-ben", reason: "paid") }
        let holds = DunningHolds(asOf: Self.day(date), disputes: [], promises: [], exceptionInvoiceIDs: [], manual: [], placements: [placement])
        #expect((holds.customerHold("C1") != nil) == held)
    }

    @Test("only a placement is recalled, and a recall needs a reason")
    func recallRules() {
        let escalation = Escalation(id: "E", customerID: "C1", action: .escalate, reason: "r", escalatedOn: Self.asOf, summary: "", createdAt: Date())
        #expect(throws: DomainError.self) { try escalation.recalled(on: Self.asOf, by: "u", reason: "why") }
        let placement = Escalation(id: "P", customerID: "C1", action: .place, reason: "r", agency: "A", escalatedOn: Self.asOf, summary: "", createdAt: Date())
        #expect(throws: DomainError.self) { try placement.recalled(on: Self.asOf, by: "u", reason: " ") }
    }

    @Test("the account summary: overdue per currency, the oldest item, broken promises, open disputes")
    func summary() {
        let facts = EscalationFacts(
            customerID: "C1", items: [Self.item("INV-1", 75, 5_000_00), Self.item("INV-2", 10, 1_234_56, held: true), Self.item("INV-3", -5, 99_00)],
            brokenPromises: [Self.broken("P-1", 10), Self.broken("P-0", 200)], openDisputes: 1
        )
        #expect(AccountSummary.text(facts, asOf: Self.asOf)
            == "overdue USD 6,234.56; oldest item 75 days past due; 1 promise broken in the last 90 days; 1 open dispute")
    }
}
