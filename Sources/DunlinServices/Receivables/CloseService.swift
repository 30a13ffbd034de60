import DunlinCore
import DunlinStore
import DunlinWire

/// Month-end closes (PROTOCOL.md §16.1, "Month-end close"): `GetClose` and `ListCloses` for every
/// role, on the server and from a replica's copy; `CloseMonth` (managers), `ReopenMonth` (admins),
/// `CloseSnapshot` and `PostCloseAdjustments` where the authority answers (`authority: true`,
/// the server): a close freezes the server's ledger, and the per-customer snapshot is kept there.
public struct CloseService: RPCService {
    let tenants: any TenantProvider
    let authority: Bool

    public init(tenants: any TenantProvider, authority: Bool) {
        self.tenants = tenants
        self.authority = authority
    }

    public func register(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Receivables.getClose) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            guard let close = try RPCError.mapping({ try tenant.store.close(month: request.month) }) else {
                throw RPCError(DomainError.notFound(field: "month", id: request.month))
            }
            return Dunlin_V1_PeriodCloseRecord(close)
        }

        router.unary(Receivables.listCloses) { _, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let closes = try RPCError.mapping { try tenant.store.closes() }
            return .with { $0.closes = closes.map(Dunlin_V1_PeriodCloseRecord.init) }
        }

        guard authority else { return }

        router.unary(Receivables.closeMonth) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .manager)
            let close = try RPCError.mapping {
                try tenant.store.closeMonth(request.month, by: context.principal.id, today: tenant.today, base: tenant.baseCurrency)
            }
            return Dunlin_V1_PeriodCloseRecord(close)
        }

        router.unary(Receivables.reopenMonth) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .admin)
            let close = try RPCError.mapping {
                try tenant.store.reopenMonth(request.month, by: context.principal.id, today: tenant.today, reason: request.reason)
            }
            return Dunlin_V1_PeriodCloseRecord(close)
        }

        router.unary(Receivables.closeSnapshot) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.closeSnapshot(month: request.month, page: PageRequest(after: request.cursor, size: request.pageSize, sizes: .aging))
            }
            let names = try RPCError.mapping { try tenant.store.customerNames(Set(page.items.map(\.customerID))) }
            return try RPCError.mapping {
                try .with { response in
                    response.labels = AllowanceMatrix.buckets.labels
                    response.nextCursor = page.nextCursor ?? ""
                    response.rows = try page.items.map { row in
                        try .with {
                            $0.customerID = row.customerID
                            $0.customerName = names[row.customerID] ?? ""
                            $0.currency = row.currency.code
                            $0.buckets = row.buckets
                            $0.total = try row.total()
                        }
                    }
                }
            }
        }

        router.unary(Receivables.postCloseAdjustments) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let entries = try RPCError.mapping { try tenant.store.postCloseAdjustments(month: request.month) }
            return .with { $0.entries = entries.map { Dunlin_V1_LedgerEntryRecord($0) } }
        }
    }
}
