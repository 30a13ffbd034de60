import DunlinCore
import DunlinWire
import Foundation

/// The month-end report (`dunlin report month-end 2026-11`): the month's key figures, the aging
/// at its last day, twelve months of DSO, CEI and the share over 90 days, cash collected against
/// the target, and the customers most overdue. It is made only of what `Receivables/Metrics`
/// (by month, twelve months ending with the report's) and `Receivables/Aging` (as of the month's
/// last day) answer, so its figures are `dunlin metrics`' and `dunlin aging`'s, offline on a
/// replica as on the server.
public struct MonthEndReport: Sendable {
    /// Who the report is for: the tenant's letterhead name, if one is set.
    public var organization: String
    /// The report's month, its first day.
    public var month: CivilDate
    /// A row per month, oldest first, the report's month last.
    public var metrics: Dunlin_V1_MetricsResponse
    /// Every page of the aging as of the month's last day, in the standard buckets.
    public var aging: Dunlin_V1_AgingResponse
    /// How many customers the top overdue chart shows.
    public static let topCount = 10

    public init(organization: String, month: CivilDate, metrics: Dunlin_V1_MetricsResponse, aging: Dunlin_V1_AgingResponse) {
        self.organization = organization
        self.month = month.firstOfMonth
        self.metrics = metrics
        self.aging = aging
    }

    /// A month as "YYYY-MM" (its first day), or nil: "2026-13", "2026-1" and "26-11" are none.
    public static func month(_ text: String) -> CivilDate? {
        guard text.utf8.count == 7 else { return nil }
        return CivilDate(text + "-01")
    }

    /// The period the trend covers: twelve months ending with `month`'s last day.
    public static func period(endingIn month: CivilDate) -> (from: CivilDate, through: CivilDate) {
        (ReportFigures.twelveMonths(endingIn: month), month.lastOfMonth)
    }

    /// Reads the report's figures through `caller`: the replica or the server.
    public static func load(month: CivilDate, caller: any UnaryCaller, options: RPCClient.CallOptions) async throws -> MonthEndReport {
        let (from, through) = period(endingIn: month)
        let metrics = try await caller.unary(Receivables.metrics, .with {
            $0.from = from.description
            $0.through = through.description
            $0.byMonth = true
        }, options: options)
        let aging = try await caller.agingReport(.with {
            $0.asOf = through.description
            $0.bucketBounds = AgingBuckets.standard.bounds.map { Int32($0) }
        }, options: options)
        let organization = try await caller.letterheadName(options: options)
        return MonthEndReport(organization: organization, month: month, metrics: metrics, aging: aging)
    }

    /// The tenant's rows (no analyst's), oldest first.
    var rows: [Dunlin_V1_MetricsRow] { metrics.rows.filter(\.analystID.isEmpty) }

    /// One customer's overdue amounts in the base currency, as of the month's end.
    public struct OverdueCustomer: Sendable, Hashable {
        public var customerID: String
        public var name: String
        public var overdue: Int64
        public var over90: Int64
        public var open: Int64
    }

    /// The customers with the most overdue in the base currency, most first (then by name), at
    /// most ``topCount``. Sums in 128 bits; OUT_OF_RANGE where one does not fit the wire's int64.
    public func topOverdue() throws(DomainError) -> [OverdueCustomer] {
        let base = metrics.baseCurrency
        let currency = Currency(code: base) ?? .usd
        // A bucket is over 90 days when the bound below it is 90 or more (91-120, 120+).
        let bounds = AgingBuckets.standard.bounds
        var customers: [OverdueCustomer] = []
        for row in aging.rows where row.currency == base {
            var overdue = Int128(0), over90 = Int128(0)
            for (index, amount) in row.buckets.enumerated() where index > 0 {
                overdue += Int128(amount)
                if bounds[index - 1] >= 90 { over90 += Int128(amount) }
            }
            guard overdue > 0 else { continue }
            customers.append(OverdueCustomer(
                customerID: row.customerID, name: row.customerName.isEmpty ? row.customerID : row.customerName,
                overdue: try AgingReport.narrow(overdue, currency, field: "overdue"), over90: try AgingReport.narrow(over90, currency, field: "over_90"), open: row.total
            ))
        }
        return Array(customers.sorted { ($1.overdue, $0.name, $0.customerID) < ($0.overdue, $1.name, $1.customerID) }.prefix(Self.topCount))
    }

    /// What the page template reads (``ReportPage/monthEndTemplate``).
    public func document() throws(DomainError) -> TemplateValue {
        let base = metrics.baseCurrency
        let rows = rows
        let (from, through) = Self.period(endingIn: month)
        let months = rows.map { String($0.from.prefix(7)) }
        let monthLabel = ReportFigures.month(month)
        var document: [String: TemplateValue] = [
            "title": .text("Month-end report, \(monthLabel)"), "month": .text(monthLabel),
            "organization": .text(organization), "has_organization": .flag(!organization.isEmpty),
            "from": .text(from.description), "through": .text(through.description), "base_currency": .text(base),
            "excluded": .text(metrics.excludedCurrencies.joined(separator: ", ")), "has_excluded": .flag(!metrics.excludedCurrencies.isEmpty),
        ]
        if let last = rows.last { document["key_figures"] = .list(Self.keyFigures(last)) }
        document["aging"] = agingSection()

        let figure = { (value: Double?) in ReportFigures.figure(value) }
        let dso = Chart.lines(title: "DSO by month, days", categories: months, series: [
            Chart.Series(name: "DSO", values: rows.map { $0.hasDsoSimple ? $0.dsoSimple : nil }),
            Chart.Series(name: "countback DSO", values: rows.map { $0.hasDsoCountback ? $0.dsoCountback : nil }),
        ])
        let cei = Chart.lines(title: "CEI and the share over 90 days by month, percent", categories: months, series: [
            Chart.Series(name: "CEI %", values: rows.map { $0.hasCei ? $0.cei : nil }),
            Chart.Series(name: "over 90 days %", values: rows.map { $0.hasOver90Percent ? $0.over90Percent : nil }),
        ])
        let hasTarget = rows.contains { $0.target.minor != 0 }
        let amount = { (value: Dunlin_V1_Amount) in ReportFigures.amount(value.minor, base) }
        var collectedSeries = [Chart.Series(name: "collected", values: rows.map { ReportFigures.chartValue($0.collected.minor, base) }, tips: rows.map { amount($0.collected) })]
        if hasTarget {
            collectedSeries.append(Chart.Series(name: "target", values: rows.map { ReportFigures.chartValue($0.target.minor, base) }, tips: rows.map { amount($0.target) }))
        }
        let collected = Chart.bars(title: "Collected\(hasTarget ? " against target" : "") by month, \(base)", categories: months, series: collectedSeries)
        document["trends"] = .list([
            ReportPage.monthsSection(
                id: "dso", heading: "Days sales outstanding, 12 months", chart: dso,
                columns: [("DSO", "dso_simple"), ("countback", "dso_countback"), ("best possible", "best_possible_dso"), ("days delinquent", "average_days_delinquent")],
                rows: zip(months, rows).map { month, row in
                    (month, [
                        figure(row.hasDsoSimple ? row.dsoSimple : nil), figure(row.hasDsoCountback ? row.dsoCountback : nil),
                        figure(row.hasBestPossibleDso ? row.bestPossibleDso : nil), figure(row.hasAverageDaysDelinquent ? row.averageDaysDelinquent : nil),
                    ])
                }
            ),
            ReportPage.monthsSection(
                id: "cei", heading: "Collection effectiveness and the share over 90 days, 12 months", chart: cei,
                columns: [("CEI %", "cei"), ("over 90 days %", "over_90_percent")],
                rows: zip(months, rows).map { month, row in
                    (month, [figure(row.hasCei ? row.cei : nil), figure(row.hasOver90Percent ? row.over90Percent : nil)])
                }
            ),
            ReportPage.monthsSection(
                id: "collected", heading: "Collected against target, 12 months, \(base)", chart: collected,
                columns: [("collected", "collected"), ("target", "target"), ("of target %", "collected_percent_of_target")],
                rows: zip(months, rows).map { month, row in
                    (month, [
                        amount(row.collected), row.target.minor == 0 ? "-" : amount(row.target),
                        figure(row.hasCollectedPercentOfTarget ? row.collectedPercentOfTarget : nil),
                    ])
                },
                note: hasTarget ? "" : "No collection target is set (the tenant setting metrics.collection_target, minor units per month)."
            ),
        ])

        let top = try topOverdue()
        document["top"] = .object([
            "as_of": .text(through.description), "currency": .text(base),
            "chart": Chart.horizontalBars(
                title: "Top \(Self.topCount) overdue customers, \(base)", names: top.map(\.name),
                values: top.map { ReportFigures.chartValue($0.overdue, base) }, tips: top.map { ReportFigures.amount($0.overdue, base) }
            ).templateValue,
            "rows": .list(top.map { customer in
                [
                    "customer_id": .text(customer.customerID), "name": .text(customer.name),
                    "overdue": .text(ReportFigures.amount(customer.overdue, base)), "over_90": .text(ReportFigures.amount(customer.over90, base)),
                    "open": .text(ReportFigures.amount(customer.open, base)),
                ]
            }),
        ])
        return .object(document)
    }

    /// The page: self-contained HTML.
    public func html() throws -> String { try ReportPage.render(.monthEnd, document()) }

    /// The aging in the base currency, charted: the response's converted total when it has one
    /// (every currency had a rate on the day), else the base currency's own items alone. Other
    /// currencies' own totals follow in a table either way.
    private func agingSection() -> TemplateValue {
        let base = metrics.baseCurrency
        let labels = aging.labels
        let others = aging.totals.filter { $0.currency != base }
        let converted = aging.hasBaseTotal && aging.baseTotal.currency == base && !others.isEmpty
        let totals = converted ? aging.baseTotal : aging.totals.first { $0.currency == base }
        var section = ReportPage.agingSection(
            asOf: aging.asOf, currency: base, converted: converted, labels: labels,
            buckets: totals?.buckets ?? Array(repeating: 0, count: labels.count), total: totals?.total ?? 0
        )
        if !others.isEmpty {
            section["others"] = .object([
                "note": .text(converted ? "Each currency's own totals, converted in the chart:" : "Other currencies, not in the chart:"),
                "labels": .list(labels.map { ["label": .text($0)] }),
                "rows": .list(others.map { row in
                    ["currency": .text(row.currency), "amounts": .list((row.buckets + [row.total]).map { ["amount": .text(ReportFigures.amount($0, row.currency))] })]
                }),
            ])
        }
        return .object(section)
    }

    /// The month's row in words, each with the field `dunlin metrics --json` names it by.
    static func keyFigures(_ row: Dunlin_V1_MetricsRow) -> [[String: TemplateValue]] {
        let amount = { (value: Dunlin_V1_Amount) in ReportFigures.amount(value) }
        let figures: [(String, String, String)] = [
            ("opening receivables", "opening", amount(row.opening)),
            ("sales", "sales", amount(row.sales)),
            ("collected", "collected", amount(row.collected)),
            ("closing receivables", "closing", amount(row.closing)),
            ("of which not yet due", "closing_current", amount(row.closingCurrent)),
            ("of which over 90 days", "closing_over_90", amount(row.closingOver90)),
            ("DSO, days", "dso_simple", ReportFigures.figure(row.hasDsoSimple ? row.dsoSimple : nil)),
            ("DSO countback, days", "dso_countback", ReportFigures.figure(row.hasDsoCountback ? row.dsoCountback : nil)),
            ("best possible DSO, days", "best_possible_dso", ReportFigures.figure(row.hasBestPossibleDso ? row.bestPossibleDso : nil)),
            ("average days delinquent", "average_days_delinquent", ReportFigures.figure(row.hasAverageDaysDelinquent ? row.averageDaysDelinquent : nil)),
            ("CEI %", "cei", ReportFigures.figure(row.hasCei ? row.cei : nil)),
            ("over 90 days %", "over_90_percent", ReportFigures.figure(row.hasOver90Percent ? row.over90Percent : nil)),
            ("promises kept", "promises_kept", "\(row.promisesKept) of \(row.promisesDue)"),
            ("promise-kept rate %", "promise_kept_percent", ReportFigures.figure(row.hasPromiseKeptPercent ? row.promiseKeptPercent : nil)),
            ("open disputes", "disputes_open", String(row.disputesOpen)),
            ("their average age, days", "dispute_average_age_days", ReportFigures.figure(row.hasDisputeAverageAgeDays ? row.disputeAverageAgeDays : nil)),
            ("collection target", "target", row.target.minor == 0 ? "-" : amount(row.target)),
            ("collected of target %", "collected_percent_of_target", ReportFigures.figure(row.hasCollectedPercentOfTarget ? row.collectedPercentOfTarget : nil)),
        ]
        return figures.map { ["name": .text($0.0), "field": .text($0.1), "value": .text($0.2)] }
    }
}

extension UnaryCaller {
    /// The aging with every page of rows (the totals come with each page).
    public func agingReport(_ request: Dunlin_V1_AgingRequest, options: RPCClient.CallOptions) async throws -> Dunlin_V1_AgingResponse {
        var report = try await unary(Receivables.aging, request, options: options)
        var page = report
        while !page.nextCursor.isEmpty {
            var next = request
            next.cursor = page.nextCursor
            page = try await unary(Receivables.aging, next, options: options)
            report.rows += page.rows
        }
        report.nextCursor = ""
        return report
    }

    /// The tenant's letterhead name (setting `letterhead.name`), empty when none is set.
    func letterheadName(options: RPCClient.CallOptions) async throws -> String {
        let settings = try await unary(Records.listSettings, .init(), options: options).settings
        return settings.first { $0.id == TenantSetting.letterheadPrefix + "name" }?.value ?? ""
    }
}
