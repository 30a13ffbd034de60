import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Receivables/Metrics on a hand-made ledger whose every figure is worked out below.
@Suite("Services in process: metrics")
struct MetricsServiceTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func usd(_ major: Int64) -> Money { Money(minorUnits: major * 100, currency: .usd) }

    /// Globe (Ana's): invoices of 70,000 (Sep 1, due Sep 30), 80,000 (Oct 1, due Oct 31) and
    /// 100,000 (Nov 1, due Dec 1); 38,000 paid on Nov 10 onto the September invoice. A promise of
    /// 38,000 for Nov 12 (kept by that payment) and one of 10,000 on the October invoice for Nov 10
    /// (broken); a dispute open since Nov 20 and one resolved in October. Ben's customer owes in
    /// euros only.
    static func world() throws -> (Router, TenantHandle) {
        let zone = TimeZone(identifier: "UTC")!
        let tenant = TenantHandle(id: "t-acme", store: try TenantStore(), baseCurrency: .usd, timeZone: zone, clock: WallClock.fixed(day("2026-11-30"), in: zone))
        let store = tenant.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-ana"),
            Customer(id: "C2", number: "1002", name: "Euro Foods", analystID: "u-ben"),
        ])
        try store.post([
            LedgerEntry(id: "INV-S", kind: .invoice, customerID: "C1", amount: usd(70_000), date: day("2026-09-01"), dueDate: day("2026-09-30"), reference: "INV-S"),
            LedgerEntry(id: "INV-O", kind: .invoice, customerID: "C1", amount: usd(80_000), date: day("2026-10-01"), dueDate: day("2026-10-31"), reference: "INV-O"),
            LedgerEntry(id: "INV-N", kind: .invoice, customerID: "C1", amount: usd(100_000), date: day("2026-11-01"), dueDate: day("2026-12-01"), reference: "INV-N"),
            LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: usd(38_000), date: day("2026-11-10")),
            LedgerEntry(id: "APP-1", kind: .application, customerID: "C1", amount: usd(38_000), date: day("2026-11-10"), sourceID: "PAY-1", targetID: "INV-S"),
            LedgerEntry(id: "INV-E", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 5_000_00, currency: .eur), date: day("2026-11-02"), dueDate: day("2026-11-30"), reference: "INV-E"),
        ])
        try store.upsert([
            PromiseToPay(id: "P-KEPT", customerID: "C1", invoiceIDs: ["INV-S"], amount: usd(38_000), madeOn: day("2026-11-01"), promisedDate: day("2026-11-12")),
            PromiseToPay(id: "P-BROKEN", customerID: "C1", invoiceIDs: ["INV-O"], amount: usd(10_000), madeOn: day("2026-11-01"), promisedDate: day("2026-11-10")),
        ])
        try store.upsert([
            Dispute(id: "D-OPEN", customerID: "C1", invoiceIDs: ["INV-O"], amount: usd(1_000), reasonCode: "pricing", openedOn: day("2026-11-20")),
            Dispute(id: "D-DONE", customerID: "C1", invoiceIDs: ["INV-S"], amount: usd(500), reasonCode: "pricing", status: .resolved,
                    openedOn: day("2026-10-01"), resolvedOn: day("2026-10-15")),
        ])
        var router = Router()
        ReceivablesService(tenants: FixedTenants([tenant])).register(in: &router)
        return (router, tenant)
    }

    static func call(_ router: Router, _ request: Dunlin_V1_MetricsRequest, role: Role = .viewer) async throws -> Dunlin_V1_MetricsResponse {
        try await router.callLocally(Receivables.metrics, request, context: .local(principal: .with { $0.id = "u-v"; $0.tenantID = "t-acme"; $0.role = role.rawValue }))
    }

    static func close(_ value: Double, _ expected: Double) -> Bool { abs(value - expected) < 1e-9 }

    @Test("November, by hand: DSO 63.6 (simple) and 74.7 (countback), best 30, ADD 44.7, CEI 25.3%, 1 of 2 promises kept, 1 dispute 10 days old")
    func november() async throws {
        let (router, _) = try Self.world()
        let response = try await Self.call(router, .init())  // default: the month of today, 2026-11-01 to 2026-11-30
        #expect(response.baseCurrency == "USD" && response.excludedCurrencies == ["EUR"])
        let row = try #require(response.rows.first)
        #expect(response.rows.count == 1 && row.from == "2026-11-01" && row.through == "2026-11-30" && row.analystID.isEmpty)
        // Closing: 32,000 + 80,000 + 100,000; opening (Oct 31): 70,000 + 80,000.
        #expect(row.closing.minor == 212_000_00 && row.opening.minor == 150_000_00)
        #expect(row.closingCurrent.minor == 100_000_00 && row.closingOver90.minor == 0)
        #expect(row.sales.minor == 100_000_00 && row.collected.minor == 38_000_00)
        #expect(Self.close(row.dsoSimple, 212.0 / 100.0 * 30))                 // 63.6
        #expect(Self.close(row.dsoCountback, 30 + 31 + 32.0 / 70.0 * 30))       // Nov, Oct (31 days), 32/70 of Sep
        #expect(Self.close(row.bestPossibleDso, 30))                          // 100,000 / 100,000 x 30
        #expect(Self.close(row.averageDaysDelinquent, 31 + 32.0 / 70.0 * 30))
        #expect(Self.close(row.cei, (150.0 + 100 - 212) / (150.0 + 100 - 100) * 100))  // 25.33%
        #expect(Self.close(row.over90Percent, 0))
        #expect(row.promisesDue == 2 && row.promisesKept == 1 && Self.close(row.promiseKeptPercent, 50))
        #expect(row.disputesOpen == 1 && Self.close(row.disputeAverageAgeDays, 10))
        #expect(row.target.minor == 0 && !row.hasCollectedPercentOfTarget, "no target set")
    }

    @Test("collected against the monthly target: 38,000 of 50,000 is 76%; a target that is no whole number is refused naming the setting")
    func target() async throws {
        let (router, tenant) = try Self.world()
        try tenant.store.upsert([TenantSetting(id: "metrics.collection_target", value: "5000000")])
        let row = try #require(try await Self.call(router, .init()).rows.first)
        #expect(row.target.minor == 50_000_00 && Self.close(row.collectedPercentOfTarget, 76))
        #expect(throws: (any Error).self) { try tenant.store.upsert([TenantSetting(id: "metrics.collection_target", value: "5e6")]) }
    }

    @Test("by month and by analyst: a row per month, and per analyst plus the tenant; Ben's euros count nowhere")
    func series() async throws {
        let (router, _) = try Self.world()
        let response = try await Self.call(router, .with { $0.from = "2026-10-01"; $0.through = "2026-11-30"; $0.byMonth = true; $0.byAnalyst = true })
        #expect(response.rows.map(\.analystID) == ["", "", "u-ana", "u-ana", "u-ben", "u-ben"])
        #expect(response.rows.map(\.through) == ["2026-10-31", "2026-11-30", "2026-10-31", "2026-11-30", "2026-10-31", "2026-11-30"])
        let october = response.rows[0]
        #expect(october.sales.minor == 80_000_00 && october.closing.minor == 150_000_00 && october.opening.minor == 70_000_00)
        #expect(october.disputesOpen == 0 && october.promisesDue == 0 && !october.hasPromiseKeptPercent)
        // November's opening is October's closing, and what the single-period read finds for it.
        #expect(response.rows[1].opening.minor == 150_000_00)
        #expect(response.rows[1].dsoCountback == (try await Self.call(router, .init()).rows[0].dsoCountback))
        #expect(response.rows[3].closing == response.rows[1].closing, "Ana's customers are all of the USD receivables")
        #expect(response.rows[5].closing.minor == 0 && !response.rows[5].hasDsoSimple, "no sales: no DSO, not zero")
    }

    @Test("a series reads once what its months share, and each row equals that month asked alone: aging, promises (a plan across months, one made late), disputes")
    func seriesEqualsMonthsAlone() async throws {
        let (router, tenant) = try Self.world()
        // A plan of two installments (Oct 20 and Nov 20) made Oct 1, paid 1,000 on Oct 21 (the
        // first kept within its grace), and a promise made Nov 25 for Nov 28 (counts in November
        // only from the day after it was made).
        try tenant.store.post([
            LedgerEntry(id: "PAY-2", kind: .payment, customerID: "C1", amount: Self.usd(1_000), date: Self.day("2026-10-21")),
            LedgerEntry(id: "APP-2", kind: .application, customerID: "C1", amount: Self.usd(1_000), date: Self.day("2026-10-21"), sourceID: "PAY-2", targetID: "INV-O"),
        ])
        try tenant.store.upsert([
            PromiseToPay(
                id: "P-PLAN", customerID: "C1", invoiceIDs: ["INV-O"], amount: Self.usd(2_000), madeOn: Self.day("2026-10-01"), promisedDate: Self.day("2026-11-20"),
                installments: [Installment(dueDate: Self.day("2026-10-20"), amount: Self.usd(1_000)), Installment(dueDate: Self.day("2026-11-20"), amount: Self.usd(1_000))]
            ),
            PromiseToPay(id: "P-LATE", customerID: "C1", invoiceIDs: ["INV-N"], amount: Self.usd(500), madeOn: Self.day("2026-11-25"), promisedDate: Self.day("2026-11-28")),
        ])
        let series = try await Self.call(router, .with { $0.from = "2026-08-15"; $0.through = "2026-12-31"; $0.byMonth = true; $0.byAnalyst = true })
        #expect(series.rows.count == 5 * 3)
        for row in series.rows {
            let alone = try await Self.call(router, .with { $0.from = row.from; $0.through = row.through; $0.analystID = row.analystID })
            #expect(alone.rows == [row], "\(row.analystID) \(row.from)...\(row.through)")
        }
        let october = try #require(series.rows.first { $0.analystID.isEmpty && $0.from == "2026-10-01" })
        let november = try #require(series.rows.first { $0.analystID.isEmpty && $0.from == "2026-11-01" })
        #expect(october.promisesDue == 1 && october.promisesKept == 1, "the plan's first installment")
        let december = try #require(series.rows.first { $0.analystID.isEmpty && $0.from == "2026-12-01" })
        #expect(november.promisesDue == 3 && november.promisesKept == 1, "kept, broken, and the plan's second installment (broken)")
        #expect(december.promisesDue == 1 && december.promisesKept == 0, "the late one: its deadline, with grace, is December 1")
    }

    @Test("periods at the ends of the calendar answer and never trap: December 9999 has no next month, year 1 no year before")
    func calendarEnds() async throws {
        let (router, _) = try Self.world()
        let last = try await Self.call(router, .with { $0.from = "9999-11-15"; $0.through = "9999-12-31"; $0.byMonth = true })
        #expect(last.rows.map(\.from) == ["9999-11-15", "9999-12-01"] && last.rows.map(\.through) == ["9999-11-30", "9999-12-31"])
        let first = try await Self.call(router, .with { $0.from = "0001-01-01"; $0.through = "0001-02-28"; $0.byMonth = true })
        #expect(first.rows.count == 2 && first.rows.allSatisfy { $0.closing.minor == 0 })
    }

    @Test("a period backwards, too long, or malformed is refused naming the field; a viewer may read; another tenant is not there")
    func refusals() async throws {
        let (router, _) = try Self.world()
        for (request, field) in [
            (Dunlin_V1_MetricsRequest.with { $0.from = "2026-12-01"; $0.through = "2026-11-30" }, "from"),
            (.with { $0.from = "2000-01-01"; $0.through = "2026-11-30" }, "from"),
            (.with { $0.through = "2026-13-01" }, "through"),
        ] {
            do {
                _ = try await Self.call(router, request)
                Issue.record("accepted \(request)")
            } catch let error as RPCError {
                #expect(error.details.first?.field == field, "\(error)")
            }
        }
        let other = await #expect(throws: RPCError.self) {
            _ = try await router.callLocally(Receivables.metrics, .init(), context: .local(principal: .with { $0.id = "u-x"; $0.tenantID = "t-other"; $0.role = "admin" }))
        }
        #expect(other?.code == .notFound || other?.code == .permissionDenied || other?.code == .unauthenticated)
    }
}

extension MetricsServiceTests {
    @Test("by team: a team's row adds its members' figures (a member need not be listed by analyst); the tenant's target is not a team's")
    func byTeam() async throws {
        let (router, tenant) = try Self.world()
        try tenant.store.upsert([Customer(id: "C3", number: "1003", name: "Harbor Foods", analystID: "u-ben")])
        try tenant.store.post([
            LedgerEntry(id: "INV-B", kind: .invoice, customerID: "C3", amount: Self.usd(10_000), date: Self.day("2026-11-05"), dueDate: Self.day("2026-12-05"), reference: "INV-B"),
        ])
        try tenant.store.upsert([
            TeamCalendar(id: "manila", timeZone: "Asia/Manila", members: ["u-ana"]),
            TeamCalendar(id: "everyone", timeZone: "America/New_York", members: ["u-ana", "u-ben"]),
            TeamCalendar(id: "nobody", timeZone: "America/New_York"),
        ])
        try tenant.store.upsert([TenantSetting(id: "metrics.collection_target", value: "5000000")])
        let response = try await Self.call(router, .with { $0.byTeam = true })
        #expect(response.rows.map { "\($0.analystID)|\($0.teamID)" } == ["|", "|everyone", "|manila"], "the tenant, then the teams with members, by name")
        let (all, everyone, manila) = (response.rows[0], response.rows[1], response.rows[2])
        #expect(manila.closing.minor == 212_000_00 && manila.sales.minor == 100_000_00 && manila.collected.minor == 38_000_00)
        #expect(everyone.closing.minor == 222_000_00 && everyone.sales.minor == 110_000_00 && everyone.closing == all.closing)
        #expect(Self.close(everyone.dsoSimple, 222.0 / 110.0 * 30) && Self.close(manila.dsoSimple, 212.0 / 100.0 * 30))
        #expect(everyone.promisesDue == 2 && everyone.disputesOpen == 1)
        #expect(all.target.minor == 50_000_00 && everyone.target.minor == 0 && !everyone.hasCollectedPercentOfTarget)
    }
}
