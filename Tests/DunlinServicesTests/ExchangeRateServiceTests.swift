import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// A tenant's exchange rates (`Records/UpsertExchangeRates` and the rest) and the converted
/// totals that use them: the aging, the metrics and the worklist, on 2026-11-23 in Chicago.
@Suite("Services in process: exchange rates")
struct ExchangeRateServiceTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }

    static func rate(_ from: String, _ to: String, _ rate: String, on date: String = "", id: String = "") -> Dunlin_V1_ExchangeRateRecord {
        .with { $0.fromCurrency = from; $0.toCurrency = to; $0.rate = rate; $0.date = date; $0.id = id }
    }

    /// Acme (USD): Ana's (u-a) C1 owes USD 1,000.00 due Oct 1, C2 EUR 500.00 due Oct 15. EUR/USD
    /// is 1.08 from Nov 1 and 1.10 from Nov 20.
    static func world() async throws -> InProcessTenants {
        let tenants = try InProcessTenants.make()
        let store = tenants.acme.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-a"),
            Customer(id: "C2", number: "1002", name: "Euro Foods", analystID: "u-a"),
        ])
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd),
                        date: day("2026-09-01"), dueDate: day("2026-10-01"), reference: "INV-1"),
            LedgerEntry(id: "INV-E", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 500_00, currency: .eur),
                        date: day("2026-09-15"), dueDate: day("2026-10-15"), reference: "INV-E"),
        ])
        _ = try await tenants.acme(.manager).unary(Records.upsertExchangeRates, .with {
            $0.rates = [rate("EUR", "USD", "1.08", on: "2026-11-01"), rate("EUR", "USD", "1.10", on: "2026-11-20")]
        })
        return tenants
    }

    @Test("managers set rates (the id is the pair's and the day's, the day defaults to today); analysts and viewers only read; another tenant sees none")
    func rights() async throws {
        let tenants = try await Self.world()
        let saved = try await tenants.acme(.manager).unary(Records.upsertExchangeRates, .with { $0.rates = [Self.rate("USD", "PHP", "56.125")] }).rates
        #expect(saved.map(\.id) == ["fx_USD_PHP_2026-11-23"] && saved[0].date == "2026-11-23")
        for role in [Role.viewer, .analyst] {
            let refused = await refusal { _ = try await tenants.acme(role).unary(Records.upsertExchangeRates, .with { $0.rates = [Self.rate("USD", "JPY", "150")] }) }
            #expect(refused?.code == .permissionDenied, "\(role)")
            let deleting = await refusal { _ = try await tenants.acme(role).unary(Records.deleteExchangeRates, .with { $0.ids = ["fx_USD_PHP_2026-11-23"] }) }
            #expect(deleting?.code == .permissionDenied, "\(role)")
        }
        let listed = try await tenants.acme(.viewer).unary(Records.listExchangeRates, .with { $0.currency = "EUR" }).rates
        #expect(listed.map(\.id) == ["fx_EUR_USD_2026-11-01", "fx_EUR_USD_2026-11-20"])
        let got = try await tenants.acme(.viewer).unary(Records.getExchangeRate, .with { $0.id = "fx_USD_PHP_2026-11-23" })
        #expect(got.rate == "56.125")
        // Bayani's manager: none of Acme's rates, by list or by id.
        #expect(try await tenants.bayaniManager.unary(Records.listExchangeRates, .init()).rates.isEmpty)
        let foreign = await refusal { _ = try await tenants.bayaniManager.unary(Records.getExchangeRate, .with { $0.id = "fx_USD_PHP_2026-11-23" }) }
        #expect(foreign?.code == .notFound)
        let foreignDelete = await refusal { _ = try await tenants.bayaniManager.unary(Records.deleteExchangeRates, .with { $0.ids = ["fx_USD_PHP_2026-11-23"] }) }
        #expect(foreignDelete?.code == .notFound)
        #expect(try tenants.acme.store.exchangeRate("fx_USD_PHP_2026-11-23") != nil)
    }

    @Test("a bad rate refuses the whole batch, naming the item and the field")
    func refusals() async throws {
        let tenants = try await Self.world()
        let good = Self.rate("GBP", "USD", "1.27")
        let cases: [(Dunlin_V1_ExchangeRateRecord, String, StatusCode)] = [
            (Self.rate("XYZ", "USD", "1"), "from_currency", .invalidArgument),
            (Self.rate("GBP", "", "1"), "to_currency", .invalidArgument),
            (Self.rate("GBP", "GBP", "1"), "to_currency", .invalidArgument),
            (Self.rate("GBP", "USD", "-1.27"), "rate", .invalidArgument),
            (Self.rate("GBP", "USD", "0"), "rate", .invalidArgument),
            (Self.rate("GBP", "USD", "1.27", on: "2026-02-30"), "date", .invalidArgument),
            (Self.rate("GBP", "USD", "1.27", on: "2026-11-01", id: "fx_GBP_USD_2026-11-02"), "id", .invalidArgument),
        ]
        for (bad, field, code) in cases {
            let refused = await refusal { _ = try await tenants.acme(.manager).unary(Records.upsertExchangeRates, .with { $0.rates = [good, bad] }) }
            #expect(refused?.code == code && refused?.details.first?.field == field && refused?.details.first?.line == 2, "\(field): \(String(describing: refused))")
        }
        #expect(try tenants.acme.store.exchangeRates().items.map(\.id) == ["fx_EUR_USD_2026-11-01", "fx_EUR_USD_2026-11-20"], "nothing of a refused batch is kept")
    }

    @Test("the aging converts at the rate in force on its day and names it; a rate on the request overrides; before any rate, no converted total")
    func aging() async throws {
        let tenants = try await Self.world()
        let today = try await tenants.acme(.viewer).unary(Receivables.aging, .init())
        #expect(today.baseTotal.currency == "USD" && today.baseTotal.total == 1_550_00, "1,000.00 + 500.00 x 1.10")
        #expect(today.rates.map { [$0.currency, $0.baseCurrency, $0.rate, $0.date] } == [["EUR", "USD", "1.10", "2026-11-20"]] && !today.rates[0].given)
        let earlier = try await tenants.acme(.viewer).unary(Receivables.aging, .with { $0.asOf = "2026-11-10" })
        #expect(earlier.baseTotal.total == 1_540_00 && earlier.rates.map(\.rate) == ["1.08"])
        let given = try await tenants.acme(.viewer).unary(Receivables.aging, .with { $0.rates = [.with { $0.currency = "EUR"; $0.rate = "2" }] })
        #expect(given.baseTotal.total == 2_000_00 && given.rates.map(\.given) == [true])
        let before = try await tenants.acme(.viewer).unary(Receivables.aging, .with { $0.asOf = "2026-10-20" })
        #expect(!before.hasBaseTotal && before.rates.isEmpty && before.totals.count == 2)
    }

    @Test("the metrics convert each row at its last day's rates; a month before any rate leaves the currency out and names it")
    func metrics() async throws {
        let tenants = try await Self.world()
        let response = try await tenants.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-10-01"; $0.through = "2026-11-23"; $0.byMonth = true })
        #expect(response.excludedCurrencies == ["EUR"], "October has no EUR rate")
        let (october, november) = (response.rows[0], response.rows[1])
        #expect(october.closing.minor == 1_000_00 && october.rates.isEmpty)
        #expect(november.closing.minor == 1_550_00 && november.rates.map(\.rate) == ["1.10"])
        // November's opening is October's closing, in the rates of October's end.
        #expect(november.opening.minor == 1_000_00)
        // One row to Nov 10: at 1.08; the EUR sales of September converted into the countback.
        let tenth = try await tenants.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-11-01"; $0.through = "2026-11-10" })
        #expect(tenth.excludedCurrencies.isEmpty && tenth.rows[0].closing.minor == 1_540_00 && tenth.rows[0].rates.map(\.rate) == ["1.08"])
        #expect(tenth.rows[0].closingOver90.minor == 0 && tenth.rows[0].closingCurrent.minor == 0)
    }

    @Test("the worklist scores another currency's overdue at today's rate and names it")
    func worklist() async throws {
        let tenants = try await Self.world()
        let list = try await tenants.acme(.analyst).unary(Receivables.worklist, .init())
        let euro = try #require(list.rows.first { $0.customerID == "C2" })
        #expect(euro.overdueBase.currency == "USD" && euro.overdueBase.minor == 550_00)
        #expect(list.rates.map(\.currency) == ["EUR"] && list.rates[0].date == "2026-11-20")
    }

    @Test("the metrics convert each currency's sum once, not each customer's: two customers' EUR 1.00 at 1.005 are USD 2.01, not 1.00 + 1.00")
    func oncePerCurrency() async throws {
        let tenants = try InProcessTenants.make()
        let store = tenants.acme.store
        try store.upsert([Customer(id: "E1", number: "1", name: "One"), Customer(id: "E2", number: "2", name: "Two")])
        try store.post(["E1", "E2"].map { customer in
            LedgerEntry(id: "INV-\(customer)", kind: .invoice, customerID: customer, amount: Money(minorUnits: 1_00, currency: .eur),
                        date: Self.day("2026-11-02"), dueDate: Self.day("2026-11-30"), reference: "INV-\(customer)")
        })
        try store.upsert([DatedRate(from: .eur, to: .usd, date: Self.day("2026-11-01"), rate: "1.005")])
        let row = try #require(try await tenants.acme(.viewer).unary(Receivables.metrics, .with { $0.from = "2026-11-01"; $0.through = "2026-11-23" }).rows.first)
        #expect(row.closing.minor == 2_01 && row.closingCurrent.minor == 2_01 && row.sales.minor == 2_01)
    }
}
