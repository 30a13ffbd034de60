import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// The sync settings a store keeps in `sync_meta`: on a replica, where it stands with its server;
/// on the server, the collected tombstone horizon.
public enum SyncSetting: String, Sendable, Hashable, CaseIterable {
    /// The server change a replica holds everything up to (set by a bootstrap and each pull).
    case checkpoint
    /// The server has answered every local change up to this counter (and, above it, the changes
    /// `answered_change` lists: a push records its progress batch by batch).
    case pushedThrough = "pushed_through"
    /// The server's collected tombstone horizon.
    case collectedThrough = "collected_through"
    /// When the replica last synced (ISO 8601).
    case lastSync = "last_sync"
    /// The tenant's settings, as the last bootstrap brought them.
    case baseCurrency = "base_currency"
    case timeZone = "time_zone"
    /// While a bootstrap loads an empty replica: the SQL of the secondary indexes it left out
    /// until its last batch (``TenantStore/deferIndexesForBootstrap()``), one statement a line.
    case deferredIndexes = "deferred_indexes"
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

/// A slice of a replica's outbox, as ``TenantStore/outboxBatch(limit:)`` prepares it: what to push
/// now, and the records whose local changes turned out to leave nothing to send.
public struct OutboxBatch: Sendable, Hashable {
    /// A record of the outbox, and the newest local change of it the batch covers.
    public struct Record: Sendable, Hashable {
        public var kind: String
        public var id: String
        public var counter: Int64
    }

    /// The changes to push, in push order.
    public var changes: [PushedChange] = []
    /// Records edited back to the server's version, or gone: never sent, but settled with the
    /// batch, so they leave the outbox.
    public var unchanged: [Record] = []

    public init() {}

    /// How many outbox records the batch covers: its changes and its unchanged records.
    public var recordCount: Int { changes.count + unchanged.count }
    /// Nothing left in the outbox.
    public var isEmpty: Bool { recordCount == 0 }
}

/// The replica's side of sync, on the same schema as the server's store: a laptop's copy of one
/// tenant. Local writes go through the same store methods as on the server (so they validate the
/// same way and land in the change log); the change-log rows the server has not answered yet are
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

    /// A local change-log row is in the outbox until the server has answered it: it is above the
    /// pushed-through counter and its record has no answered change at or after it
    /// (`answered_change`, kept for records answered ahead of older unanswered changes). One
    /// parameter: the pushed-through counter.
    private static let unanswered = """
        change_log c WHERE c.seq > ? AND NOT EXISTS (
            SELECT 1 FROM answered_change a WHERE a.record_kind = c.record_kind AND a.record_id = c.record_id AND a.counter >= c.seq)
        """

    /// The next `limit` records of the outbox, in the order each record's first unanswered change
    /// was made, so what a change refers to goes before it (a record the server has already
    /// answered is on the server for what follows it). Each record goes once, with the dot of its
    /// latest change and, for mutable kinds, only the fields that differ from the server's version.
    /// Reads only as far into the change log as the batch needs, so the first batch of a large
    /// outbox is ready at once.
    public func outboxBatch(limit: Int) throws -> OutboxBatch {
        try writer.read { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            var batch = OutboxBatch()
            var seen = Set<String>()
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT c.record_kind, c.record_id FROM \(Self.unanswered) ORDER BY c.seq"), arguments: [pushedThrough]
            )
            // Asked once a record: cached, not compiled again each time.
            let latestChange = try db.cachedStatement(sql: "SELECT MAX(seq) AS last, MAX(at) AS at FROM change_log WHERE record_kind = ? AND record_id = ?")
            while seen.count < limit, let row = try rows.next() {
                let kindName: String = row["record_kind"], id: String = row["record_id"]
                guard seen.insert("\(kindName)/\(id)").inserted else { continue }
                let latest = try Row.fetchOne(latestChange, arguments: [kindName, id])
                let last: Int64 = latest?["last"] ?? 0, at: String? = latest?["at"]
                guard let kind = Self.syncKind(kindName), let current = try kind.fetch(db, id) else {
                    batch.unchanged.append(.init(kind: kindName, id: id, counter: last))
                    continue
                }
                var fields = current
                var baseSeq: Int64 = 0
                if kind.mutable {
                    let base = try Self.base(db, kindName, id)
                    fields = RecordCoding.diff(from: base?.fields ?? [:], to: current)
                    baseSeq = base?.seq ?? 0
                    guard !fields.isEmpty else {
                        batch.unchanged.append(.init(kind: kindName, id: id, counter: last))
                        continue
                    }
                }
                batch.changes.append(PushedChange(
                    kind: kindName, id: id, counter: UInt64(last), baseSeq: UInt64(baseSeq), fields: fields,
                    at: at.flatMap(ChangeTime.milliseconds) ?? Self.nowMilliseconds
                ))
            }
            return batch
        }
    }

    /// The whole outbox's changes to send, in push order (``outboxBatch(limit:)`` without a limit).
    public func pendingChanges() throws -> [PushedChange] {
        try outboxBatch(limit: .max).changes
    }

    private static func base(_ db: Database, _ kind: String, _ id: String) throws -> (seq: Int64, fields: FieldMap)? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, fields FROM record_base WHERE record_kind = ? AND record_id = ?"), arguments: [kind, id]) else {
            return nil
        }
        return (row["seq"], try RecordCoding.decode(row["fields"]))
    }

    private static func setBase(_ db: Database, _ kind: String, _ id: String, seq: Int64, fields: Data) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO record_base (record_kind, record_id, seq, fields) VALUES (?, ?, ?, ?)")
            .execute(arguments: [kind, id, seq, fields])
    }

    /// Whether the record has a local change after `counter`.
    private static func changed(_ db: Database, _ kind: String, _ id: String, after counter: Int64) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM change_log WHERE record_kind = ? AND record_id = ? AND seq > ?)", arguments: [kind, id, counter]
        ) ?? false
    }

    /// Whether the record has local changes the server has not answered yet.
    private static func hasUnansweredChanges(_ db: Database, _ kind: String, _ id: String, pushedThrough: Int64) throws -> Bool {
        let answered = try Int64.fetchOne(
            db, sql: "SELECT counter FROM answered_change WHERE record_kind = ? AND record_id = ?", arguments: [kind, id]
        ) ?? 0
        return try changed(db, kind, id, after: max(pushedThrough, answered))
    }

    /// Records the server's answers to one pushed batch, in one transaction: refused changes are
    /// listed and taken back out of the local data (unless the record changed again since), every
    /// record of the batch (``OutboxBatch/unchanged`` ones too) leaves the outbox up to the change
    /// that was sent, and the pushed-through counter moves up to the oldest change still
    /// unanswered. A push cut off after some batches therefore resumes after the last answered one.
    ///
    /// - Parameter refusals: one per change of `batch.changes`, in order: nil when it was accepted
    ///   (or was a duplicate of an accepted one).
    public func settlePush(_ batch: OutboxBatch, refusals: [PushRefusal?]) throws {
        precondition(refusals.count == batch.changes.count, "one answer per pushed change")
        try writer.write { db in
            for (change, refusal) in zip(batch.changes, refusals) {
                guard let refusal else {
                    // Accepted: what this replica sent is now part of what it builds on, so a later
                    // edit, made before the next pull, sends only what changed after it. The base's
                    // sequence number stays: writes by others since then are still unseen.
                    if Self.isMutable(kind: change.kind) {
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
                guard let kind = Self.syncKind(change.kind), try !Self.changed(db, change.kind, change.id, after: Int64(change.counter)) else { continue }
                if kind.mutable, let base = try Self.base(db, change.kind, change.id) {
                    try kind.write(db, base.fields, false)
                } else {
                    if !kind.mutable {
                        try db.execute(sql: "INSERT OR IGNORE INTO retraction (entry_id) VALUES (?)", arguments: [change.id])
                    }
                    try kind.rows.filter(SyncKind.id == change.id).deleteAll(db)
                }
            }
            let answered = batch.changes.map { OutboxBatch.Record(kind: $0.kind, id: $0.id, counter: Int64($0.counter)) } + batch.unchanged
            for record in answered {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO answered_change (record_kind, record_id, counter) VALUES (?, ?, ?)")
                    .execute(arguments: [record.kind, record.id, record.counter])
            }
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            let through = try Int64.fetchOne(db, sql: "SELECT MIN(c.seq) - 1 FROM \(Self.unanswered)", arguments: [pushedThrough])
                ?? Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log") ?? 0
            try db.execute(sql: "DELETE FROM answered_change WHERE counter <= ?", arguments: [through])
            try Self.setSyncValue(db, .pushedThrough, String(max(through, pushedThrough)))
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
                guard let kind = Self.syncKind(record.kind) else { continue }
                if record.form == kind.form, let insertPulled = kind.insertPulled {
                    try insertPulled(db, record.id, record.bytes)
                    continue
                }
                // A ledger entry or activity in the JSON form (a test's) goes the general way; a
                // packed form of another kind is not a record.
                guard record.form == .fields else {
                    throw PackedForm.DecodingError(kind: record.kind, offset: 0, reason: "a \(record.kind) record came in the packed form of another kind")
                }
                let fields = try RecordCoding.decode(record.bytes)
                guard kind.mutable else {
                    if try kind.fetch(db, record.id) == nil { try kind.write(db, fields, false) }
                    continue
                }
                var visible = fields
                if try Self.hasUnansweredChanges(db, record.kind, record.id, pushedThrough: pushedThrough), let current = try kind.fetch(db, record.id) {
                    let local = RecordCoding.diff(from: try Self.base(db, record.kind, record.id)?.fields ?? [:], to: current)
                    visible.merge(local) { _, mine in mine }
                }
                try kind.write(db, visible, false)
                try Self.setBase(db, record.kind, record.id, seq: record.seq, fields: record.bytes)
            }
            if let snapshot {
                for (recordKind, kind) in Self.syncKinds where kind.mutable {
                    let name = recordKind.rawValue
                    let held = snapshot[name] ?? []
                    for id in try SyncKind.ids(kind.live, db) where !held.contains(id) {
                        guard try !Self.hasUnansweredChanges(db, name, id, pushedThrough: pushedThrough) else { continue }
                        try kind.rows.filter(SyncKind.id == id).deleteAll(db)
                        try db.execute(sql: "DELETE FROM record_base WHERE record_kind = ? AND record_id = ?", arguments: [name, id])
                        try db.execute(sql: "DELETE FROM field_stamp WHERE record_kind = ? AND record_id = ?", arguments: [name, id])
                    }
                }
            }
            if let checkpoint {
                try Self.setSyncValue(db, .checkpoint, String(checkpoint))
                try Self.rebuildDeferredIndexes(db)
            }
        }
    }

    /// The secondary indexes a bootstrap builds after the snapshot rather than row by row: only
    /// the replica's lists and reports read them (an analyst's activities, the ledger by date or
    /// by customer, a customer's statement), none of the insert triggers does, and SQLite builds an index over a million
    /// rows with one sort in a fraction of what a million inserts into it cost. The indexes the
    /// triggers look entries up by (`target_id`, `source_id`, the possible-duplicate match) stay.
    /// A migration that drops or redefines one of these must say `IF EXISTS`: a replica opened
    /// with a bootstrap cut short runs its migrations before it builds them again.
    public static let bootstrapDeferredIndexes = ["ledger_entry_customer", "ledger_entry_by_date", "activity_by_customer", "activity_by_time", "invoice_statement"]

    /// Before a bootstrap into an empty replica: drops the deferred indexes, keeping each one's
    /// SQL as the schema has it, in the same transaction; the batch that sets the checkpoint
    /// builds them again (``applySyncBatch(_:checkpoint:snapshot:)``), and so does opening the
    /// replica (``rebuildDeferredIndexes()``) if the bootstrap never got there. Nothing is
    /// dropped from a replica that holds records.
    public func deferIndexesForBootstrap() throws {
        try writer.write { db in
            guard try Self.syncValue(db, .deferredIndexes) == nil,
                  try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM ledger_entry) OR EXISTS (SELECT 1 FROM activity)")! else { return }
            let statements = try String.fetchAll(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name IN (\(Self.bootstrapDeferredIndexes.map { "'\($0)'" }.joined(separator: ", ")))"
            )
            guard !statements.isEmpty else { return }
            try Self.setSyncValue(db, .deferredIndexes, statements.joined(separator: "\n"))
            for name in Self.bootstrapDeferredIndexes { try db.execute(sql: "DROP INDEX IF EXISTS \(name)") }
        }
    }

    /// Builds again the indexes a bootstrap deferred, if any are (a bootstrap cut short). Takes
    /// the write lock only then: every command opens the replica.
    public func rebuildDeferredIndexes() throws {
        guard try syncValue(.deferredIndexes) != nil else { return }
        try writer.write { db in try Self.rebuildDeferredIndexes(db) }
    }

    static func rebuildDeferredIndexes(_ db: Database) throws {
        guard let statements = try syncValue(db, .deferredIndexes) else { return }
        for statement in statements.split(separator: "\n") {
            // CREATE INDEX name ON ... as sqlite_master held it: made idempotent.
            try db.execute(sql: statement.replacingOccurrences(of: "CREATE INDEX ", with: "CREATE INDEX IF NOT EXISTS ", options: .anchored))
        }
        try db.execute(sql: "DELETE FROM sync_meta WHERE key = ?", arguments: [SyncSetting.deferredIndexes.rawValue])
    }

    static func syncValue(_ db: Database, _ setting: SyncSetting) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM sync_meta WHERE key = ?", arguments: [setting.rawValue])
    }

    /// Empties the replica's copy of the tenant before a (re-)bootstrap, in one transaction: a
    /// snapshot leaves out what was deleted meanwhile, so nothing of the old copy may stay. Refused
    /// only while local changes are unpushed (push first): a reset never throws away unsynced work.
    /// The change log stays, so this replica's dots are never reused.
    public func resetForBootstrap() throws {
        try writer.write { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            let unpushed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(Self.unanswered)", arguments: [pushedThrough]) ?? 0
            guard unpushed == 0 else {
                throw DomainError.conflict(field: "outbox", "\(unpushed) local changes are not pushed yet; sync again to push them before starting over")
            }
            for recordKind in Self.syncKindOrder.reversed() {
                guard let kind = Self.syncKinds[recordKind] else { continue }
                if !kind.mutable { try db.execute(literal: "INSERT OR IGNORE INTO retraction (entry_id) \(kind.rows.select(SyncKind.id))") }
                try kind.rows.deleteAll(db)
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
            try Self.syncKindOrder.contains { recordKind in
                guard let kind = Self.syncKinds[recordKind] else { return false }
                return try Row.fetchOne(db, kind.rows.select(SyncKind.id).limit(1)) != nil
            }
        }
    }

    /// Whether records of `kind` are mutable (merged field by field, deletable) rather than insert-only.
    public static func isMutable(kind: String) -> Bool { syncKind(kind)?.mutable ?? false }

    /// How sync reads and writes records of the kind a wire or change-log string names; nil for a
    /// name that is no kind (a newer server's, say: such records are passed over).
    static func syncKind(_ name: String) -> SyncKind? {
        RecordKind(rawValue: name).flatMap { syncKinds[$0] }
    }

    // MARK: Conflicts and exceptions

    /// The conflicts not deleted, by id: open ones, and settled ones too when asked.
    public func conflicts(includeSettled: Bool = false) throws -> [ConflictRecord] {
        try writer.read { db in
            var request = Self.conflictTable.select(Column("body"), as: String.self).filter(Column("deleted") == false)
            if !includeSettled { request = request.filter(Column("status") == ConflictRecord.Status.open.rawValue) }
            return try request.order(Column("id")).fetchAll(db).map { try ConflictRecord(fieldMap: RecordCoding.decode(Data($0.utf8))) }
        }
    }

    private static let conflictTable = Table(RecordKind.syncConflict.rawValue)
    private static let exceptionTable = Table("sync_exception")

    /// Settles a conflict on this replica, as `user`: the conflict is marked settled with its
    /// outcome and time, and the conflicted field shows the chosen value at once. Only the
    /// conflict goes in the outbox: the server applies the settlement to the record in the same
    /// commit (PROTOCOL.md §16.2), so a settlement it refuses (someone settled the conflict first)
    /// changes the record nowhere, and the next pull shows what the first settlement chose. The
    /// record's base takes the value too, so its own later edits do not send it again.
    ///
    /// A conflict already settled, here or by someone whose settlement this replica has pulled,
    /// is refused (FAILED_PRECONDITION, field `id`).
    public func settleConflict(_ id: String, outcome: ConflictRecord.Outcome, by user: String) throws -> ConflictRecord {
        try writer.write { db in
            guard let conflictKind = Self.syncKinds[.syncConflict], let fields = try conflictKind.fetch(db, id), fields[RecordCoding.deletedField] != .bool(true) else {
                throw DomainError.notFound(field: "id", id: id)
            }
            let open = try ConflictRecord(fieldMap: fields)
            guard open.status == .open else {
                throw DomainError.conflict(field: "id", "conflict \(id) is settled already, by \(open.settledBy.isEmpty ? "another user" : open.settledBy)")
            }
            let conflict = open.settled(by: user, outcome: outcome, at: Self.nowMilliseconds)
            if let value = conflict.settledValue, let recordKind = RecordKind(rawValue: conflict.kind), let kind = Self.syncKinds[recordKind], kind.mutable,
               var record = try kind.fetch(db, conflict.recordID), record[RecordCoding.deletedField] != .bool(true) {
                record[conflict.field] = value
                try kind.write(db, record, false)
                if let base = try Self.base(db, conflict.kind, conflict.recordID) {
                    var fields = base.fields
                    fields[conflict.field] = value
                    try Self.setBase(db, conflict.kind, conflict.recordID, seq: base.seq, fields: RecordCoding.canonical(fields))
                }
            }
            var settled = conflict.fieldMap
            settled[RecordCoding.deletedField] = .bool(false)
            try conflictKind.write(db, settled, true)
            let seq = try Self.logChange(db, kind: .syncConflict, id: id, op: "update")
            try Self.stampChangedFields(db, kind: .syncConflict, id: id, before: fields, after: settled, seq: seq)
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
                        ON CONFLICT(id) DO UPDATE SET body = excluded.body,
                            status = CASE sync_exception.status WHEN 'dismissed' THEN 'dismissed' ELSE 'open' END,
                            resolved_at = CASE sync_exception.status WHEN 'dismissed' THEN sync_exception.resolved_at END
                        """,
                    arguments: [exception.id, String(decoding: try encoder.encode(exception), as: UTF8.self), now]
                )
            }
            let open = Set(found.map(\.id))
            for id in try String.fetchAll(db, sql: "SELECT id FROM sync_exception WHERE status = 'open'") where !open.contains(id) {
                try db.execute(sql: "UPDATE sync_exception SET status = 'resolved', resolved_at = ? WHERE id = ?", arguments: [now, id])
            }
            let dismissed = Set(try String.fetchAll(db, sql: "SELECT id FROM sync_exception WHERE status = 'dismissed'"))
            return found.filter { !dismissed.contains($0.id) }
        }
    }

    /// Takes an open possible-duplicate exception out of the queue for good: a person looked and
    /// both payments are real. Only that kind can be dismissed (the others are broken invariants,
    /// which only a reversing entry resolves). A dismissal is this store's own: it does not sync.
    public func dismissException(_ id: String) throws {
        try writer.write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM sync_exception WHERE id = ? AND status = 'open'", arguments: [id]) else {
                throw DomainError.notFound(field: "id", id: id)
            }
            let exception = try JSONDecoder().decode(ReconciliationException.self, from: Data(body.utf8))
            guard exception.kind == .possibleDuplicatePayment else {
                throw DomainError.invalid(field: "id", "\(id) is a \(exception.kind.rawValue): only a reversing entry resolves it")
            }
            let now = ISO8601DateFormatter().string(from: WallClock.system.now())
            try db.execute(sql: "UPDATE sync_exception SET status = 'dismissed', resolved_at = ? WHERE id = ?", arguments: [now, id])
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
        let duplicates = try possibleDuplicatePayments(db)
        guard !subjects.isEmpty else { return duplicates }
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
        return (LedgerInvariants.balanceViolations(in: Array(related.values)).filter { subjects.contains($0.subjectID) } + duplicates)
            .sorted { ($0.kind.rawValue, $0.subjectID) < ($1.kind.rawValue, $1.subjectID) }
    }

    /// ``DunlinSync/LedgerInvariants/possibleDuplicatePayments(in:)`` over the payments that have a
    /// match within the window (kept by a trigger: ``PossibleDuplicatePayments``) and their
    /// reversals: what the rule reads, not the whole ledger.
    static func possibleDuplicatePayments(_ db: Database) throws -> [ReconciliationException] {
        let rows = try LedgerEntryRow.fetchAll(db, sql: """
            SELECT p.* FROM possible_duplicate_payment d JOIN ledger_entry p ON p.id = d.payment_id
            UNION ALL
            SELECT r.* FROM possible_duplicate_payment d JOIN ledger_entry r ON r.target_id = d.payment_id AND r.kind = 'reversal'
            """)
        guard !rows.isEmpty else { return [] }
        return LedgerInvariants.possibleDuplicatePayments(in: rows.compactMap(\.entry))
    }

    /// The reconciliation queue: open exceptions (and, if asked, resolved ones), with status.
    public func exceptions(includeResolved: Bool = false) throws -> [(exception: ReconciliationException, status: String, detectedAt: String)] {
        try writer.read { db in
            var request = Self.exceptionTable.select(Column("body"), Column("status"), Column("detected_at"))
            if !includeResolved { request = request.filter(Column("status") == "open") }
            return try Row.fetchAll(db, request.order(Column("id"))).map { row in
                (try JSONDecoder().decode(ReconciliationException.self, from: Data((row["body"] as String).utf8)), row["status"], row["detected_at"])
            }
        }
    }

    /// The invoices dunning must leave alone: every invoice an open exception touches.
    public func dunningHolds() throws -> Set<String> {
        Set(try exceptions().flatMap(\.exception.holds))
    }

    /// How many records have local changes the server has not answered yet: what `dunlin status`
    /// calls pending, and what a push has to get through.
    public func pendingCount() throws -> Int {
        try writer.read { db in
            let pushedThrough = try Self.syncInteger(db, .pushedThrough)
            return try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT c.record_kind, c.record_id FROM \(Self.unanswered))", arguments: [pushedThrough]
            ) ?? 0
        }
    }
}
