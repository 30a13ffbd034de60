import DunlinCore
import DunlinStore
import DunlinWire
import Foundation

/// The Admin service: tenants, users and tokens over the protocol (Protocol/admin.proto).
///
/// Who may do what, always from the caller's principal (the token at HELLO), never the request:
/// - Tenants: server admins only; anyone else is PERMISSION_DENIED.
/// - Users, and issuing tokens: server admins in any tenant (the request names it in `tenant_id`;
///   empty means the server admins themselves); a tenant's admins in their own tenant only: a
///   `tenant_id` other than empty or their own is PERMISSION_DENIED, and a user of another tenant
///   is NOT_FOUND exactly like a user that does not exist. Managers may also list their tenant's
///   users. Other roles are PERMISSION_DENIED.
/// - Rotating, revoking and listing tokens: also anyone, on their own tokens; someone else's
///   token is NOT_FOUND unless the caller may manage its user. A rotation keeps the lifetime the
///   token was issued with; only an admin who manages its user may give another.
/// - The audit trail (ListAudit): server admins, all of it; a tenant's admins, their tenant's
///   (another tenant is NOT_FOUND, as one that does not exist); other roles PERMISSION_DENIED.
///   Every change here is recorded in it with the caller and their address (AuditTrail.swift).
/// - Every call has passed the connection's per-call credential check before it gets here
///   (``Authenticator/recheck(_:)``); this service adds no second one.
public struct AdminService: RPCService {
    public let tenants: TenantDirectory
    var control: ControlStore { tenants.control }
    /// The limits of a tenant without its own (`dunlind serve --tenant-*`), for GetTenantLimits.
    public let limitDefaults: TenantLimits

    /// Bytes per ExportTenant chunk.
    public static let exportChunkSize = 256 << 10

    public init(tenants: TenantDirectory, limitDefaults: TenantLimits = .defaults) {
        self.tenants = tenants
        self.limitDefaults = limitDefaults
    }

    public func register(in router: inout Router) {
        let tenants = self.tenants
        let control = self.control

        // MARK: Tenants

        router.unary(Admin.createTenant) { request, context in
            try Caller(context).requireServerAdmin()
            return Dunlin_V1_Tenant(try tenants.create(
                id: request.id, name: request.name, baseCurrency: request.baseCurrency, timeZone: request.timeZone, by: AuditActor(context)
            ))
        }
        router.unary(Admin.listTenants) { request, context in
            try Caller(context).requireServerAdmin()
            let page = try RPCError.control {
                try control.tenants(includeDeleted: request.includeDeleted, page: PageRequest(after: request.cursor, size: request.pageSize))
            }
            return .with {
                $0.tenants = page.items.map(Dunlin_V1_Tenant.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
        router.unary(Admin.suspendTenant) { request, context in
            try Caller(context).requireServerAdmin()
            return Dunlin_V1_Tenant(try tenants.setStatus(request.tenantID, to: .suspended, by: AuditActor(context)))
        }
        router.unary(Admin.resumeTenant) { request, context in
            try Caller(context).requireServerAdmin()
            return Dunlin_V1_Tenant(try tenants.setStatus(request.tenantID, to: .active, by: AuditActor(context)))
        }
        router.unary(Admin.deleteTenant) { request, context in
            try Caller(context).requireServerAdmin()
            return Dunlin_V1_Tenant(try tenants.delete(request.tenantID, by: AuditActor(context)))
        }
        router.serverStreaming(Admin.exportTenant) { request, writer, context in
            try Caller(context).requireServerAdmin()
            // A long stream: it ends UNAUTHENTICATED if the admin's token is revoked meanwhile.
            try await context.whileCredentialValid {
                // The copy takes as long as the file is big: keep it off the cooperative threads.
                let actor = AuditActor(context)
                let (tenant, file) = try await offload { try tenants.export(request.tenantID, by: actor) }
                defer { try? TenantFiles.remove(file) }
                let reader = try ChunkedFileReader(file, chunkSize: Self.exportChunkSize)
                var chunk = Dunlin_V1_ExportTenantChunk()
                chunk.tenant = Dunlin_V1_Tenant(tenant)
                chunk.totalBytes = reader.size
                while let data = try reader.next() {
                    try Task.checkCancellation()
                    chunk.data = data
                    try await writer.write(chunk)
                    chunk = Dunlin_V1_ExportTenantChunk()
                }
                chunk.sha256 = reader.sha256()
                try await writer.write(chunk)
            }
        }

        // MARK: Users

        router.unary(Admin.createUser) { request, context in
            let caller = try Caller(context)
            let tenantID = try caller.userScope(request.tenantID, control: control, listing: false)
            let role = try Self.role(request.role)
            return Dunlin_V1_User(try RPCError.control {
                try control.createUser(
                    tenantID: tenantID, name: request.name, email: request.email, role: role, timeZone: request.timeZone, by: AuditActor(context)
                )
            })
        }
        router.unary(Admin.listUsers) { request, context in
            let caller = try Caller(context)
            let tenantID = try caller.userScope(request.tenantID, control: control, listing: true)
            let page = try RPCError.control {
                try control.users(tenantID: tenantID, includeInactive: request.includeInactive, page: PageRequest(after: request.cursor, size: request.pageSize))
            }
            return .with {
                $0.users = page.items.map(Dunlin_V1_User.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
        router.unary(Admin.listPeople) { request, context in
            let caller = try Caller(context)
            guard let tenantID = caller.tenantID, !tenantID.isEmpty else {
                throw RPCError(.permissionDenied, "ListPeople lists a tenant's members; server admins belong to none (use ListUsers)")
            }
            let page = try RPCError.control {
                try control.users(tenantID: tenantID, includeInactive: true, page: PageRequest(after: request.cursor, size: request.pageSize))
            }
            return .with {
                $0.users = page.items.map { user in .with { $0.id = user.id; $0.name = user.name; $0.active = user.active } }
                $0.nextCursor = page.nextCursor ?? ""
            }
        }
        router.unary(Admin.updateUser) { request, context in
            let caller = try Caller(context)
            try caller.requireUserManager()
            _ = try caller.managedUser(request.userID, field: "user_id", control: control)
            let changes = UserChanges(
                name: request.hasName ? request.name : nil,
                email: request.hasEmail ? request.email : nil,
                role: request.hasRole ? try Self.role(request.role) : nil,
                active: request.hasActive ? request.active : nil,
                timeZone: request.hasTimeZone ? request.timeZone : nil,
                managerID: request.hasManagerID ? request.managerID : nil
            )
            return Dunlin_V1_User(try RPCError.control { try control.updateUser(request.userID, changes, by: AuditActor(context)) })
        }

        // MARK: Tokens

        router.unary(Admin.issueToken) { request, context in
            let caller = try Caller(context)
            try caller.requireUserManager()
            _ = try caller.managedUser(request.userID, field: "user_id", control: control)
            let expiresAt = try Self.expiry(request)
            let issued = try RPCError.control {
                try control.issueToken(userID: request.userID, device: request.device, expiresAt: expiresAt, by: AuditActor(context))
            }
            context.logger.notice("token issued", metadata: ["token": "\(issued.record.id)", "user": "\(issued.record.userID)"])
            return Dunlin_V1_IssuedToken(issued)
        }
        router.unary(Admin.rotateToken) { request, context in
            let caller = try Caller(context)
            let token = try caller.visibleToken(request.tokenID, control: control)
            if request.expiresAtMs != 0 {
                // The lifetime is the issuer's to give: a viewer may not stretch their own hour to a century.
                try caller.requireLifetimeSetter(for: token, control: control)
            }
            let issued = try RPCError.control {
                try control.rotateToken(request.tokenID, expiresAt: request.expiresAtMs == 0 ? nil : request.expiresAtMs, by: AuditActor(context))
            }
            context.logger.notice("token rotated", metadata: ["token": "\(request.tokenID)", "new": "\(issued.record.id)"])
            return Dunlin_V1_IssuedToken(issued)
        }
        router.unary(Admin.revokeToken) { request, context in
            let caller = try Caller(context)
            _ = try caller.visibleToken(request.tokenID, control: control)
            let token = try RPCError.control { try control.revokeToken(request.tokenID, by: AuditActor(context)) }
            context.logger.notice("token revoked", metadata: ["token": "\(token.id)"])
            return Dunlin_V1_TokenInfo(token)
        }
        router.unary(Admin.listTokens) { request, context in
            let caller = try Caller(context)
            let userID = request.userID.isEmpty ? caller.principal.id : request.userID
            if userID != caller.principal.id {
                try caller.requireUserManager()
                _ = try caller.managedUser(userID, field: "user_id", control: control)
            }
            let page = try RPCError.control {
                try control.tokens(userID: userID, includeRevoked: request.includeRevoked, page: PageRequest(after: request.cursor, size: request.pageSize))
            }
            return .with {
                $0.tokens = page.items.map(Dunlin_V1_TokenInfo.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        // MARK: Audit trail

        router.unary(Admin.listAudit) { request, context in
            let tenantID = try Caller(context).auditScope(request.tenantID, control: control)
            let page = try RPCError.control {
                try control.auditEvents(
                    tenantID: tenantID, since: request.sinceMs == 0 ? nil : request.sinceMs, page: PageRequest(after: request.cursor, size: request.pageSize)
                )
            }
            return .with {
                $0.events = page.items.map(Dunlin_V1_AuditEvent.init)
                $0.nextCursor = page.nextCursor ?? ""
            }
        }

        // MARK: Tenant limits

        let defaults = limitDefaults
        router.unary(Admin.setTenantLimits) { request, context in
            try Caller(context).requireServerAdmin()
            let overrides = try TenantLimitOverrides(request.limits, tenantID: request.tenantID)
            if let problem = TenantLimits.problem(defaults.applying(overrides)) {
                throw RPCError(.invalidArgument, "limits: \(problem.message)", details: [.with { $0.field = "limits.\(problem.field)"; $0.reason = "out_of_range" }])
            }
            let set = try RPCError.control { try control.setTenantLimits(request.tenantID, overrides, by: AuditActor(context)) }
            return Dunlin_V1_TenantLimits(tenantID: request.tenantID, set: set, defaults: defaults)
        }
        router.unary(Admin.getTenantLimits) { request, context in
            let caller = try Caller(context)
            let notFound = RPCError(.notFound, "no tenant \"\(request.tenantID)\"", details: [.with { $0.field = "tenant_id"; $0.reason = "not_found" }])
            switch caller.role {
            case .serverAdmin:
                guard try RPCError.control({ try control.tenant(request.tenantID) })?.status ?? .deleted != .deleted else { throw notFound }
            case .admin:
                // Another tenant is NOT_FOUND, exactly like one that does not exist.
                guard request.tenantID == caller.principal.tenantID else { throw notFound }
            default:
                throw RPCError(.permissionDenied, "a tenant's limits are for admins; you are \(caller.role.rawValue)")
            }
            let set = try RPCError.control { try control.tenantLimits(request.tenantID) }
            return Dunlin_V1_TenantLimits(tenantID: request.tenantID, set: set, defaults: defaults)
        }
    }

    /// An issue's expiry: Unix ms, or nil for a token that never expires, which must be asked for
    /// with `no_expiry`. 0 (or a past time) is refused: it once meant "never", so an old client
    /// sending a past date would get an immortal token.
    static func expiry(_ request: Dunlin_V1_IssueTokenRequest) throws(RPCError) -> Int64? {
        if request.noExpiry {
            guard request.expiresAtMs == 0 else {
                throw RPCError(.invalidArgument, "expires_at_ms: give an expiry or no_expiry, not both",
                               details: [.with { $0.field = "expires_at_ms"; $0.reason = "conflicts_with_no_expiry" }])
            }
            return nil
        }
        guard request.expiresAtMs > 0 else {
            throw RPCError(.invalidArgument, "expires_at_ms: \(request.expiresAtMs) is not a future time; give an expiry, or set no_expiry for a token that never expires",
                           details: [.with { $0.field = "expires_at_ms"; $0.reason = "not_in_the_future" }])
        }
        return request.expiresAtMs
    }

    static func role(_ text: String) throws(RPCError) -> Role {
        guard let role = Role(rawValue: text) else {
            throw RPCError(.invalidArgument, "role: \"\(text)\" is not one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))",
                           details: [.with { $0.field = "role"; $0.reason = "unknown_role" }])
        }
        return role
    }
}

/// Runs blocking work (a database copy) on a Dispatch thread, so the concurrency pool's few
/// threads stay free for the other calls.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// The authenticated caller of an Admin method, and the rules of who may manage whom.
///
/// The principal is the one the connection's per-call check (``Authenticator/recheck(_:)``) just
/// re-read: its token is live, its user active, its tenant active, its role the current one. So a
/// revocation, an expiry, a demotion, a deactivation or a suspension holds on connections opened
/// before it, with no second check here.
struct Caller {
    let principal: Dunlin_V1_Principal
    let role: Role

    init(_ context: ServerContext) throws(RPCError) {
        guard !context.principal.id.isEmpty, let role = Role(rawValue: context.principal.role) else {
            throw RPCError(.unauthenticated, "\(context.method) needs a user's token")
        }
        principal = context.principal
        self.role = role
    }

    /// The caller's tenant; nil for server admins.
    var tenantID: String? { role == .serverAdmin ? nil : principal.tenantID }

    func requireServerAdmin() throws(RPCError) {
        guard role == .serverAdmin else {
            throw RPCError(.permissionDenied, "only server admins manage tenants; you are \(role.rawValue) of tenant \(principal.tenantID)")
        }
    }

    /// Server admins and tenant admins manage users and their tokens.
    func requireUserManager() throws(RPCError) {
        guard role == .serverAdmin || role == .admin else {
            throw RPCError(.permissionDenied, "managing users and their tokens needs the admin role; you are \(role.rawValue)")
        }
    }

    /// The tenant whose users a request is about (nil: the server admins). Server admins name it
    /// (it must exist and not be deleted); tenant admins, and managers when listing, get their own.
    func userScope(_ requested: String, control: ControlStore, listing: Bool) throws -> String? {
        if role == .serverAdmin {
            if requested.isEmpty { return nil }
            guard let tenant = try control.tenant(requested), tenant.status != .deleted else {
                throw RPCError(.notFound, "no tenant \"\(requested)\"", details: [.with { $0.field = "tenant_id"; $0.reason = "not_found" }])
            }
            return tenant.id
        }
        guard role == .admin || (listing && role == .manager) else {
            throw RPCError(.permissionDenied, "\(listing ? "listing users needs the manager role" : "managing users needs the admin role"); you are \(role.rawValue)")
        }
        guard requested.isEmpty || requested == principal.tenantID else {
            throw RPCError(.permissionDenied, "tenant_id: only server admins name a tenant; yours is implied by your token",
                           details: [.with { $0.field = "tenant_id"; $0.reason = "not_your_tenant" }])
        }
        return principal.tenantID
    }

    /// A user the caller may manage: any user of a live tenant (or a server admin) for server
    /// admins; a user of their own tenant for tenant admins. Anyone else is NOT_FOUND, so an id
    /// in another tenant cannot be told from one that does not exist.
    func managedUser(_ id: String, field: String, control: ControlStore) throws -> UserRecord {
        let notFound = RPCError(.notFound, "\(field): no user \"\(id)\"", details: [.with { $0.field = field; $0.reason = "not_found" }])
        guard !id.isEmpty, let user = try control.user(id) else { throw notFound }
        if role == .serverAdmin {
            if let tenantID = user.tenantID, try control.tenant(tenantID)?.status ?? .deleted == .deleted { throw notFound }
            return user
        }
        guard role == .admin, user.tenantID == principal.tenantID else { throw notFound }
        return user
    }

    /// Whose audit events the caller may list: every tenant's (nil) or the one named, for server
    /// admins (a tenant that never existed is NOT_FOUND; a deleted one's events stay readable);
    /// their own tenant's for tenant admins, to whom any other tenant is NOT_FOUND exactly like
    /// one that does not exist. Other roles are PERMISSION_DENIED.
    func auditScope(_ requested: String, control: ControlStore) throws -> String? {
        let notFound = RPCError(.notFound, "no tenant \"\(requested)\"", details: [.with { $0.field = "tenant_id"; $0.reason = "not_found" }])
        switch role {
        case .serverAdmin:
            if requested.isEmpty { return nil }
            guard try control.tenant(requested) != nil else { throw notFound }
            return requested
        case .admin:
            guard requested.isEmpty || requested == principal.tenantID else { throw notFound }
            return principal.tenantID
        default:
            throw RPCError(.permissionDenied, "the audit trail is for admins; you are \(role.rawValue)")
        }
    }

    /// Setting a rotated token's lifetime: server admins, and tenant admins for their tenant's
    /// users, themselves included; anyone else is PERMISSION_DENIED naming the field.
    func requireLifetimeSetter(for token: TokenRecord, control: ControlStore) throws {
        let refused = RPCError(.permissionDenied, "expires_at_ms: a rotated token keeps the lifetime its issuer gave; only an admin sets another",
                               details: [.with { $0.field = "expires_at_ms"; $0.reason = "admin_only" }])
        guard role == .serverAdmin || role == .admin else { throw refused }
        do {
            _ = try managedUser(token.userID, field: "token_id", control: control)
        } catch {
            throw refused
        }
    }

    /// A token the caller may rotate or revoke: their own, or one of a user they manage.
    func visibleToken(_ id: String, control: ControlStore) throws -> TokenRecord {
        let notFound = RPCError(.notFound, "token_id: no token \"\(id)\"", details: [.with { $0.field = "token_id"; $0.reason = "not_found" }])
        guard !id.isEmpty, let token = try control.token(id) else { throw notFound }
        if token.userID == principal.id { return token }
        guard role == .serverAdmin || role == .admin else { throw notFound }
        do {
            _ = try managedUser(token.userID, field: "token_id", control: control)
        } catch {
            throw notFound
        }
        return token
    }
}

// MARK: Wire forms

extension Dunlin_V1_Tenant {
    init(_ tenant: TenantRecord) {
        self.init()
        id = tenant.id
        name = tenant.name
        baseCurrency = tenant.baseCurrency
        timeZone = tenant.timeZone
        status = tenant.status.rawValue
        createdAtMs = tenant.createdAt
        statusChangedAtMs = tenant.statusChangedAt
    }
}

extension Dunlin_V1_User {
    init(_ user: UserRecord) {
        self.init()
        id = user.id
        tenantID = user.tenantID ?? ""
        name = user.name
        email = user.email
        role = user.role.rawValue
        active = user.active
        createdAtMs = user.createdAt
        timeZone = user.timeZone
        managerID = user.managerID
    }
}

extension Dunlin_V1_TokenInfo {
    /// Everything about a token but its value and hash.
    init(_ token: TokenRecord) {
        self.init()
        id = token.id
        userID = token.userID
        device = token.device
        createdAtMs = token.createdAt
        expiresAtMs = token.expiresAt ?? 0
        lastUsedAtMs = token.lastUsedAt ?? 0
        revokedAtMs = token.revokedAt ?? 0
        replacedBy = token.replacedBy ?? ""
    }
}

extension Dunlin_V1_AuditEvent {
    init(_ listed: ListedAuditEvent) {
        self.init()
        let event = listed.event
        seq = UInt64(clamping: event.seq ?? 0)
        atMs = event.at
        actorID = event.actorID
        actorRole = event.actorRole
        actorName = listed.actorName
        tenantID = event.tenantID
        address = event.address
        action = event.action.rawValue
        targetID = event.targetID
        targetName = listed.targetName
        detail = event.detail
    }
}

extension Dunlin_V1_IssuedToken {
    init(_ issued: IssuedToken) {
        self.init()
        info = Dunlin_V1_TokenInfo(issued.record)
        token = issued.token.plaintext
    }
}

extension TenantLimitOverrides {
    /// A request's settings, 0 meaning the default; a value past what the server counts in is
    /// INVALID_ARGUMENT naming its field.
    init(_ settings: Dunlin_V1_TenantLimitSettings, tenantID: String) throws(RPCError) {
        func value(_ raw: UInt64, _ field: String) throws(RPCError) -> Int? {
            guard raw != 0 else { return nil }
            guard let value = Int(exactly: raw), value <= Int(Int32.max) else {
                throw RPCError(.invalidArgument, "limits.\(field): \(raw) is more than this server counts to (\(Int32.max))",
                               details: [.with { $0.field = "limits.\(field)"; $0.reason = "out_of_range" }])
            }
            return value
        }
        self.init(
            tenantID: tenantID,
            maxCalls: try value(settings.maxCalls, "max_calls"), maxStreams: try value(settings.maxStreams, "max_streams"),
            callsPerSecond: try value(settings.callsPerSecond, "calls_per_second"),
            maxImportBytes: try value(settings.maxImportBytes, "max_import_bytes").map(Int64.init)
        )
    }
}

extension Dunlin_V1_TenantLimitSettings {
    init(_ limits: TenantLimits) {
        self.init()
        maxCalls = UInt64(clamping: limits.maxCalls)
        maxStreams = UInt64(clamping: limits.maxStreams)
        callsPerSecond = UInt64(clamping: limits.callsPerSecond)
        maxImportBytes = UInt64(clamping: limits.maxImportBytes)
    }
}

extension Dunlin_V1_TenantLimits {
    /// What a server admin set for the tenant (nil: nothing) and what holds with the defaults.
    init(tenantID: String, set: TenantLimitOverrides?, defaults: TenantLimits) {
        self.init()
        self.tenantID = tenantID
        self.set = .with {
            $0.maxCalls = UInt64(clamping: set?.maxCalls ?? 0)
            $0.maxStreams = UInt64(clamping: set?.maxStreams ?? 0)
            $0.callsPerSecond = UInt64(clamping: set?.callsPerSecond ?? 0)
            $0.maxImportBytes = UInt64(clamping: set?.maxImportBytes ?? 0)
        }
        effective = Dunlin_V1_TenantLimitSettings(defaults.applying(set))
        updatedAtMs = set?.updatedAt ?? 0
    }
}
