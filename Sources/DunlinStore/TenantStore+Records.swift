import DunlinCore
import DunlinSync
import Foundation
import GRDB

// `Page` (one page of a list) is shared with the control store: Sources/DunlinStore/Page.swift.

/// Contacts, disputes, promises to pay, tasks and the activity log; and the lists of customers and
/// ledger entries.
///
/// Writes take a batch and follow ``TenantStore``'s rule: one transaction, each item validated
/// before it is written, all or nothing, and a change-log row per record written. A refusal is a
/// ``StoreError/refused(index:_:)`` naming the item and its field. Deleting a mutable record
/// leaves a tombstone (change-log op "delete") that reads no longer see; activities, like ledger
/// entries, are never updated or deleted.
///
/// Reads that get bad arguments (a cursor from another list, a limit below 1) throw
/// ``DunlinCore/DomainError/invalid(field:_:)`` naming `cursor` or `limit`.
extension TenantStore {
    /// The most rows a page holds; a larger `limit` is cut to it.
    public static let maxPageSize = 1000
    /// The page size when the caller names none.
    public static let defaultPageSize = 100

    // MARK: Contacts

    /// Creates or replaces contacts. Each must pass ``Contact/validate()`` and belong to an existing
    /// customer. A deleted contact's id is not reused.
    public func upsert(_ contacts: [Contact]) throws {
        try save(contacts, as: ContactRow.init, validate: Self.check)
    }

    /// The contact, or nil when there is none (or it was deleted).
    public func contact(_ id: String) throws -> Contact? {
        try live(ContactRow.self, id)?.record()
    }

    /// Contacts by name, then id.
    public func contacts(customerID: String? = nil, after cursor: String? = nil, limit: Int = defaultPageSize) throws -> Page<Contact> {
        var query = ListQuery(ContactRow.self, sortedBy: "name")
        query.equal("customer_id", customerID)
        return try page(query, after: cursor, limit: limit) { try ContactRow(row: $0).record() }
    }

    /// Leaves a tombstone for each contact; an id that names no live contact refuses the batch.
    public func deleteContacts(_ ids: [String]) throws {
        try tombstone(ContactRow.self, ids)
    }

    // MARK: Disputes

    /// Creates or replaces disputes. Each must pass ``Dispute/validate(against:)`` against the
    /// ledger (its invoices exist, are its customer's and in its currency) and belong to an
    /// existing customer.
    public func upsert(_ disputes: [Dispute]) throws {
        try save(disputes, as: DisputeRow.init, validate: Self.check)
    }

    public func dispute(_ id: String) throws -> Dispute? {
        try live(DisputeRow.self, id)?.record()
    }

    /// Disputes by the date they were opened, then id. Empty sets filter nothing; the date range is
    /// inclusive.
    public func disputes(
        customerID: String? = nil, invoiceID: String? = nil, statuses: Set<DisputeStatus> = [],
        ownerTeams: Set<DisputeOwnerTeam> = [], openedFrom: CivilDate? = nil, openedThrough: CivilDate? = nil,
        after cursor: String? = nil, limit: Int = defaultPageSize
    ) throws -> Page<Dispute> {
        var query = ListQuery(DisputeRow.self, sortedBy: "opened_on")
        query.equal("customer_id", customerID)
        query.listing("invoice_ids", invoiceID)
        query.oneOf("status", statuses.map(\.rawValue))
        query.oneOf("owner_team", ownerTeams.map(\.rawValue))
        query.between("opened_on", openedFrom?.description, openedThrough?.description)
        return try page(query, after: cursor, limit: limit) { try DisputeRow(row: $0).record() }
    }

    public func deleteDisputes(_ ids: [String]) throws {
        try tombstone(DisputeRow.self, ids)
    }

    // MARK: Promises to pay

    /// Creates or replaces promises. Each must pass ``PromiseToPay/validate(against:)`` against the
    /// ledger and belong to an existing customer.
    public func upsert(_ promises: [PromiseToPay]) throws {
        try save(promises, as: PromiseToPayRow.init, validate: Self.check)
    }

    public func promise(_ id: String) throws -> PromiseToPay? {
        try live(PromiseToPayRow.self, id)?.record()
    }

    /// Promises by promised date, then id. Empty sets filter nothing; the date range is inclusive.
    public func promises(
        customerID: String? = nil, invoiceID: String? = nil, statuses: Set<PromiseStatus> = [],
        promisedFrom: CivilDate? = nil, promisedThrough: CivilDate? = nil,
        after cursor: String? = nil, limit: Int = defaultPageSize
    ) throws -> Page<PromiseToPay> {
        var query = ListQuery(PromiseToPayRow.self, sortedBy: "promised_date")
        query.equal("customer_id", customerID)
        query.listing("invoice_ids", invoiceID)
        query.oneOf("status", statuses.map(\.rawValue))
        query.between("promised_date", promisedFrom?.description, promisedThrough?.description)
        return try page(query, after: cursor, limit: limit) { try PromiseToPayRow(row: $0).record() }
    }

    public func deletePromises(_ ids: [String]) throws {
        try tombstone(PromiseToPayRow.self, ids)
    }

    /// The live applications of payments (not of credit memos) to these invoices, by date: what
    /// ``DunlinCore/PromiseToPay/evaluate(applications:asOf:graceDays:)`` measures a promise with.
    public func paymentApplications(toInvoices ids: [String]) throws -> [LedgerEntry] {
        try writer.read { db in try Self.paymentApplications(toInvoices: ids, db) }
    }

    /// What the ledger says of promise `id` on `asOf` (nil when there is no such promise), read in
    /// one snapshot. It does not change the promise's recorded status: a caller that wants to keep
    /// the result upserts the promise with it.
    public func evaluatePromise(_ id: String, asOf: CivilDate, graceDays: Int = PromiseToPay.defaultGraceDays) throws -> PromiseEvaluation? {
        try writer.read { db in
            guard let promise = try PromiseToPayRow.filter(key: id).filter(Column("deleted") == false).fetchOne(db)?.record() else {
                return nil
            }
            let applications = try Self.paymentApplications(toInvoices: promise.invoiceIDs, db)
            return promise.evaluate(applications: applications, asOf: asOf, graceDays: graceDays)
        }
    }

    // MARK: Tasks

    /// Creates or replaces tasks. Each must pass ``CollectionTask/validate()``; a task about a
    /// customer names an existing one.
    public func upsert(_ tasks: [CollectionTask]) throws {
        try save(tasks, as: CollectionTaskRow.init, validate: Self.check)
    }

    public func task(_ id: String) throws -> CollectionTask? {
        try live(CollectionTaskRow.self, id)?.record()
    }

    /// Tasks by due date, then id. `done` nil lists both; the date range is inclusive.
    public func tasks(
        assigneeID: String? = nil, customerID: String? = nil, done: Bool? = nil,
        dueFrom: CivilDate? = nil, dueThrough: CivilDate? = nil,
        after cursor: String? = nil, limit: Int = defaultPageSize
    ) throws -> Page<CollectionTask> {
        var query = ListQuery(CollectionTaskRow.self, sortedBy: "due_date")
        query.equal("assignee_id", assigneeID)
        query.equal("customer_id", customerID)
        query.equal("done", done)
        query.between("due_date", dueFrom?.description, dueThrough?.description)
        return try page(query, after: cursor, limit: limit) { try CollectionTaskRow(row: $0).record() }
    }

    public func deleteTasks(_ ids: [String]) throws {
        try tombstone(CollectionTaskRow.self, ids)
    }

    // MARK: Activities

    /// Appends activities. Each must pass ``Activity/validate()``, belong to an existing customer,
    /// and have an id no activity has: activities are never replaced.
    /// Appends activities, all or none. An activity whose id is already logged with exactly this
    /// content is a retry and changes nothing (ids are the client's idempotency keys, PROTOCOL.md
    /// §16.1); the same id with other content is ALREADY_EXISTS.
    public func append(_ activities: [Activity]) throws {
        try writeBatch(activities) { activity, db in
            if let existing = try ActivityRow.fetchOne(db, key: activity.id)?.record() {
                guard existing == activity else {
                    throw DomainError.alreadyExists(field: "id", "activity \(activity.id) already exists with other content; a retry must repeat the first request exactly")
                }
                return
            }
            try Self.check(activity, db)
            try ActivityRow(activity).insert(db)
            try Self.logChange(db, kind: ActivityRow.databaseTableName, id: activity.id, op: "insert")
        }
    }

    public func activity(_ id: String) throws -> Activity? {
        try writer.read { db in try ActivityRow.fetchOne(db, key: id)?.record() }
    }

    /// Activities by the instant they occurred (oldest first, or newest first), then id. Empty sets
    /// filter nothing; the range includes `occurredFrom` and excludes `occurredBefore`.
    public func activities(
        customerID: String? = nil, authorID: String? = nil, kinds: Set<ActivityKind> = [],
        occurredFrom: Date? = nil, occurredBefore: Date? = nil, newestFirst: Bool = false,
        after cursor: String? = nil, limit: Int = defaultPageSize
    ) throws -> Page<Activity> {
        var query = ListQuery(ActivityRow.self, sortedBy: "occurred_at", descending: newestFirst)
        query.equal("customer_id", customerID)
        query.equal("author_id", authorID)
        query.oneOf("kind", kinds.map(\.rawValue))
        if let occurredFrom { query.require("occurred_at >= ?", Activity.milliseconds(of: occurredFrom)) }
        if let occurredBefore { query.require("occurred_at < ?", Activity.milliseconds(of: occurredBefore)) }
        return try page(query, after: cursor, limit: limit) { try ActivityRow(row: $0).record() }
    }

    // MARK: Customers and ledger entries

    /// Customers by name (byte order), then id.
    public func customers(analystID: String? = nil, after cursor: String? = nil, limit: Int = defaultPageSize) throws -> Page<Customer> {
        var query = ListQuery(CustomerRow.self, sortedBy: "name")
        query.equal("analyst_id", analystID)
        return try page(query, after: cursor, limit: limit) { try CustomerRow(row: $0).customer }
    }

    /// Ledger entries by date, then id. Empty `kinds` filters nothing; the date range is inclusive.
    public func entries(
        customerID: String? = nil, kinds: Set<LedgerEntryKind> = [], from: CivilDate? = nil, through: CivilDate? = nil,
        after cursor: String? = nil, limit: Int = defaultPageSize
    ) throws -> Page<LedgerEntry> {
        var query = ListQuery(LedgerEntryRow.self, sortedBy: "date")
        query.equal("customer_id", customerID)
        query.oneOf("kind", kinds.map(\.rawValue))
        query.between("date", from?.description, through?.description)
        return try page(query, after: cursor, limit: limit) { try Self.entry(LedgerEntryRow(row: $0)) }
    }

    // MARK: Writing

    /// Runs `write` for each item in one transaction; a domain refusal of item i rolls back the
    /// whole batch and becomes `StoreError.refused(index: i, ...)`.
    private func writeBatch<Item>(_ items: [Item], _ write: (Item, Database) throws -> Void) throws {
        try writer.write { db in
            for (index, item) in items.enumerated() {
                do {
                    try write(item, db)
                } catch let error as DomainError {
                    throw StoreError.refused(index: index, error)
                }
            }
        }
    }

    /// Validates and inserts or updates each record. An update that changes nothing writes nothing
    /// (and logs nothing); a tombstone is never overwritten, so a deleted id is never reused.
    private func save<Record, RecordRow: TombstonedRow>(
        _ records: [Record], as makeRow: (Record) -> RecordRow, validate: (Record, Database) throws -> Void
    ) throws {
        try writeBatch(records) { record, db in
            try validate(record, db)
            let row = makeRow(record)
            let existing = try RecordRow.fetchOne(db, key: row.id)
            if let existing, existing.deleted {
                throw DomainError.conflict(field: "id", "\(RecordRow.databaseTableName) \(row.id) was deleted; ids are not reused")
            }
            guard existing != row else { return }
            if existing == nil { try row.insert(db) } else { try row.update(db) }
            let seq = try Self.logChange(db, kind: RecordRow.databaseTableName, id: row.id, op: existing == nil ? "insert" : "update")
            try Self.stampChangedFields(db, kind: RecordRow.databaseTableName, id: row.id, before: try existing.map(Self.liveFields), after: try Self.liveFields(row), seq: seq)
        }
    }

    private func tombstone<RecordRow: TombstonedRow>(_ type: RecordRow.Type, _ ids: [String]) throws {
        try writeBatch(ids) { id, db in
            try db.execute(sql: "UPDATE \(RecordRow.databaseTableName) SET deleted = 1 WHERE id = ? AND deleted = 0", arguments: [id])
            guard db.changesCount == 1 else { throw DomainError.notFound(field: "id", id: id) }
            let seq = try Self.logChange(db, kind: RecordRow.databaseTableName, id: id, op: "delete")
            try Self.stampChangedFields(db, kind: RecordRow.databaseTableName, id: id, before: [:], after: [RecordCoding.deletedField: .bool(true)], seq: seq)
        }
    }

    // MARK: Validation (shared by the RPC writes and by pushed changes)

    static func check(_ contact: Contact, _ db: Database) throws {
        try contact.validate()
        try requireCustomer(contact.customerID, db)
    }

    static func check(_ dispute: Dispute, _ db: Database) throws {
        try dispute.validate()
        try requireCustomer(dispute.customerID, db)
        try SQLLedgerState.checking(db) { try dispute.validate(against: $0) }
    }

    static func check(_ promise: PromiseToPay, _ db: Database) throws {
        try promise.validate()
        try requireCustomer(promise.customerID, db)
        try SQLLedgerState.checking(db) { try promise.validate(against: $0) }
    }

    static func check(_ task: CollectionTask, _ db: Database) throws {
        try task.validate()
        if !task.customerID.isEmpty { try requireCustomer(task.customerID, db) }
    }

    static func check(_ activity: Activity, _ db: Database) throws {
        try activity.validate()
        try requireCustomer(activity.customerID, db)
        guard try !ActivityRow.exists(db, key: activity.id) else {
            throw DomainError.alreadyExists(field: "id", "activity \(activity.id) already exists")
        }
    }

    static func requireCustomer(_ id: String, _ db: Database) throws {
        guard try CustomerRow.exists(db, key: id) else { throw DomainError.notFound(field: "customer_id", id: id) }
    }

    // MARK: Reading

    private func live<RecordRow: TombstonedRow>(_ type: RecordRow.Type, _ id: String) throws -> RecordRow? {
        try writer.read { db in try RecordRow.filter(key: id).filter(Column("deleted") == false).fetchOne(db) }
    }

    private static func entry(_ row: LedgerEntryRow) throws -> LedgerEntry {
        guard let entry = row.entry else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "ledger_entry \(row.id) holds a kind, currency or date this version cannot read")
        }
        return entry
    }

    private static func paymentApplications(toInvoices ids: [String], _ db: Database) throws -> [LedgerEntry] {
        let sql = """
            SELECT a.* FROM ledger_entry a JOIN ledger_entry s ON s.id = a.source_id AND s.kind = 'payment'
            WHERE a.kind = 'application' AND a.target_id IN (SELECT value FROM json_each(?))
              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = a.id)
            ORDER BY a.date, a.id
            """
        return try LedgerEntryRow.fetchAll(db, sql: sql, arguments: [StoredValue.json(ids)]).map(entry)
    }

    /// Reads one page of `query`: `limit` rows (at most ``maxPageSize``) after `cursor`, plus one
    /// more to learn whether another page follows.
    private func page<Item>(_ query: ListQuery, after cursor: String?, limit: Int, _ decode: (Row) throws -> Item) throws -> Page<Item> {
        guard limit >= 1 else { throw DomainError.invalid(field: "limit", "must be at least 1, not \(limit)") }
        let size = min(limit, Self.maxPageSize)
        var query = query
        if let cursor {
            let position = try PageCursor(decoding: cursor, list: query.name)
            query.require("(\(query.sortColumn), id) \(query.descending ? "<" : ">") (?, ?)", position.key.databaseValue, position.id)
        }
        let sql = query.sql(limit: size + 1)
        return try writer.read { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: query.arguments)
            let items = try rows.prefix(size).map(decode)
            guard rows.count > size else { return Page(items: items, nextCursor: nil) }
            let last = rows[size - 1]
            let next = try PageCursor(list: query.name, key: .init(last[query.sortColumn] as DatabaseValue), id: last["id"])
            return Page(items: items, nextCursor: next.encoded)
        }
    }
}

/// A list's query: its table, its order, and the filters callers asked for, as SQL with arguments.
private struct ListQuery {
    let table: String
    let sortColumn: String
    let descending: Bool
    private var conditions: [String] = []
    private(set) var arguments: StatementArguments = []

    init<Table: TableRecord>(_ table: Table.Type, sortedBy sortColumn: String, descending: Bool = false) {
        self.table = Table.databaseTableName
        self.sortColumn = sortColumn
        self.descending = descending
        if Table.self is any TombstonedRow.Type { conditions.append("deleted = 0") }
    }

    /// What a cursor names, so a cursor of one list is refused by another.
    var name: String { "\(table).\(sortColumn)\(descending ? ".desc" : "")" }

    mutating func require(_ condition: String, _ values: (any DatabaseValueConvertible)?...) {
        conditions.append(condition)
        arguments += StatementArguments(values)
    }

    /// `column = value`, unless `value` is nil.
    mutating func equal(_ column: String, _ value: (some DatabaseValueConvertible)?) {
        if let value { require("\(column) = ?", value) }
    }

    /// `column` is one of `values`, unless there are none.
    mutating func oneOf(_ column: String, _ values: [String]) {
        guard !values.isEmpty else { return }
        conditions.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
        arguments += StatementArguments(values.sorted())
    }

    /// `lower <= column <= upper`, each bound only when given.
    mutating func between(_ column: String, _ lower: String?, _ upper: String?) {
        if let lower { require("\(column) >= ?", lower) }
        if let upper { require("\(column) <= ?", upper) }
    }

    /// The JSON array in `column` holds `value`, unless `value` is nil.
    mutating func listing(_ column: String, _ value: String?) {
        if let value { require("EXISTS (SELECT 1 FROM json_each(\(table).\(column)) WHERE value = ?)", value) }
    }

    func sql(limit: Int) -> String {
        let order = descending ? "DESC" : "ASC"
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return "SELECT * FROM \(table)\(filter) ORDER BY \(sortColumn) \(order), id \(order) LIMIT \(limit)"
    }
}

/// A position in a list: the last row's sort key and id, and which list it belongs to. Callers see
/// it only as an opaque string (base64url of JSON).
private struct PageCursor: Codable {
    enum Key: Codable {
        case text(String)
        case integer(Int64)

        init(_ value: DatabaseValue) throws {
            switch value.storage {
            case .string(let text): self = .text(text)
            case .int64(let integer): self = .integer(integer)
            default: throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "a list's sort key is neither text nor an integer")
            }
        }

        var databaseValue: DatabaseValue {
            switch self {
            case .text(let text): text.databaseValue
            case .integer(let integer): integer.databaseValue
            }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let integer = try? container.decode(Int64.self) {
                self = .integer(integer)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .integer(let integer): try container.encode(integer)
            }
        }
    }

    var list: String
    var key: Key
    var id: String

    init(list: String, key: Key, id: String) {
        self.list = list
        self.key = key
        self.id = id
    }

    init(decoding text: String, list: String) throws {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let cursor = try? JSONDecoder().decode(PageCursor.self, from: data) else {
            throw DomainError.invalid(field: "cursor", "\"\(text.prefix(64))\" is not a page cursor")
        }
        guard cursor.list == list else {
            throw DomainError.invalid(field: "cursor", "the cursor is from another list (\(cursor.list)); pass back this list's next cursor")
        }
        self = cursor
    }

    var encoded: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
