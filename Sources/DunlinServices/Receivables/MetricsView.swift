import DunlinCore
import DunlinStore
import DunlinWire

/// `Receivables/Metrics`: DSO (simple and countback), best possible DSO, average days delinquent,
/// CEI, the share over 90 days, the promise-kept rate, open disputes and their age, sales and
/// cash collected (``CollectionMetrics``, README "Metrics"), for a period, by month and by
/// analyst as asked, in the tenant's base currency: other currencies convert at the rates in force
/// on each row's last day (the tenant's, or the request's). Any tenant role, on the server or a replica.
func metrics(_ request: Dunlin_V1_MetricsRequest, tenant: TenantHandle) throws -> Dunlin_V1_MetricsResponse {
    let through = try RPCError.mapping { try WireField.date(request.through, field: "through", default: tenant.today) }
    let from = try RPCError.mapping { try WireField.date(request.from, field: "from", default: through.firstOfMonth) }
    guard from <= through else { throw RPCError(.invalid(field: "from", "\(from) is after through (\(through))")) }
    guard from.days(until: through) < 3660 else { throw RPCError(.outOfRange(field: "from", "a period is at most ten years, not \(from) to \(through)")) }

    let periods = request.byMonth ? CivilDate.months(from: from, through: through) : [(first: from, last: through)]
    let teams = try request.byTeam ? RPCError.mapping { try tenant.store.allTeamCalendars() }.filter { !$0.members.isEmpty }.sorted { $0.id < $1.id } : []
    var analysts: [String?] = try request.byAnalyst
        ? [nil] + RPCError.mapping { try tenant.store.analystIDs() }
        : [request.analystID.isEmpty ? nil : request.analystID]
    // A team's rows add its members' figures: each member is measured, listed or not.
    let listed = Set(analysts.compactMap { $0 })
    let members = Set(teams.flatMap(\.members))
    analysts += members.subtracting(listed).sorted().map { $0 }

    let monthlyTarget = try RPCError.mapping { try TenantSetting.collectionTarget(tenant.store.settings()) }
    var excluded = Set<String>()
    let base = tenant.baseCurrency
    // Each period converts at the rates in force on its last day.
    let applied = try periods.map { try ratesInForce(request.rates, into: base, on: $0.last, tenant: tenant) }
    var measured: [String: [PeriodFigures]] = [:]
    var rows: [Dunlin_V1_MetricsRow] = []
    for analyst in analysts {
        var previousClosing: Int64?
        // What the periods share (the kept totals at their ends, the promises) in one read each,
        // not one per period.
        let series = try periods.count > 1 ? RPCError.mapping { try tenant.store.metricsSeries(periods: periods, analystID: analyst) } : nil
        for (index, (first, last)) in periods.enumerated() {
            // A month's opening is the closing of the month before: one as-of read less per month.
            var (figures, others) = try RPCError.mapping {
                try tenant.store.periodFigures(
                    from: first, through: last, analystID: analyst, base: base, rates: applied[index].mapValues(\.rate), opening: previousClosing,
                    series: series
                )
            }
            previousClosing = figures.closing
            // Ticket SLA attainment over the period's days on the tenant's clock.
            let start = Activity.milliseconds(of: first.start(in: tenant.timeZone))
            let end = Activity.milliseconds(of: last.adding(days: 1).start(in: tenant.timeZone))
            (figures.ticketsResolved, figures.ticketsWithinSLA) = try RPCError.mapping { try tenant.store.ticketSLA(from: start, until: end, analystID: analyst) }
            // The target is the tenant's: an analyst's or a team's row has none.
            if analyst == nil { figures.target = CollectionMetrics.target(monthly: monthlyTarget, from: first, through: last) }
            excluded.formUnion(others)
            if let analyst { measured[analyst, default: []].append(figures) }
            if analyst == nil || listed.contains(analyst!) { rows.append(metricsRow(figures, analyst: analyst ?? "", team: "", base: base, rates: applied[index])) }
        }
    }
    for team in teams {
        for (index, (first, last)) in periods.enumerated() {
            var figures = PeriodFigures(from: first, through: last, analystID: "")
            for member in team.members {
                if let theirs = measured[member]?[index] { try RPCError.mapping { try figures.add(theirs) } }
            }
            rows.append(metricsRow(figures, analyst: "", team: team.id, base: base, rates: applied[index]))
        }
    }
    return .with {
        $0.baseCurrency = base.code
        $0.rows = rows
        $0.excludedCurrencies = excluded.sorted()
    }
}

/// One row of `figures`, for an analyst, a team or the tenant (both empty).
private func metricsRow(_ figures: PeriodFigures, analyst: String, team: String, base: Currency, rates: [Currency: AppliedRate]) -> Dunlin_V1_MetricsRow {
    .with { row in
        row.from = figures.from.description
        row.through = figures.through.description
        row.analystID = analyst
        row.teamID = team
        let amount = { (minor: Int64) in Dunlin_V1_Amount(Money(minorUnits: minor, currency: base)) }
        row.opening = amount(figures.opening)
        row.closing = amount(figures.closing)
        row.closingCurrent = amount(figures.closingCurrent)
        row.closingOver90 = amount(figures.closingOver90)
        row.sales = amount(figures.sales)
        row.collected = amount(figures.collected)
        if let value = figures.dsoSimple { row.dsoSimple = value }
        if let value = figures.dsoCountback { row.dsoCountback = value }
        if let value = figures.bestPossibleDSO { row.bestPossibleDso = value }
        if let value = figures.averageDaysDelinquent { row.averageDaysDelinquent = value }
        if let value = figures.cei { row.cei = value }
        if let value = figures.over90Percent { row.over90Percent = value }
        row.promisesDue = Int32(clamping: figures.promisesDue)
        row.promisesKept = Int32(clamping: figures.promisesKept)
        if let value = figures.promiseKeptPercent { row.promiseKeptPercent = value }
        row.disputesOpen = Int32(clamping: figures.disputesOpen)
        if let value = figures.disputeAverageAgeDays { row.disputeAverageAgeDays = value }
        row.target = amount(figures.target)
        if let value = figures.collectedPercentOfTarget { row.collectedPercentOfTarget = value }
        row.rates = appliedRates(rates, of: figures.converted)
        row.ticketsResolved = Int32(clamping: figures.ticketsResolved)
        row.ticketsWithinSla = Int32(clamping: figures.ticketsWithinSLA)
        if let value = figures.ticketSLAPercent { row.ticketSlaPercent = value }
    }
}
