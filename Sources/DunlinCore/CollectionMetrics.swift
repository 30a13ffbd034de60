/// The numbers an AR team is judged by, from a period's figures (``PeriodFigures``), each formula
/// as the README writes it. Money figures are minor units of one currency (the tenant's base);
/// the results are statistics, not money: days and percentages as `Double`, nil where the
/// formula divides by zero (no sales, no receivables, no promises due).
///
/// | metric | formula |
/// | --- | --- |
/// | DSO, simple | closing receivables / sales of the period x days of the period |
/// | DSO, countback | walk back month by month from the period's end, taking each month's sales out of the closing receivables: a month whose sales the rest covers counts all its days, the month that covers what is left counts rest / its sales x its days |
/// | best possible DSO | closing current (not yet due) receivables / sales x days |
/// | average days delinquent | DSO (countback) - best possible DSO |
/// | CEI | (opening receivables + sales - closing receivables) / (opening receivables + sales - closing current receivables) x 100 |
/// | over 90 days | receivables more than 90 days past due / closing receivables x 100 |
/// | promise-kept rate | promises (and installments) kept in full / those whose deadline fell in the period x 100 |
/// | collected against target | cash collected in the period / the period's share of the monthly target (setting `metrics.collection_target`) x 100 |
public enum CollectionMetrics {
    /// Simple DSO: `closing / sales * days`.
    public static func simpleDSO(closing: Int64, sales: Int64, days: Int) -> Double? {
        guard sales > 0, days > 0 else { return nil }
        return Double(closing) / Double(sales) * Double(days)
    }

    /// Countback DSO over `months`, most recent first (each month's sales and its number of
    /// days). Receivables older than every month given count as the last month's sales would:
    /// the walk stops at the oldest month, which counts what is left of it in proportion (more
    /// than its days when the receivables exceed every month's sales).
    public static func countbackDSO(closing: Int64, months: [(sales: Int64, days: Int)]) -> Double? {
        guard closing >= 0 else { return nil }
        var left = closing
        var days = 0.0
        for (index, month) in months.enumerated() where left > 0 {
            if left > month.sales, index < months.count - 1 {
                left -= month.sales
                days += Double(month.days)
            } else {
                // Nothing sold in the month that should cover what is left: no figure.
                guard month.sales > 0 else { return nil }
                days += Double(left) / Double(month.sales) * Double(month.days)
                left = 0
            }
        }
        return left > 0 ? nil : days
    }

    /// Best possible DSO: `current / sales * days` (what DSO would be were nothing overdue).
    public static func bestPossibleDSO(current: Int64, sales: Int64, days: Int) -> Double? {
        simpleDSO(closing: current, sales: sales, days: days)
    }

    /// Average days delinquent: DSO less the best possible DSO.
    public static func averageDaysDelinquent(dso: Double?, best: Double?) -> Double? {
        guard let dso, let best else { return nil }
        return dso - best
    }

    /// Collection effectiveness index, in percent.
    public static func cei(opening: Int64, sales: Int64, closing: Int64, closingCurrent: Int64) -> Double? {
        let collectible = Double(opening) + Double(sales) - Double(closingCurrent)
        guard collectible > 0 else { return nil }
        return (Double(opening) + Double(sales) - Double(closing)) / collectible * 100
    }

    /// A monthly target's share of `from`...`through`: for each calendar month the period
    /// touches, the target x the month's days in the period / the month's days, rounded half up
    /// once, at the end, to a minor unit.
    public static func target(monthly: Int64, from: CivilDate, through: CivilDate) -> Int64 {
        guard monthly > 0, from <= through else { return 0 }
        var share = 0.0
        for (first, last) in CivilDate.months(from: from, through: through) {
            share += Double(first.days(until: last) + 1) / Double(first.firstOfMonth.days(until: first.lastOfMonth) + 1)
        }
        let exact = Double(monthly) * share
        return exact >= Double(Int64.max) ? Int64.max : Int64(exact.rounded(.toNearestOrAwayFromZero))
    }

    /// A part of a whole, in percent.
    public static func percent(_ part: Int64, of whole: Int64) -> Double? {
        guard whole > 0 else { return nil }
        return Double(part) / Double(whole) * 100
    }
}

/// One month's sales for the countback: the month's sales and its days (the days elapsed, for
/// the month the period ends in).
public struct MonthSales: Sendable, Hashable {
    public var sales: Int64
    public var days: Int

    public init(sales: Int64, days: Int) {
        self.sales = sales
        self.days = days
    }
}

/// What the metrics of one period are computed from, in minor units of the base currency, for
/// the tenant or one analyst's customers (the store gathers it).
public struct PeriodFigures: Sendable, Hashable {
    public var from: CivilDate
    public var through: CivilDate
    public var analystID: String
    public var opening: Int64 = 0
    public var closing: Int64 = 0
    public var closingCurrent: Int64 = 0
    public var closingOver90: Int64 = 0
    public var sales: Int64 = 0
    public var collected: Int64 = 0
    /// Tickets resolved in the period, and of them those resolved within their SLA.
    public var ticketsResolved = 0
    public var ticketsWithinSLA = 0
    /// The other currencies the amounts above were converted from.
    public var converted: Set<Currency> = []
    /// Sales per calendar month back from `through`, most recent first.
    public var monthlySales: [MonthSales] = []
    public var promisesDue = 0
    public var promisesKept = 0
    public var disputesOpen = 0
    /// The open disputes' ages added up, in days.
    public var disputeDays = 0
    /// The cash to collect in the period (the monthly target's share, ``CollectionMetrics/target(monthly:from:through:)``); 0: none.
    public var target: Int64 = 0

    public init(from: CivilDate, through: CivilDate, analystID: String) {
        self.from = from
        self.through = through
        self.analystID = analystID
    }

    /// The period's days, both ends included.
    public var days: Int { from.days(until: through) + 1 }

    public var dsoSimple: Double? { CollectionMetrics.simpleDSO(closing: closing, sales: sales, days: days) }
    public var dsoCountback: Double? { CollectionMetrics.countbackDSO(closing: closing, months: monthlySales.map { ($0.sales, $0.days) }) }
    public var bestPossibleDSO: Double? { CollectionMetrics.bestPossibleDSO(current: closingCurrent, sales: sales, days: days) }
    public var averageDaysDelinquent: Double? { CollectionMetrics.averageDaysDelinquent(dso: dsoCountback, best: bestPossibleDSO) }
    public var cei: Double? { CollectionMetrics.cei(opening: opening, sales: sales, closing: closing, closingCurrent: closingCurrent) }
    public var over90Percent: Double? { CollectionMetrics.percent(closingOver90, of: closing) }
    public var promiseKeptPercent: Double? { CollectionMetrics.percent(Int64(promisesKept), of: Int64(promisesDue)) }
    public var ticketSLAPercent: Double? { CollectionMetrics.percent(Int64(ticketsWithinSLA), of: Int64(ticketsResolved)) }
    public var disputeAverageAgeDays: Double? { disputesOpen > 0 ? Double(disputeDays) / Double(disputesOpen) : nil }
    public var collectedPercentOfTarget: Double? { CollectionMetrics.percent(collected, of: target) }

    /// A team's figures from its members': every amount and count added (a month's sales month
    /// by month), checked; the ratios are then the team's own. Refuses a sum beyond 64 bits.
    public mutating func add(_ other: PeriodFigures) throws(DomainError) {
        func plus(_ a: Int64, _ b: Int64) throws(DomainError) -> Int64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw .outOfRange(field: "through", "the team's figures add up to more than 64 bits of minor units hold") }
            return sum
        }
        opening = try plus(opening, other.opening)
        closing = try plus(closing, other.closing)
        closingCurrent = try plus(closingCurrent, other.closingCurrent)
        closingOver90 = try plus(closingOver90, other.closingOver90)
        sales = try plus(sales, other.sales)
        collected = try plus(collected, other.collected)
        ticketsResolved += other.ticketsResolved
        ticketsWithinSLA += other.ticketsWithinSLA
        converted.formUnion(other.converted)
        if monthlySales.isEmpty {
            monthlySales = other.monthlySales
        } else {
            for index in monthlySales.indices where index < other.monthlySales.count {
                monthlySales[index].sales = try plus(monthlySales[index].sales, other.monthlySales[index].sales)
            }
        }
        promisesDue += other.promisesDue
        promisesKept += other.promisesKept
        disputesOpen += other.disputesOpen
        disputeDays += other.disputeDays
    }
}
