/// Aging buckets by days past due. The first bucket is "current" (not yet due); each bound is the
/// last day past due its bucket holds; the last bucket is open-ended.
///
/// The default is current, 1-30, 31-60, 61-90, 91-120, 120+.
public struct AgingBuckets: Sendable, Hashable, Codable {
    /// Inclusive upper bounds in days past due, starting with 0 (current).
    public let bounds: [Int]

    public static let standard = try! AgingBuckets(bounds: [0, 30, 60, 90, 120])

    /// Bounds must start at 0 and strictly increase.
    public init(bounds: [Int]) throws(DomainError) {
        guard bounds.first == 0 else {
            throw DomainError.invalid(field: "buckets", "the first bucket must be current (0 days past due)")
        }
        guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DomainError.invalid(field: "buckets", "bucket bounds must strictly increase")
        }
        self.bounds = bounds
    }

    public var count: Int { bounds.count + 1 }

    /// "current", "1-30", ..., "120+".
    public var labels: [String] {
        var labels = ["current"]
        for (lower, upper) in zip(bounds, bounds.dropFirst()) { labels.append("\(lower + 1)-\(upper)") }
        labels.append("\(bounds.last!)+")
        return labels
    }

    /// The bucket an amount `daysPastDue` days past its due date falls in.
    public func index(daysPastDue: Int) -> Int {
        bounds.firstIndex { daysPastDue <= $0 } ?? bounds.count
    }
}

/// One open item to age.
public struct AgingItem: Sendable, Hashable {
    public var customerID: String
    public var dueDate: CivilDate
    public var open: Money

    public init(customerID: String, dueDate: CivilDate, open: Money) {
        self.customerID = customerID
        self.dueDate = dueDate
        self.open = open
    }
}

/// Open receivables by age as of a date: per customer and currency, totals per currency, and
/// (with rates) totals in the tenant's base currency.
public struct AgingReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        public var customerID: String
        public var currency: Currency
        /// Minor units per bucket.
        public var buckets: [Int64]

        /// The sum of the buckets, added in 128 bits; OUT_OF_RANGE if the wire's int64 cannot
        /// carry it.
        public func total() throws(DomainError) -> Int64 {
            try AgingReport.narrow(buckets.reduce(Int128(0)) { $0 + Int128($1) }, currency, field: "total")
        }

        public init(customerID: String, currency: Currency, buckets: [Int64]) {
            self.customerID = customerID
            self.currency = currency
            self.buckets = buckets
        }
    }

    public var asOf: CivilDate
    public var buckets: AgingBuckets
    public var rows: [Row]
    /// Minor units per bucket, per currency.
    public var totals: [Currency: [Int64]]
    /// Totals converted to the base currency, when one was asked for.
    public var baseCurrency: Currency?
    public var baseTotals: [Int64]?

    /// Ages `items` as of `asOf`. Converting to `baseCurrency` needs a rate for every other currency
    /// present; a missing one is an error naming it, never a silent omission.
    public static func compute(
        _ items: some Sequence<AgingItem>, asOf: CivilDate, buckets: AgingBuckets = .standard,
        baseCurrency: Currency? = nil, rates: [Currency: ExchangeRate] = [:]
    ) throws(DomainError) -> AgingReport {
        var rows: [RowKey: [Int128]] = [:]
        for item in items where !item.open.isZero {
            let index = buckets.index(daysPastDue: item.dueDate.days(until: asOf))
            let key = RowKey(customerID: item.customerID, currency: item.open.currency)
            rows[key, default: Array(repeating: 0, count: buckets.count)][index] += Int128(item.open.minorUnits)
        }
        var narrowed: [Row] = []
        for (key, sums) in rows {
            narrowed.append(Row(customerID: key.customerID, currency: key.currency, buckets: try narrow(sums, key.currency, field: "buckets")))
        }
        return try assemble(narrowed, asOf: asOf, buckets: buckets, baseCurrency: baseCurrency, rates: rates)
    }

    /// The report from sums already bucketed per customer and currency (a store sums them where
    /// the rows are): one row per customer and currency with any open item, `buckets.count` sums
    /// each. Totals and the base-currency conversion are the same as ``compute(_:asOf:buckets:baseCurrency:rates:)``'s.
    ///
    /// `totals`, when given, are the whole report's sums per currency and bucket (a store keeps
    /// them; `rows` is then one page of the report) instead of the rows' sums. Either way a
    /// currency whose sums are all zero has no totals.
    public static func assemble(
        _ rows: [Row], asOf: CivilDate, buckets: AgingBuckets = .standard,
        baseCurrency: Currency? = nil, rates: [Currency: ExchangeRate] = [:], totals given: [Currency: [Int128]]? = nil
    ) throws(DomainError) -> AgingReport {
        // The rows' sums leave the all-zero currencies out already; given totals are held to that.
        let wideTotals = given.map(Self.nonZero) ?? Self.wideTotals(rows, buckets: buckets)
        var totals: [Currency: [Int64]] = [:]
        for (currency, sums) in wideTotals {
            totals[currency] = try narrow(sums, currency, field: "totals")
        }
        var report = AgingReport(
            asOf: asOf, buckets: buckets,
            rows: rows.sorted { ($0.customerID, $0.currency.code) < ($1.customerID, $1.currency.code) },
            totals: totals
        )
        if let baseCurrency {
            var base = Array(repeating: Int128(0), count: buckets.count)
            for (currency, amounts) in totals {
                for (index, amount) in amounts.enumerated() {
                    let converted: Int64
                    if currency == baseCurrency {
                        converted = amount
                    } else {
                        guard let rate = rates[currency], rate.to == baseCurrency else {
                            throw DomainError.invalid(field: "rates", "no exchange rate from \(currency.code) to \(baseCurrency.code)")
                        }
                        do {
                            converted = try rate.convert(Money(minorUnits: amount, currency: currency)).minorUnits
                        } catch {
                            throw DomainError.refusing(error, field: "rates")
                        }
                    }
                    base[index] += Int128(converted)
                }
            }
            report.baseCurrency = baseCurrency
            report.baseTotals = try narrow(base, baseCurrency, field: "base_total")
        }
        return report
    }

    /// The rows' sums per currency and bucket, added in 128 bits (no sum overflows).
    public static func wideTotals(_ rows: some Sequence<Row>, buckets: AgingBuckets) -> [Currency: [Int128]] {
        var totals: [Currency: [Int128]] = [:]
        for row in rows {
            for (index, amount) in row.buckets.enumerated() {
                totals[row.currency, default: Array(repeating: 0, count: buckets.count)][index] += Int128(amount)
            }
        }
        return nonZero(totals)
    }

    /// `totals` without the currencies whose every bucket sums to zero. Such a currency (its open
    /// items cancel out) keeps its rows but has no totals, however they were summed: a store's
    /// kept totals cannot tell it from a currency with no items, so no path lists it, and no
    /// base-currency report asks for its rate.
    public static func nonZero(_ totals: [Currency: [Int128]]) -> [Currency: [Int128]] {
        totals.filter { $0.value.contains { $0 != 0 } }
    }

    /// Sums made in 128 bits as the Int64 the wire carries, or OUT_OF_RANGE naming `field`.
    public static func narrow(_ sums: [Int128], _ currency: Currency, field: String) throws(DomainError) -> [Int64] {
        var narrow: [Int64] = []
        narrow.reserveCapacity(sums.count)
        for sum in sums { narrow.append(try Self.narrow(sum, currency, field: field)) }
        return narrow
    }

    /// One sum made in 128 bits as Int64, or OUT_OF_RANGE naming `field`.
    public static func narrow(_ sum: Int128, _ currency: Currency, field: String) throws(DomainError) -> Int64 {
        do throws(MoneyError) {
            return try MoneyTotals.narrow(sum, currency)
        } catch {
            throw DomainError.refusing(error, field: field)
        }
    }

    private struct RowKey: Hashable {
        var customerID: String
        var currency: Currency
    }

}
