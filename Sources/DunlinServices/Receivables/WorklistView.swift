import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// `Receivables/Worklist`: an analyst's customers ranked by ``DunlinCore/Worklist``, on the
/// analyst's own day. Any tenant role may read any analyst's list (viewers read everything of
/// their tenant); the default analyst is the caller. "Today" is the caller's: their own time zone
/// from the credential (`Principal.time_zone`), else the tenant's, so at 09:00 in Manila an analyst
/// there sees tomorrow's list while New York's evening still has today's.
func worklist(_ request: Dunlin_V1_WorklistRequest, tenant: TenantHandle, caller: Dunlin_V1_Principal) throws -> Dunlin_V1_WorklistResponse {
    let zone = (caller.timeZone.isEmpty ? nil : TimeZone(identifier: caller.timeZone)) ?? tenant.timeZone
    let today = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: tenant.clock.today(in: zone)) }
    let analyst = request.analystID.isEmpty ? caller.id : request.analystID
    let limit = request.limit == 0 ? 50 : Int(min(request.limit, 1000))
    var base = tenant.baseCurrency
    if !request.baseCurrency.isEmpty {
        guard let currency = Currency(code: request.baseCurrency) else {
            throw RPCError(.money(field: "base_currency", .unknownCurrency(request.baseCurrency)))
        }
        base = currency
    }
    let requested = try exchangeRates(request.rates, to: base)
    // One read for all of it (facts, settings, rates, tickets): one snapshot, one pool checkout.
    let inputs = try RPCError.mapping { try tenant.store.worklistInputs(analystID: analyst, today: today, timeZone: zone, base: base) }
    let applied = overriding(inputs.rates, with: requested)
    let weights = try RPCError.mapping { try TenantSetting.weights(inputs.settings) }
    var facts = inputs.facts
    warnTickets(&facts, inputs, now: tenant.clock.milliseconds)
    let (total, rows) = Worklist.top(facts, limit: limit, today: today, weights: weights, base: base, rates: applied.mapValues(\.rate))
    return .with { response in
        response.asOf = today.description
        response.analystID = analyst
        response.timeZone = zone.identifier
        response.total = UInt32(clamping: total)
        response.rows = rows.map { row in
            .with {
                $0.customerID = row.customerID
                $0.customerName = row.customerName
                $0.priority = row.priority
                $0.score = Int64(row.score)
                $0.parts = row.parts.map { part in .with { $0.name = part.name; $0.points = Int64(part.points) } }
                $0.reasons = row.reasons
                $0.overdueBase = Dunlin_V1_Amount(row.overdueBase)
                $0.overdue = row.overdue.map(Dunlin_V1_Amount.init)
                $0.daysPastDue = Int32(clamping: row.daysPastDue)
            }
        }
        response.rates = appliedRates(applied, of: rows.flatMap { $0.overdue.map(\.currency) })
        response.weights = Dictionary(uniqueKeysWithValues: WorklistWeights.names.map { ($0, Int32(clamping: weights[$0] ?? 0)) })
    }
}

/// Adds to each customer's facts its tickets whose SLA is breached or at risk at the tenant's now
/// (whatever day the list is for: an SLA is about now).
private func warnTickets(_ facts: inout [WorklistFacts], _ inputs: WorklistInputs, now: Int64) {
    guard !inputs.tickets.isEmpty else { return }
    var warnings: [String: [TicketWarning]] = [:]
    for ticket in inputs.tickets {
        let status = SLAClock.status(
            events: inputs.ticketEvents[ticket.id] ?? [], slaMinutes: Int64(ticket.slaMinutes), calendars: inputs.calendars, now: now
        )
        if let warning = TicketWarning(ticket, status) { warnings[ticket.customerID, default: []].append(warning) }
    }
    for index in facts.indices {
        if let found = warnings[facts[index].customerID] { facts[index].tickets = found }
    }
}
