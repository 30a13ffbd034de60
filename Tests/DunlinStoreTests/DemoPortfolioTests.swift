import Foundation
import DunlinCore
import DunlinStore
import Testing

@Suite("Demo portfolio")
struct DemoPortfolioTests {
    @Test("the demo portfolio posts cleanly and fills every aging bucket in several currencies")
    func demo() throws {
        let today = CivilDate("2026-11-23")!
        let demo = DemoPortfolio(today: today)
        let store = try TenantStore()
        try store.upsert(demo.customers)
        try store.post(demo.entries)
        let report = try AgingReport.compute(store.agingItems(), asOf: today)
        #expect(Set(report.totals.keys).isSuperset(of: [.usd, .php]))
        let buckets = report.totals.values.reduce(into: Array(repeating: Int64(0), count: 6)) { sum, amounts in
            for (index, amount) in amounts.enumerated() { sum[index] += amount }
        }
        #expect(buckets.allSatisfy { $0 > 0 }, "every bucket has money: \(buckets)")
        #expect(Set(demo.customers.map(\.timeZone)).isSuperset(of: ["Asia/Manila", "America/Chicago"]))
        #expect(try store.unappliedSources().contains { $0.entry.customerID.isEmpty })
        #expect(DemoPortfolio(today: today).entries == demo.entries, "deterministic")
    }

    @Test("a dunning run on the demo portfolio gives notices at several levels and holds the held customer")
    func demoDunning() throws {
        let today = CivilDate("2026-11-23")!
        let demo = DemoPortfolio(today: today)
        let store = try TenantStore()
        try store.upsert(demo.customers)
        try store.post(demo.entries)
        try store.upsert(demo.policies)
        try store.upsert(demo.holds)
        let run = try store.runDunning(asOf: today, at: Date(timeIntervalSince1970: 1_795_000_000))
        #expect(Set(run.created.map(\.levelDays)).count >= 3, "levels: \(run.created.map(\.levelDays))")
        #expect(Set(run.created.map(\.policyID)) == ["POL-KEY", "POL-STD"])
        #expect(run.heldCustomers == 1)
        #expect(!run.created.contains { $0.customerID == demo.holds[0].customerID })
    }
}
