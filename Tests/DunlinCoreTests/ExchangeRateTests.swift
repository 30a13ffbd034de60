import DunlinCore
import Testing

/// Stored rates (DatedRate) and the choice of the rate in force on a day (AppliedRate.inForce),
/// with conversions worked out by hand.
@Suite("Exchange rates")
struct ExchangeRateTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }

    @Test("a rate quoted the other way round divides, rounding once half to even")
    func inverse() throws {
        // 1 USD = 56.125 PHP: 1,000.00 PHP is 1000 / 56.125 = 17.8173... USD.
        let quoted = try ExchangeRate(from: .usd, to: .php, rate: "56.125")
        let inverse = quoted.inverse()
        #expect(inverse.from == .php && inverse.to == .usd && inverse.inverted && inverse.quoted == "56.125")
        #expect(try inverse.convert(Money(minorUnits: 1_000_00, currency: .php)) == Money(minorUnits: 17_82, currency: .usd))
        // 1 EUR = 0.8 USD the other way: 1.00 USD = 1.25 EUR; 0.02 USD = 0.025 EUR, a tie, to even 0.02.
        let eur = try ExchangeRate(from: .eur, to: .usd, rate: "0.8").inverse()
        #expect(try eur.convert(Money(minorUnits: 100, currency: .usd)) == Money(minorUnits: 125, currency: .eur))
        #expect(try eur.convert(Money(minorUnits: 2, currency: .usd)) == Money(minorUnits: 2, currency: .eur))
        #expect(try eur.convert(Money(minorUnits: 6, currency: .usd)) == Money(minorUnits: 8, currency: .eur), "0.075 rounds to even 0.08")
        // Twice inverted is the quote again.
        #expect(quoted.inverse().inverse() == quoted)
        // The largest amount there is converts without trapping, or is refused.
        #expect(throws: MoneyError.overflow) { try ExchangeRate(from: .usd, to: .php, rate: "0.000000000001").inverse().convert(Money(minorUnits: .max, currency: .php)) }
        #expect(try ExchangeRate(from: .usd, to: .php, rate: "0.000000000001").convert(Money(minorUnits: .max, currency: .usd)).minorUnits == 9_223_372)
    }

    @Test("the rate in force: the latest dated on or before the day, either way round, the direct quote on a tie; later and unreadable ones are passed over")
    func inForce() throws {
        let quotes = [
            DatedRate(from: .eur, to: .usd, date: Self.day("2026-11-01"), rate: "1.08", source: "ECB"),
            DatedRate(from: .eur, to: .usd, date: Self.day("2026-12-15"), rate: "1.10"),
            DatedRate(from: .usd, to: .php, date: Self.day("2026-11-20"), rate: "56"),
            DatedRate(from: .php, to: .usd, date: Self.day("2026-11-20"), rate: "0.018"),
            DatedRate(from: .usd, to: .jpy, date: Self.day("2026-11-25"), rate: "150"),
            DatedRate(from: .jpy, to: .usd, date: Self.day("2026-11-10"), rate: "0.0066"),
            DatedRate(from: Currency(code: "GBP")!, to: .usd, date: Self.day("2026-11-29"), rate: "not a rate"),
            DatedRate(from: Currency(code: "GBP")!, to: .eur, date: Self.day("2026-11-29"), rate: "1.15"),
        ]
        let rates = AppliedRate.inForce(quotes, base: .usd, on: Self.day("2026-11-30"))
        #expect(Set(rates.keys) == [.eur, .php, .jpy], "GBP has no readable rate into USD; a GBP/EUR rate is not one")
        #expect(rates[.eur]?.rate.quoted == "1.08" && rates[.eur]?.quote?.source == "ECB", "the December rate is not in force yet")
        #expect(rates[.php]?.rate.quoted == "0.018" && rates[.php]?.rate.inverted == false, "on one day the direct quote wins")
        #expect(rates[.jpy]?.rate.quoted == "150" && rates[.jpy]?.rate.inverted == true, "the later quote, the other way round")
        #expect(try rates[.jpy]!.rate.convert(Money(minorUnits: 15_000, currency: .jpy)) == Money(minorUnits: 100_00, currency: .usd))
        let later = AppliedRate.inForce(quotes, base: .usd, on: Self.day("2026-12-15"))
        #expect(later[.eur]?.rate.quoted == "1.10", "in force from its own day")
        #expect(AppliedRate.inForce(quotes, base: .usd, on: Self.day("2026-10-31")).isEmpty)
    }

    @Test("a stored rate: one currency into itself, a rate that is no positive decimal, control characters and an id not the pair's and day's are refused, naming the field")
    func validation() throws {
        let good = DatedRate(from: .usd, to: .php, date: Self.day("2026-11-30"), rate: "56.125")
        #expect(good.id == "fx_USD_PHP_2026-11-30")
        try good.validate()
        func field(_ rate: DatedRate) -> String? {
            do { try rate.validate(); return nil } catch { return error.field }
        }
        #expect(field(DatedRate(from: .usd, to: .usd, date: Self.day("2026-11-30"), rate: "1")) == "to_currency")
        for bad in ["-1", "0", "0.0", "", "1e3", "1,5", "56.1234567890123", " 56"] {
            #expect(field(DatedRate(from: .usd, to: .php, date: Self.day("2026-11-30"), rate: bad)) == "rate", "\(bad)")
        }
        #expect(field(DatedRate(from: .usd, to: .php, date: Self.day("2026-11-30"), rate: "56", source: "bell\u{07}")) == "source")
        var moved = good
        moved.id = "fx_USD_PHP_2026-12-01"
        #expect(field(moved) == "id")
    }
}

/// The month-end close's allowance matrix and rounding.
@Suite("Month-end close: the allowance")
struct AllowanceTests {
    @Test("rates are five percentages of at most two decimals, each 0 to 100; anything else is refused naming the setting")
    func matrix() throws {
        #expect(try AllowanceMatrix(parsing: "1,5,15,30,50", field: "f").basisPoints == [100, 500, 1500, 3000, 5000])
        #expect(try AllowanceMatrix(parsing: " 0, 2.5 ,10.25,25,100", field: "f").basisPoints == [0, 250, 1025, 2500, 10000])
        #expect(try AllowanceMatrix(parsing: "0,2.5,10.25,25,100", field: "f").text == "0,2.5,10.25,25,100")
        #expect(AllowanceMatrix.standard.text == "1,5,15,30,50")
        for bad in ["1,5,15,30", "1,5,15,30,50,60", "1,5,15,30,x", "1,5,15,30,-5", "1,5,15,30,5.555", "1,5,15,30,", "1,5,15,30,100.01", "1,5,15,30,1e2"] {
            #expect(throws: DomainError.self, "\(bad)") { try AllowanceMatrix(parsing: bad, field: "close.allowance_rates") }
        }
    }

    @Test("each bucket's allowance rounds half to even once; a month is YYYY-MM")
    func rounding() throws {
        let buckets = try PeriodClose.buckets([1_25, 3_75, 1, 3, -5], labels: ["a", "b", "c", "d", "e"], matrix: AllowanceMatrix(parsing: "2,2,50,50,50", field: "f"))
        // 2% of 1.25 = 0.025 -> 0.02; of 3.75 = 0.075 -> 0.08; half of 0.01 -> 0.00, of 0.03 -> 0.02, of -0.05 -> -0.02.
        #expect(buckets.map(\.allowance) == [2, 8, 0, 2, -2])
        #expect(try PeriodClose.month("2026-02") == (CivilDate("2026-02-01")!, CivilDate("2026-02-28")!))
        #expect(try PeriodClose.month("9999-12").last == CivilDate("9999-12-31")!)
        #expect(throws: DomainError.self) { try PeriodClose.month("2026-2") }
        #expect(throws: DomainError.self) { try PeriodClose.month("0000-01") }
    }
}
