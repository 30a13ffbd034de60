import DunlinCore
import DunlinSync
import DunlinWire

/// What sync set aside for a person: the reconciliation queue and the conflicts. The server
/// answers from its own ledger and merges, a replica from its copy, through the same handlers, so
/// `dunlin exceptions`, `conflicts` and `status` read either one the same way (`--server` picks the
/// server's view). Viewers may read both.
extension RecordsService {
    func registerReconciliationViews(in router: inout Router) {
        let tenants = self.tenants

        router.unary(Records.listExceptions) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let queue = try RPCError.mapping {
                try tenant.store.recheckInvariants()
                return try tenant.store.exceptions(includeResolved: request.includeResolved)
            }
            return .with {
                $0.exceptions = queue.map { item in
                    .with {
                        $0.id = item.exception.id
                        $0.kind = item.exception.kind.rawValue
                        $0.subjectID = item.exception.subjectID
                        $0.customerID = item.exception.customerID
                        $0.excess = Dunlin_V1_Amount(item.exception.excess)
                        $0.entryIds = item.exception.entryIDs
                        $0.holds = item.exception.holds
                        $0.status = item.status
                        $0.detectedAt = item.detectedAt
                    }
                }
            }
        }

        router.unary(Records.listConflicts) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let conflicts = try RPCError.mapping { try tenant.store.conflicts(includeSettled: request.includeSettled) }
            return .with { $0.conflicts = conflicts.map(Dunlin_V1_SyncConflict.init) }
        }
    }
}

extension Dunlin_V1_SyncConflict {
    /// The conflict as the wire carries it: values as text for people (a string as itself, an
    /// amount as "USD 1,500.00", anything else as its JSON), who wrote each by origin, user and
    /// device, and the settlement's outcome and time.
    public init(_ conflict: ConflictRecord) {
        self.init()
        id = conflict.id
        kind = conflict.kind
        recordID = conflict.recordID
        field = conflict.field
        kept = Self.text(conflict.kept)
        keptBy = conflict.keptBy
        keptAtMs = conflict.keptAt
        keptByUser = conflict.keptByUser
        keptDevice = conflict.keptDevice
        lost = Self.text(conflict.lost)
        lostBy = conflict.lostBy
        lostAtMs = conflict.lostAt
        lostByUser = conflict.lostByUser
        lostDevice = conflict.lostDevice
        status = conflict.status.rawValue
        settledBy = conflict.settledBy
        outcome = conflict.outcome?.rawValue ?? ""
        settledAtMs = conflict.settledAt ?? 0
    }

    /// A field value for people: a string as itself, an amount as money, anything else as its JSON.
    public static func text(_ value: FieldValue) -> String {
        if let text = value.text { return text }
        if case .object = value, let money = try? SyncValue.amount(value, "") { return money.description }
        return value.description
    }
}
