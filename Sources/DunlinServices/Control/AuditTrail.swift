import DunlinCore
import DunlinStore
import Logging

// The audit trail as the services see it (the events themselves: DunlinStore's AuditEvent).
//
// Who and from where come from the call's context, never from a request: the principal the
// connection's credential check returned, and the peer address the connection's socket reported
// (``ServerContext/peerAddress``). An action that writes the control database records its event
// in that write's transaction (the ControlStore methods take the actor). An export is recorded
// in the control database before its first chunk is sent. An action kept in a tenant's store (a
// replica retired, an approval decided) writes its event to the store's audit outbox in its own
// transaction (``AuditNote``), and ``TenantHandle/flushAudit(_:)`` then moves it to the trail.

extension AuditActor {
    /// The caller of `context`: its user, role and peer address.
    init(_ context: ServerContext) {
        self.init(userID: context.principal.id, role: context.principal.role, address: context.peerAddress)
    }
}

/// Where a tenant's outbox notes go: the server's audit trail in the control database.
public struct AuditTrail: Sendable {
    /// The trail's clock (Unix ms): when a note says its action happened.
    public var now: @Sendable () -> Int64
    /// Records a note with its outbox id; recording one twice adds nothing
    /// (``ControlStore/recordAudit(_:tenantID:outboxID:)``).
    public var record: @Sendable (AuditNote, _ outboxID: Int64) throws -> Void

    public init(now: @escaping @Sendable () -> Int64, record: @escaping @Sendable (AuditNote, _ outboxID: Int64) throws -> Void) {
        self.now = now
        self.record = record
    }

    /// Moves every note in `store`'s outbox to the trail, oldest first, each removed once it is
    /// recorded. A failure stops the flush and is logged as an error, not thrown: the notes stay in
    /// the outbox for the next flush, and the action they record stands.
    func flush(_ store: TenantStore, tenant: String, logger: Logger) {
        do {
            for (id, note) in try store.auditOutbox() {
                try record(note, id)
                try store.removeFromAuditOutbox(id)
            }
        } catch {
            logger.error("audit events not recorded yet; they stay in the tenant's audit outbox for the next flush", metadata: [
                "tenant": "\(tenant)", "error": "\(error)",
            ])
        }
    }
}

extension TenantHandle {
    /// The event of `action` on this tenant by the caller of `context`, now, for the action's own
    /// transaction to write to the audit outbox; nil on a replica, which audits nothing.
    func auditNote(_ context: ServerContext, _ action: AuditAction?, target: String, _ detail: String) -> AuditNote? {
        guard let auditTrail, let action else { return nil }
        return AuditNote(at: auditTrail.now(), actor: AuditActor(context), action: action, targetID: target, detail: detail)
    }

    /// Moves the tenant's outbox notes to the audit trail (``AuditTrail/flush(_:tenant:logger:)``),
    /// after an audited action has committed.
    func flushAudit(_ context: ServerContext) {
        auditTrail?.flush(store, tenant: id, logger: context.logger)
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
