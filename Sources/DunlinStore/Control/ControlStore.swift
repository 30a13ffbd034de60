import DunlinCore
import Foundation
import GRDB

/// The server's control database: tenants, users and token hashes, in `DIR/control.sqlite` (WAL),
/// beside the tenants' own databases in `DIR/tenants/<tenant-id>.sqlite`.
///
/// Every change is one transaction, validated first, naming the field at fault when refused
/// (``ControlError``). The store does not decide who may do what: the Admin service does, from the
/// caller's principal. Change a tenant's status through the server's `TenantDirectory`, which also
/// keeps its open stores in step.
///
/// Every change also records an ``AuditEvent`` for its `actor` (who, and from which address) in
/// its own transaction: an action is never committed without its record, and a refused one
/// leaves none. The actor defaults to ``AuditActor/serverProcess``: dunlind itself (init, demo);
/// the Admin service always names its caller. Actions kept elsewhere (an export, a replica
/// retired, an approval decided in a tenant's store) are recorded with
/// ``recordAudit(_:_:tenantID:targetID:detail:)`` once they have happened.
public final class ControlStore: Sendable {
    public static let fileName = "control.sqlite"
    public static let tenantsFolder = "tenants"

    /// The data directory: `control.sqlite` and `tenants/`.
    public let directory: URL
    let writer: any DatabaseWriter
    /// The clock tokens expire by (milliseconds since 1970; a test moves it by hand).
    public let now: @Sendable () -> Int64

    /// Unix milliseconds of the one system clock (`WallClock.system`, which DUNLIN_CLOCK_OFFSET moves).
    public static let systemClock: @Sendable () -> Int64 = { WallClock.system.milliseconds }

    /// The longest lifetime a token may be given, at issue or rotation, in milliseconds: 400 days.
    /// A token without expiry is only ever made on explicit request (`no_expiry`).
    public static let defaultMaxTokenLifetime: Int64 = 400 * 86_400_000

    /// The longest lifetime this store gives a token (milliseconds; `dunlind serve --max-token-lifetime`).
    public let maxTokenLifetime: Int64

    /// Told after every committed change that may invalidate a credential (revocation, rotation,
    /// user change, tenant suspension or deletion), so open streams re-check theirs at once.
    public let credentialChanges = CredentialChanges()

    /// Every tenant's limit overrides, as the server reads them on each call.
    private let limitCache = TenantLimitCache()

    /// Whether `directory` holds a control database.
    public static func isInitialized(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(fileName).path)
    }

    /// Creates the control database in `directory` (created if missing) with one server admin, and
    /// issues that admin's first token. Refuses a directory already initialised.
    public static func initialize(
        _ directory: URL, adminName: String = "Server admin", adminEmail: String = "", device: String = "dunlind init",
        now: @escaping @Sendable () -> Int64 = systemClock, maxTokenLifetime: Int64 = defaultMaxTokenLifetime
    ) throws -> (ControlStore, IssuedToken) {
        guard !isInitialized(directory) else {
            throw ControlError(.failedPrecondition, field: "data", reason: "already_initialized",
                               "\(directory.path) already holds a control database")
        }
        // Owner-only: the directory holds every tenant's receivables. An existing directory keeps
        // the mode it had unless tightened, so both are set explicitly.
        try OwnerOnlyFiles.directory(directory)
        try OwnerOnlyFiles.directory(directory.appendingPathComponent(tenantsFolder))
        do {
            let store = try ControlStore(creating: directory, now: now, maxTokenLifetime: maxTokenLifetime)
            let admin = try store.createUser(tenantID: nil, name: adminName, email: adminEmail, role: .serverAdmin)
            let token = try store.issueToken(userID: admin.id, device: device, expiresAt: nil)
            return (store, token)
        } catch {
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(fileName + suffix))
            }
            throw error
        }
    }

    /// Opens the control database of an initialised data directory.
    public convenience init(
        _ directory: URL, now: @escaping @Sendable () -> Int64 = systemClock, maxTokenLifetime: Int64 = defaultMaxTokenLifetime
    ) throws {
        guard Self.isInitialized(directory) else {
            throw ControlError(.failedPrecondition, field: "data", reason: "not_initialized",
                               "\(directory.path) holds no control database: run `dunlind init --data \(directory.path)` first")
        }
        try self.init(creating: directory, now: now, maxTokenLifetime: maxTokenLifetime)
    }

    /// Opens the control database of a data directory, or of a backup, to read only: no migration
    /// and no change to the file, not even to its journal mode, so a backup keeps the checksums its
    /// manifest names. `dunlind check` reads through it.
    public convenience init(readingOnly directory: URL) throws {
        guard Self.isInitialized(directory) else {
            throw ControlError(.failedPrecondition, field: "data", reason: "not_initialized", "\(directory.path) holds no control database")
        }
        try self.init(creating: directory, now: Self.systemClock, maxTokenLifetime: Self.defaultMaxTokenLifetime, readOnly: true)
    }

    private init(creating directory: URL, now: @escaping @Sendable () -> Int64, maxTokenLifetime: Int64, readOnly: Bool = false) throws {
        guard maxTokenLifetime > 0 else {
            throw ControlError.invalid("max_token_lifetime", "out_of_range", "the maximum token lifetime must be positive; got \(maxTokenLifetime) ms")
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        self.directory = directory
        self.now = now
        self.maxTokenLifetime = maxTokenLifetime
        let path = directory.appendingPathComponent(Self.fileName).path
        if readOnly {
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            writer = try DatabaseQueue(path: path, configuration: configuration)
            return
        }
        writer = try OwnerOnlyFiles.creating(path) { try DatabasePool(path: path, configuration: configuration) }
        try ControlSchema.migrator.migrate(writer)
        try OwnerOnlyFiles.restrict(database: path)
        try OwnerOnlyFiles.directory(tenantsDirectory)
    }

    public var tenantsDirectory: URL { directory.appendingPathComponent(Self.tenantsFolder) }

    /// Where a tenant's database lives. `id` must be a valid tenant id (no path characters).
    public func tenantFile(_ id: String) -> URL {
        tenantsDirectory.appendingPathComponent(id + ".sqlite")
    }

    // MARK: Tenants

    /// Creates a tenant and its database file, in one step: if the file cannot be made, the tenant
    /// is not recorded. `id` nil or empty is generated.
    public func createTenant(
        id: String?, name: String, baseCurrency: String, timeZone: String, by actor: AuditActor = .serverProcess
    ) throws -> (TenantRecord, TenantStore) {
        let id = (id?.isEmpty ?? true) ? "t" + APIToken.randomBase32(count: 12) : id!
        try Validation.tenantID(id, field: "id")
        let name = try Validation.name(name)
        guard let currency = Currency(code: baseCurrency) else {
            throw ControlError.invalid("base_currency", "unknown_currency", "\"\(baseCurrency)\" is not an ISO 4217 currency code")
        }
        try Validation.timeZone(timeZone)
        let file = tenantFile(id)
        var createdFile = false
        do {
            return try writer.write { db in
                if try TenantRecord.fetchOne(db, key: id) != nil {
                    throw ControlError(.alreadyExists, field: "id", reason: "already_exists", "tenant id \"\(id)\" is taken (ids are never reused)")
                }
                guard !FileManager.default.fileExists(atPath: file.path) else {
                    throw ControlError(.failedPrecondition, field: "id", reason: "file_exists",
                                       "\(file.path) exists but names no tenant; move it away to use this id")
                }
                let at = now()
                let tenant = TenantRecord(id: id, name: name, baseCurrency: currency.code, timeZone: timeZone,
                                          status: .active, createdAt: at, statusChangedAt: at)
                try tenant.insert(db)
                try record(db, actor, .tenantCreate, tenant: id, target: id, "\(name), \(currency.code), \(timeZone)", at: at)
                createdFile = true
                let store = try TenantStore(path: file.path)
                return (tenant, store)
            }
        } catch {
            if createdFile {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
            }
            throw error
        }
    }

    public func tenant(_ id: String) throws -> TenantRecord? {
        try writer.read { db in try TenantRecord.fetchOne(db, key: id) }
    }

    /// Tenants in id order.
    public func tenants(includeDeleted: Bool = false, page: PageRequest = .first) throws -> Page<TenantRecord> {
        let columns = TenantRecord.CodingKeys.self
        var request = TenantRecord.all()
        if !includeDeleted { request = request.filter(Column(columns.status) != TenantRecord.Status.deleted.rawValue) }
        return try read(request, page, ListOrder(TenantRecord.self, by: Column(columns.id)), TenantRecord.init(row:))
    }

    /// Every tenant in id order, read a page at a time: for the server's own sweeps (deleted
    /// tenants' files at start-up, the scheduler, `dunlind check` and `backup`), never a request.
    public func allTenants(includeDeleted: Bool = false) throws -> [TenantRecord] {
        var all: [TenantRecord] = []
        var cursor: String?
        repeat {
            let page = try tenants(includeDeleted: includeDeleted, page: PageRequest(after: cursor, size: 1000))
            all += page.items
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }

    /// Moves an active tenant to suspended or back. A deleted tenant is NOT_FOUND; asking for the
    /// status it already has changes nothing.
    public func setTenantStatus(_ id: String, to status: TenantRecord.Status, by actor: AuditActor = .serverProcess) throws -> TenantRecord {
        // Open streams re-check their credential (a refused change only wakes them needlessly).
        defer { credentialChanges.publish() }
        precondition(status != .deleted, "use markTenantDeleted")
        return try writer.write { db in
            guard var tenant = try TenantRecord.fetchOne(db, key: id), tenant.status != .deleted else {
                throw ControlError.notFound("tenant_id", "tenant", id)
            }
            let at = now()
            let detail = tenant.status == status ? "already \(status.rawValue)" : "\(tenant.status.rawValue) → \(status.rawValue)"
            if tenant.status != status {
                tenant.status = status
                tenant.statusChangedAt = at
                try tenant.update(db)
            }
            try record(db, actor, status == .active ? .tenantResume : .tenantSuspend, tenant: id, target: id, detail, at: at)
            return tenant
        }
    }

    // MARK: Tenant limits

    /// The limits a server admin set for `id`, or nil for none (the server's defaults hold).
    /// Read from a copy of every tenant's, kept until the next ``setTenantLimits(_:_:by:)``.
    public func tenantLimits(_ id: String) throws -> TenantLimitOverrides? {
        try limitCache.overrides {
            try writer.read { db in
                Dictionary(uniqueKeysWithValues: try TenantLimitOverrides.fetchAll(db).map { ($0.tenantID, $0) })
            }
        }[id]
    }

    /// Sets `id`'s limits (nil fields take the server's defaults; all nil removes the override),
    /// recorded in the audit trail. A tenant that is not there, or deleted, is NOT_FOUND.
    @discardableResult
    public func setTenantLimits(_ id: String, _ overrides: TenantLimitOverrides, by actor: AuditActor = .serverProcess) throws -> TenantLimitOverrides? {
        defer { limitCache.invalidate() }
        return try writer.write { db in
            guard let tenant = try TenantRecord.fetchOne(db, key: id), tenant.status != .deleted else {
                throw ControlError.notFound("tenant_id", "tenant", id)
            }
            var row = overrides
            row.tenantID = id
            row.updatedAt = now()
            try TenantLimitOverrides.deleteOne(db, key: id)
            if !row.isEmpty { try row.insert(db) }
            try record(db, actor, .tenantLimits, tenant: id, target: id, row.summary, at: row.updatedAt)
            return row.isEmpty ? nil : row
        }
    }

    /// Marks a suspended tenant deleted and revokes every token of its users, in one transaction.
    /// Removing its file is the caller's next step (`TenantDirectory` closes the store first).
    public func markTenantDeleted(_ id: String, by actor: AuditActor = .serverProcess) throws -> TenantRecord {
        // Open streams re-check their credential (a refused change only wakes them needlessly).
        defer { credentialChanges.publish() }
        return try writer.write { db in
            guard var tenant = try TenantRecord.fetchOne(db, key: id), tenant.status != .deleted else {
                throw ControlError.notFound("tenant_id", "tenant", id)
            }
            guard tenant.status == .suspended else {
                throw ControlError(.failedPrecondition, field: "tenant_id", reason: "not_suspended",
                                   "tenant \(id) is active: suspend it (and export it if its data is wanted) before deleting it")
            }
            let at = now()
            tenant.status = .deleted
            tenant.statusChangedAt = at
            try tenant.update(db)
            try db.execute(
                sql: "UPDATE token SET revoked_at = ? WHERE revoked_at IS NULL AND user_id IN (SELECT id FROM user WHERE tenant_id = ?)",
                arguments: [at, id]
            )
            try record(db, actor, .tenantDelete, tenant: id, target: id, "\(db.changesCount) tokens revoked", at: at)
            return tenant
        }
    }

    // MARK: Users

    /// Creates a user: a server admin when `tenantID` is nil (role must be server-admin), else a
    /// member of a tenant that is not deleted, with a tenant role.
    public func createUser(
        tenantID: String?, name: String, email: String, role: Role, timeZone: String = "", by actor: AuditActor = .serverProcess
    ) throws -> UserRecord {
        let name = try Validation.name(name)
        let email = try Validation.email(email)
        try Validation.role(role, tenantID: tenantID)
        if !timeZone.isEmpty { try Validation.timeZone(timeZone) }
        return try writer.write { db in
            if let tenantID {
                guard let tenant = try TenantRecord.fetchOne(db, key: tenantID), tenant.status != .deleted else {
                    throw ControlError.notFound("tenant_id", "tenant", tenantID)
                }
            }
            try Self.checkEmailFree(db, email, tenantID: tenantID, except: nil)
            let at = now()
            let user = UserRecord(id: "u" + APIToken.randomBase32(count: 16), tenantID: tenantID, name: name, email: email,
                                  role: role, active: true, createdAt: at, timeZone: timeZone)
            try user.insert(db)
            try record(db, actor, .userCreate, tenant: tenantID ?? "", target: user.id, "\(name), \(role.rawValue)", at: at)
            return user
        }
    }

    public func user(_ id: String) throws -> UserRecord? {
        try writer.read { db in try UserRecord.fetchOne(db, key: id) }
    }

    /// A tenant's users (nil: the server admins), oldest first.
    public func users(tenantID: String?, includeInactive: Bool = false, page: PageRequest = .first) throws -> Page<UserRecord> {
        let columns = UserRecord.CodingKeys.self
        var request = tenantID.map { UserRecord.filter(Column(columns.tenantID) == $0) } ?? UserRecord.filter(Column(columns.tenantID) == nil)
        if !includeInactive { request = request.filter(Column(columns.active) == true) }
        return try read(request, page, ListOrder(UserRecord.self, by: Column(columns.createdAt)), UserRecord.init(row:))
    }

    /// Changes a user's name, email, role or active flag. A tenant's last active admin, and the
    /// server's last active server admin, can be neither demoted nor deactivated: someone must
    /// always be able to manage users.
    public func updateUser(_ id: String, _ changes: UserChanges, by actor: AuditActor = .serverProcess) throws -> UserRecord {
        // Open streams re-check their credential (a refused change only wakes them needlessly).
        defer { credentialChanges.publish() }
        let name = try changes.name.map(Validation.name)
        let email = try changes.email.map(Validation.email)
        if let zone = changes.timeZone, !zone.isEmpty { try Validation.timeZone(zone) }
        return try writer.write { db in
            guard var user = try UserRecord.fetchOne(db, key: id) else { throw ControlError.notFound("user_id", "user", id) }
            let before = user
            if let role = changes.role {
                try Validation.role(role, tenantID: user.tenantID)
            }
            let wasManager = user.active && (user.role == .admin || user.role == .serverAdmin)
            if let name { user.name = name }
            if let email {
                try Self.checkEmailFree(db, email, tenantID: user.tenantID, except: user.id)
                user.email = email
            }
            if let role = changes.role { user.role = role }
            if let active = changes.active { user.active = active }
            if let zone = changes.timeZone { user.timeZone = zone }
            if let managerID = changes.managerID {
                if !managerID.isEmpty { try Self.checkManager(db, managerID, of: user) }
                user.managerID = managerID
            }
            let isManager = user.active && (user.role == .admin || user.role == .serverAdmin)
            if wasManager && !isManager {
                let others = try UserRecord
                    .filter(Column("id") != user.id && Column("active") == true)
                    .filter(Column("role") == (user.tenantID == nil ? Role.serverAdmin : Role.admin).rawValue)
                    .filter(user.tenantID.map { Column("tenant_id") == $0 } ?? (Column("tenant_id") == nil))
                    .fetchCount(db)
                if others == 0 {
                    let field = changes.active == false ? "active" : "role"
                    throw ControlError(.failedPrecondition, field: field, reason: "last_admin",
                                       "\(user.id) is the last active \(user.tenantID == nil ? "server admin" : "admin of tenant \(user.tenantID!)"): make another first")
                }
            }
            try user.update(db)
            let (action, detail) = Self.audited(before, after: user)
            try record(db, actor, action, tenant: user.tenantID ?? "", target: user.id, detail, at: now())
            return user
        }
    }

    /// How an update of `before` to `after` is audited: deactivating, reactivating or a role change
    /// names the action (in that order), anything else is `user.update`; the detail lists every
    /// field that changed, old → new.
    private static func audited(_ before: UserRecord, after: UserRecord) -> (AuditAction, String) {
        func shown(_ text: String) -> String { text.isEmpty ? "none" : text }
        var changed: [String] = []
        if before.role != after.role { changed.append("role \(before.role.rawValue) → \(after.role.rawValue)") }
        if before.active != after.active { changed.append(after.active ? "reactivated" : "deactivated") }
        if before.name != after.name { changed.append("name \(before.name) → \(after.name)") }
        if before.email != after.email { changed.append("email \(shown(before.email)) → \(shown(after.email))") }
        if before.timeZone != after.timeZone { changed.append("time zone \(shown(before.timeZone)) → \(shown(after.timeZone))") }
        if before.managerID != after.managerID { changed.append("manager \(shown(before.managerID)) → \(shown(after.managerID))") }
        let action: AuditAction =
            if before.active != after.active { after.active ? .userActivate : .userDeactivate }
            else if before.role != after.role { .userRole }
            else { .userUpdate }
        return (action, changed.isEmpty ? "no change" : changed.joined(separator: "; "))
    }

    /// `managerID` may manage `user`: another user of the same tenant, active, with the manager
    /// role or above. A user of another tenant is NOT_FOUND, as one that does not exist.
    private static func checkManager(_ db: Database, _ managerID: String, of user: UserRecord) throws {
        guard managerID != user.id else {
            throw ControlError.invalid("manager_id", "own_manager", "\(user.id) cannot be their own manager")
        }
        guard let tenantID = user.tenantID, let manager = try UserRecord.fetchOne(db, key: managerID), manager.tenantID == tenantID else {
            throw ControlError.notFound("manager_id", "user", managerID)
        }
        guard manager.active, manager.role.satisfies(.manager) else {
            throw ControlError(.failedPrecondition, field: "manager_id", reason: "not_a_manager",
                               "\(manager.id) (\(manager.name)) is \(manager.active ? "a" : "an inactive") \(manager.role.rawValue); a manager is an active manager or admin")
        }
    }

    /// The active manager of user `id` (``UserRecord/managerID``), nil when there is none (no
    /// manager set, or one since deactivated or demoted below manager).
    public func manager(of id: String) throws -> String? {
        try writer.read { db in
            guard let user = try UserRecord.fetchOne(db, key: id), !user.managerID.isEmpty,
                let manager = try UserRecord.fetchOne(db, key: user.managerID),
                manager.active, manager.role.satisfies(.manager), manager.tenantID == user.tenantID
            else { return nil }
            return manager.id
        }
    }

    private static func checkEmailFree(_ db: Database, _ email: String, tenantID: String?, except userID: String?) throws {
        guard !email.isEmpty else { return }
        let taken = try String.fetchOne(
            db, sql: "SELECT id FROM user WHERE ifnull(tenant_id, '') = ? AND lower(email) = lower(?) AND id IS NOT ?",
            arguments: [tenantID ?? "", email, userID]
        )
        if taken != nil {
            throw ControlError(.alreadyExists, field: "email", reason: "already_exists", "\(email) is already a user's email here")
        }
    }

    // MARK: Tokens

    /// Issues a token for an active user of a live tenant. `expiresAt` (Unix ms) nil is a token
    /// that never expires (asked for explicitly); otherwise it must be in the future and at most
    /// ``maxTokenLifetime`` from now. The returned value is the only time the token exists outside the client.
    public func issueToken(userID: String, device: String, expiresAt: Int64?, by actor: AuditActor = .serverProcess) throws -> IssuedToken {
        let device = try Validation.device(device)
        let at = now()
        if let expiresAt { try checkExpiry(expiresAt, at: at, field: "expires_at_ms") }
        return try writer.write { db in
            let (issued, tenantID) = try issue(db, userID: userID, device: device, at: at, expiresAt: expiresAt, field: "user_id")
            try record(db, actor, .tokenIssue, tenant: tenantID, target: issued.record.id, Self.described(issued.record), at: at)
            return issued
        }
    }

    /// Refuses an expiry that is not after `at`, or further than ``maxTokenLifetime`` from it.
    /// The arithmetic is checked: an expiry near `Int64.max` is refused, never a trap.
    private func checkExpiry(_ expiresAt: Int64, at: Int64, field: String) throws {
        guard expiresAt > at else {
            throw ControlError.invalid(field, "not_in_the_future", "the expiry \(expiresAt) is not after now (\(at)): give a future time, or ask for no expiry explicitly")
        }
        let (lifetime, overflow) = expiresAt.subtractingReportingOverflow(at)
        guard !overflow, lifetime <= maxTokenLifetime else {
            throw ControlError.invalid(field, "over_maximum_lifetime",
                                       "the expiry \(expiresAt) is more than this server's maximum token lifetime (\(maxTokenLifetime / 86_400_000) days) from now")
        }
    }

    /// Issues a token in `db`; returns it and its user's tenant ('' for a server admin).
    private func issue(_ db: Database, userID: String, device: String, at: Int64, expiresAt: Int64?, field: String) throws -> (IssuedToken, String) {
        guard let user = try UserRecord.fetchOne(db, key: userID) else { throw ControlError.notFound(field, "user", userID) }
        if let tenantID = user.tenantID, try TenantRecord.fetchOne(db, key: tenantID)?.status == .deleted {
            throw ControlError.notFound(field, "user", userID)
        }
        guard user.active else {
            throw ControlError(.failedPrecondition, field: field, reason: "user_inactive", "user \(userID) is deactivated")
        }
        let token = APIToken.generate()
        let record = TokenRecord(id: token.id, userID: userID, device: device, hash: token.hash, createdAt: at, expiresAt: expiresAt)
        try record.insert(db)
        return (IssuedToken(record: record, token: token), user.tenantID ?? "")
    }

    /// Issues a new token for the same user and device and revokes the old one, in one
    /// transaction. The new one keeps the lifetime its issuer gave the old one (from now, and never
    /// more than ``maxTokenLifetime``; a token without expiry stays without), unless `expiresAt` is
    /// given (the Admin service lets only admins give it), which is checked like an issue's.
    /// A revoked or expired token cannot be rotated (FAILED_PRECONDITION): it could otherwise renew itself.
    public func rotateToken(_ id: String, expiresAt: Int64? = nil, by actor: AuditActor = .serverProcess) throws -> IssuedToken {
        // Open streams re-check their credential (a refused change only wakes them needlessly).
        defer { credentialChanges.publish() }
        let at = now()
        if let expiresAt { try checkExpiry(expiresAt, at: at, field: "expires_at_ms") }
        return try writer.write { db in
            guard var old = try TokenRecord.fetchOne(db, key: id) else { throw ControlError.notFound("token_id", "token", id) }
            guard old.revokedAt == nil else {
                throw ControlError(.failedPrecondition, field: "token_id", reason: "revoked", "token \(id) is revoked; issue a new one instead")
            }
            if let expiry = old.expiresAt, expiry <= at {
                throw ControlError(.failedPrecondition, field: "token_id", reason: "expired", "token \(id) has expired; an admin must issue a new one")
            }
            let expiry = try expiresAt ?? old.expiresAt.map { try keptLifetime(of: old, expiringAt: $0, from: at) }
            let (issued, tenantID) = try issue(db, userID: old.userID, device: old.device, at: at, expiresAt: expiry, field: "token_id")
            old.revokedAt = at
            old.replacedBy = issued.record.id
            try old.update(db)
            try record(db, actor, .tokenRotate, tenant: tenantID, target: old.id, "replaced by \(issued.record.id); " + Self.described(issued.record), at: at)
            return issued
        }
    }

    /// `at` plus the lifetime `old` was issued with, capped at ``maxTokenLifetime`` (a token
    /// planted with an absurd expiry gets the maximum, never an overflow).
    private func keptLifetime(of old: TokenRecord, expiringAt expiry: Int64, from at: Int64) throws -> Int64 {
        let (issued, overflow) = expiry.subtractingReportingOverflow(old.createdAt)
        let lifetime = overflow ? maxTokenLifetime : min(max(issued, 1), maxTokenLifetime)
        let (next, beyond) = at.addingReportingOverflow(lifetime)
        guard !beyond else {
            throw ControlError.invalid("token_id", "expiry_out_of_range", "the clock (\(at)) leaves no room for a lifetime of \(lifetime) ms")
        }
        return next
    }

    /// Revokes a token; revoking a revoked token changes nothing.
    public func revokeToken(_ id: String, by actor: AuditActor = .serverProcess) throws -> TokenRecord {
        // Open streams re-check their credential (a refused change only wakes them needlessly).
        defer { credentialChanges.publish() }
        return try writer.write { db in
            guard var token = try TokenRecord.fetchOne(db, key: id) else { throw ControlError.notFound("token_id", "token", id) }
            let at = now()
            let detail = (token.revokedAt == nil ? "" : "already revoked; ") + Self.described(token)
            if token.revokedAt == nil {
                token.revokedAt = at
                try token.update(db)
            }
            let tenantID = try String.fetchOne(db, sql: "SELECT tenant_id FROM user WHERE id = ?", arguments: [token.userID]) ?? ""
            try record(db, actor, .tokenRevoke, tenant: tenantID, target: token.id, detail, at: at)
            return token
        }
    }

    public func token(_ id: String) throws -> TokenRecord? {
        try writer.read { db in try TokenRecord.fetchOne(db, key: id) }
    }

    /// A user's tokens, oldest first; revoked ones only when asked.
    public func tokens(userID: String, includeRevoked: Bool = false, page: PageRequest = .first) throws -> Page<TokenRecord> {
        let columns = TokenRecord.CodingKeys.self
        var request = TokenRecord.filter(Column(columns.userID) == userID)
        if !includeRevoked { request = request.filter(Column(columns.revokedAt) == nil) }
        return try read(request, page, ListOrder(TokenRecord.self, by: Column(columns.createdAt)), TokenRecord.init(row:))
    }

    /// One page of a list (``PageRequest``); a cursor that is garbled or from another list is
    /// refused naming `cursor`, as every control-store refusal is, with a ``ControlError``.
    private func read<Item, RowDecoder>(
        _ request: QueryInterfaceRequest<RowDecoder>, _ page: PageRequest, _ order: ListOrder, _ decode: (Row) throws -> Item
    ) throws -> Page<Item> {
        do {
            return try writer.read { db in try request.page(page, in: order, db, decode) }
        } catch DomainError.invalid(let field, let message) {
            throw ControlError.invalid(field, "malformed", message)
        }
    }

    // MARK: Client certificates (mutual TLS)

    /// The PEM certificates a tenant's users must present a client certificate signed by, or nil
    /// when the tenant asks for none. Read at every HELLO of the tenant's users, so a change
    /// applies to the next connection without a restart.
    public func clientCertificateAuthorities(tenantID: String) throws -> String? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT certificates FROM tenant_client_ca WHERE tenant_id = ?", arguments: [tenantID])
        }
    }

    /// Sets a tenant's client certificate authorities (`pem`, checked by the caller to hold
    /// certificates), or clears them with nil, recording it in the audit trail.
    public func setClientCertificateAuthorities(tenantID: String, pem: String?, detail: String, by actor: AuditActor = .serverProcess) throws {
        try writer.write { db in
            guard let tenant = try TenantRecord.fetchOne(db, key: tenantID), tenant.status != .deleted else {
                throw ControlError.notFound("tenant_id", "tenant", tenantID)
            }
            let at = now()
            if let pem {
                try db.execute(
                    sql: """
                        INSERT INTO tenant_client_ca (tenant_id, certificates, set_at) VALUES (?, ?, ?)
                        ON CONFLICT(tenant_id) DO UPDATE SET certificates = excluded.certificates, set_at = excluded.set_at
                        """,
                    arguments: [tenantID, pem, at]
                )
            } else {
                try db.execute(sql: "DELETE FROM tenant_client_ca WHERE tenant_id = ?", arguments: [tenantID])
            }
            try record(db, actor, .tenantClientCA, tenant: tenantID, target: tenantID, detail, at: at)
        }
    }

    // MARK: Audit trail

    /// Records `action` by `actor` in `db`, the action's own transaction.
    private func record(_ db: Database, _ actor: AuditActor, _ action: AuditAction, tenant: String, target: String, _ detail: String, at: Int64) throws {
        var event = AuditEvent(at: at, actor: actor, tenantID: tenant, action: action, targetID: target, detail: detail)
        try event.insert(db)
    }

    /// A token for the trail: its user, device and expiry; never its value or hash.
    private static func described(_ token: TokenRecord) -> String {
        let expiry = token.expiresAt.map { "expires \(Self.instant($0))" } ?? "never expires"
        return "for \(token.userID) on \(token.device), \(expiry)"
    }

    /// Unix ms as ISO 8601 UTC, for details.
    private static func instant(_ milliseconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Records an action kept outside the control database (a tenant exported) at the store's
    /// clock, in its own transaction. Actions kept in a tenant's database go through its audit
    /// outbox instead (``recordAudit(_:tenantID:outboxID:)``).
    @discardableResult
    public func recordAudit(_ actor: AuditActor, _ action: AuditAction, tenantID: String, targetID: String, detail: String) throws -> AuditEvent {
        try writer.write { db in
            var event = AuditEvent(at: now(), actor: actor, tenantID: tenantID, action: action, targetID: targetID, detail: detail)
            try event.insert(db)
            return event
        }
    }

    /// Records a note from tenant `tenantID`'s audit outbox (``AuditNote``: an approval decided,
    /// a replica retired, written in that action's own transaction), at the note's time. Once
    /// per (tenant, `outboxID`): a note recorded before (a crash came before its removal from the
    /// outbox) adds nothing. Returns whether it was recorded now.
    @discardableResult
    public func recordAudit(_ note: AuditNote, tenantID: String, outboxID: Int64) throws -> Bool {
        try writer.write { db in
            let event = AuditEvent(at: note.at, actor: note.actor, tenantID: tenantID, action: note.action, targetID: note.targetID, detail: note.detail)
            try db.execute(
                sql: """
                    INSERT INTO audit_event (at, actor_id, actor_role, tenant_id, address, action, target_id, detail, outbox_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """,
                arguments: [event.at, event.actorID, event.actorRole, event.tenantID, event.address, event.action, event.targetID, event.detail, outboxID]
            )
            return db.changesCount == 1
        }
    }

    /// The trail, oldest first (by ``AuditEvent/seq``): one tenant's events when `tenantID` is
    /// given ('' for the server-wide ones), every event when nil; only those at or after `since`
    /// (Unix ms) when given. With each, its actor's and target's names as they are now.
    public func auditEvents(tenantID: String? = nil, since: Int64? = nil, page: PageRequest = .first) throws -> Page<ListedAuditEvent> {
        let columns = AuditEvent.CodingKeys.self
        var request = AuditEvent.all().annotated(with: [
            SQL(sql: "(SELECT name FROM user WHERE user.id = audit_event.actor_id)").forKey("actor_name"),
            SQL(sql: """
                CASE
                    WHEN action LIKE 'user.%' THEN (SELECT name FROM user WHERE user.id = audit_event.target_id)
                    WHEN action LIKE 'tenant.%' THEN (SELECT name FROM tenant WHERE tenant.id = audit_event.target_id)
                    WHEN action LIKE 'token.%' THEN (SELECT user.name FROM token JOIN user ON user.id = token.user_id WHERE token.id = audit_event.target_id)
                END
                """).forKey("target_name"),
        ])
        if let tenantID { request = request.filter(Column(columns.tenantID) == tenantID) }
        if let since { request = request.filter(Column(columns.at) >= since) }
        return try read(request, page, ListOrder(AuditEvent.self, uniquelyBy: Column(columns.seq))) { row in
            ListedAuditEvent(event: try AuditEvent(row: row), actorName: row["actor_name"] ?? "", targetName: row["target_name"] ?? "")
        }
    }

    // MARK: Authentication

    /// Who `token` belongs to, or why it is refused: not a Dunlin token, unknown (or a wrong
    /// secret), revoked, expired, a deactivated user, a suspended or deleted tenant. The secret is
    /// checked (in constant time) before anything about the token's state is told.
    ///
    /// Records the use at most once a minute per token.
    public func authenticate(token presented: String) throws -> Result<AuthenticatedUser, AuthenticationRefusal> {
        guard let token = APIToken(parsing: presented) else { return .failure(.malformed) }
        let at = now()
        let found = try writer.read { db -> (TokenRecord, UserRecord, TenantRecord?)? in
            guard let record = try TokenRecord.fetchOne(db, key: token.id),
                  let user = try UserRecord.fetchOne(db, key: record.userID) else { return nil }
            let tenant = try user.tenantID.flatMap { try TenantRecord.fetchOne(db, key: $0) }
            return (record, user, tenant)
        }
        guard let (record, user, tenant) = found, token.matches(storedHash: record.hash) else { return .failure(.unknown) }
        if let refusal = Self.refusal(record, user, tenant, at: at) { return .failure(refusal) }
        let (aMinuteAgo, overflow) = at.subtractingReportingOverflow(60_000)
        if overflow || (record.lastUsedAt ?? .min) < aMinuteAgo {
            try writer.write { db in
                try db.execute(sql: "UPDATE token SET last_used_at = ? WHERE id = ?", arguments: [at, record.id])
            }
        }
        return .success(AuthenticatedUser(user: user, tokenID: record.id, device: record.device))
    }

    /// The credential a connection was let in with, as it stands now: the per-call re-check. The
    /// same rules as at HELLO (``authenticate(token:)``), by token id, so a token revoked or
    /// expired, a user deactivated, or a tenant suspended or deleted since HELLO is refused, and
    /// the user's role is the current one.
    public func recheck(tokenID: String, userID: String) throws -> Result<AuthenticatedUser, AuthenticationRefusal> {
        let at = now()
        let found = try writer.read { db -> (TokenRecord, UserRecord, TenantRecord?)? in
            guard let record = try TokenRecord.fetchOne(db, key: tokenID), record.userID == userID,
                  let user = try UserRecord.fetchOne(db, key: record.userID) else { return nil }
            let tenant = try user.tenantID.flatMap { try TenantRecord.fetchOne(db, key: $0) }
            return (record, user, tenant)
        }
        guard let (record, user, tenant) = found else { return .failure(.unknown) }
        if let refusal = Self.refusal(record, user, tenant, at: at) { return .failure(refusal) }
        return .success(AuthenticatedUser(user: user, tokenID: record.id, device: record.device))
    }

    /// Why a token, its user and tenant are refused at `at`, or nil when they are all live.
    private static func refusal(_ record: TokenRecord, _ user: UserRecord, _ tenant: TenantRecord?, at: Int64) -> AuthenticationRefusal? {
        if record.revokedAt != nil { return .revoked(tokenID: record.id) }
        if let expiry = record.expiresAt, expiry <= at { return .expired(tokenID: record.id, at: expiry) }
        guard user.active else { return .userInactive(userID: user.id) }
        if let tenant {
            switch tenant.status {
            case .active: return nil
            case .suspended: return .tenantSuspended(tenantID: tenant.id)
            case .deleted: return .tenantDeleted(tenantID: tenant.id)
            }
        }
        return user.tenantID != nil ? .unknown : nil
    }
}

/// The checks every value entering the control store passes, each naming its field.
enum Validation {
    static func tenantID(_ id: String, field: String) throws {
        let bytes = Array(id.utf8)
        let allowed = bytes.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
        guard (2...40).contains(bytes.count), allowed, bytes.first != 0x2d else {
            throw ControlError.invalid(field, "malformed", "a tenant id is 2 to 40 characters of a-z, 0-9 and -, not starting with -; got \"\(id)\"")
        }
    }

    static func name(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ControlError.invalid("name", "empty", "a name is required") }
        guard trimmed.count <= 200 else { throw ControlError.invalid("name", "too_long", "a name is at most 200 characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ControlError.invalid("name", "control_character", "a name may not contain control characters")
        }
        return trimmed
    }

    /// Empty (no email) or `local@domain` with a dot in the domain, no spaces, at most 254 bytes.
    static func email(_ email: String) throws -> String {
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        if email.isEmpty { return email }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let valid = email.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !email.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
        guard valid else { throw ControlError.invalid("email", "malformed", "\"\(email)\" is not an email address") }
        return email
    }

    /// IANA zone names only: "America/New_York", "Asia/Manila", "UTC", "Etc/GMT-8"; not "EST" or "GMT+5".
    static func timeZone(_ identifier: String) throws {
        let known = TimeZone.knownTimeZoneIdentifiers.contains(identifier)
            || ((identifier == "UTC" || identifier.hasPrefix("Etc/")) && TimeZone(identifier: identifier) != nil)
        guard known else {
            throw ControlError.invalid("time_zone", "unknown_time_zone", "\"\(identifier)\" is not an IANA time zone (e.g. America/New_York, Asia/Manila)")
        }
    }

    static func role(_ role: Role, tenantID: String?) throws {
        if tenantID == nil, role != .serverAdmin {
            throw ControlError.invalid("role", "needs_tenant", "a \(role.rawValue) belongs to a tenant: name the tenant")
        }
        if tenantID != nil, role == .serverAdmin {
            throw ControlError.invalid("role", "server_admin_in_tenant", "server admins belong to no tenant")
        }
    }

    static func device(_ device: String) throws -> String {
        let device = device.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...64).contains(device.count), !device.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ControlError.invalid("device", "malformed", "a device label is 1 to 64 printable characters, e.g. \"ana-laptop\"")
        }
        return device
    }
}
