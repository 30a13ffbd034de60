import DunlinCore
import DunlinStore
import DunlinWire

/// `Records/AddApprovalRequest`, `GetApprovalRequest`, `ListApprovalRequests` and
/// `DecideApprovalRequest`: write-offs, refunds, adjustments, credit memos and terms changes
/// that wait for someone else's approval (``ApprovalRequest``, ``ApprovalLimits``).
///
/// Anyone from analyst up asks (the requester is the caller). A decision is held to the tenant's
/// limits against the caller's role, and nobody decides their own request. On the server
/// (`authority`) an approval writes its ledger entry, or the customer's new terms, in the
/// transaction that records it; on a replica the decision waits in the outbox and the server
/// settles it on the push with the same checks (SyncService), so an approval given offline is a
/// request for approval.
extension RecordsService {
    func registerApprovalRequests(in router: inout Router) {
        let tenants = self.tenants
        let authority = self.authority

        router.unary(Records.addApprovalRequest) { request, context in
            let (tenant, _) = try access(context, tenants, writing: .create, .approvalRequest)
            var asked = try RPCError.mapping { try request.request.newRequest(today: tenant.today, caller: context.principal.id) }
            if asked.id.isEmpty { asked.id = RecordID.new(for: RecordKind.approvalRequest) }
            try RPCError.mapping {
                do {
                    try tenant.store.add([asked])
                } catch let StoreError.refused(_, error) {
                    throw error
                }
            }
            return try answer(found(RPCError.mapping { try tenant.store.approvalRequest(asked.id) }, asked.id))
        }

        router.unary(Records.getApprovalRequest) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            return try answer(found(RPCError.mapping { try tenant.store.approvalRequest(request.id) }, request.id))
        }

        router.unary(Records.listApprovalRequests) { request, context in
            let (tenant, _) = try access(context, tenants, requires: .viewer)
            let page = try RPCError.mapping {
                try tenant.store.approvalRequests(
                    customerID: nonEmpty(request.customerID), statuses: WireField.choices(request.statuses, field: "statuses"),
                    requestedFrom: WireField.optionalDate(request.requestedFrom, field: "requested_from"),
                    requestedThrough: WireField.optionalDate(request.requestedThrough, field: "requested_through"),
                    page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.requests = page.items.map(answer)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        router.unary(Records.decideApprovalRequest) { request, context in
            let (tenant, role) = try access(context, tenants, writing: .change, .approvalRequest)
            let reason = request.reason
            try RPCError.mapping {
                try StoredText.check(reason, field: "reason")
                guard !reason.allSatisfy(\.isWhitespace) else { throw DomainError.invalid(field: "reason", "a decision needs a reason") }
            }
            let limits = try RPCError.mapping { try TenantSetting.approvalLimits(tenant.store.settings()) }
            let caller = context.principal.id, base = tenant.baseCurrency
            // The decision's audit event is written in its transaction (a repeated decision
            // writes none), then moved to the trail.
            let decided = try RPCError.mapping {
                try tenant.store.decide(
                    request.id, approve: request.approve, by: caller, today: tenant.today, reason: reason, settle: authority,
                    authorize: { current in try limits.authorizeDecision(of: current, by: caller, role: role, base: base) },
                    audit: { made in tenant.auditNote(context, made.auditAction, target: made.id, made.auditDetail) }
                )
            }
            tenant.flushAudit(context)
            return answer(decided)
        }
    }
}

private func answer(_ stored: StoredApprovalRequest) -> Dunlin_V1_ApprovalRequestRecord {
    Dunlin_V1_ApprovalRequestRecord(stored.request, entryID: stored.entryID ?? "")
}
