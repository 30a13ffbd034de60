import DunlinCore
import Testing

/// Each metric against a hand-computed example (CollectionMetrics' doc comment is the formula).
@Suite struct CollectionMetricsTests {
    static func close(_ value: Double?, _ expected: Double) -> Bool {
        guard let value else { return false }
        return abs(value - expected) < 1e-9
    }

    @Test("countback DSO: 212,000 against 100,000, 80,000 and 70,000 of sales (30-day months) is 30 + 30 + 32/70 x 30 = 73.7 days")
    func countback() {
        let months: [(sales: Int64, days: Int)] = [(100_000_00, 30), (80_000_00, 30), (70_000_00, 30)]
        let dso = CollectionMetrics.countbackDSO(closing: 212_000_00, months: months)
        #expect(Self.close(dso, 30 + 30 + 32.0 / 70.0 * 30))
        #expect(dso.map { (($0 * 10).rounded()) / 10 } == 73.7)
        // Covered within the first month: part of it.
        #expect(Self.close(CollectionMetrics.countbackDSO(closing: 50_000_00, months: months), 15))
        // More than every month's sales: the oldest month counts the rest in proportion.
        #expect(Self.close(CollectionMetrics.countbackDSO(closing: 320_000_00, months: months), 30 + 30 + 140.0 / 70.0 * 30))
        #expect(CollectionMetrics.countbackDSO(closing: 0, months: []) == 0)
        #expect(CollectionMetrics.countbackDSO(closing: 1, months: [(0, 30)]) == nil)
    }

    @Test("simple and best possible DSO, average days delinquent, CEI and the share over 90 days, by hand")
    func theRest() {
        // A quarter (90 days): 250,000 of sales; 212,000 open at its end, of which 50,000 not yet due and 30,000 over 90 days; 200,000 open at its start.
        let simple = CollectionMetrics.simpleDSO(closing: 212_000_00, sales: 250_000_00, days: 90)
        #expect(Self.close(simple, 76.32))  // 212/250 x 90
        let best = CollectionMetrics.bestPossibleDSO(current: 50_000_00, sales: 250_000_00, days: 90)
        #expect(Self.close(best, 18))  // 50/250 x 90
        #expect(Self.close(CollectionMetrics.averageDaysDelinquent(dso: simple, best: best), 58.32))
        // (200 + 250 - 212) / (200 + 250 - 50) = 238 / 400 = 59.5%
        #expect(Self.close(CollectionMetrics.cei(opening: 200_000_00, sales: 250_000_00, closing: 212_000_00, closingCurrent: 50_000_00), 59.5))
        #expect(Self.close(CollectionMetrics.percent(30_000_00, of: 212_000_00), 30.0 / 212.0 * 100))
        // Promise-kept rate: 7 of 8 kept.
        #expect(Self.close(CollectionMetrics.percent(7, of: 8), 87.5))
        // Nothing to divide by: no figure, not zero and not infinity.
        #expect(CollectionMetrics.simpleDSO(closing: 5, sales: 0, days: 30) == nil)
        #expect(CollectionMetrics.cei(opening: 0, sales: 0, closing: 0, closingCurrent: 0) == nil)
        #expect(CollectionMetrics.percent(1, of: 0) == nil)
        #expect(CollectionMetrics.averageDaysDelinquent(dso: nil, best: 3) == nil)
    }

    @Test("a monthly target's share of a period: whole months whole, part months by their days, rounded once")
    func targets() {
        let day = { (text: String) in CivilDate(text)! }
        #expect(CollectionMetrics.target(monthly: 30_000_00, from: day("2026-11-01"), through: day("2026-11-30")) == 30_000_00)
        #expect(CollectionMetrics.target(monthly: 30_000_00, from: day("2026-11-01"), through: day("2026-11-10")) == 10_000_00)
        // 10 of November's 30 days and all of December: 10,000 + 30,000.
        #expect(CollectionMetrics.target(monthly: 30_000_00, from: day("2026-11-21"), through: day("2026-12-31")) == 40_000_00)
        // 1 of February 2028's 29 days of 100: 3.448... rounds to 3.
        #expect(CollectionMetrics.target(monthly: 100, from: day("2028-02-29"), through: day("2028-02-29")) == 3)
        #expect(CollectionMetrics.target(monthly: 0, from: day("2026-11-01"), through: day("2026-11-30")) == 0)
        #expect(CollectionMetrics.percent(38_000_00, of: CollectionMetrics.target(monthly: 50_000_00, from: day("2026-11-01"), through: day("2026-11-30"))) == 76)
    }
}
