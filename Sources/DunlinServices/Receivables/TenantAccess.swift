import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// A tenant as the services need it: its store and its settings.
public struct TenantHandle: Sendable {
    public var id: String
    public var store: TenantStore
    public var baseCurrency: Currency
    public var timeZone: TimeZone
    /// Where "now" comes from: the system clock in a server, a fixed one in tests.
    public var clock: WallClock
    /// A user's active manager (the control database's users), nil when none: who an escalation
    /// of that user's customer goes to. Nobody's on a replica, which makes no escalations.
    public var managerOf: @Sendable (String) -> String?
    /// The server's audit trail, for actions kept in this tenant's store (an approval decided, a
    /// replica retired): their events go through the store's audit outbox (``AuditNote``) into
    /// it. nil on a replica (the default), which audits nothing: the server records a decision
    /// made offline when the push settles it.
    public var auditTrail: AuditTrail?

    public init(
        id: String, store: TenantStore, baseCurrency: Currency, timeZone: TimeZone, clock: WallClock = .system,
        managerOf: @escaping @Sendable (String) -> String? = { _ in nil },
        auditTrail: AuditTrail? = nil
    ) {
        self.id = id
        self.store = store
        self.baseCurrency = baseCurrency
        self.timeZone = timeZone
        self.clock = clock
        self.managerOf = managerOf
        self.auditTrail = auditTrail
    }

    /// Today in the tenant's calendar: the default date of every entry, status and report.
    public var today: CivilDate { clock.today(in: timeZone) }

    /// The current instant, for what is stamped with a time (activities).
    public var now: Date { clock.now() }
}

/// Finds the tenant store for a tenant id taken from a principal. Throws NOT_FOUND for an unknown
/// or deleted tenant and FAILED_PRECONDITION for a suspended one.
public protocol TenantProvider: Sendable {
    func tenant(_ id: String) throws(RPCError) -> TenantHandle
}

/// Resolves the caller's tenant and holds them to a role: the tenant comes from the credential
/// (WELCOME's principal), never from the request. The role is the principal's as the connection's
/// per-call check found it (``Authenticator/recheck(_:)``), so a demotion or deactivation since
/// HELLO already holds here.
func access(_ context: ServerContext, _ tenants: any TenantProvider, requires required: Role) throws(RPCError) -> (TenantHandle, Role) {
    guard let role = Role(rawValue: context.principal.role) else {
        throw RPCError(.permissionDenied, "\(context.method) needs a tenant role")
    }
    guard role != .serverAdmin, !context.principal.tenantID.isEmpty else {
        throw RPCError(.permissionDenied, "server admins manage tenants; they do not read or change a tenant's receivables")
    }
    guard role.satisfies(required) else {
        throw RPCError(.permissionDenied, "\(context.method) needs the \(required.rawValue) role or higher; you are \(role.rawValue)")
    }
    return (try tenants.tenant(context.principal.tenantID), role)
}

/// Resolves the caller's tenant and holds them to the role the rights table (``Rights``) gives a
/// write of `kind`.
func access(_ context: ServerContext, _ tenants: any TenantProvider, writing write: RecordWrite, _ kind: RecordKind) throws(RPCError) -> (TenantHandle, Role) {
    guard let required = Rights.records[kind]?.role(for: write) else {
        throw RPCError(.permissionDenied, "\(context.method): \(kind.rawValue) records are not written this way")
    }
    return try access(context, tenants, requires: required)
}

/// A fixed set of tenants, for tests and single-tenant development servers.
public struct FixedTenants: TenantProvider {
    public var tenants: [String: TenantHandle]

    public init(_ tenants: [TenantHandle]) {
        self.tenants = Dictionary(tenants.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func tenant(_ id: String) throws(RPCError) -> TenantHandle {
        guard let tenant = tenants[id] else { throw RPCError(.notFound, "no tenant \(id)") }
        return tenant
    }
}
