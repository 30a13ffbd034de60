import DunlinCore
import DunlinStore
import DunlinWire
import Foundation
import Logging
import Synchronization

/// The tenants this server holds, and their open stores: the one way services reach a tenant's
/// data, and the one way a tenant's status changes, so the two never disagree.
///
/// Services ask for the caller's tenant (its id from `context.principal.tenantID`, never from a
/// request) with ``tenant(_:)`` or ``store(for:)``: an active tenant's store is opened on first
/// use and kept open; a suspended tenant is FAILED_PRECONDITION, and an unknown or deleted one
/// NOT_FOUND. Suspension therefore takes effect on connections already open at their next call,
/// while new connections are refused at HELLO.
///
/// Stores are opened under the directory's lock (a first open also migrates the file), so two
/// calls never open one tenant twice.
public final class TenantDirectory: TenantProvider {
    public let control: ControlStore
    private let logger: Logger
    private let open = Mutex<[String: OpenTenant]>([:])

    private struct OpenTenant: Sendable {
        var record: TenantRecord
        var store: TenantStore
    }

    /// Where exports are written before they are streamed; emptied at start.
    var exportsDirectory: URL { control.directory.appendingPathComponent("exports") }

    /// Also finishes deletes a crash interrupted (removes files of tenants marked deleted) and
    /// clears exports left half-streamed.
    public init(control: ControlStore, logger: Logger = Logger(label: "dunlind.tenants")) throws {
        self.control = control
        self.logger = logger
        for tenant in try control.allTenants(includeDeleted: true) where tenant.status == .deleted {
            try TenantFiles.remove(control.tenantFile(tenant.id))
        }
        try? FileManager.default.removeItem(at: exportsDirectory)
    }

    // MARK: For services

    /// The caller's tenant: its store, base currency and time zone.
    public func tenant(_ id: String) throws(RPCError) -> TenantHandle {
        let open = try openTenant(id, allowSuspended: false)
        let control = self.control
        return TenantHandle(
            id: id, store: open.store, baseCurrency: open.record.currency, timeZone: open.record.zone,
            managerOf: { user in (try? control.manager(of: user)) ?? nil },
            auditTrail: auditTrail(id)
        )
    }

    /// Tenant `id`'s outbox notes' way into the control database's trail.
    private func auditTrail(_ id: String) -> AuditTrail {
        let control = self.control
        return AuditTrail(now: control.now) { note, outboxID in try control.recordAudit(note, tenantID: id, outboxID: outboxID) }
    }

    /// The store of an active tenant.
    public func store(for tenantID: String) throws(RPCError) -> TenantStore {
        try openTenant(tenantID, allowSuspended: false).store
    }

    private func openTenant(_ id: String, allowSuspended: Bool) throws(RPCError) -> OpenTenant {
        let result: Result<OpenTenant, RPCError> = open.withLock { open in
            if let cached = open[id] {
                return Self.check(cached, allowSuspended: allowSuspended)
            }
            do {
                guard let record = try control.tenant(id), record.status != .deleted else {
                    return .failure(Self.notFound(id))
                }
                let store = try TenantStore(path: control.tenantFile(id).path)
                let opened = OpenTenant(record: record, store: store)
                open[id] = opened
                logger.info("opened tenant store", metadata: ["tenant": "\(id)"])
                // Notes a crash or a failed control write left in the outbox reach the trail now.
                auditTrail(id).flush(store, tenant: id, logger: logger)
                return Self.check(opened, allowSuspended: allowSuspended)
            } catch {
                logger.error("cannot open tenant store", metadata: ["tenant": "\(id)", "error": "\(error)"])
                return .failure(RPCError(.unavailable, "tenant \(id)'s database cannot be opened"))
            }
        }
        return try result.get()
    }

    private static func check(_ tenant: OpenTenant, allowSuspended: Bool) -> Result<OpenTenant, RPCError> {
        switch tenant.record.status {
        case .active: return .success(tenant)
        case .suspended where allowSuspended: return .success(tenant)
        case .suspended:
            return .failure(RPCError(.failedPrecondition, "tenant \(tenant.record.id) is suspended",
                                     details: [.with { $0.reason = "tenant_suspended" }]))
        case .deleted: return .failure(notFound(tenant.record.id))
        }
    }

    private static func notFound(_ id: String) -> RPCError {
        RPCError(.notFound, "no tenant \"\(id)\"", details: [.with { $0.field = "tenant_id"; $0.reason = "not_found" }])
    }

    // MARK: Lifecycle, for the Admin service

    /// Creates a tenant and its database, and keeps the new store open. Each lifecycle change
    /// records `actor` in the audit trail (in the control database's transaction, except an export,
    /// recorded once its copy is made).
    func create(id: String, name: String, baseCurrency: String, timeZone: String, by actor: AuditActor) throws -> TenantRecord {
        try open.withLock { open in
            let (record, store) = try RPCError.control {
                try control.createTenant(id: id, name: name, baseCurrency: baseCurrency, timeZone: timeZone, by: actor)
            }
            open[record.id] = OpenTenant(record: record, store: store)
            logger.notice("tenant created", metadata: ["tenant": "\(record.id)"])
            return record
        }
    }

    /// Suspends or resumes a tenant.
    func setStatus(_ id: String, to status: TenantRecord.Status, by actor: AuditActor) throws -> TenantRecord {
        try open.withLock { open in
            let record = try RPCError.control { try control.setTenantStatus(id, to: status, by: actor) }
            open[id]?.record = record
            logger.notice("tenant \(status == .active ? "resumed" : "suspended")", metadata: ["tenant": "\(id)"])
            return record
        }
    }

    /// Deletes a suspended tenant: marks it deleted (revoking its tokens), closes its store and
    /// removes its file. If the process dies between the two, the next start removes the file.
    func delete(_ id: String, by actor: AuditActor) throws -> TenantRecord {
        let (record, store) = try open.withLock { open in
            let record = try RPCError.control { try control.markTenantDeleted(id, by: actor) }
            return (record, open.removeValue(forKey: id)?.store)
        }
        if let store { TenantFiles.close(store) }
        do {
            try TenantFiles.remove(control.tenantFile(id))
        } catch {
            logger.error("tenant deleted but its file could not be removed; the next start retries",
                         metadata: ["tenant": "\(id)", "error": "\(error)"])
        }
        logger.notice("tenant deleted", metadata: ["tenant": "\(id)"])
        return record
    }

    /// Writes a consistent copy of an active or suspended tenant's database to a new file in the
    /// exports folder, and returns the tenant and the file (the caller removes it). The export is
    /// recorded in the audit trail before the file is handed over: a copy that cannot be recorded
    /// is removed and the call fails, so no tenant's data leaves unrecorded.
    func export(_ id: String, by actor: AuditActor) throws -> (TenantRecord, URL) {
        let tenant = try openTenant(id, allowSuspended: true)
        try FileManager.default.createDirectory(at: exportsDirectory, withIntermediateDirectories: true)
        let file = exportsDirectory.appendingPathComponent("\(id)-\(UUID().uuidString).sqlite")
        do {
            try TenantFiles.copy(tenant.store, to: file)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int
            try control.recordAudit(actor, .tenantExport, tenantID: id, targetID: id, detail: bytes.map { "a copy of \($0) bytes" } ?? "a copy")
        } catch {
            try? TenantFiles.remove(file)
            throw error
        }
        logger.notice("tenant exported", metadata: ["tenant": "\(id)"])
        return (tenant.record, file)
    }
}
