/// A rate to convert one currency into another for reporting: `1 from = rate to`, held as an exact
/// decimal (an integer and a power of ten), never a float.
///
/// Converted amounts round half to even, once, at the end; a converted figure is labelled as such
/// in reports, and the original amounts are never replaced by it.
public struct ExchangeRate: Sendable, Hashable, Codable {
    public let from: Currency
    public let to: Currency
    /// The rate's digits: rate = units / 10^scale.
    public let units: Int64
    public let scale: Int

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

    /// `money` (in `from`) expressed in `to`, rounded half to even to `to`'s minor unit.
    public func convert(_ money: Money) throws(MoneyError) -> Money {
        guard money.currency == from else { throw .currencyMismatch(money.currency, from) }
        // amount_to_minor = amount_from_minor * units / 10^scale * 10^(to.exp - from.exp)
        var numerator = Int128(money.minorUnits) * Int128(units)
        var denominator = Int128(1)
        for _ in 0..<scale { denominator *= 10 }
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
