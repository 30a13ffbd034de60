import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// The sync settings a store keeps in `sync_meta`: on a replica, where it stands with its server;
/// on the server, the collected tombstone horizon.
public enum SyncSetting: String, Sendable, Hashable, CaseIterable {
    /// The server change a replica holds everything up to (set by a bootstrap and each pull).
    case checkpoint
    /// The newest local change the server has answered.
    case pushedThrough = "pushed_through"
    /// The server's collected tombstone horizon.
    case collectedThrough = "collected_through"
    /// When the replica last synced (ISO 8601).
    case lastSync = "last_sync"
    /// The tenant's settings, as the last bootstrap brought them.
    case baseCurrency = "base_currency"
    case timeZone = "time_zone"
}

/// A local change the server refused, with its reason. It stays listed until dismissed.
public struct RefusedChange: Sendable, Hashable {
    public var counter: Int64
    public var kind: String
    public var id: String
    public var fields: Data
    public var refusal: PushRefusal
    public var at: String
}

/// The replica's side of sync, on the same schema as the server's store: a laptop's copy of one
/// tenant. Local writes go through the same store methods as on the server (so they validate the
/// same way and land in the change log); the change-log rows after the pushed-through counter are
/// the outbox. Pulled records are written straight to the tables (the server already validated
/// them), with local changes not yet acknowledged re-applied on top.
extension TenantStore {
    // MARK: Settings

    public func syncValue(_ setting: SyncSetting) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM sync_meta WHERE key = ?", arguments: [setting.rawValue]) }
    }

    public func setSyncValue(_ setting: SyncSetting, _ value: String) throws {
        try writer.write { db in try Self.setSyncValue(db, setting, value) }
    }

    static func setSyncValue(_ db: Database, _ setting: SyncSetting, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO sync_meta (key, value) VALUES (?, ?)", arguments: [setting.rawValue, value])
    }

    /// A numeric setting (checkpoint, pushed-through, collected-through); 0 when unset.
    public func syncInteger(_ setting: SyncSetting) throws -> Int64 {
        try writer.read { db in try Self.syncInteger(db, setting) }
    }

    static func syncInteger(_ db: Database, _ setting: SyncSetting) throws -> Int64 {
        Int64(try String.fetchOne(db, sql: "SELECT value FROM sync_meta WHERE key = ?", arguments: [setting.rawValue]) ?? "0") ?? 0
    }

    // MARK: The outbox

    /// The local changes after `pushedThrough`, one per record (a record changed several times
    /// goes once, with the fields that differ from the server's version and the dot of its latest
    /// change), in the order each record was first changed, so what a change refers to goes
    /// before it. `through` is the newest local counter they cover.
    public func pendingChanges(after pushedThrough: Int64) throws -> (changes: [PushedChange], through: Int64) {
        try writer.read { db in
            let through = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log") ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT record_kind, record_id, MIN(seq) AS first, MAX(seq) AS last, MAX(at) AS at FROM change_log
                    WHERE seq > ? GROUP BY record_kind, record_id ORDER BY first
                    """,
                arguments: [pushedThrough]
            )
            var changes: [PushedChange] = []
            for row in rows {
                let kindName: String = row["record_kind"], id: String = row["record_id"], last: Int64 = row["last"]
                guard let kind = Self.syncKinds[kindName], let current = try kind.fetch(db, id) else { continue }
                var fields = current
                var baseSeq: Int64 = 0
                if kind.mutable {
                    let base = try Self.base(db, kindName, id)
                    fields = RecordCoding.diff(from: base?.fields ?? [:], to: current)
                    baseSeq = base?.seq ?? 0
                    guard !fields.isEmpty else { continue }
                }
                changes.append(PushedChange(
                    kind: kindName, id: id, counter: UInt64(last), baseSeq: UInt64(baseSeq), fields: fields,
                    at: Self.changeTimeFormatter.date(from: row["at"]).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? Self.nowMilliseconds
                ))
            }
            return (changes, through)
        }
    }

    private static func base(_ db: Database, _ kind: String, _ id: String) throws -> (seq: Int64, fields: FieldMap)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT seq, fields FROM record_base WHERE record_kind = ? AND record_id = ?", arguments: [kind, id]) else {
            return nil
        }
        return (row["seq"], try RecordCoding.decode(row["fields"]))
    }

    private static func setBase(_ db: Database, _ kind: String, _ id: String, seq: Int64, fields: Data) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO record_base (record_kind, record_id, seq, fields) VALUES (?, ?, ?, ?)",
            arguments: [kind, id, seq, fields]
        )
    }

    private static func isDirty(_ db: Database, _ kind: String, _ id: String, after pushedThrough: Int64) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM change_log WHERE record_kind = ? AND record_id = ? AND seq > ?)", arguments: [kind, id, pushedThrough]
        ) ?? false
    }

    /// Records the server's answers to a push covering the outbox through `through`: refused
    /// changes are listed and taken back out of the local data (unless the record changed again
    /// since), and the pushed-through counter moves, in one transaction.
    public func settlePush(_ results: [(change: PushedChange, refusal: PushRefusal?)], through: Int64) throws {
        try writer.write { db in
            for (change, refusal) in results {
                guard let refusal else {
                    // Accepted: what this replica sent is now part of what it builds on, so a later
                    // edit, made before the next pull, sends only what changed after it. The base's
                    // sequence number stays: writes by others since then are still unseen.
                    if Self.syncKinds[change.kind]?.mutable == true {
                        let base = try Self.base(db, change.kind, change.id)
                        var fields = base?.fields ?? [:]
                        fields.merge(change.fields) { _, sent in sent }
                        try Self.setBase(db, change.kind, change.id, seq: base?.seq ?? 0, fields: RecordCoding.canonical(fields))
                    }
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO refused_change (counter, record_kind, record_id, fields, code, message, field, at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Int64(change.counter), change.kind, change.id, RecordCoding.canonical(change.fields), Int64(refusal.code),
                        refusal.message, refusal.field, ISO8601DateFormatter().string(from: WallClock.system.now()),
                    ]
                )
                guard let kind = Self.syncKinds[change.kind], try !Self.isDirty(db, change.kind, change.id, after: through) else { continue }
                if kind.mutable, let base = try Self.base(db, change.kind, change.id) {
                    try kind.write(db, base.fields, false)
                } else {
                    if !kind.mutable {
                        try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) VALUES (?)", arguments: [change.id])
                    }
                    try db.execute(sql: "DELETE FROM \(kind.table) WHERE id = ?", arguments: [change.id])
                }
            }
            try Self.setSyncValue(db, .pushedThrough, String(through))
        }
    }

    public func refusedChanges() throws -> [RefusedChange] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM refused_change ORDER BY counter").map { row in
                RefusedChange(
                    counter: row["counter"], kind: row["record_kind"], id: row["record_id"], fields: row["fields"],
                    refusal: PushRefusal(code: UInt32(row["code"] as Int64), message: row["message"], field: row["field"]), at: row["at"]
                )
            }
        }
    }

    public func dismissRefused(counter: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM refused_change WHERE counter = ?", arguments: [counter])
            guard db.changesCount == 1 else { throw DomainError.notFound(field: "counter", id: String(counter)) }
        }
    }

    // MARK: Pulled records

    /// Applies a batch of pulled (or snapshot) records and, when given, the new checkpoint, in one
    /// transaction. A record with local changes not yet acknowledged keeps them on top.
    ///
    /// With `snapshot` (a bootstrap's last batch: the ids of every mutable record the whole snapshot
    /// held, by kind), mutable records the snapshot did not hold are removed in the same
    /// transaction, unless they have local changes not yet pushed: they were deleted on the server
    /// (perhaps collected) while this replica was behind or its earlier bootstrap was interrupted.
    public func applySyncBatch(_ records: [SyncRecordState], checkpoint: Int64?, snapshot: [String: Set<String>]? = nil) throws {
        try writer.write { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            for record in records {
                guard let kind = Self.syncKinds[record.kind] else { continue }
                if let insertPulled = kind.insertPulled {
                    try insertPulled(db, record.fields)
                    continue
                }
                let fields = try RecordCoding.decode(record.fields)
                guard kind.mutable else {
                    if try kind.fetch(db, record.id) == nil { try kind.write(db, fields, false) }
                    continue
                }
                var visible = fields
                if try Self.isDirty(db, record.kind, record.id, after: pushedThrough), let current = try kind.fetch(db, record.id) {
                    let local = RecordCoding.diff(from: try Self.base(db, record.kind, record.id)?.fields ?? [:], to: current)
                    visible.merge(local) { _, mine in mine }
                }
                try kind.write(db, visible, false)
                try Self.setBase(db, record.kind, record.id, seq: record.seq, fields: record.fields)
            }
            if let snapshot {
                for (name, kind) in Self.syncKinds where kind.mutable {
                    let held = snapshot[name] ?? []
                    for id in try String.fetchAll(db, sql: "SELECT id FROM \(kind.table) WHERE \(kind.liveCondition)") where !held.contains(id) {
                        guard try !Self.isDirty(db, name, id, after: pushedThrough) else { continue }
                        try db.execute(sql: "DELETE FROM \(kind.table) WHERE id = ?", arguments: [id])
                        try db.execute(sql: "DELETE FROM record_base WHERE record_kind = ? AND record_id = ?", arguments: [name, id])
                        try db.execute(sql: "DELETE FROM field_stamp WHERE record_kind = ? AND record_id = ?", arguments: [name, id])
                    }
                }
            }
            if let checkpoint { try Self.setSyncValue(db, .checkpoint, String(checkpoint)) }
        }
    }

    /// Empties the replica's copy of the tenant before a (re-)bootstrap, in one transaction: a
    /// snapshot leaves out what was deleted meanwhile, so nothing of the old copy may stay. Refused
    /// only while local changes are unpushed (push first): a reset never throws away unsynced work.
    /// The change log stays, so this replica's dots are never reused.
    public func resetForBootstrap() throws {
        try writer.write { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            let unpushed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM change_log WHERE seq > ?", arguments: [pushedThrough]) ?? 0
            guard unpushed == 0 else {
                throw DomainError.conflict(field: "outbox", "\(unpushed) local changes are not pushed yet; sync again to push them before starting over")
            }
            for kindName in Self.syncKindOrder.reversed() {
                guard let kind = Self.syncKinds[kindName] else { continue }
                if !kind.mutable { try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) SELECT id FROM \(kind.table)") }
                try db.execute(sql: "DELETE FROM \(kind.table)")
            }
            try db.execute(sql: "DELETE FROM retraction")
            try db.execute(sql: "DELETE FROM record_base")
            try db.execute(sql: "DELETE FROM field_stamp")
            try db.execute(sql: "DELETE FROM sync_meta WHERE key = 'checkpoint'")
        }
    }

    /// Whether the replica holds any records (a bootstrap into it must reset it first).
    public func holdsRecords() throws -> Bool {
        try writer.read { db in
            try Self.syncKindOrder.contains { kindName in
                guard let kind = Self.syncKinds[kindName] else { return false }
                return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM \(kind.table))") ?? false
            }
        }
    }

    /// Whether records of `kind` are mutable (merged field by field, deletable) rather than insert-only.
    public static func isMutable(kind: String) -> Bool { syncKinds[kind]?.mutable ?? false }

    // MARK: Conflicts and exceptions

    public func conflicts(includeSettled: Bool = false) throws -> [ConflictRecord] {
        try writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT body FROM sync_conflict WHERE deleted = 0\(includeSettled ? "" : " AND status = 'open'") ORDER BY id"
            ).map { try ConflictRecord(fieldMap: RecordCoding.decode(Data($0.utf8))) }
        }
    }

    /// Settles a conflict: keeps the value every replica shows, or puts the set-aside one back
    /// (an edit of the record like any other), and marks the conflict settled. Both are local
    /// changes, pushed with the next sync.
    public func settleConflict(_ id: String, restoreLost: Bool, by user: String) throws -> ConflictRecord {
        try writer.write { db in
            let conflictKind = Self.syncKinds["sync_conflict"]!
            guard let fields = try conflictKind.fetch(db, id), fields[RecordCoding.deletedField] != .bool(true) else {
                throw DomainError.notFound(field: "id", id: id)
            }
            var conflict = try ConflictRecord(fieldMap: fields)
            if restoreLost, let kind = Self.syncKinds[conflict.kind], let current = try kind.fetch(db, conflict.recordID) {
                var changed = current
                changed[conflict.field] = conflict.lost
                try kind.write(db, changed, true)
                let seq = try Self.logChange(db, kind: conflict.kind, id: conflict.recordID, op: "update")
                try Self.stampChangedFields(db, kind: conflict.kind, id: conflict.recordID, before: current, after: changed, seq: seq)
            }
            conflict.status = .settled
            conflict.settledBy = user
            var settled = conflict.fieldMap
            settled[RecordCoding.deletedField] = .bool(false)
            try conflictKind.write(db, settled, true)
            let seq = try Self.logChange(db, kind: "sync_conflict", id: id, op: "update")
            try Self.stampChangedFields(db, kind: "sync_conflict", id: id, before: fields, after: settled, seq: seq)
            return conflict
        }
    }

    /// Checks the ledger invariants and brings the reconciliation queue up to date: new violations
    /// are added, ones that no longer hold are marked resolved (never deleted). Returns the open
    /// ones. Costs what there is to find, not the size of the ledger: see ``invariantViolations(_:)``.
    @discardableResult
    public func recheckInvariants() throws -> [ReconciliationException] {
        try writer.write { db in
            let found = try Self.invariantViolations(db)
            let now = ISO8601DateFormatter().string(from: WallClock.system.now())
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for exception in found {
                try db.execute(
                    sql: """
                        INSERT INTO sync_exception (id, body, status, detected_at) VALUES (?, ?, 'open', ?)
                        ON CONFLICT(id) DO UPDATE SET body = excluded.body, status = 'open', resolved_at = NULL
                        """,
                    arguments: [exception.id, String(decoding: try encoder.encode(exception), as: UTF8.self), now]
                )
            }
            let open = Set(found.map(\.id))
            for id in try String.fetchAll(db, sql: "SELECT id FROM sync_exception WHERE status = 'open'") where !open.contains(id) {
                try db.execute(sql: "UPDATE sync_exception SET status = 'resolved', resolved_at = ? WHERE id = ?", arguments: [now, id])
            }
            return found
        }
    }

    /// The ledger's broken invariants, as ``DunlinSync/LedgerInvariants`` defines them. Only an
    /// invoice or payment whose derived balance is below zero, or that was voided, can break one
    /// (partial indexes hold exactly those); the rules run over each such subject and every entry
    /// that draws on or settles it, with their reversals, which is all they read.
    static func invariantViolations(_ db: Database) throws -> [ReconciliationException] {
        let subjects = Set(try String.fetchAll(db, sql: """
            SELECT invoice_id FROM invoice_balance WHERE gross < 0
            UNION SELECT invoice_id FROM invoice_balance WHERE reversed_on IS NOT NULL
            UNION SELECT source_id FROM source_balance WHERE gross < 0
            UNION SELECT source_id FROM source_balance WHERE reversed_on IS NOT NULL
            """))
        guard !subjects.isEmpty else { return [] }
        var related: [String: LedgerEntry] = [:]
        for subject in subjects {
            let rows = try LedgerEntryRow.fetchAll(
                db, sql: """
                    SELECT * FROM ledger_entry WHERE id = ?1 OR source_id = ?1 OR target_id = ?1
                    UNION SELECT r.* FROM ledger_entry r JOIN ledger_entry e ON r.target_id = e.id
                    WHERE r.kind = 'reversal' AND (e.source_id = ?1 OR e.target_id = ?1)
                    """,
                arguments: [subject]
            )
            for entry in rows.compactMap(\.entry) { related[entry.id] = entry }
        }
        return LedgerInvariants.violations(in: Array(related.values)).filter { subjects.contains($0.subjectID) }
    }

    /// The reconciliation queue: open exceptions (and, if asked, resolved ones), with status.
    public func exceptions(includeResolved: Bool = false) throws -> [(exception: ReconciliationException, status: String, detectedAt: String)] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT body, status, detected_at FROM sync_exception\(includeResolved ? "" : " WHERE status = 'open'") ORDER BY id"
            ).map { row in
                (try JSONDecoder().decode(ReconciliationException.self, from: Data((row["body"] as String).utf8)), row["status"], row["detected_at"])
            }
        }
    }

    /// The invoices dunning must leave alone: every invoice an open exception touches.
    public func dunningHolds() throws -> Set<String> {
        Set(try exceptions().flatMap(\.exception.holds))
    }

    /// How many records have local changes not yet pushed.
    public func pendingCount() throws -> Int {
        try writer.read { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            return try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT record_kind, record_id FROM change_log WHERE seq > ?)", arguments: [pushedThrough]
            ) ?? 0
        }
    }
}
