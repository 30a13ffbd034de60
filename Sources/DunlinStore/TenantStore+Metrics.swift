import DunlinCore
import GRDB

extension TenantStore {
    /// What the metrics of `from`...`through` are computed from (``PeriodFigures``), for the
    /// customers of `analystID` (every customer when nil), in `base`: another currency converts
    /// with its rate in `rates` (each sum once, half to even), and a currency without one is left
    /// out and returned to be named. One snapshot.
    ///
    /// - opening, closing: open invoice balances as of the end of the day before `from` and of
    ///   `through` (the as-of aging's sums), closing split into not yet due and more than 90 days
    ///   past due;
    /// - sales: invoices dated in the period, less none (a voided invoice is not a sale: those
    ///   reversed by `through` are left out), and per calendar month back from `through`, up to a
    ///   year, for the countback;
    /// - collected: payments dated in the period, not voided by `through` (an analyst's: those
    ///   posted on their customers);
    /// - promises: each promise's installments whose deadline fell in the period, measured on the
    ///   day after `through`, kept in full or not;
    /// - disputes: those open at the end of `through` (opened by then, not resolved by then).
    ///
    /// `opening`, when the caller has it (the closing of the period before, for a series), saves
    /// the as-of read it would take; `series`, read once for a series of periods
    /// (``metricsSeries(periods:analystID:)``), saves each period's read of the kept totals and
    /// of the promises.
    public func periodFigures(
        from: CivilDate, through: CivilDate, analystID: String?, base: Currency, rates: [Currency: ExchangeRate] = [:], opening: Int64? = nil,
        series: MetricsSeries? = nil
    ) throws -> (figures: PeriodFigures, excluded: Set<String>) {
        let series = series?.analystID == analystID ? series : nil
        var figures = PeriodFigures(from: from, through: through, analystID: analystID ?? "")
        var excluded = Set<String>()
        /// `minor` units of `code` in the base currency; nil (and the currency named) without a rate.
        func inBase(_ minor: Int64, _ code: String) throws -> Int64? {
            guard code != base.code else { return minor }
            guard let currency = Currency(code: code), let rate = rates[currency] else {
                excluded.insert(code)
                return nil
            }
            figures.converted.insert(currency)
            do {
                return try rate.convert(Money(minorUnits: minor, currency: currency)).minorUnits
            } catch {
                throw DomainError.money(field: "rates", error)
            }
        }
        let buckets = Self.metricsBuckets
        /// The aging's sums per currency as of `day`, each bucket added in 128 bits: the tenant's
        /// from the kept totals, an analyst's from their customers' invoices.
        func perCurrency(asOf day: CivilDate) throws -> [(currency: Currency, buckets: [Int64])] {
            let sums =
                try analystID == nil
                ? series?.agingTotals[day] ?? agingTotals(asOf: day, buckets: buckets)
                : AgingReport.wideTotals(agingSums(analystID: analystID, asOf: day, buckets: buckets), buckets: buckets)
            return try sums.sorted { $0.key < $1.key }.map { ($0.key, try AgingReport.narrow($0.value, $0.key, field: "through")) }
        }
        if let opening { figures.opening = opening }
        for sum in try opening == nil ? perCurrency(asOf: from.adding(days: -1)) : [] {
            guard let total = try inBase(AgingReport.Row(customerID: "", currency: sum.currency, buckets: sum.buckets).total(), sum.currency.code) else { continue }
            figures.opening = try Self.add(figures.opening, total)
        }
        for sum in try perCurrency(asOf: through) {
            let code = sum.currency.code
            guard let total = try inBase(AgingReport.Row(customerID: "", currency: sum.currency, buckets: sum.buckets).total(), code),
                let current = try inBase(sum.buckets[0], code), let over90 = try inBase(sum.buckets[2], code)
            else { continue }
            figures.closing = try Self.add(figures.closing, total)
            figures.closingCurrent = try Self.add(figures.closingCurrent, current)
            figures.closingOver90 = try Self.add(figures.closingOver90, over90)
        }
        try writer.read { db in
            let mine = analystID == nil ? "" : " AND e.customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)"
            let scope: [(any DatabaseValueConvertible)?] = analystID.map { [$0] } ?? []
            let live = "NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id AND r.date <= ?)"
            /// Entries of `kind` dated `first`...`last` not voided by `through`, per currency (and
            /// month when `monthly`): the tenant's from the kept day totals (``PortfolioTotals``),
            /// an analyst's from their customers' entries. `currencies` limits which are read.
            func sum(_ kind: String, _ first: CivilDate, _ last: CivilDate, monthly: Bool = false, currencies: [String]? = nil) throws -> [(month: String, currency: String, total: Int64)] {
                let (day, currency) = analystID == nil ? ("day", "currency") : ("e.date", "e.currency")
                let month = monthly ? "substr(\(day), 1, 7)" : "''"
                let marks = currencies.map { " AND \(currency) IN (\(Array(repeating: "?", count: $0.count).joined(separator: ", ")))" } ?? ""
                let sql =
                    analystID == nil
                    ? """
                        SELECT \(month), currency, SUM(high), SUM(low) FROM ledger_day
                        WHERE kind = ? AND day BETWEEN ? AND ? AND (reversed_on = '' OR reversed_on > ?)\(marks) GROUP BY 1, 2
                        """
                    : """
                        SELECT \(month), e.currency, SUM(e.amount >> 32), SUM(e.amount & 4294967295) FROM ledger_entry e
                        WHERE e.kind = ? AND e.date BETWEEN ? AND ? AND \(live)\(mine)\(marks) GROUP BY 1, 2
                        """
                let arguments: [(any DatabaseValueConvertible)?] = [kind, first.description, last.description, through.description] + (analystID == nil ? [] : scope) + (currencies ?? [])
                do {
                    return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap { row in
                        guard let currency = Currency(code: row[1]) else { return nil }
                        return (row[0], currency.code, try AgingReport.narrow(WideSum.value(row, at: 2), currency, field: "through"))
                    }
                } catch let error as DatabaseError where error.message == "integer overflow" {
                    throw DomainError.outOfRange(field: "through", "the period's \(kind)s add up to more than 64 bits of minor units hold")
                }
            }
            for (_, currency, total) in try sum("invoice", from, through) {
                if let total = try inBase(total, currency) { figures.sales = try Self.add(figures.sales, total) }
            }
            for (_, currency, total) in try sum("payment", from, through) {
                if let total = try inBase(total, currency) { figures.collected = try Self.add(figures.collected, total) }
            }
            // Countback: month by month back from through's, at most a year (and not before year 1), in one read.
            var windows: [(first: CivilDate, last: CivilDate)] = []
            var end = through
            while windows.count < 12, end.year >= 1 {
                windows.append((end.firstOfMonth, end))
                end = end.firstOfMonth.adding(days: -1)
            }
            var byMonth: [String: Int64] = [:]
            // Only the currencies that count: the base and those with a rate.
            let counted = [base.code] + rates.keys.map(\.code).sorted()
            for (month, currency, total) in try sum("invoice", windows.last!.first, through, monthly: true, currencies: counted) {
                guard let sales = try inBase(total, currency) else { continue }
                byMonth[month] = try Self.add(byMonth[month] ?? 0, sales)
            }
            figures.monthlySales = windows.map { first, last in
                MonthSales(sales: byMonth[String(first.description.prefix(7))] ?? 0, days: first.days(until: last) + 1)
            }

            let promiseScope = Self.promiseScope(analystID)
            let promises = try series?.promises[MetricsSeries.Period(first: from, last: through)]
                ?? Self.promiseCounts(db, periods: [(from, through)], analystID: analystID).values.first ?? (0, 0)
            figures.promisesDue = promises.due
            figures.promisesKept = promises.kept

            let disputes = try String.fetchAll(db, sql: """
                SELECT opened_on FROM dispute WHERE deleted = 0 AND opened_on <= ? AND (resolved_on IS NULL OR resolved_on > ?)\(promiseScope)
                """, arguments: StatementArguments([through.description, through.description] + scope))
            for opened in disputes {
                guard let day = CivilDate(opened) else { continue }
                figures.disputesOpen += 1
                figures.disputeDays += day.days(until: through)
            }
        }
        return (figures, excluded)
    }

    /// What a series of periods' figures share, read once: the tenant's kept aging totals at each
    /// period's end and the day before the first (``agingTotals(asOf:buckets:)``), and each
    /// period's promise installments due and kept. Pass it to ``periodFigures`` for each period.
    public func metricsSeries(periods: [(first: CivilDate, last: CivilDate)], analystID: String?) throws -> MetricsSeries {
        try writer.read { db in
            var days = periods.map(\.last)
            if let first = periods.map(\.first).min() { days.append(first.adding(days: -1)) }
            return MetricsSeries(
                analystID: analystID,
                agingTotals: analystID == nil ? try Self.agingTotals(db, asOf: days, buckets: Self.metricsBuckets) : [:],
                promises: try Self.promiseCounts(db, periods: periods, analystID: analystID)
            )
        }
    }

    static func promiseScope(_ analystID: String?) -> String {
        analystID == nil ? "" : " AND customer_id IN (SELECT id FROM customer WHERE analyst_id = ?)"
    }

    /// Per period, the promise installments whose deadline fell in it and how many of them were
    /// kept, measured on the day after the period (a promise made later does not count), from
    /// one evaluation of the promises as of the day after the last period: an installment's
    /// deadline is past on both days, so its status is the same on each.
    static func promiseCounts(
        _ db: Database, periods: [(first: CivilDate, last: CivilDate)], analystID: String?
    ) throws -> [MetricsSeries.Period: (due: Int, kept: Int)] {
        guard let first = periods.map(\.first).min(), let last = periods.map(\.last).max() else { return [:] }
        var counts: [MetricsSeries.Period: (due: Int, kept: Int)] = [:]
        for period in periods { counts[MetricsSeries.Period(first: period.first, last: period.last)] = (0, 0) }
        let evaluations = try Self.recentPromiseEvaluations(
            db, since: first, today: last.adding(days: 1), scope: promiseScope(analystID), StatementArguments(analystID.map { [$0] } ?? [])
        )
        for (promise, installments) in evaluations {
            for evaluation in installments {
                for period in periods where evaluation.deadline >= period.first && evaluation.deadline <= period.last && promise.madeOn <= period.last.adding(days: 1) {
                    let key = MetricsSeries.Period(first: period.first, last: period.last)
                    counts[key]!.due += 1
                    if evaluation.status == .kept { counts[key]!.kept += 1 }
                }
            }
        }
        return counts
    }

    /// The buckets the metrics split receivables into: not yet due, up to 90 days past due, and
    /// more than 90 days past due.
    public static let metricsBuckets = try! AgingBuckets(bounds: [0, 90])

    private static func add(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw DomainError.outOfRange(field: "through", "the receivables add up to more than 64 bits of minor units hold") }
        return sum
    }
}

extension TenantStore {
    /// The analysts some customer names, by id.
    public func analystIDs() throws -> [String] {
        try writer.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT analyst_id FROM customer WHERE analyst_id != '' ORDER BY analyst_id") }
    }
}

/// What the periods of a metrics series share, read once (``TenantStore/metricsSeries(periods:analystID:)``).
public struct MetricsSeries: Sendable {
    struct Period: Hashable {
        var first: CivilDate
        var last: CivilDate
    }

    let analystID: String?
    let agingTotals: [CivilDate: [Currency: [Int128]]]
    let promises: [Period: (due: Int, kept: Int)]
}
