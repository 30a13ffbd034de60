/// A month's close (kind `period_close`, id `close_2026-11`): the aging frozen as of the month's
/// last day, in the tenant's base currency, and the bad-debt allowance it calls for.
///
/// The server makes it (`dunlin close month 2026-11`, managers), in one transaction with the
/// snapshot of every customer's aging; nothing written later changes it. An entry dated in the
/// month but posted after the close is a *post-close adjustment*: it is listed with the next
/// period's close. Only an admin reopens a close, with a reason; closing the month again takes a
/// new snapshot. Every replica holds the closes; the per-customer snapshot stays on the server.
///
/// The allowance: each bucket's base-currency amount times its rate (``AllowanceMatrix``),
/// rounded half to even to the minor unit, once per bucket; the total is the buckets' sum, and
/// the change is the total less the allowance of the latest close before it (0 without one).
public struct PeriodClose: Sendable, Hashable, Codable, Identifiable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case closed
        case reopened
    }

    /// One bucket of the frozen aging, converted into the base currency, with its allowance.
    public struct Bucket: Sendable, Hashable, Codable {
        public var label: String
        /// Minor units of the base currency.
        public var amount: Int64
        public var rateBasisPoints: Int
        public var allowance: Int64

        public init(label: String, amount: Int64, rateBasisPoints: Int, allowance: Int64) {
            self.label = label
            self.amount = amount
            self.rateBasisPoints = rateBasisPoints
            self.allowance = allowance
        }
    }

    /// A currency of the snapshot as booked, and the rate it converted with ("" when it had none
    /// and was left out of the buckets).
    public struct CurrencyTotal: Sendable, Hashable, Codable {
        public var currency: Currency
        public var total: Int64
        public var rate: String
        public var inverse: Bool
        public var rateDate: String

        public init(currency: Currency, total: Int64, rate: String = "", inverse: Bool = false, rateDate: String = "") {
            self.currency = currency
            self.total = total
            self.rate = rate
            self.inverse = inverse
            self.rateDate = rateDate
        }
    }

    public var id: String
    /// "2026-11".
    public var month: String
    /// The month's last day: the snapshot's as-of day.
    public var through: CivilDate
    public var status: Status
    public var baseCurrency: Currency
    public var buckets: [Bucket]
    public var currencies: [CurrencyTotal]
    /// The buckets' amounts added.
    public var receivables: Int64
    /// The buckets' allowances added.
    public var allowance: Int64
    /// The latest close before this one, "" when none.
    public var previousID: String
    public var previousAllowance: Int64
    public var allowanceChange: Int64
    public var closedBy: String
    public var closedOn: CivilDate
    /// The server's change sequence when the snapshot was taken: what was posted after it is
    /// after the close.
    public var closedSeq: Int64
    public var reopenedBy: String
    public var reopenedOn: CivilDate?
    public var reopenReason: String
    /// Entries dated on or before the previous close's last day and posted after it, listed with
    /// this period.
    public var postCloseAdjustments: Int

    public init(
        month: String, through: CivilDate, status: Status = .closed, baseCurrency: Currency, buckets: [Bucket], currencies: [CurrencyTotal],
        previousID: String = "", previousAllowance: Int64 = 0, closedBy: String, closedOn: CivilDate, closedSeq: Int64,
        reopenedBy: String = "", reopenedOn: CivilDate? = nil, reopenReason: String = "", postCloseAdjustments: Int = 0
    ) {
        self.id = Self.id(month: month)
        self.month = month
        self.through = through
        self.status = status
        self.baseCurrency = baseCurrency
        self.buckets = buckets
        self.currencies = currencies
        self.receivables = buckets.reduce(0) { $0 &+ $1.amount }
        self.allowance = buckets.reduce(0) { $0 &+ $1.allowance }
        self.previousID = previousID
        self.previousAllowance = previousAllowance
        self.allowanceChange = allowance &- previousAllowance
        self.closedBy = closedBy
        self.closedOn = closedOn
        self.closedSeq = closedSeq
        self.reopenedBy = reopenedBy
        self.reopenedOn = reopenedOn
        self.reopenReason = reopenReason
        self.postCloseAdjustments = postCloseAdjustments
    }

    /// "close_2026-11".
    public static func id(month: String) -> String { "\(RecordID.prefix(for: .periodClose))\(month)" }

    /// The month "YYYY-MM" as its first and last days; refuses anything else, naming `field`.
    public static func month(_ text: String, field: String = "month") throws(DomainError) -> (first: CivilDate, last: CivilDate) {
        guard text.count == 7, let first = CivilDate(text + "-01") else {
            throw .invalid(field: field, "\"\(text.prefix(32))\" is not a month (YYYY-MM)")
        }
        return (first, first.lastOfMonth)
    }

    /// The buckets with their allowances: `amounts` (base minor units, one per bucket) at
    /// `matrix`'s rates, each rounded half to even once. Refuses a sum beyond 64 bits.
    public static func buckets(_ amounts: [Int64], labels: [String], matrix: AllowanceMatrix) throws(DomainError) -> [Bucket] {
        var result: [Bucket] = []
        var total = Int128(0)
        var allowances = Int128(0)
        for (index, amount) in amounts.enumerated() {
            let rate = matrix.basisPoints[index]
            let allowance = Self.share(amount, basisPoints: rate)
            total += Int128(amount)
            allowances += Int128(allowance)
            result.append(Bucket(label: labels[index], amount: amount, rateBasisPoints: rate, allowance: allowance))
        }
        guard Int64(exactly: total) != nil, Int64(exactly: allowances) != nil else {
            throw .outOfRange(field: "month", "the receivables add up to more than 64 bits of minor units hold")
        }
        return result
    }

    /// `amount` x `basisPoints` / 10,000, half to even (basis points 0 to 10,000: never larger than `amount`).
    static func share(_ amount: Int64, basisPoints: Int) -> Int64 {
        let product = Int128(amount) * Int128(basisPoints)
        var quotient = product / 10_000
        let remainder = product % 10_000
        let twice = remainder.magnitude * 2
        if twice > 10_000 || (twice == 10_000 && quotient % 2 != 0) { quotient += product < 0 ? -1 : 1 }
        return Int64(quotient)
    }
}

/// A tenant's bad-debt allowance rates per aging bucket (setting `close.allowance_rates`): the
/// buckets current, 1-30, 31-60, 61-90 and over 90 days past due, each a percentage with at most
/// two decimals, "1,5,15,30,50" by default.
public struct AllowanceMatrix: Sendable, Hashable {
    /// The buckets the rates are for.
    public static let buckets = try! AgingBuckets(bounds: [0, 30, 60, 90])
    public static let standard = AllowanceMatrix(basisPoints: [100, 500, 1500, 3000, 5000])

    /// Hundredths of a percent, one per bucket, each 0 to 10,000.
    public let basisPoints: [Int]

    init(basisPoints: [Int]) {
        self.basisPoints = basisPoints
    }

    /// Reads "1,5,15,30,50" (percent, at most two decimals each, one per bucket); refuses anything
    /// else, naming `field`.
    public init(parsing text: String, field: String) throws(DomainError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == Self.buckets.count else {
            throw .invalid(field: field, "give \(Self.buckets.count) rates, one per bucket (\(Self.buckets.labels.joined(separator: ", "))), not \"\(text.prefix(64))\"")
        }
        var points: [Int] = []
        for part in parts {
            let pieces = part.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count), !pieces[0].isEmpty, pieces.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
                pieces.count == 1 || (1...2).contains(pieces[1].count), pieces[0].count <= 3,
                let whole = Int(pieces[0]), let fraction = Int(pieces.count == 2 ? pieces[1].padding(toLength: 2, withPad: "0", startingAt: 0) : "0")
            else { throw .invalid(field: field, "\"\(part.prefix(32))\" is not a percentage with at most two decimals") }
            let value = whole * 100 + fraction
            guard value <= 10_000 else { throw .outOfRange(field: field, "a rate is at most 100%, not \(part)") }
            points.append(value)
        }
        basisPoints = points
    }

    /// "1,5,15,30,50".
    public var text: String { basisPoints.map(Self.percent).joined(separator: ",") }

    /// Hundredths of a percent as a percentage: 250 is "2.5", 1025 "10.25", 500 "5".
    public static func percent(_ basisPoints: Int) -> String {
        let whole = basisPoints / 100, fraction = abs(basisPoints % 100)
        guard fraction != 0 else { return "\(whole)" }
        return "\(whole)." + (fraction < 10 ? "0\(fraction)" : fraction % 10 == 0 ? "\(fraction / 10)" : "\(fraction)")
    }
}
