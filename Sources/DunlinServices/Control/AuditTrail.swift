import DunlinCore
import DunlinStore

// The audit trail as the services see it (the events themselves: DunlinStore's AuditEvent).
//
// Who and from where come from the call's context, never from a request: the principal the
// connection's credential check returned, and the peer address the connection's socket reported
// (``ServerContext/peerAddress``). An action that writes the control database records its event
// in that write's transaction (the ControlStore methods take the actor). An action kept
// elsewhere (an export, a replica retired, an approval decided in a tenant's store) is recorded
// just after it happened, through ``TenantHandle/audit(_:_:target:_:)`` or the control store.

extension AuditActor {
    /// The caller of `context`: its user, role and peer address.
    init(_ context: ServerContext) {
        self.init(userID: context.principal.id, role: context.principal.role, address: context.peerAddress)
    }
}

extension TenantHandle {
    /// Records `action` on this tenant by the caller of `context`, after it happened. The action
    /// stands whatever happens here, so a failure to record is logged as an error, not thrown:
    /// the caller's answer stays the truth about the action. Nothing is recorded on a replica
    /// (its handle records nothing); the server records an offline decision when it settles it.
    func audit(_ context: ServerContext, _ action: AuditAction, target: String, _ detail: String) {
        do {
            try recordAudit(AuditActor(context), action, target, detail)
        } catch {
            context.logger.error("audit event not recorded", metadata: [
                "action": "\(action.rawValue)", "tenant": "\(id)", "target": "\(target)", "error": "\(error)",
            ])
        }
    }
}

extension ApprovalRequest {
    /// The decision for the audit trail: "approved writeoff USD 600.00 for customer C1 (invoice
    /// INV-1): agreed".
    var auditDetail: String {
        let what =
            if let amount { "\(kind.rawValue) \(amount)" } else if let termsDays { "terms of \(termsDays) days" } else { kind.rawValue }
        let on = invoiceID.isEmpty ? "" : " (invoice \(invoiceID))"
        return "\(status.rawValue) \(what) for customer \(customerID)\(on): \(decisionReason)"
    }

    /// The trail's action for a decided request; nil while it is pending.
    var auditAction: AuditAction? {
        switch status {
        case .approved: .approvalApprove
        case .rejected: .approvalReject
        case .pending: nil
        }
    }
}
