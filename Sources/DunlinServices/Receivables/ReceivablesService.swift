import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// Customers, the ledger, cash application and reports of the caller's tenant.
///
/// Rights: viewers read; analysts post invoices, payments and credit memos, apply and unapply
/// cash; managers also post adjustments, write-offs, refunds and other reversals, and maintain
/// customers (including reassigning them).
public struct ReceivablesService: RPCService {
    let tenants: any TenantProvider

    public init(tenants: any TenantProvider) {
        self.tenants = tenants
    }

    public func register(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Receivables.upsertCustomers) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .change, .customer)
            var customers: [Customer] = []
            for (index, record) in request.customers.enumerated() {
                do throws(DomainError) {
                    var customer = try record.customer()
                    if customer.id.isEmpty { customer.id = RecordID.new(for: .customer) }
                    customers.append(customer)
                } catch {
                    throw RPCError(error, item: index + 1)
                }
            }
            try RPCError.mapping { try tenant.store.upsert(customers) }
            return .with { $0.count = UInt32(customers.count) }
        }

        router.unary(Receivables.getCustomer) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            guard let customer = try tenant.store.customer(request.id) else {
                throw RPCError(.notFound, "no customer \(request.id)", details: [.with { $0.field = "id" }])
            }
            var response = Dunlin_V1_GetCustomerResponse()
            response.customer = Dunlin_V1_CustomerRecord(customer)
            response.openBalance = try totals(RPCError.mapping { try tenant.store.openInvoices(customerID: customer.id) }.map(\.open), field: "open_balance")
            response.unapplied = try totals(RPCError.mapping { try tenant.store.unappliedSources(customerID: customer.id) }.map(\.open), field: "unapplied")
            return response
        }

        router.unary(Receivables.listCustomers) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.customers(
                    analystID: request.analystID.isEmpty ? nil : request.analystID,
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.customers = page.items.map(Dunlin_V1_CustomerRecord.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Receivables.listEntries) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            var kinds: Set<LedgerEntryKind> = []
            for (index, text) in request.kinds.enumerated() {
                guard let kind = LedgerEntryKind(rawValue: text) else {
                    throw RPCError(.invalid(field: "kinds", "\"\(text)\" is not one of \(LedgerEntryKind.allCases.map(\.rawValue).joined(separator: ", "))"), item: index + 1)
                }
                kinds.insert(kind)
            }
            let from = try RPCError.mapping { try WireField.optionalDate(request.from, field: "from") }
            let through = try RPCError.mapping { try WireField.optionalDate(request.through, field: "through") }
            let page = try RPCError.mapping {
                try tenant.store.entries(
                    customerID: request.customerID.isEmpty ? nil : request.customerID, kinds: kinds, from: from, through: through,
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.entries = page.items.map { Dunlin_V1_LedgerEntryRecord($0) }
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Receivables.postEntries) { request, context in
            let (tenant, role) = try access(context, tenants, requires: .analyst)
            var entries: [LedgerEntry] = []
            let today = tenant.today
            for (index, record) in request.entries.enumerated() {
                var entry: LedgerEntry
                do throws(DomainError) {
                    entry = try record.entry(today: today)
                } catch {
                    throw RPCError(error, item: index + 1)
                }
                if entry.id.isEmpty { entry.id = RecordID.new(for: entry.kind) }
                let batch = entries
                try authorize(entry, item: index + 1, role: role) { id in try batch.first { $0.id == id } ?? tenant.store.entry(id) }
                entries.append(entry)
            }
            try RPCError.mapping { try tenant.store.post(entries) }
            return .with { $0.count = UInt32(entries.count) }
        }

        router.clientStreaming(Receivables.importEntries) { requests, context in
            let (tenant, role) = try access(context, tenants, requires: .analyst)
            let count = try await RPCError.mapping { try await importEntries(requests, into: tenant.store, role: role) }
            context.report(.imported(count, .entries))
            return .with { $0.count = UInt64(count) }
        }

        router.unary(Receivables.getEntry) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            guard let entry = try tenant.store.entry(request.id) else {
                throw RPCError(.notFound, "no ledger entry \(request.id)", details: [.with { $0.field = "id" }])
            }
            return try record(entry, in: tenant.store)
        }

        router.unary(Receivables.applyCash) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .analyst)
            let date = try RPCError.mapping { try WireField.date(request.date, field: "date", default: tenant.today) }
            guard !request.allocations.isEmpty else {
                throw RPCError(.invalidArgument, "allocations: at least one invoice is needed", details: [.with { $0.field = "allocations" }])
            }
            let customerID = try tenant.store.entry(request.sourceID)?.customerID ?? ""
            var entries: [LedgerEntry] = []
            for (index, allocation) in request.allocations.enumerated() {
                let amount: Money
                do throws(DomainError) {
                    amount = try allocation.amount.money(field: "allocations.amount")
                } catch {
                    throw RPCError(error, item: index + 1)
                }
                entries.append(LedgerEntry(
                    id: allocation.applicationID.isEmpty ? RecordID.new(for: .application) : allocation.applicationID,
                    kind: .application, customerID: customerID, amount: amount, date: date,
                    sourceID: request.sourceID, targetID: allocation.invoiceID, memo: request.memo
                ))
            }
            try RPCError.mapping { try tenant.store.post(entries) }
            return .with { $0.applications = entries.map { Dunlin_V1_LedgerEntryRecord($0) } }
        }

        router.unary(Receivables.unapply) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .analyst)
            guard let application = try tenant.store.entry(request.applicationID), application.kind == .application else {
                throw RPCError(.notFound, "no application \(request.applicationID)", details: [.with { $0.field = "application_id" }])
            }
            let reversal = LedgerEntry(
                id: request.reversalID.isEmpty ? RecordID.new(for: .reversal) : request.reversalID, kind: .reversal,
                customerID: application.customerID, amount: application.amount,
                date: try RPCError.mapping { try WireField.date(request.date, field: "date", default: tenant.today) },
                targetID: application.id, memo: request.memo
            )
            try RPCError.mapping { try tenant.store.post([reversal]) }
            return .with { $0.reversal = Dunlin_V1_LedgerEntryRecord(reversal) }
        }

        router.unary(Receivables.aging) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return try aging(request, tenant: tenant)
        }

        router.unary(Receivables.worklist) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return try worklist(request, tenant: tenant, caller: context.principal)
        }

        router.unary(Receivables.metrics) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return try metrics(request, tenant: tenant)
        }

        router.unary(Receivables.statement) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            guard let customer = try tenant.store.customer(request.customerID) else {
                throw RPCError(.notFound, "no customer \(request.customerID)", details: [.with { $0.field = "customer_id" }])
            }
            let asOf = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: tenant.today) }
            let invoices = try RPCError.mapping { try tenant.store.openInvoices(customerID: customer.id, asOf: asOf) }
            let sources = try RPCError.mapping { try tenant.store.unappliedSources(customerID: customer.id, asOf: asOf) }
            var response = Dunlin_V1_StatementResponse()
            response.customer = Dunlin_V1_CustomerRecord(customer)
            response.asOf = asOf.description
            if request.packed {
                response.openInvoiceColumns = Dunlin_V1_InvoiceColumns(invoices)
            } else {
                response.openInvoices = invoices.map { Dunlin_V1_LedgerEntryRecord($0.entry, balance: $0.open) }
            }
            response.payments = sources.filter { $0.entry.kind == .payment }.map { Dunlin_V1_LedgerEntryRecord($0.entry, balance: $0.open) }
            response.credits = sources.filter { $0.entry.kind == .creditMemo }.map { Dunlin_V1_LedgerEntryRecord($0.entry, balance: $0.open) }
            response.totalOpen = try totals(invoices.map(\.open), field: "total_open")
            response.totalUnapplied = try totals(sources.map(\.open), field: "total_unapplied")
            return response
        }

        router.unary(Receivables.unappliedCash) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let sources = try RPCError.mapping { try tenant.store.unappliedSources(customerID: request.customerID.isEmpty ? nil : request.customerID) }
            return try .with {
                $0.sources = sources.map { Dunlin_V1_LedgerEntryRecord($0.entry, balance: $0.open) }
                $0.totals = try totals(sources.map(\.open), field: "totals")
            }
        }
    }
}

/// Refuses an entry the caller's role may not post (``Rights/refusal(posting:target:role:)``, the rule a
/// pushed entry is held to as well). A reversal's target is found with `target` (the batch so
/// far, then the ledger).
private func authorize(_ entry: LedgerEntry, item: Int, role: Role, target: (String) throws -> LedgerEntry?) throws {
    if let refusal = Rights.refusal(posting: entry, target: entry.kind == .reversal ? try entry.targetID.flatMap(target) : nil, role: role) {
        throw RPCError(.permissionDenied, "item \(item): \(refusal)")
    }
}

/// Feeds the streamed chunks to the store's one-transaction import as they arrive (each chunk is
/// decoded here, off the tenant's writer, while the writer validates and inserts the previous
/// one). If the stream fails (a malformed entry, cancellation, deadline, disconnect) the feed
/// fails and the transaction rolls back; if the import refuses an entry, the feed is closed and
/// the rest of the stream is not read.
private func importEntries(_ requests: RequestStream<Dunlin_V1_ImportEntriesRequest>, into store: TenantStore, role: Role) async throws -> Int {
    let feed = ImportFeed<[LedgerEntry]>(capacity: 4)
    return try await withThrowingTaskGroup(of: Int.self) { group in
        group.addTask {
            try await store.importEntries(from: feed) { entry, index, ledger in
                try authorize(entry, item: index + 1, role: role) { ledger.entry($0) }
            }
        }
        var position = 0
        do {
            for try await request in requests {
                var chunk: [LedgerEntry] = []
                chunk.reserveCapacity(request.entries.count)
                for record in request.entries {
                    position += 1
                    var entry: LedgerEntry
                    do throws(DomainError) {
                        entry = try record.entry()
                    } catch {
                        throw RPCError(error, item: position)
                    }
                    if entry.id.isEmpty { entry.id = RecordID.new(for: entry.kind) }
                    chunk.append(entry)
                }
                guard await feed.send(chunk) else { break }
            }
            feed.finish()
        } catch {
            // The import sees the chunks already queued, then this failure; a refusal it finds
            // in them comes earlier in the stream, so it is the one to report.
            feed.finish(throwing: StreamFailure(error: error))
            do {
                _ = try await group.next()
            } catch is StreamFailure {
            }
            throw error
        }
        return try await group.next() ?? 0
    }
}

/// The request stream failed; the import rolls back.
private struct StreamFailure: Error {
    var error: any Error
}

private func record(_ entry: LedgerEntry, in store: TenantStore) throws -> Dunlin_V1_LedgerEntryRecord {
    let balance: Money? =
        switch entry.kind {
        case .invoice: try store.openBalance(ofInvoice: entry.id)
        case .payment, .creditMemo: try store.unapplied(ofSource: entry.id)
        default: nil
        }
    return Dunlin_V1_LedgerEntryRecord(entry, balance: balance, reversed: try store.isReversed(entry.id))
}

/// A request's exchange rates to `base`, by currency, each checked and refused naming its item
/// (none without a base).
func exchangeRates(_ rates: [Dunlin_V1_AgingRequest.Rate], to base: Currency?) throws -> [Currency: ExchangeRate] {
    var result: [Currency: ExchangeRate] = [:]
    for (index, rate) in rates.enumerated() {
        guard let currency = Currency(code: rate.currency) else {
            throw RPCError(.money(field: "rates.currency", .unknownCurrency(rate.currency)), item: index + 1)
        }
        guard let base else { continue }
        do {
            result[currency] = try ExchangeRate(from: currency, to: base, rate: rate.rate)
        } catch {
            throw RPCError(.money(field: "rates.rate", error), item: index + 1)
        }
    }
    return result
}

/// The rates to convert into `base` on `day`: the tenant's stored rates in force then
/// (``AppliedRate/inForce(_:base:on:)``), each overridden by one the request gives.
func ratesInForce(_ given: [Dunlin_V1_AgingRequest.Rate], into base: Currency?, on day: CivilDate, tenant: TenantHandle) throws -> [Currency: AppliedRate] {
    let requested = try exchangeRates(given, to: base)
    guard let base else { return [:] }
    return try overriding(RPCError.mapping { try tenant.store.ratesInForce(into: base, on: day) }, with: requested)
}

/// The stored rates in force, each overridden by one the request gives.
func overriding(_ stored: [Currency: AppliedRate], with requested: [Currency: ExchangeRate]) -> [Currency: AppliedRate] {
    var rates = stored
    for (currency, rate) in requested { rates[currency] = AppliedRate(rate: rate) }
    return rates
}

/// What a response says of the rates it used: those of `currencies`, by currency.
func appliedRates(_ rates: [Currency: AppliedRate], of currencies: some Sequence<Currency>) -> [Dunlin_V1_AppliedRate] {
    Set(currencies).sorted().compactMap { rates[$0].map(Dunlin_V1_AppliedRate.init) }
}

private func aging(_ request: Dunlin_V1_AgingRequest, tenant: TenantHandle) throws -> Dunlin_V1_AgingResponse {
    let asOf = try RPCError.mapping { try WireField.date(request.asOf, field: "as_of", default: tenant.today) }
    let buckets = try agingBuckets(request.bucketBounds)
    var base: Currency? = tenant.baseCurrency
    if request.baseCurrency == "-" {
        base = nil
    } else if !request.baseCurrency.isEmpty {
        guard let currency = Currency(code: request.baseCurrency) else {
            throw RPCError(.money(field: "base_currency", .unknownCurrency(request.baseCurrency)))
        }
        base = currency
    }
    let applied = try ratesInForce(request.rates, into: base, on: asOf, tenant: tenant)
    let rates = applied.mapValues(\.rate)
    // One page of rows, by (customer, currency), after the cursor, and the whole report's totals.
    let page = try RPCError.mapping {
        try tenant.store.agingPage(
            analystID: request.analystID.isEmpty ? nil : request.analystID, asOf: asOf, buckets: buckets,
            page: PageRequest(after: request.cursor, size: request.pageSize, sizes: .aging)
        )
    }
    // Without every rate, report per currency only rather than fail the whole report.
    let currencies = Set(page.totals.keys)
    if let current = base, !currencies.allSatisfy({ $0 == current || rates[$0] != nil }) { base = nil }
    let report = try agingReport(page.rows, asOf: asOf, buckets: buckets, base: base, rates: rates, totals: page.totals)
    let names = try tenant.store.customerNames(Set(page.rows.map(\.customerID)))
    var response = Dunlin_V1_AgingResponse()
    response.asOf = asOf.description
    response.labels = buckets.labels
    response.nextCursor = page.nextCursor ?? ""
    // Every sum below is made in 128 bits; one the wire's int64 cannot carry is OUT_OF_RANGE.
    try RPCError.mapping {
        response.rows = try report.rows.map { row in
            try .with {
                $0.customerID = row.customerID
                $0.customerName = names[row.customerID] ?? ""
                $0.currency = row.currency.code
                $0.buckets = row.buckets
                $0.total = try row.total()
            }
        }
        response.totals = try report.totals.keys.sorted().map { currency in
            let amounts = report.totals[currency]!
            return try .with {
                $0.currency = currency.code
                $0.buckets = amounts
                $0.total = try AgingReport.Row(customerID: "", currency: currency, buckets: amounts).total()
            }
        }
        if let baseCurrency = report.baseCurrency, let baseTotals = report.baseTotals {
            response.rates = appliedRates(applied, of: currencies)
            response.baseTotal = try .with {
                $0.currency = baseCurrency.code
                $0.buckets = baseTotals
                $0.total = try AgingReport.Row(customerID: "", currency: baseCurrency, buckets: baseTotals).total()
            }
        }
    }
    return response
}

private func agingBuckets(_ bounds: [Int32]) throws(RPCError) -> AgingBuckets {
    guard !bounds.isEmpty else { return .standard }
    do throws(DomainError) {
        return try AgingBuckets(bounds: bounds.map(Int.init))
    } catch {
        throw RPCError(error)
    }
}

private func agingReport(
    _ rows: [AgingReport.Row], asOf: CivilDate, buckets: AgingBuckets, base: Currency?, rates: [Currency: ExchangeRate],
    totals: [Currency: [Int128]]
) throws(RPCError) -> AgingReport {
    do throws(DomainError) {
        return try AgingReport.assemble(rows, asOf: asOf, buckets: buckets, baseCurrency: base, rates: rates, totals: totals)
    } catch {
        throw RPCError(error)
    }
}

/// Totals per currency, added in 128 bits: only a total the wire's int64 cannot carry is refused,
/// OUT_OF_RANGE naming `field`.
private func totals(_ amounts: [Money], field: String) throws -> [Dunlin_V1_Amount] {
    var totals = MoneyTotals()
    for amount in amounts { totals.add(amount) }
    do throws(MoneyError) {
        return try totals.amounts().map(Dunlin_V1_Amount.init)
    } catch {
        throw RPCError(.refusing(error, field: field))
    }
}


