import DunlinCore
import Foundation
import GRDB

/// What an audit event records: one admin action, or an approval decided on the server.
///
/// The names are the wire's (`AuditEvent.action` in Protocol/admin.proto): `noun.verb`, so a
/// reader can filter by prefix.
public enum AuditAction: String, Sendable, Hashable, Codable, CaseIterable, DatabaseValueConvertible {
    case tenantCreate = "tenant.create"
    case tenantSuspend = "tenant.suspend"
    case tenantResume = "tenant.resume"
    /// A copy of the tenant's database was taken to be streamed to the caller.
    case tenantExport = "tenant.export"
    case tenantDelete = "tenant.delete"
    /// The tenant's limits were set or reset (the detail lists them).
    case tenantLimits = "tenant.limits"
    /// The tenant's client certificate authorities (mutual TLS) set or cleared; the detail says which.
    case tenantClientCA = "tenant.client_ca"
    case userCreate = "user.create"
    /// The user's role changed (and perhaps other fields; the detail lists every change).
    case userRole = "user.role"
    case userDeactivate = "user.deactivate"
    case userActivate = "user.activate"
    /// Any other change of a user: name, email, time zone, manager.
    case userUpdate = "user.update"
    case tokenIssue = "token.issue"
    /// The target is the old token; the detail names the new one's id.
    case tokenRotate = "token.rotate"
    case tokenRevoke = "token.revoke"
    case replicaRetire = "replica.retire"
    case approvalApprove = "approval.approve"
    case approvalReject = "approval.reject"
}

/// Who did an audited action, and from where. Built from the caller's principal (never from a
/// request) and the connection's peer address.
public struct AuditActor: Sendable, Hashable {
    /// The user id; empty for dunlind itself.
    public var userID: String
    /// The user's role at the time (`server-admin`, `admin`...); empty for dunlind itself.
    public var role: String
    /// The peer's IP address, as the server saw the connection; `local` for dunlind itself.
    public var address: String

    public init(userID: String, role: String, address: String) {
        self.userID = userID
        self.role = role
        self.address = address
    }

    /// dunlind itself, on the server's own machine: `dunlind init` making the first server admin
    /// and their token, `dunlind demo` seeding its tenant.
    public static let serverProcess = AuditActor(userID: "", role: "", address: "local")
}

/// One entry of the audit trail, as the control database keeps it (table `audit_event`,
/// append-only). Recorded in the same transaction as the action where the action is a write of
/// the control database, so a crash never leaves one without the other.
public struct AuditEvent: Sendable, Hashable, Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit_event"

    /// The event's place in the trail: increasing, never reused. nil until inserted.
    public var seq: Int64?
    /// Unix ms, from the control store's clock.
    public var at: Int64
    public var actorID: String
    public var actorRole: String
    /// The tenant the action concerns; empty for a server-wide one (a server admin's user or token).
    public var tenantID: String
    public var address: String
    public var action: AuditAction
    /// What the action was done to: a tenant, user, token, replica or approval request id.
    public var targetID: String
    /// A short account of what changed ("role analyst → manager"); at most ``maxDetail`` characters.
    public var detail: String

    /// The longest detail kept, in characters: longer ones are cut, ending in "…".
    public static let maxDetail = 500

    public init(at: Int64, actor: AuditActor, tenantID: String, action: AuditAction, targetID: String, detail: String) {
        self.at = at
        actorID = actor.userID
        actorRole = actor.role
        self.tenantID = tenantID
        address = actor.address
        self.action = action
        self.targetID = targetID
        self.detail = detail.count > Self.maxDetail ? String(detail.prefix(Self.maxDetail - 1)) + "…" : detail
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        seq = inserted.rowID
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, address, action, detail
        case actorID = "actor_id"
        case actorRole = "actor_role"
        case tenantID = "tenant_id"
        case targetID = "target_id"
    }
}

/// An audit event as listed, with the names of its actor and target as they are now (empty when
/// the actor is dunlind itself, or the target is no user or tenant).
public struct ListedAuditEvent: Sendable, Hashable {
    public var event: AuditEvent
    public var actorName: String
    /// The target user's or tenant's name; for a token, its user's name.
    public var targetName: String
}
