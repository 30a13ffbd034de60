import Crypto
import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// One record as the sync feed carries it: current state, in its kind's form (PROTOCOL.md §16.2):
/// ledger entries and activities packed (DunlinSync ``PackedLedgerEntry``, ``PackedActivity``),
/// every other kind's fields as canonical JSON (DunlinSync ``SyncRecordForm``).
public struct SyncRecordState: Sendable, Hashable {
    /// Which form a record's bytes are in: `SyncRecord.form`'s cases.
    public enum Form: Sendable, Hashable {
        /// Canonical JSON of the kind's sync form.
        case fields
        /// A packed `LedgerEntryForm`.
        case ledgerEntry
        /// A packed `ActivityForm`.
        case activity

        /// The form records of `kind` travel in.
        public static func of(kind: String) -> Form {
            switch kind {
            case RecordKind.ledgerEntry.rawValue: .ledgerEntry
            case RecordKind.activity.rawValue: .activity
            default: .fields
            }
        }
    }

    public var kind: String
    public var id: String
    /// The authority's sequence number of the record's latest change (0 where it does not matter:
    /// insert-only kinds in a snapshot).
    public var seq: Int64
    public var form: Form
    /// The record in its form, exactly the bytes the wire carries and the checksum covers.
    public var bytes: Data

    public init(kind: String, id: String, seq: Int64, form: Form, bytes: Data) {
        self.kind = kind
        self.id = id
        self.seq = seq
        self.form = form
        self.bytes = bytes
    }

    /// A record in the JSON form.
    public init(kind: String, id: String, seq: Int64, fields: Data) {
        self.init(kind: kind, id: id, seq: seq, form: .fields, bytes: fields)
    }

    /// The record's fields in its kind's sync form, whichever form it travels in (what merge and
    /// the tests compare).
    public func fieldMap() throws -> FieldMap {
        switch form {
        case .fields:
            return try RecordCoding.decode(bytes)
        case .ledgerEntry:
            guard let entry = try PackedLedgerEntry(packed: bytes).entry(id: id) else { throw PackedForm.DecodingError(kind: kind, offset: 0, reason: "not an entry") }
            return entry.fieldMap
        case .activity:
            guard let activity = try PackedActivity(packed: bytes).activity(id: id) else { throw PackedForm.DecodingError(kind: kind, offset: 0, reason: "not an activity") }
            return activity.fieldMap
        }
    }

    /// SHA-256 over each record's kind, id, seq (decimal) and form bytes, each followed by a zero
    /// byte: what a batch's checksum is (PROTOCOL.md §16.2).
    public static func checksum(_ records: [SyncRecordState]) -> Data {
        var hasher = SHA256()
        let zero: [UInt8] = [0]
        func update(_ text: String) {
            var text = text
            text.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
            zero.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        for record in records {
            update(record.kind)
            update(record.id)
            update(String(record.seq))
            hasher.update(data: record.bytes)
            zero.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return Data(hasher.finalize())
    }
}

/// One change from a replica's outbox, as the authority receives it.
public struct PushedChange: Sendable, Hashable {
    public var kind: String
    public var id: String
    public var counter: UInt64
    public var baseSeq: UInt64
    public var fields: FieldMap
    public var at: Int64

    public init(kind: String, id: String, counter: UInt64, baseSeq: UInt64, fields: FieldMap, at: Int64) {
        self.kind = kind
        self.id = id
        self.counter = counter
        self.baseSeq = baseSeq
        self.fields = fields
        self.at = at
    }
}

/// Why a pushed change was refused: the status code the same RPC would answer, and its words.
public struct PushRefusal: Error, Sendable, Hashable {
    public var code: UInt32
    public var message: String
    public var field: String

    public init(code: UInt32, message: String, field: String = "") {
        self.code = code
        self.message = message
        self.field = field
    }
}

/// What the authority did with one pushed change.
public struct PushOutcome: Sendable, Hashable {
    public enum Kind: Int, Sendable, Hashable {
        case accepted = 0
        case duplicate = 1
        case refused = 2
    }

    public var counter: UInt64
    public var kind: Kind
    /// For a refusal (also when a duplicate repeats one).
    public var refusal: PushRefusal?
    public var conflictIDs: [String]
}

/// Sync failures a caller branches on.
public enum SyncStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The replica's checkpoint is below the collected horizon: tombstones it never saw are gone,
    /// so it must push its outbox and bootstrap again.
    case behindHorizon(checkpoint: Int64, horizon: Int64)

    public var description: String {
        switch self {
        case .behindHorizon(let checkpoint, let horizon):
            "checkpoint \(checkpoint) is behind the collected horizon \(horizon): push, then bootstrap again"
        }
    }
}

/// How sync reads and writes each kind of record.
struct SyncKind: Sendable {
    /// Mutable kinds merge field by field; the others are insert-only (set union).
    var mutable: Bool
    /// The record's fields now ("_deleted" included for mutable kinds), nil when there is none.
    var fetch: @Sendable (Database, String) throws -> FieldMap?
    /// Writes the record. With `validate`, the same checks as the RPC that writes it.
    var write: @Sendable (Database, FieldMap, _ validate: Bool) throws -> Void
    /// The table the kind's records live in, and whether its rows have tombstones (a `deleted`
    /// column): what snapshots, resets and tombstone collection read, through ``rows`` and ``live``.
    var table: String
    var tombstoned: Bool
    /// Insert-only kinds: the records `selection` picks in the kind's ``form``, read in one query
    /// (a snapshot page, or every record a pull batch's stretch of the change log inserted), so
    /// neither a bootstrap nor a pull looks records up one at a time.
    var encoded: (@Sendable (Database, RecordSelection) throws -> [(id: String, bytes: Data)])? = nil
    /// Insert-only kinds: inserts a pulled record (its id, its bytes in ``form``) unless one with
    /// its id is there (set union), with one prepared statement.
    var insertPulled: (@Sendable (Database, String, Data) throws -> Void)? = nil

    /// The form the kind's records travel in.
    var form: SyncRecordState.Form { .of(kind: table) }
}

/// Which records of one kind a read picks.
enum RecordSelection: Sendable, Hashable {
    /// A snapshot page: the records after `cursor` by id, at most `limit`, in id order.
    case page(after: String, limit: Int)
    /// What the change log's entries in (`after`, `through`] touched: a pull batch's records.
    case changed(after: Int64, through: Int64)

    /// `rows` (the table of records of `kind`) narrowed to this selection.
    func apply<RowType>(to rows: QueryInterfaceRequest<RowType>, kind: RecordKind) -> QueryInterfaceRequest<RowType> {
        switch self {
        case .page(let cursor, let limit):
            rows.filter(SyncKind.id > cursor).order(SyncKind.id).limit(limit)
        case .changed(let after, let through):
            // The stretch by seq, the log's primary key: its (record_kind, record_id) index would
            // have SQLite read every change of the kind ever made to find the batch's few.
            rows.filter(literal: """
                \(SyncKind.id) IN (
                    SELECT record_id FROM change_log NOT INDEXED WHERE seq > \(after) AND seq <= \(through) AND record_kind = \(kind.rawValue))
                """)
        }
    }
}

extension SyncKind {
    static let id = Column("id")
    static let deleted = Column("deleted")

    /// Every row of the kind's table, tombstones included.
    var rows: Table<Row> { Table(table) }

    /// The kind's live rows: all of them, or for a kind with tombstones those not deleted.
    var live: QueryInterfaceRequest<Row> { tombstoned ? rows.filter(Self.deleted == false) : rows.all() }

    /// The ids of `request`'s rows.
    static func ids(_ request: QueryInterfaceRequest<Row>, _ db: Database) throws -> [String] {
        try String.fetchAll(db, request.select(id))
    }
}

extension TenantStore {
    /// The authority id stamped on every change this store commits. One server store per tenant
    /// today; a tenant served by several nodes would give each its own.
    public static let authority = "server"

    static let syncKinds: [RecordKind: SyncKind] = [
        .customer: SyncKind(
            mutable: true,
            fetch: { db, id in
                guard let row = try CustomerRow.fetchOne(db, id: id) else { return nil }
                var fields = row.customer.fieldMap
                fields[RecordCoding.deletedField] = .bool(false)
                return fields
            },
            write: { db, fields, validate in
                if fields[RecordCoding.deletedField] == .bool(true) {
                    throw DomainError.invalid(field: "_deleted", "customers are not deleted")
                }
                let customer = try Customer(fieldMap: fields)
                if validate {
                    try customer.validate()
                    try checkNumber(of: customer, db)
                }
                try CustomerRow(customer).save(db)
            },
            table: CustomerRow.databaseTableName, tombstoned: false
        ),
        .contact: tombstoned(ContactRow.self, ContactRow.init, check),
        .dispute: tombstoned(DisputeRow.self, DisputeRow.init, check),
        .promiseToPay: tombstoned(PromiseToPayRow.self, PromiseToPayRow.init, check),
        .collectionTask: tombstoned(CollectionTaskRow.self, CollectionTaskRow.init, check),
        .dunningPolicy: tombstoned(DunningPolicyRow.self, DunningPolicyRow.init, check),
        .dunningHold: tombstoned(DunningHoldRow.self, DunningHoldRow.init, check),
        // Only the server writes notices (the rights table refuses every pushed one).
        .dunningNotice: tombstoned(DunningNoticeRow.self, DunningNoticeRow.init) { _, _ in },
        .tenantSetting: tombstoned(TenantSettingRow.self, TenantSettingRow.init, check),
        .noticeTemplate: tombstoned(NoticeTemplateRow.self, NoticeTemplateRow.init, check),
        .escalationRule: tombstoned(EscalationRuleRow.self, EscalationRuleRow.init, check),
        // Only the server writes escalations (the rights table refuses every pushed one).
        .escalation: tombstoned(EscalationRow.self, EscalationRow.init) { _, _ in },
        // Only the server's import writes bank files and receipts (the rights table refuses every pushed one).
        .bankFile: tombstoned(BankFileRow.self, BankFileRow.init) { _, _ in },
        .bankReceipt: tombstoned(BankReceiptRow.self, BankReceiptRow.init) { _, _ in },
        // Made by anyone from analyst up; a pushed decision is settled by apply(_:from:_:authorize:).
        .approvalRequest: tombstoned(ApprovalRequestRow.self, ApprovalRequestRow.init, check),
        .exchangeRate: tombstoned(ExchangeRateRow.self, ExchangeRateRow.init, check),
        // Only the server closes and reopens a month (the rights table refuses every pushed one).
        .periodClose: SyncKind(
            mutable: true,
            fetch: bodyFields(in: "period_close"),
            write: { db, fields, _ in
                let close = try PeriodClose(fieldMap: fields)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO period_close (id, month, status, body, deleted) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        close.id, close.month, close.status.rawValue, String(decoding: RecordCoding.canonical(close.fieldMap), as: UTF8.self),
                        fields[RecordCoding.deletedField] == .bool(true),
                    ]
                )
            },
            table: "period_close", tombstoned: true
        ),
        .teamCalendar: tombstoned(TeamCalendarRow.self, TeamCalendarRow.init, check),
        .ticket: tombstoned(TicketRow.self, TicketRow.init, check),
        // A ticket's history and comments: insert-only, so two people's offline events both land.
        .ticketEvent: SyncKind(
            mutable: false,
            fetch: { db, id in try TicketEventRow.fetchOne(db, id: id).map { try $0.record().fieldMap } },
            write: { db, fields, validate in
                let event = try TicketEvent(fieldMap: fields)
                if validate { try check(event, db) }
                try TicketEventRow(event).insert(db)
            },
            table: TicketEventRow.databaseTableName, tombstoned: false,
            encoded: { db, selection in
                try selection.apply(to: TicketEventRow.all(), kind: .ticketEvent).fetchAll(db)
                    .map { row in (row.id, RecordCoding.canonical(try row.record().fieldMap)) }
            },
            insertPulled: { db, _, fields in
                try TicketEventRow(try TicketEvent(fieldMap: RecordCoding.decode(fields))).insert(db, onConflict: .ignore)
            }
        ),
        .syncConflict: SyncKind(
            mutable: true,
            fetch: bodyFields(in: "sync_conflict"),
            write: { db, fields, _ in
                let conflict = try ConflictRecord(fieldMap: fields)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO sync_conflict (id, record_kind, record_id, status, body, deleted) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [
                        conflict.id, conflict.kind, conflict.recordID, conflict.status.rawValue,
                        String(decoding: RecordCoding.canonical(conflict.fieldMap), as: UTF8.self),
                        fields[RecordCoding.deletedField] == .bool(true),
                    ]
                )
            },
            table: RecordKind.syncConflict.rawValue, tombstoned: true
        ),
        .ledgerEntry: SyncKind(
            mutable: false,
            fetch: { db, id in try LedgerEntryRow.fetchOne(db, id: id)?.entry?.fieldMap },
            write: { db, fields, validate in
                let entry = try LedgerEntry(fieldMap: fields)
                // Limits that only two valid entries together can break become exceptions.
                if validate { try SQLLedgerState.checking(db) { try LedgerRules.validate(entry, against: $0, balances: .reconcile) } }
                try LedgerEntryRow(entry).insert(db)
            },
            table: LedgerEntryRow.databaseTableName, tombstoned: false,
            encoded: { db, selection in try PackedRows.ledgerEntries(db, selection) },
            insertPulled: { db, id, packed in try PackedRows.insert(PackedLedgerEntry(packed: packed), id: id, db) }
        ),
        .activity: SyncKind(
            mutable: false,
            fetch: { db, id in try ActivityRow.fetchOne(db, id: id).map { try $0.record().fieldMap } },
            write: { db, fields, validate in
                let activity = try Activity(fieldMap: fields)
                if validate { try check(activity, db) }
                try ActivityRow(activity).insert(db)
            },
            table: ActivityRow.databaseTableName, tombstoned: false,
            encoded: { db, selection in try PackedRows.activities(db, selection) },
            insertPulled: { db, id, packed in try PackedRows.insert(PackedActivity(packed: packed), id: id, db) }
        ),
    ]

    /// Every kind, in the order a snapshot sends them (what later kinds refer to comes first).
    public static let syncKindOrder: [RecordKind] = [
        .customer, .ledgerEntry, .activity, .contact, .dispute, .promiseToPay, .collectionTask, .dunningPolicy, .dunningHold, .dunningNotice,
        .escalationRule, .escalation, .syncConflict, .tenantSetting, .noticeTemplate, .bankFile, .bankReceipt,
        .approvalRequest, .exchangeRate, .periodClose, .teamCalendar, .ticket, .ticketEvent,
    ]

    /// The fields of a record kept as its sync form's JSON (`body`) with a tombstone flag.
    private static func bodyFields(in table: String) -> @Sendable (Database, String) throws -> FieldMap? {
        { db, id in
            guard let row = try Row.fetchOne(db, sql: "SELECT body, deleted FROM \(table) WHERE id = ?", arguments: [id]) else { return nil }
            var fields = try RecordCoding.decode(Data((row["body"] as String).utf8))
            fields[RecordCoding.deletedField] = .bool(row["deleted"])
            return fields
        }
    }

    private static func tombstoned<RecordRow: TombstonedRow>(
        _ type: RecordRow.Type, _ makeRow: @escaping @Sendable (RecordRow.Record) -> RecordRow,
        _ check: @escaping @Sendable (RecordRow.Record, Database) throws -> Void
    ) -> SyncKind {
        SyncKind(
            mutable: true,
            fetch: { db, id in try RecordRow.fetchOne(db, id: id).map(liveFields) },
            write: { db, fields, validate in
                let record = try RecordRow.Record(fieldMap: fields)
                let deleted = fields[RecordCoding.deletedField] == .bool(true)
                if validate, !deleted { try check(record, db) }
                let row = makeRow(record)
                try row.save(db)
                try db.execute(sql: "UPDATE \(RecordRow.databaseTableName) SET deleted = ? WHERE id = ?", arguments: [deleted, row.id])
            },
            table: RecordRow.databaseTableName, tombstoned: true
        )
    }

    static func liveFields<RecordRow: TombstonedRow>(_ row: RecordRow) throws -> FieldMap {
        var fields = try row.record().fieldMap
        fields[RecordCoding.deletedField] = .bool(row.deleted)
        return fields
    }

    static var nowMilliseconds: Int64 { WallClock.system.milliseconds }

    /// Stamps the fields that differ between `before` and `after` as written by change `seq`.
    static func stampChangedFields(
        _ db: Database, kind: RecordKind, id: String, before: FieldMap?, after: FieldMap, seq: Int64, dot: Dot? = nil, at: Int64 = nowMilliseconds
    ) throws {
        let fields = Array(RecordCoding.diff(from: before ?? [:], to: after).keys)
        try stamp(db, kind: kind, id: id, fields: fields, Stamp(authority: authority, seq: UInt64(seq), dot: dot, at: at))
    }

    /// Stamps `fields` of one record with one change: one statement for up to
    /// ``fieldsPerStampStatement`` of them (a new record stamps each of its fields, and an import
    /// writes a hundred thousand records), cached per row count.
    private static func stamp(_ db: Database, kind: RecordKind, id: String, fields: [String], _ stamp: Stamp) throws {
        var first = 0
        while first < fields.count {
            let chunk = fields[first..<min(first + fieldsPerStampStatement, fields.count)]
            let shared: [(any DatabaseValueConvertible)?] = [kind.rawValue, id, Int64(stamp.seq), stamp.dot?.replica, stamp.dot.map { Int64($0.counter) }, stamp.at]
            try db.cachedStatement(sql: stampSQL[chunk.count]).execute(arguments: StatementArguments(shared + chunk.map { $0 }))
            first += chunk.count
        }
    }

    /// The most fields one stamping statement writes (7 columns a row, far below SQLite's limit of variables).
    static let fieldsPerStampStatement = 64

    /// `stampSQL[n]` inserts n stamps: ?1-?6 are the record and the change every row shares,
    /// ?7 onwards the fields.
    private static let stampSQL: [String] = (0...fieldsPerStampStatement).map { count in
        "INSERT OR REPLACE INTO field_stamp (record_kind, record_id, field, seq, dot_replica, dot_counter, at) VALUES "
            + (0..<count).map { "(?1, ?2, ?\($0 + 7), ?3, ?4, ?5, ?6)" }.joined(separator: ", ")
    }

    /// The field a stamp of every field of a record is written under (``stampWholeRecord``): a
    /// new record's fields are all written by its insert, and an import inserts a hundred
    /// thousand records of 26 fields. A field stamped later on its own has its own row, newer.
    static let wholeRecordField = "*"

    /// Stamps every field of a record just inserted by change `seq`: one row, read back by
    /// ``stamps(_:kind:id:fields:)`` as the stamp of each field without one of its own.
    static func stampWholeRecord(_ db: Database, kind: RecordKind, id: String, seq: Int64, at: Int64 = nowMilliseconds) throws {
        try stamp(db, kind: kind, id: id, fields: [wholeRecordField], Stamp(authority: authority, seq: UInt64(seq), dot: nil, at: at))
    }

    /// The stamp of each of `fields` of a record: its own, else its record's whole-record stamp.
    static func stamps(_ db: Database, kind: RecordKind, id: String, fields: FieldMap) throws -> [String: Stamp] {
        var result = try stampRows(db, kind: kind, id: id)
        guard let whole = result.removeValue(forKey: wholeRecordField) else { return result }
        for field in fields.keys where result[field] == nil { result[field] = whole }
        return result
    }

    private static func stampRows(_ db: Database, kind: RecordKind, id: String) throws -> [String: Stamp] {
        var result: [String: Stamp] = [:]
        let rows = try Row.fetchAll(
            db, sql: "SELECT field, seq, dot_replica, dot_counter, at FROM field_stamp WHERE record_kind = ? AND record_id = ?", arguments: [kind.rawValue, id]
        )
        for row in rows {
            let replica: String? = row["dot_replica"]
            let counter: Int64? = row["dot_counter"]
            result[row["field"]] = Stamp(
                authority: authority, seq: UInt64(row["seq"] as Int64),
                dot: replica.flatMap { replica in counter.map { Dot(replica: replica, counter: UInt64($0)) } }, at: row["at"]
            )
        }
        return result
    }

    // MARK: Authority: push

    /// Applies a replica's pushed changes in order, in one durable transaction, each as if in its
    /// own savepoint: a refused change writes nothing and the others still land. A dot seen before
    /// gets the answer it got then and changes nothing. `authorize` holds the caller to the role the
    /// same RPC needs (it sees the record as it stands, nil if new, and can look up ledger
    /// entries inside the transaction); `refusal` turns a validation
    /// error into the status the same RPC would answer. `audit` gives an accepted change's audit
    /// event, if it has one (a decision settled here), written to the audit outbox in the push's
    /// transaction (``AuditNote``); a duplicate writes none.
    ///
    /// The changes are applied in runs, one savepoint a run rather than one a change: a run goes
    /// until a change fails, then is rolled back, applied again up to that change (the same
    /// changes on the same state, so they land as they did), and the failing change is applied
    /// alone in its own savepoint, refused exactly as before; the next run starts after it. So a
    /// batch with no refusal costs one savepoint, and each refusal at most one more pass over the
    /// run before it.
    public func applyPush(
        replica: String, userID: String, device: String = "", changes: [PushedChange],
        authorize: (PushedChange, FieldMap?, _ entry: (String) -> LedgerEntry?) throws -> Void, refusal: (any Error) -> PushRefusal,
        audit: (PushedChange) -> AuditNote? = { _ in nil }
    ) throws -> (outcomes: [PushOutcome], seq: Int64) {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO replica (id, user_id, last_seen, device) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen,
                    device = CASE excluded.device WHEN '' THEN device ELSE excluded.device END
                    """,
                arguments: [replica, userID, ISO8601DateFormatter().string(from: WallClock.system.now()), device]
            )
            return try withoutActuallyEscaping(authorize) { authorize in
                try withoutActuallyEscaping(refusal) { refusal in
                    try withoutActuallyEscaping(audit) { audit in
                        try PushApplier(replica: replica, db: db, authorize: authorize, refusal: refusal, audit: audit).absorb(changes)
                    }
                }
            }
        }
    }

    /// One push's changes as its transaction absorbs them: the duplicate check, the change, its
    /// audit event and its answer (``TenantStore/applyPush``).
    private struct PushApplier {
        let replica: String
        let db: Database
        /// The change-log time of every change of the push.
        let changeTime = TenantStore.changeTime()
        let authorize: (PushedChange, FieldMap?, (String) -> LedgerEntry?) throws -> Void
        let refusal: (any Error) -> PushRefusal
        let audit: (PushedChange) -> AuditNote?

        /// Absorbs `changes` in runs (see ``TenantStore/applyPush``), and answers each.
        func absorb(_ changes: [PushedChange]) throws -> (outcomes: [PushOutcome], seq: Int64) {
            var outcomes: [PushOutcome] = []
            outcomes.reserveCapacity(changes.count)
            var next = 0
            while next < changes.count {
                // A run: from `next` on, in one savepoint, until a change fails.
                var failed: Int?
                var run: [PushOutcome] = []
                try db.inSavepoint {
                    for index in next..<changes.count {
                        guard let outcome = try absorbInRun(changes[index]) else {
                            failed = index
                            return .rollback
                        }
                        run.append(outcome)
                    }
                    return .commit
                }
                guard let failed else {
                    outcomes += run
                    break
                }
                // The run up to the failing change again: the same changes on the same state.
                run = []
                if failed > next {
                    try db.inSavepoint {
                        for index in next..<failed {
                            guard let outcome = try absorbInRun(changes[index]) else {
                                // Not the answer of the first pass: this stretch a change at a time.
                                run = []
                                return .rollback
                            }
                            run.append(outcome)
                        }
                        return .commit
                    }
                    if run.isEmpty {
                        for index in next..<failed { run.append(try absorbAlone(changes[index])) }
                    }
                }
                outcomes += run
                outcomes.append(try absorbAlone(changes[failed]))
                next = failed + 1
            }
            return (outcomes, try TenantStore.newestChange(db))
        }

        /// Absorbs `change` inside a run: nil when it fails, leaving what it wrote for the run's
        /// rollback.
        func absorbInRun(_ change: PushedChange) throws -> PushOutcome? {
            if let seen = try duplicate(change) { return seen }
            let conflictIDs: [String]
            do {
                conflictIDs = try TenantStore.apply(change, from: replica, db, at: changeTime, authorize: authorize)
            } catch {
                return nil
            }
            return try record(change, refused: nil, conflictIDs: conflictIDs)
        }

        /// Absorbs `change` in a savepoint of its own: a failure is its refusal, answered and
        /// recorded, and nothing of the change is written.
        func absorbAlone(_ change: PushedChange) throws -> PushOutcome {
            if let seen = try duplicate(change) { return seen }
            var conflictIDs: [String] = []
            var refused: PushRefusal?
            do {
                try db.inSavepoint {
                    conflictIDs = try TenantStore.apply(change, from: replica, db, at: changeTime, authorize: authorize)
                    return .commit
                }
            } catch {
                refused = refusal(error)
            }
            return try record(change, refused: refused, conflictIDs: conflictIDs)
        }

        /// The answer a dot seen before got, as a duplicate.
        private func duplicate(_ change: PushedChange) throws -> PushOutcome? {
            guard let seen = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT outcome, code, message, field, conflict_ids FROM absorbed_dot WHERE replica = ? AND counter = ?"),
                arguments: [replica, Int64(change.counter)]
            ) else { return nil }
            let refused = (seen["outcome"] as Int) == PushOutcome.Kind.refused.rawValue
            return PushOutcome(
                counter: change.counter, kind: .duplicate,
                refusal: refused ? PushRefusal(code: UInt32(seen["code"] as Int64), message: seen["message"], field: seen["field"]) : nil,
                conflictIDs: (try? JSONDecoder().decode([String].self, from: Data((seen["conflict_ids"] as String).utf8))) ?? []
            )
        }

        /// Writes an absorbed change's audit event (when accepted) and its dot's answer.
        private func record(_ change: PushedChange, refused: PushRefusal?, conflictIDs: [String]) throws -> PushOutcome {
            if refused == nil, let note = audit(change) { try AuditOutbox.enqueue(note, db) }
            try db.cachedStatement(sql: "INSERT INTO absorbed_dot (replica, counter, outcome, code, message, field, conflict_ids) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [
                    replica, Int64(change.counter), (refused == nil ? PushOutcome.Kind.accepted : .refused).rawValue,
                    Int64(refused?.code ?? 0), refused?.message ?? "", refused?.field ?? "",
                    conflictIDs.isEmpty ? Self.noConflicts : StoredValue.json(conflictIDs),
                ])
            return PushOutcome(counter: change.counter, kind: refused == nil ? .accepted : .refused, refusal: refused, conflictIDs: conflictIDs)
        }

        /// `StoredValue.json([])`, the conflict ids of almost every change.
        private static let noConflicts = StoredValue.json([String]())
    }

    /// `changeTime`: the change-log time of the push's changes (the push's own, formatted once:
    /// the formatter was 2% of a push's CPU time, once a change).
    private static func apply(
        _ change: PushedChange, from replica: String, _ db: Database, at changeTime: String,
        authorize: (PushedChange, FieldMap?, (String) -> LedgerEntry?) throws -> Void
    ) throws -> [String] {
        guard let recordKind = RecordKind(rawValue: change.kind), let kind = syncKinds[recordKind] else {
            throw DomainError.invalid(field: "kind", "\"\(change.kind)\" is not a kind of record")
        }
        // Every key a field of the kind and every value of its type, before anything reads it:
        // a malformed value never reaches a merge, a conflict record or a table.
        try SyncForms.check(change.fields, kind: change.kind, allowsDeleted: kind.mutable)
        guard change.fields["id"].map({ $0 == .string(change.id) }) ?? kind.mutable else {
            throw DomainError.invalid(field: "id", "the fields name another id than \(change.id)")
        }
        let dot = Dot(replica: replica, counter: change.counter)
        let current = try kind.fetch(db, change.id)
        let ledger = SQLLedgerState(db: db)
        try authorize(change, current) { ledger.entry($0) }
        try ledger.check()
        guard kind.mutable else {
            if let current {
                // The same content is a retry; an optional field left out counts as null.
                guard RecordCoding.diff(from: current, to: change.fields).isEmpty else {
                    // What the RPC writing the kind (PostEntries, LogActivities) answers for its id
                    // taken by other content.
                    throw DomainError.alreadyExists(
                        field: "id", "\(change.kind) \(change.id) already exists with other content (\(TenantStore.differing(current, change.fields)))"
                    )
                }
                return []
            }
            try kind.write(db, change.fields, true)
            try logChange(db, kind: recordKind, id: change.id, op: "insert", dot: dot, at: changeTime)
            return []
        }
        if recordKind == .syncConflict, let current {
            try settle(change, conflict: current, dot: dot, db)
            return []
        }
        let seq = try logChange(db, kind: recordKind, id: change.id, op: current == nil ? "insert" : "update", dot: dot, at: changeTime)
        let stamp = Stamp(authority: authority, seq: UInt64(seq), dot: dot, at: change.at)
        let existing = try current.map { VersionedRecord(kind: change.kind, id: change.id, fields: $0, stamps: try stamps(db, kind: recordKind, id: change.id, fields: $0)) }
        let change = RecordChange(
            kind: change.kind, id: change.id, dot: dot,
            base: ChangeVector([authority: change.baseSeq, replica: change.counter - 1]), fields: change.fields, at: change.at
        )
        let outcome = Merge.apply(change, to: existing, stamp: stamp)
        try kind.write(db, outcome.record.fields, true)
        // A request approved on a laptop is settled here, in the push's transaction: its entry (or
        // the customer's terms) is written with the approval, or the approval is refused.
        if recordKind == .approvalRequest, current?["status"] == .string(ApprovalStatus.pending.rawValue) {
            try settle(ApprovalRequest(fieldMap: outcome.record.fields), db)
        }
        try Self.stamp(db, kind: recordKind, id: change.id, fields: outcome.record.stamps.filter { $0.value == stamp }.map(\.key), stamp)
        var ids: [String] = []
        for conflict in outcome.conflicts {
            let record = ConflictRecord(conflict) { origin in (try? writer(db, origin: origin)) ?? nil }
            ids.append(record.id)
            guard let conflicts = syncKinds[.syncConflict], try conflicts.fetch(db, record.id) == nil else { continue }
            var fields = record.fieldMap
            fields[RecordCoding.deletedField] = .bool(false)
            try conflicts.write(db, fields, false)
            let conflictSeq = try logChange(db, kind: .syncConflict, id: record.id, op: "insert")
            try stampChangedFields(db, kind: .syncConflict, id: record.id, before: nil, after: fields, seq: conflictSeq)
        }
        return ids
    }

    /// A pushed settlement of an open conflict, as one edit: the conflict is marked settled with
    /// its outcome, and the conflicted field of the record takes the chosen value, stamped by the
    /// same commit and dot, so the record and the conflict never disagree and a later edit made on
    /// top of the settlement wins over it. A conflict already settled stays as it is: the second
    /// settlement is refused (FAILED_PRECONDITION), naming who settled it first, when, and what
    /// they kept. A record deleted since keeps its tombstone; the conflict is still closed.
    private static func settle(_ change: PushedChange, conflict current: FieldMap, dot: Dot, _ db: Database) throws {
        let before = try ConflictRecord(fieldMap: current)
        guard before.status == .open else {
            let when = before.settledAt.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "an unknown time"
            let kept = before.settledValue.map { " (\(before.field) is \($0.text ?? $0.description))" } ?? ""
            throw DomainError.conflict(
                field: "status", "conflict \(before.id) was settled already, by \(before.settledBy.isEmpty ? "another user" : before.settledBy) at \(when)\(kept)"
            )
        }
        var fields = current
        fields.merge(change.fields) { _, pushed in pushed }
        let settled = try ConflictRecord(fieldMap: fields)
        guard settled.status == .settled, let value = settled.settledValue else {
            throw DomainError.invalid(field: "outcome", "a settlement says which value the record keeps: kept or set_aside")
        }
        guard let conflicts = syncKinds[.syncConflict] else { return }
        fields[RecordCoding.deletedField] = .bool(false)
        try conflicts.write(db, fields, true)
        let seq = try logChange(db, kind: .syncConflict, id: change.id, op: "update", dot: dot)
        try stampChangedFields(db, kind: .syncConflict, id: change.id, before: current, after: fields, seq: seq, dot: dot, at: change.at)

        guard let recordKind = RecordKind(rawValue: settled.kind), let kind = syncKinds[recordKind], kind.mutable,
              let record = try kind.fetch(db, settled.recordID), record[RecordCoding.deletedField] != .bool(true) else { return }
        var edited = record
        edited[settled.field] = value
        try kind.write(db, edited, true)
        let recordSeq = try logChange(db, kind: recordKind, id: settled.recordID, op: "update", dot: dot)
        try Self.stamp(db, kind: recordKind, id: settled.recordID, fields: [settled.field], Stamp(authority: authority, seq: UInt64(recordSeq), dot: dot, at: change.at))
    }

    // MARK: Authority: pull and bootstrap

    /// The change feed after `checkpoint`: the current state of every record changed in the next
    /// `limit` change-log rows, and the checkpoint to store once they are applied. Records changed
    /// several times appear once, as they stand now, in the order of their last change in the
    /// stretch, each with the seq of its latest change (later than the stretch when it changed
    /// again since: its fields are as of that change).
    ///
    /// The records of insert-only kinds are read a kind at a time, one query each, as snapshot
    /// pages are; only mutable records are looked up one by one.
    public func changes(after checkpoint: Int64, limit: Int) throws -> (records: [SyncRecordState], through: Int64, last: Bool) {
        try writer.read { db in
            let horizon = try Self.syncInteger(db, .collectedThrough)
            if checkpoint < horizon { throw SyncStoreError.behindHorizon(checkpoint: checkpoint, horizon: horizon) }
            let newest = try Self.newestChange(db)
            let bound = try Int64.fetchOne(
                db, sql: "SELECT seq FROM change_log WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?", arguments: [checkpoint, max(limit, 1) - 1]
            )
            let through = bound ?? newest
            let touched = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.record_kind, t.record_id,
                        (SELECT MAX(c.seq) FROM change_log c WHERE c.record_kind = t.record_kind AND c.record_id = t.record_id) AS seq
                    FROM (SELECT record_kind, record_id, MAX(seq) AS last_touched FROM change_log WHERE seq > ? AND seq <= ?
                          GROUP BY record_kind, record_id) t
                    ORDER BY t.last_touched
                    """,
                arguments: [checkpoint, through]
            )
            var encoded: [String: [String: Data]] = [:]
            for kindName in Set(touched.map { $0["record_kind"] as String }) {
                guard let read = Self.syncKind(kindName)?.encoded else { continue }
                encoded[kindName] = Dictionary(uniqueKeysWithValues: try read(db, .changed(after: checkpoint, through: through)).map { ($0.id, $0.bytes) })
            }
            var records: [SyncRecordState] = []
            for row in touched {
                let kindName: String = row["record_kind"], id: String = row["record_id"]
                guard let kind = Self.syncKind(kindName) else { continue }
                let bytes: Data
                if kind.encoded != nil {
                    guard let read = encoded[kindName]?[id] else { continue }
                    bytes = read
                } else {
                    guard let current = try kind.fetch(db, id) else { continue }
                    bytes = RecordCoding.canonical(current)
                }
                records.append(SyncRecordState(kind: kindName, id: id, seq: row["seq"], form: kind.form, bytes: bytes))
            }
            return (records, through, through >= newest)
        }
    }

    /// The newest change sequence number: where a snapshot taken now leaves a replica.
    public func snapshotStart() throws -> Int64 { try lastChangeSequence() }

    /// One page of live records of one kind, by id after `cursor`. A snapshot is these pages for
    /// every kind in ``syncKindOrder`` followed by a pull from ``snapshotStart()``: any record that
    /// changed while the pages were read comes again, as it stands, in that pull.
    public func snapshotPage(kind recordKind: RecordKind, after cursor: String, limit: Int) throws -> [SyncRecordState] {
        guard let kind = Self.syncKinds[recordKind] else { return [] }
        let kindName = recordKind.rawValue
        return try writer.read { db in
            if let encoded = kind.encoded {
                let page = try encoded(db, .page(after: cursor, limit: limit))
                guard let first = page.first?.id, let last = page.last?.id else { return [] }
                // Each record's seq is its change-log line (an insert-only record has one, its
                // insert), as the pull feed sends it: one range read of the change log's
                // (record_kind, record_id, seq) index for the whole page.
                let seqs = try Dictionary(
                    Row.fetchAll(
                        db,
                        sql: """
                            SELECT record_id, MAX(seq) AS seq FROM change_log
                            WHERE record_kind = ? AND record_id >= ? AND record_id <= ? GROUP BY record_id
                            """,
                        arguments: [kindName, first, last]
                    ).map { row in (row["record_id"] as String, row["seq"] as Int64) },
                    uniquingKeysWith: max
                )
                return page.map { SyncRecordState(kind: kindName, id: $0.id, seq: seqs[$0.id] ?? 0, form: kind.form, bytes: $0.bytes) }
            }
            let ids = try SyncKind.ids(kind.live.filter(SyncKind.id > cursor).order(SyncKind.id).limit(limit), db)
            return try ids.compactMap { id in
                guard let fields = try kind.fetch(db, id) else { return nil }
                let seq = kind.mutable
                    ? try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log WHERE record_kind = ? AND record_id = ?", arguments: [kindName, id]) ?? 0
                    : 0
                return SyncRecordState(kind: kindName, id: id, seq: seq, fields: RecordCoding.canonical(fields))
            }
        }
    }

    /// Records that replica `id` holds every change up to `checkpoint`. Only a finished bootstrap
    /// (`rejoining`) brings a retired replica back into the horizon; a pull never does.
    ///
    /// - Parameter device: the device the replica runs on, as its user named it; empty keeps the
    ///   one known.
    public func acknowledge(replica id: String, userID: String, device: String = "", checkpoint: Int64, rejoining: Bool) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO replica (id, user_id, checkpoint, last_seen, device) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET
                    checkpoint = CASE WHEN ? THEN excluded.checkpoint ELSE MAX(checkpoint, excluded.checkpoint) END,
                    last_seen = excluded.last_seen, retired = CASE WHEN ? THEN 0 ELSE retired END,
                    device = CASE excluded.device WHEN '' THEN device ELSE excluded.device END
                    """,
                arguments: [id, userID, checkpoint, ISO8601DateFormatter().string(from: WallClock.system.now()), device, rejoining, rejoining]
            )
        }
    }

    /// The user and device behind a stamp's origin: a replica this tenant knows, nil for the
    /// server's own writes (its authority id) and replicas never seen.
    static func writer(_ db: Database, origin: String) throws -> (user: String, device: String)? {
        try Row.fetchOne(db, sql: "SELECT user_id, device FROM replica WHERE id = ?", arguments: [origin]).map { ($0["user_id"], $0["device"]) }
    }

    /// Whether replica `id` was retired (false for one never seen).
    public func isRetired(_ id: String) throws -> Bool {
        try writer.read { db in try Bool.fetchOne(db, sql: "SELECT retired FROM replica WHERE id = ?", arguments: [id]) ?? false }
    }

    /// A replica as the authority knows it.
    public struct ReplicaState: Sendable, Hashable {
        public var id: String
        public var userID: String
        public var checkpoint: Int64
        public var lastSeen: String
        public var retired: Bool

        init(row: Row) {
            self.init(id: row["id"], userID: row["user_id"], checkpoint: row["checkpoint"], lastSeen: row["last_seen"], retired: row["retired"])
        }

        init(id: String, userID: String, checkpoint: Int64, lastSeen: String, retired: Bool) {
            self.id = id
            self.userID = userID
            self.checkpoint = checkpoint
            self.lastSeen = lastSeen
            self.retired = retired
        }
    }

    /// The replicas that have synced this tenant, by id, a page at a time (``PageRequest``), and
    /// the collected horizon, read together.
    public func replicas(page: PageRequest = .first) throws -> (replicas: Page<ReplicaState>, horizon: Int64) {
        try writer.read { db in
            let replicas = try Self.replicaTable.all().page(page, in: ListOrder(table: Self.replicaTable.tableName, by: Column("id")), db, ReplicaState.init(row:))
            return (replicas, try Self.syncInteger(db, .collectedThrough))
        }
    }

    /// The replica, or nil for one that never synced.
    public func replica(_ id: String) throws -> ReplicaState? {
        try writer.read { db in try Self.replicaTable.filter(key: id).fetchOne(db).map(ReplicaState.init(row:)) }
    }

    private static let replicaTable = Table("replica")

    /// Takes a replica out of the horizon (a lost laptop). If it comes back, it re-bootstraps.
    /// `audit` gives the retirement's audit event (the server's), written to the audit outbox in
    /// the same transaction (``AuditNote``). Returns the replica as retired.
    @discardableResult
    public func retire(replica id: String, audit: (ReplicaState) -> AuditNote? = { _ in nil }) throws -> ReplicaState {
        try writer.write { db in
            try db.execute(sql: "UPDATE replica SET retired = 1 WHERE id = ?", arguments: [id])
            guard db.changesCount == 1, let retired = try Self.replicaTable.filter(key: id).fetchOne(db).map(ReplicaState.init(row:)) else {
                throw DomainError.notFound(field: "replica_id", id: id)
            }
            if let note = audit(retired) { try AuditOutbox.enqueue(note, db) }
            return retired
        }
    }

    /// Physically removes tombstones (and their field stamps and change-log rows) that every live
    /// replica has acknowledged: never by age alone. Returns the new horizon and how many went.
    @discardableResult
    public func collectTombstones() throws -> (horizon: Int64, removed: Int) {
        try writer.write { db in
            let horizon = try Int64.fetchOne(db, sql: "SELECT MIN(checkpoint) FROM replica WHERE retired = 0")
                ?? (try Self.newestChange(db))
            var removed = 0
            for recordKind in Self.syncKindOrder {
                guard let kind = Self.syncKinds[recordKind], kind.tombstoned else { continue }
                let kindName = recordKind.rawValue
                let tombstone = TableAlias()
                let ids = try SyncKind.ids(
                    kind.rows.aliased(tombstone).filter(SyncKind.deleted == true).filter(literal: """
                        (SELECT MAX(seq) FROM change_log c WHERE c.record_kind = \(kindName) AND c.record_id = \(tombstone[SyncKind.id])) <= \(horizon)
                        """),
                    db
                )
                for id in ids {
                    try kind.rows.filter(SyncKind.id == id).deleteAll(db)
                    try db.execute(sql: "DELETE FROM field_stamp WHERE record_kind = ? AND record_id = ?", arguments: [kindName, id])
                    try db.execute(sql: "DELETE FROM change_log WHERE record_kind = ? AND record_id = ?", arguments: [kindName, id])
                    removed += 1
                }
            }
            let previous = try Self.syncInteger(db, .collectedThrough)
            if removed > 0, horizon > previous {
                try Self.setSyncValue(db, .collectedThrough, String(horizon))
            }
            return (max(horizon, previous), removed)
        }
    }
}

extension TenantStore {
    /// The user a replica id belongs to (the first to sync it), nil for a new one.
    public func replicaOwner(_ id: String) throws -> String? {
        try writer.read { db in try String.fetchOne(db, sql: "SELECT user_id FROM replica WHERE id = ?", arguments: [id]) }
    }
}

extension TenantStore {
    /// Every record of every synced kind, tombstones included, keyed "kind/id": what two stores
    /// that agree hold alike (tests compare replicas with the server by it).
    public func syncedRecords() throws -> [String: FieldMap] {
        try writer.read { db in
            var result: [String: FieldMap] = [:]
            for recordKind in Self.syncKindOrder {
                guard let kind = Self.syncKinds[recordKind] else { continue }
                for id in try SyncKind.ids(kind.rows.all(), db) {
                    result["\(recordKind.rawValue)/\(id)"] = try kind.fetch(db, id)
                }
            }
            return result
        }
    }
}

extension TenantStore {
    /// "date and amount differ": the fields whose values differ between two forms of one record,
    /// by their wire names, for a refusal of an id taken by other content.
    static func differing(_ stored: FieldMap, _ offered: FieldMap) -> String {
        let names = RecordCoding.diff(from: stored, to: offered).keys.sorted()
        switch names.count {
        case 0: return "no field differs"
        case 1: return "\(names[0]) differs"
        default: return "\(names.dropLast().joined(separator: ", ")) and \(names[names.count - 1]) differ"
        }
    }
}
