import DunlinCore
import Foundation
import Testing

@Suite("Money, currencies and rates")
struct MoneyTests {
    @Test("each currency has its ISO 4217 exponent", arguments: [("JPY", 0), ("USD", 2), ("PHP", 2), ("EUR", 2), ("KWD", 3), ("BHD", 3), ("CLF", 4), ("KRW", 0)])
    func exponents(_ code: String, _ exponent: Int) throws {
        #expect(try #require(Currency(code: code)).exponent == exponent)
    }

    @Test("an unknown currency code does not exist", arguments: ["XXX1", "ABC", "", "usdollar", "BTC"])
    func unknownCurrency(_ code: String) {
        #expect(Currency(code: code) == nil)
    }

    @Test("decimal text parses exactly into minor units", arguments: [
        ("1000", "USD", 100_000), ("1,000.50", "USD", 100_050), ("0.01", "USD", 1), ("-12.5", "USD", -1250),
        ("1500", "JPY", 1500), ("0.125", "KWD", 125), ("12,345,678.90", "PHP", 1_234_567_890), (".5", "USD", 50),
    ] as [(String, String, Int64)])
    func parsing(_ text: String, _ code: String, _ minor: Int64) throws {
        let money = try Money(parsing: text, currency: try #require(Currency(code: code)))
        #expect(money.minorUnits == minor)
    }

    @Test("an amount is never rounded: more decimals than the currency has is refused")
    func tooPrecise() {
        #expect(throws: MoneyError.tooPrecise("1.005", currency: .usd)) { try Money(parsing: "1.005", currency: .usd) }
        #expect(throws: MoneyError.tooPrecise("10.5", currency: .jpy)) { try Money(parsing: "10.5", currency: .jpy) }
    }

    @Test("text that is not a decimal amount is refused", arguments: ["", "abc", "1e5", "1.2.3", "1,00", "12 34", "--1", "1,0000.00", "NaN", "٣"])
    func malformed(_ text: String) {
        #expect(throws: MoneyError.self) { try Money(parsing: text, currency: .usd) }
    }

    @Test("amounts past 64 bits of minor units are refused, not wrapped")
    func overflow() {
        #expect(throws: MoneyError.overflow) { try Money(parsing: "92233720368547758.08", currency: .usd) }
        let big = Money(minorUnits: .max, currency: .usd)
        #expect(throws: MoneyError.overflow) { try big.adding(Money(minorUnits: 1, currency: .usd)) }
    }

    @Test("money of two currencies does not add")
    func mixedCurrencies() {
        #expect(throws: MoneyError.currencyMismatch(.usd, .php)) {
            try Money(minorUnits: 1, currency: .usd).adding(Money(minorUnits: 1, currency: .php))
        }
    }

    @Test("amounts print with exactly the currency's digits")
    func formatting() {
        #expect(Money(minorUnits: 100_050, currency: .usd).decimalString == "1000.50")
        #expect(Money(minorUnits: -5, currency: .usd).decimalString == "-0.05")
        #expect(Money(minorUnits: 1500, currency: .jpy).decimalString == "1500")
        #expect(Money(minorUnits: 125, currency: .kwd).decimalString == "0.125")
        #expect(Money(minorUnits: 123_456_789, currency: .usd).description == "USD 1,234,567.89")
    }

    @Test("amounts print for people as the decimal text grouped in thousands, for every exponent and the extremes", arguments: 0..<20)
    func peopleFormatting(_ seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        /// The decimal text with its whole part grouped by threes, character by character.
        func grouped(_ money: Money) -> String {
            let text = money.decimalString
            let negative = text.hasPrefix("-")
            let parts = (negative ? String(text.dropFirst()) : text).split(separator: ".", omittingEmptySubsequences: false)
            var whole = ""
            for (index, character) in parts[0].reversed().enumerated() {
                if index > 0, index % 3 == 0 { whole.append(",") }
                whole.append(character)
            }
            return "\(money.currency.code) \(negative ? "-" : "")\(String(whole.reversed()))\(parts.count > 1 ? "." + parts[1] : "")"
        }
        let currencies = try ["JPY", "USD", "KWD", "CLF"].map { try #require(Currency(code: $0)) }
        var amounts: [Int64] = [0, 1, -1, 9, 10, 99, 100, 999, 1_000, 1_001, -1_000, 999_999, 1_000_000, .max, .min, .min + 1]
        for _ in 0..<200 {
            let digits = Int.random(in: 1...18, using: &generator)
            amounts.append(Int64.random(in: -(Int64(pow(10, Double(digits))))...Int64(pow(10, Double(digits))), using: &generator))
        }
        for currency in currencies {
            for amount in amounts {
                let money = Money(minorUnits: amount, currency: currency)
                #expect(money.description == grouped(money), "\(amount) \(currency.code)")
            }
        }
        #expect(Money(minorUnits: -5, currency: .usd).description == "USD -0.05")
        #expect(Money(minorUnits: 1_500, currency: .jpy).description == "JPY 1,500")
    }

    @Test("parsing what was printed gives back the same amount", arguments: 0..<200)
    func roundTrip(_ seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let currency = [Currency.usd, .jpy, .kwd, .php][seed % 4]
        let money = Money(minorUnits: Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &generator), currency: currency)
        #expect(try Money(parsing: money.decimalString, currency: currency) == money)
    }

    @Test("conversion rounds half to even, once")
    func exchange() throws {
        let usdToPHP = try ExchangeRate(from: .usd, to: .php, rate: "56.125")
        #expect(try usdToPHP.convert(Money(minorUnits: 100, currency: .usd)).minorUnits == 5612)  // 56.125 -> 56.12 (even)
        #expect(try usdToPHP.convert(Money(minorUnits: 300, currency: .usd)).minorUnits == 16838)  // 168.375 -> 168.38 (even)
        let jpyToUSD = try ExchangeRate(from: .jpy, to: .usd, rate: "0.0067")
        #expect(try jpyToUSD.convert(Money(minorUnits: 1500, currency: .jpy)).minorUnits == 1005)  // 10.05
        let kwdToUSD = try ExchangeRate(from: .kwd, to: .usd, rate: "3.25")
        #expect(try kwdToUSD.convert(Money(minorUnits: 1_001, currency: .kwd)).minorUnits == 325)  // 3.25325 -> 3.25
        #expect(throws: MoneyError.self) { try ExchangeRate(from: .usd, to: .php, rate: "-1") }
        #expect(throws: MoneyError.self) { try ExchangeRate(from: .usd, to: .php, rate: "0") }
    }

    @Test("a million random amounts total to the minor unit")
    func millionAmounts() async throws {
        var generator = SeededGenerator(seed: 42)
        var totals = MoneyTotals()
        var expected: [Currency: Int64] = [:]
        let currencies: [Currency] = [.usd, .php, .jpy, .kwd]
        for index in 0..<1_000_000 {
            // A long CPU-bound loop yields now and then, so it does not starve other tests' tasks.
            if index % 50_000 == 0 { await Task.yield() }
            let currency = currencies[index % currencies.count]
            let minor = Int64.random(in: 1...10_000_000, using: &generator)
            totals.add(try Money(parsing: Money(minorUnits: minor, currency: currency).decimalString, currency: currency))
            expected[currency, default: 0] += minor
        }
        for currency in currencies {
            #expect(try totals.total(currency).minorUnits == expected[currency])
        }
    }
}
