/// An ISO 4217 currency: its three-letter code and the number of digits of its minor unit
/// (its exponent): JPY 0, USD 2, KWD 3, CLF 4.
///
/// Only codes in ISO 4217's list of active currencies exist; anything else is refused where it
/// enters (an import line, a request field), never guessed at.
public struct Currency: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let code: String
    /// Digits after the decimal point in the currency's minor unit.
    public let exponent: Int

    private init(code: String, exponent: Int) {
        self.code = code
        self.exponent = exponent
    }

    /// The currency with this ISO 4217 code (case-insensitive), or nil when there is none.
    public init?(code: String) {
        let upper = code.uppercased()
        guard let exponent = Self.exponents[upper] else { return nil }
        self.init(code: upper, exponent: exponent)
    }

    /// The currency with this code; traps on an unknown code. For literals in code and tests only.
    public init(_ code: StaticString) {
        guard let currency = Currency(code: "\(code)") else { preconditionFailure("unknown ISO 4217 code \(code)") }
        self = currency
    }

    /// 10^exponent: minor units in one major unit.
    public var minorUnitsPerMajor: Int64 {
        var result: Int64 = 1
        for _ in 0..<exponent { result *= 10 }
        return result
    }

    public var description: String { code }

    public static func < (lhs: Currency, rhs: Currency) -> Bool { lhs.code < rhs.code }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        guard let currency = Currency(code: code) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown ISO 4217 currency \"\(code)\"")
        }
        self = currency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }

    public static let usd = Currency("USD")
    public static let php = Currency("PHP")
    public static let eur = Currency("EUR")
    public static let jpy = Currency("JPY")
    public static let kwd = Currency("KWD")

    /// Every active ISO 4217 currency and its exponent.
    public static var all: [Currency] {
        exponents.map { Currency(code: $0.key, exponent: $0.value) }.sorted()
    }

    /// ISO 4217 active codes (List One). Exponent 2 unless listed under 0, 3 or 4.
    private static let exponents: [String: Int] = {
        let zero = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
        let three = "BHD IQD JOD KWD LYD OMR TND"
        let four = "CLF UYW"
        let two = """
            AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN \
            BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP \
            GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT \
            LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN \
            NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE \
            SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES \
            WST XCD XCG YER ZAR ZMW ZWG
            """
        var table: [String: Int] = [:]
        for (codes, exponent) in [(zero, 0), (two, 2), (three, 3), (four, 4)] {
            for code in codes.split(separator: " ") { table[String(code)] = exponent }
        }
        return table
    }()
}
