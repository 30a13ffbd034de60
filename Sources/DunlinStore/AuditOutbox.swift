import DunlinCore
import Foundation
import GRDB

/// An audit event for an action kept in a tenant's database (an approval decided, a replica
/// retired), written in that action's own transaction, before it is recorded in the control
/// database's trail.
///
/// Two databases cannot commit together, so the action's transaction also writes its event into
/// the tenant's outbox (table `audit_outbox`): both or neither. The server then records it in the
/// control database (``ControlStore/recordAudit(_:tenantID:outboxID:)``, which keeps one event per
/// tenant and outbox id, so recording it twice adds nothing) and removes it from the outbox. A
/// failure or crash between the two leaves it in the outbox, recorded at the next flush: after
/// the tenant's next audited action, and whenever the server opens the tenant. So an
/// acknowledged action is never left unaudited.
public struct AuditNote: Sendable, Hashable {
    public var at: Int64
    public var actor: AuditActor
    public var action: AuditAction
    public var targetID: String
    public var detail: String

    public init(at: Int64, actor: AuditActor, action: AuditAction, targetID: String, detail: String) {
        self.at = at
        self.actor = actor
        self.action = action
        self.targetID = targetID
        self.detail = detail
    }
}

/// The tenant's audit outbox (table `audit_outbox`): ``AuditNote``s not yet in the control
/// database's trail. A server table only: a replica writes none, and sync does not carry it.
enum AuditOutbox {
    static func migrate(_ db: Database) throws {
        // AUTOINCREMENT: an id is never reused, even after its note is removed, so the control
        // database's (tenant, outbox id) key names one note for ever.
        try db.execute(sql: """
            CREATE TABLE audit_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at INTEGER NOT NULL,
                actor_id TEXT NOT NULL,
                actor_role TEXT NOT NULL,
                address TEXT NOT NULL,
                action TEXT NOT NULL,
                target_id TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """)
    }

    /// Writes `note` in `db`, the action's own transaction.
    static func enqueue(_ note: AuditNote, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO audit_outbox (at, actor_id, actor_role, address, action, target_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [note.at, note.actor.userID, note.actor.role, note.actor.address, note.action.rawValue, note.targetID, note.detail]
        )
    }
}

extension TenantStore {
    /// The notes not yet recorded in the control database, oldest first, each with its outbox id.
    public func auditOutbox() throws -> [(id: Int64, note: AuditNote)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_outbox ORDER BY id").map { row in
                guard let action = AuditAction(rawValue: row["action"]) else {
                    throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "audit_outbox \(row["id"] as Int64): unknown action \(row["action"] as String)")
                }
                let actor = AuditActor(userID: row["actor_id"], role: row["actor_role"], address: row["address"])
                return (row["id"], AuditNote(at: row["at"], actor: actor, action: action, targetID: row["target_id"], detail: row["detail"]))
            }
        }
    }

    /// Removes a note once the control database has recorded it.
    public func removeFromAuditOutbox(_ id: Int64) throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM audit_outbox WHERE id = ?", arguments: [id]) }
    }
}
