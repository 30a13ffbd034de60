/// A rate to convert one currency into another for reporting: `1 from = rate to`, held as an exact
/// decimal (an integer and a power of ten), never a float.
///
/// Converted amounts round half to even, once, at the end; a converted figure is labelled as such
/// in reports, and the original amounts are never replaced by it.
///
/// A rate quoted the other way round (`1 to = rate from`) converts by dividing (``inverse()``),
/// still exactly: the quotient is rounded once, like a product.
public struct ExchangeRate: Sendable, Hashable, Codable {
    public let from: Currency
    public let to: Currency
    /// The rate's digits: rate = units / 10^scale.
    public let units: Int64
    public let scale: Int
    /// The rate is quoted `1 to = units / 10^scale from`: converting divides by it.
    public private(set) var inverted = false

    /// Parses a positive decimal rate such as "56.125" (PHP per USD).
    public init(from: Currency, to: Currency, rate text: String) throws(MoneyError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !text.isEmpty,
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }), parts[0].count + (parts.count == 2 ? parts[1].count : 0) > 0
        else { throw .malformed(text) }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 12, let units = Int64(String(parts[0]) + fraction), units > 0 else {
            throw .malformed(text)
        }
        self.from = from
        self.to = to
        self.units = units
        self.scale = fraction.count
    }

    /// The same quote used the other way round: `to` into `from`, by division.
    public func inverse() -> ExchangeRate {
        var rate = ExchangeRate(from: to, to: from, units: units, scale: scale)
        rate.inverted = !inverted
        return rate
    }

    private init(from: Currency, to: Currency, units: Int64, scale: Int) {
        self.from = from
        self.to = to
        self.units = units
        self.scale = scale
    }

    /// The quoted rate as a decimal ("56.125"), whichever way it is used.
    public var quoted: String {
        let digits = String(units)
        guard scale > 0 else { return digits }
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        return padded.dropLast(scale) + "." + padded.suffix(scale)
    }

    /// `money` (in `from`) expressed in `to`, rounded half to even to `to`'s minor unit.
    public func convert(_ money: Money) throws(MoneyError) -> Money {
        guard money.currency == from else { throw .currencyMismatch(money.currency, from) }
        // amount_to_minor = amount_from_minor * units / 10^scale * 10^(to.exp - from.exp),
        // or * 10^scale / units for an inverted quote.
        var power = Int128(1)
        for _ in 0..<scale { power *= 10 }
        var numerator = Int128(money.minorUnits) * (inverted ? power : Int128(units))
        var denominator = inverted ? Int128(units) : power
        let shift = to.exponent - from.exponent
        if shift > 0 {
            for _ in 0..<shift { numerator *= 10 }
        } else {
            for _ in 0..<(-shift) { denominator *= 10 }
        }
        var quotient = numerator / denominator
        let remainder = numerator % denominator
        let twice = remainder.magnitude * 2
        if twice > denominator.magnitude || (twice == denominator.magnitude && quotient % 2 != 0) {
            quotient += numerator < 0 ? -1 : 1
        }
        guard let minor = Int64(exactly: quotient) else { throw .overflow }
        return Money(minorUnits: minor, currency: to)
    }
}

/// A tenant's rate for a currency pair from a day on (kind `exchange_rate`): `1 from = rate to`,
/// in force from `date` until a later rate of the pair. Managers set them (`dunlin rates`); every
/// replica holds them, and aging, metrics, reports and the worklist convert with the rate in
/// force on their as-of day (``AppliedRate/inForce(_:base:on:)``), saying which they used.
///
/// A pair has one record per day: its id is made of the pair and the day (``id(from:to:date:)``),
/// so two managers setting the same day's rate offline edit one record, and sync keeps the later.
public struct DatedRate: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var from: Currency
    public var to: Currency
    /// The first day the rate is in force.
    public var date: CivilDate
    /// The rate as a positive decimal, as ``ExchangeRate/init(from:to:rate:)`` reads it.
    public var rate: String
    /// Where the rate came from ("BSP reference rate"), free text.
    public var source: String

    public init(from: Currency, to: Currency, date: CivilDate, rate: String, source: String = "") {
        self.id = Self.id(from: from, to: to, date: date)
        self.from = from
        self.to = to
        self.date = date
        self.rate = rate
        self.source = source
    }

    /// The record of `from`/`to` on `date`: "fx_USD_PHP_2026-11-30".
    public static func id(from: Currency, to: Currency, date: CivilDate) -> String {
        "\(RecordID.prefix(for: .exchangeRate))\(from.code)_\(to.code)_\(date)"
    }

    /// The rate to convert with; refuses one that is not a positive decimal.
    public func exchangeRate() throws(DomainError) -> ExchangeRate {
        do { return try ExchangeRate(from: from, to: to, rate: rate) } catch { throw .money(field: "rate", error) }
    }

    /// Refuses a pair of one currency, a rate that is not a positive decimal of at most twelve
    /// decimals, source text with control characters, and an id other than the pair's and day's.
    public func validate() throws(DomainError) {
        guard from != to else { throw .invalid(field: "to_currency", "a rate converts one currency into another, not \(from) into itself") }
        _ = try exchangeRate()
        try Require.text(["source": source])
        let expected = Self.id(from: from, to: to, date: date)
        guard id == expected else { throw .invalid(field: "id", "the \(from)/\(to) rate of \(date) is \(expected), not \(id)") }
    }
}

/// The rate a report converted one currency with: a stored ``DatedRate`` in force on the report's
/// day (possibly quoted the other way round), or one given with the request.
public struct AppliedRate: Sendable, Hashable {
    /// Converts `rate.from` into the report's base currency.
    public var rate: ExchangeRate
    /// The stored rate it came from; nil when the request gave it.
    public var quote: DatedRate?

    public init(rate: ExchangeRate, quote: DatedRate? = nil) {
        self.rate = rate
        self.quote = quote
    }

    /// For each currency with a rate into `base` in force on `day`, the rate to use: the latest
    /// stored rate dated on or before `day`, of the pair either way round (`X -> base` used as
    /// quoted, `base -> X` by division); on one day, the direct quote wins. A rate that does not
    /// read (a hand-edited replica) is passed over.
    public static func inForce(_ quotes: [DatedRate], base: Currency, on day: CivilDate) -> [Currency: AppliedRate] {
        var chosen: [Currency: (rate: AppliedRate, date: CivilDate, direct: Bool)] = [:]
        for quote in quotes where quote.date <= day {
            let direct = quote.to == base
            guard direct || quote.from == base, quote.from != quote.to, let rate = try? quote.exchangeRate() else { continue }
            let currency = direct ? quote.from : quote.to
            if let current = chosen[currency], (current.date, current.direct ? 1 : 0) >= (quote.date, direct ? 1 : 0) { continue }
            chosen[currency] = (AppliedRate(rate: direct ? rate : rate.inverse(), quote: quote), quote.date, direct)
        }
        return chosen.mapValues(\.rate)
    }
}
