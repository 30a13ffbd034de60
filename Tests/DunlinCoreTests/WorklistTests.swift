import DunlinCore
import Foundation
import Testing

/// The worklist's order and reasons for a handful of hand-made customers (Worklist's doc comment
/// is the rule; each case says which part of it decides).
@Suite struct WorklistTests {
    static let usd = Currency(code: "USD")!
    static let php = Currency(code: "PHP")!
    static let today = CivilDate("2026-11-30")!

    static func usd(_ major: Int64) -> Money { Money(minorUnits: major * 100, currency: usd) }
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }

    static func rank(_ facts: [WorklistFacts], weights: WorklistWeights = .standard, rates: [Currency: ExchangeRate] = [:]) -> [WorklistRow] {
        Worklist.rank(facts, today: today, weights: weights, base: usd, rates: rates)
    }

    @Test("call-backs and promises due today come first; then the score; customers with nothing to do are left out")
    func order() throws {
        let facts = [
            // 48,200 overdue, oldest 60 days: 48 + 6 points, risk 3: 10, no contact 16 days: 4 => 68.
            WorklistFacts(customerID: "C-BIG", customerName: "Big Retail", overdue: [Self.usd(48_200)], openTotal: [Self.usd(48_200)],
                          oldestDue: Self.day("2026-10-01"), lastContact: Self.day("2026-11-14")),
            // Little overdue, but a call-back due today: first.
            WorklistFacts(customerID: "C-CB", customerName: "Callback Co", overdue: [Self.usd(500)], oldestDue: Self.day("2026-11-25"),
                          callBacks: [Self.today], lastContact: Self.day("2026-11-29")),
            // A promise due today and nothing overdue: in the first group too.
            WorklistFacts(customerID: "C-PR", customerName: "Promise Ltd", promisesDue: [.init(amount: Self.usd(2_000), promisedDate: Self.today)],
                          lastContact: Self.day("2026-11-29")),
            // Broken promise (20) + smaller overdue: 10 + 3 + 10 + 20 = 43 (contacted today).
            WorklistFacts(customerID: "C-BRK", customerName: "Broken Inc", overdue: [Self.usd(10_000)], oldestDue: Self.day("2026-10-31"),
                          brokenPromises: [.init(amount: Self.usd(10_000), brokenOn: Self.day("2026-11-20"), partly: false)],
                          lastContact: Self.today),
            // Nothing overdue, a promise due next week, contacted: not on the list.
            WorklistFacts(customerID: "C-OK", customerName: "Fine Corp", openTotal: [Self.usd(9_000)],
                          promisesDue: [.init(amount: Self.usd(100), promisedDate: Self.day("2026-12-07"))], lastContact: Self.today),
            // A broken promise older than 90 days does not bring a customer back.
            WorklistFacts(customerID: "C-OLD", customerName: "Old Promise", brokenPromises: [.init(amount: Self.usd(5), brokenOn: Self.day("2026-08-01"), partly: false)]),
        ]
        let rows = Self.rank(facts)
        // Within the first group, equal scores (risk 10 each): the larger overdue first.
        #expect(rows.map(\.customerID) == ["C-CB", "C-PR", "C-BIG", "C-BRK"])
        #expect(rows.map(\.priority) == [true, true, false, false])
        let big = rows[2]
        #expect(big.score == 48 + 6 + 10 + 4)
        #expect(big.parts.map(\.name) == ["overdue", "days_past_due", "risk", "no_contact"])
        #expect(big.reasons == ["USD 48,200.00 overdue, oldest 60 days past due", "no contact for 16 days"])
        #expect(rows[3].score == 10 + 3 + 20 + 10)
        #expect(rows[3].reasons == ["USD 10,000.00 overdue, oldest 30 days past due", "promise of USD 10,000.00 broken on 2026-11-20"])
        #expect(rows[0].reasons.first == "call back due today")
        #expect(rows[1].reasons.first == "promise of USD 2,000.00 due today")

        // The first rows alone, in words, and the count of all: what one page of the list shows.
        let (total, first) = Worklist.top(facts, limit: 3, today: Self.today, weights: .standard, base: Self.usd, rates: [:])
        #expect(total == 4)
        #expect(first == Array(rows.prefix(3)))
        #expect(Worklist.top(facts, limit: 0, today: Self.today, weights: .standard, base: Self.usd, rates: [:]).rows.isEmpty)
        // Unexplained, a row scores the same and says nothing.
        let quiet = try #require(Worklist.row(for: facts[0], today: Self.today, weights: .standard, base: Self.usd, rates: [:], explain: false))
        #expect(quiet.score == big.score && quiet.parts == big.parts && quiet.reasons.isEmpty)
    }

    @Test("every part, its words and its cap", arguments: [
        // (facts, points, reason)
        (WorklistFacts(customerID: "A", customerName: "A", riskRating: 1, overdue: [usd(5_000_000)], oldestDue: day("2020-01-01"), lastContact: today),
         100 + 36, "USD 5,000,000.00 overdue, oldest 2525 days past due"),
        (WorklistFacts(customerID: "B", customerName: "B", riskRating: 5, overdue: [usd(999)], oldestDue: day("2026-11-29"), lastContact: today),
         0 + 0 + 20, "risk 5 of 5"),
        (WorklistFacts(customerID: "C", customerName: "C", riskRating: 1, creditLimit: usd(1_000), overdue: [usd(1_000)], openTotal: [usd(1_500)],
                       oldestDue: day("2026-11-29"), lastContact: today),
         1 + 15, "over the credit limit of USD 1,000.00 by USD 500.00"),
        (WorklistFacts(customerID: "D", customerName: "D", riskRating: 1, overdue: [usd(1_000)], oldestDue: day("2026-11-29"), openDisputes: 2, lastContact: today),
         1 + 10, "2 open disputes"),
        (WorklistFacts(customerID: "E", customerName: "E", riskRating: 1, overdue: [usd(1_000)], oldestDue: day("2026-11-29")),
         1 + 26, "never contacted"),
        (WorklistFacts(customerID: "F", customerName: "F", riskRating: 1, overdue: [usd(1_000)], oldestDue: day("2026-11-29"),
                       brokenPromises: [.init(amount: usd(300), brokenOn: day("2026-11-10"), partly: true)], lastContact: today),
         1 + 20, "promise of USD 300.00 partly kept on 2026-11-10"),
        (WorklistFacts(customerID: "G", customerName: "G", riskRating: 1, overdue: [usd(1_000)], oldestDue: day("2026-11-29"), callBacks: [day("2026-11-27")], lastContact: today),
         1, "call back due since 2026-11-27"),
    ])
    func parts(facts: WorklistFacts, points: Int, reason: String) throws {
        let row = try #require(Self.rank([facts]).first)
        #expect(row.score == points)
        #expect(row.reasons.contains(reason), "\(row.reasons)")
    }

    @Test("another currency converts at the given rate, or is named and not scored")
    func currencies() throws {
        let facts = WorklistFacts(customerID: "P", customerName: "Manila Trading", riskRating: 1,
                                  overdue: [Money(minorUnits: 11_500_000_00, currency: Self.php)], oldestDue: Self.day("2026-11-20"), lastContact: Self.today)
        let unconverted = try #require(Self.rank([facts]).first)
        #expect(unconverted.score == 1)
        #expect(unconverted.reasons.contains("PHP 11,500,000.00 overdue (no rate to USD: not scored)"))
        let rate = try ExchangeRate(from: Self.php, to: Self.usd, rate: "0.0172")
        let converted = try #require(Self.rank([facts], rates: [Self.php: rate]).first)
        #expect(converted.overdueBase == Self.usd(197_800))
        #expect(converted.score == 100 + 1)
        #expect(converted.reasons.first == "USD 197,800.00 (converted) overdue, oldest 10 days past due")
    }

    @Test("the tenant's weights change the order; a weight outside 0...1000 or an unknown one is refused")
    func weights() throws {
        let disputed = WorklistFacts(customerID: "D", customerName: "Disputed", riskRating: 1, overdue: [Self.usd(1_000)],
                                     oldestDue: Self.day("2026-11-29"), openDisputes: 3, lastContact: Self.today)
        let larger = WorklistFacts(customerID: "L", customerName: "Larger", riskRating: 1, overdue: [Self.usd(20_000)],
                                   oldestDue: Self.day("2026-11-29"), lastContact: Self.today)
        #expect(Self.rank([disputed, larger]).map(\.customerID) == ["L", "D"])
        var weights = WorklistWeights.standard
        try weights.set("open_dispute", 10)
        #expect(Self.rank([disputed, larger], weights: weights).map(\.customerID) == ["D", "L"])
        #expect(throws: DomainError.self) { try weights.set("open_dispute", 1001) }
        #expect(throws: DomainError.self) { try weights.set("friendliness", 1) }
        #expect(weights["open_dispute"] == 10)
    }

    /// The order the doc comment states, as a whole-row comparison: the reference the ranking is held to.
    static func documented(_ a: WorklistRow, _ b: WorklistRow) -> Bool {
        if a.priority != b.priority { return a.priority }
        if a.score != b.score { return a.score > b.score }
        if a.overdueBase.minorUnits != b.overdueBase.minorUnits { return a.overdueBase.minorUnits > b.overdueBase.minorUnits }
        return (a.customerName, a.customerID) < (b.customerName, b.customerID)
    }

    @Test("the first rows picked out of many are those of a full sort of every row, in its order, on random customers")
    func topAgainstFullSort() throws {
        var random = SeededGenerator(seed: 11)
        let php = try ExchangeRate(from: Self.php, to: Self.usd, rate: "0.0171")
        // Few names, amounts and days, so scores, amounts and names tie often and the id decides.
        let names = ["Acme", "Beta", "Acme", "Zed", "Mu"]
        for round in 0..<60 {
            let count = Int(random.next(in: 0...80))
            let facts = (0..<count).map { n -> WorklistFacts in
                var facts = WorklistFacts(
                    customerID: "C\(Int(random.next(in: 0...999)))-\(n)", customerName: names[Int(random.next(in: 0...4))],
                    riskRating: Int(random.next(in: 1...5)),
                    creditLimit: random.next(in: 0...3) == 0 ? Self.usd(1_000) : nil,
                    overdue: random.next(in: 0...2) == 0 ? [] : [Self.usd(Int64(random.next(in: 0...4)) * 1_000)],
                    openTotal: [Self.usd(Int64(random.next(in: 0...5)) * 1_000)],
                    oldestDue: random.next(in: 0...1) == 0 ? nil : Self.today.adding(days: -Int(random.next(in: 0...40))),
                    openDisputes: Int(random.next(in: 0...2)),
                    brokenPromises: random.next(in: 0...3) == 0
                        ? [.init(amount: Self.usd(100), brokenOn: Self.today.adding(days: -Int(random.next(in: 0...120))), partly: random.next(in: 0...1) == 0)] : [],
                    promisesDue: random.next(in: 0...5) == 0 ? [.init(amount: Self.usd(50), promisedDate: Self.today)] : [],
                    callBacks: random.next(in: 0...5) == 0 ? [Self.today.adding(days: -Int(random.next(in: 0...3)))] : [],
                    lastContact: random.next(in: 0...3) == 0 ? nil : Self.today.adding(days: -Int(random.next(in: 0...30)))
                )
                if random.next(in: 0...9) == 0 { facts.overdue.append(Money(minorUnits: Int64(random.next(in: 1...9_000_000)), currency: Self.php)) }
                return facts
            }
            let rates = round % 2 == 0 ? [:] : [Self.php: php]
            let all = facts.compactMap { Worklist.row(for: $0, today: Self.today, weights: .standard, base: Self.usd, rates: rates) }
            let sorted = all.sorted(by: Self.documented)
            for limit in [0, 1, 2, 5, count / 2, count - 1, count, count + 3, Int(random.next(in: 0...100))] {
                let (total, rows) = Worklist.top(facts, limit: limit, today: Self.today, weights: .standard, base: Self.usd, rates: rates)
                #expect(total == all.count, "round \(round), limit \(limit)")
                #expect(rows == Array(sorted.prefix(max(limit, 0))), "round \(round), limit \(limit)")
            }
        }
    }

    @Test("Ranking.first: the first few of many in order, as a full sort's prefix, on random integers with repeats")
    func rankingFirst() {
        var random = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let values = (0..<Int(random.next(in: 0...60))).map { _ in Int(random.next(in: 0...20)) }
            for count in [-1, 0, 1, 3, values.count / 3, values.count - 1, values.count, values.count + 1] {
                #expect(Ranking.first(count, of: values, by: <) == Array(values.sorted().prefix(max(count, 0))))
                #expect(Ranking.first(count, of: values, by: >) == Array(values.sorted(by: >).prefix(max(count, 0))))
            }
        }
    }
}
