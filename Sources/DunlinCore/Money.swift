import Foundation

/// An amount of money: a whole number of minor units (cents, centavos, fils) in one currency.
///
/// No floating point anywhere: amounts are parsed from decimal text digit by digit, added with
/// overflow checks, and never silently rounded. Arithmetic across currencies is an error, not a
/// conversion; conversion happens only in reports, with an explicit rate (``ExchangeRate``).
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(minorUnits: 0, currency: currency) }

    /// The largest amount one ledger entry, promise, dispute or credit limit may carry, in minor
    /// units: 10^15 (USD 10,000,000,000,000.00; JPY 1,000,000,000,000,000). Larger is refused
    /// OUT_OF_RANGE wherever an amount enters. The bound is what keeps every sum the reports make
    /// exact: with it, 9,223 items at the maximum still fit the wire's int64, and the reports add in
    /// 128 bits (``MoneyTotals``, ``AgingReport``), answering OUT_OF_RANGE only for a total that the
    /// wire cannot carry.
    public static let maximumMinorUnits: Int64 = 1_000_000_000_000_000

    /// The largest magnitude an invoice's open balance or a payment's unapplied amount may reach,
    /// in minor units: 10^18. An entry that would take one beyond it is refused OUT_OF_RANGE, so the
    /// store's balance arithmetic (each step adds at most ``maximumMinorUnits``) never leaves Int64.
    public static let maximumBalanceMinorUnits: Int64 = 1_000_000_000_000_000_000

    /// Whether the amount is within ``maximumMinorUnits`` either way.
    public var isWithinMaximum: Bool { minorUnits.magnitude <= Self.maximumMinorUnits.magnitude }

    public var isZero: Bool { minorUnits == 0 }
    public var isPositive: Bool { minorUnits > 0 }
    public var isNegative: Bool { minorUnits < 0 }

    /// Parses decimal text such as "1000", "1,000.50", "-12.5" or "0.001" (KWD).
    ///
    /// Refuses more fraction digits than the currency has (1.005 USD is not an amount: it would have
    /// to be rounded), exponents, spaces inside the number, and anything that overflows.
    public init(parsing text: String, currency: Currency) throws(MoneyError) {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if digits.first == "-" {
            negative = true
            digits = digits.dropFirst()
        } else if digits.first == "+" {
            digits = digits.dropFirst()
        }
        let parts = digits.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard !digits.isEmpty, parts.count <= 2 else { throw .malformed(text) }
        let whole = parts[0].replacingOccurrences(of: ",", with: "")
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard !whole.isEmpty || !fraction.isEmpty,
            whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit)
        else { throw .malformed(text) }
        if parts[0].contains(",") {
            // Thousands separators must group by three: "1,000" yes, "1,00" no.
            let groups = parts[0].split(separator: ",", omittingEmptySubsequences: false)
            guard groups.first.map({ (1...3).contains($0.count) }) == true, groups.dropFirst().allSatisfy({ $0.count == 3 }) else {
                throw .malformed(text)
            }
        }
        guard fraction.count <= currency.exponent else {
            throw .tooPrecise(text, currency: currency)
        }
        var value: Int64 = 0
        for character in whole + fraction.padding(toLength: currency.exponent, withPad: "0", startingAt: 0) {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = shifted.addingReportingOverflow(Int64(character.asciiValue! - 48))
            guard !overflow1, !overflow2 else { throw .overflow }
            value = added
        }
        self.init(minorUnits: negative ? -value : value, currency: currency)
    }

    /// The amount as decimal text with exactly the currency's digits: "1000.50", "-3", "0.125".
    public var decimalString: String {
        let magnitude = minorUnits.magnitude
        let per = UInt64(currency.minorUnitsPerMajor)
        let sign = minorUnits < 0 ? "-" : ""
        guard currency.exponent > 0 else { return sign + String(magnitude) }
        let fraction = String(magnitude % per)
        return sign + String(magnitude / per) + "." + String(repeating: "0", count: currency.exponent - fraction.count) + fraction
    }

    /// For people: "USD 1,000.50", "USD -0.05", "JPY 1,500": the code, the sign, the whole
    /// units in groups of three, and exactly the currency's digits. Written byte by byte, last
    /// digit first (a worklist page puts thousands of amounts into words).
    public var description: String {
        var magnitude = minorUnits.magnitude
        var reversed: [UInt8] = []
        reversed.reserveCapacity(32)
        func digit(_ value: UInt64) { reversed.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)) }
        if currency.exponent > 0 {
            for _ in 0..<currency.exponent {
                digit(magnitude)
                magnitude /= 10
            }
            reversed.append(UInt8(ascii: "."))
        }
        var count = 0
        repeat {
            if count > 0, count % 3 == 0 { reversed.append(UInt8(ascii: ",")) }
            digit(magnitude)
            magnitude /= 10
            count += 1
        } while magnitude > 0
        if minorUnits < 0 { reversed.append(UInt8(ascii: "-")) }
        reversed.append(UInt8(ascii: " "))
        reversed.append(contentsOf: currency.code.utf8.reversed())
        return String(decoding: reversed.reversed(), as: UTF8.self)
    }

    public func adding(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: sum, currency: currency)
    }

    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: difference, currency: currency)
    }

    public var negated: Money { Money(minorUnits: -minorUnits, currency: currency) }
}

/// Why an amount was refused.
public enum MoneyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a decimal number.
    case malformed(String)
    /// More fraction digits than the currency's minor unit has.
    case tooPrecise(String, currency: Currency)
    /// Outside what 64 bits of minor units hold.
    case overflow
    /// Arithmetic across two currencies.
    case currencyMismatch(Currency, Currency)
    /// An unknown ISO 4217 code.
    case unknownCurrency(String)
    /// A total (a sum of many amounts) beyond what 64 bits of minor units carry.
    case totalOutOfRange(Currency)

    public var description: String {
        switch self {
        case .malformed(let text): "\"\(text)\" is not a decimal amount"
        case .tooPrecise(let text, let currency):
            "\"\(text)\" has more than \(currency.exponent) decimal place(s), the most \(currency.code) has"
        case .overflow: "amount is too large"
        case .currencyMismatch(let a, let b): "cannot combine \(a.code) with \(b.code)"
        case .unknownCurrency(let code): "\"\(code)\" is not an ISO 4217 currency"
        case .totalOutOfRange(let currency):
            "the \(currency.code) total is beyond \(Int64.max) minor units, more than a report can carry; report a narrower set"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// A total per currency: adding amounts of several currencies never mixes them.
///
/// Sums are kept in 128 bits, so adding never fails (2^64 amounts of any Int64 size fit); only
/// reading a total that Int64 (the wire's int64) cannot carry is an error.
public struct MoneyTotals: Sendable, Hashable {
    public private(set) var byCurrency: [Currency: Int128] = [:]

    public init() {}

    public mutating func add(_ money: Money) {
        byCurrency[money.currency, default: 0] += Int128(money.minorUnits)
    }

    /// The total in `currency`; beyond Int64 it is ``MoneyError/totalOutOfRange(_:)``.
    public func total(_ currency: Currency) throws(MoneyError) -> Money {
        Money(minorUnits: try MoneyTotals.narrow(byCurrency[currency] ?? 0, currency), currency: currency)
    }

    /// Every total, by currency code; beyond Int64 it is ``MoneyError/totalOutOfRange(_:)``.
    public func amounts() throws(MoneyError) -> [Money] {
        var amounts: [Money] = []
        for currency in byCurrency.keys.sorted() { amounts.append(try total(currency)) }
        return amounts
    }

    /// A wide sum as Int64, or the error saying it cannot be carried.
    public static func narrow(_ sum: Int128, _ currency: Currency) throws(MoneyError) -> Int64 {
        guard let narrow = Int64(exactly: sum) else { throw .totalOutOfRange(currency) }
        return narrow
    }
}
