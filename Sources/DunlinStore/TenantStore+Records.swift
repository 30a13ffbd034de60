import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// Contacts, disputes, promises to pay, tasks and the activity log; and the lists of customers and
/// ledger entries.
///
/// Writes take a batch and follow ``TenantStore``'s rule: one transaction, each item validated
/// before it is written, all or nothing, and a change-log row per record written. A refusal is a
/// ``StoreError/refused(index:_:)`` naming the item and its field. Deleting a mutable record
/// leaves a tombstone (change-log op "delete") that reads no longer see; activities, like ledger
/// entries, are never updated or deleted.
///
/// Lists are paged the one way every list is (``PageRequest``); a cursor that is garbled or from
/// another list throws ``DunlinCore/DomainError/invalid(field:_:)`` naming `cursor`.
extension TenantStore {
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
    public func contacts(customerID: String? = nil, page: PageRequest = .first) throws -> Page<Contact> {
        let request = ContactRow.live.matching(ContactRow.Columns.customerID, customerID)
        return try read(request, page, ListOrder(ContactRow.self, by: ContactRow.Columns.name)) { try ContactRow(row: $0).record() }
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
        page: PageRequest = .first
    ) throws -> Page<Dispute> {
        let columns = DisputeRow.Columns.self
        let request = DisputeRow.live
            .matching(columns.customerID, customerID)
            .listing(columns.invoiceIDs, invoiceID)
            .matching(columns.status, oneOf: statuses.map(\.rawValue))
            .matching(columns.ownerTeam, oneOf: ownerTeams.map(\.rawValue))
            .matching(columns.openedOn, from: openedFrom?.description, through: openedThrough?.description)
        return try read(request, page, ListOrder(DisputeRow.self, by: columns.openedOn)) { try DisputeRow(row: $0).record() }
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
        page: PageRequest = .first
    ) throws -> Page<PromiseToPay> {
        let columns = PromiseToPayRow.Columns.self
        let request = PromiseToPayRow.live
            .matching(columns.customerID, customerID)
            .listing(columns.invoiceIDs, invoiceID)
            .matching(columns.status, oneOf: statuses.map(\.rawValue))
            .matching(columns.promisedDate, from: promisedFrom?.description, through: promisedThrough?.description)
        return try read(request, page, ListOrder(PromiseToPayRow.self, by: columns.promisedDate)) { try PromiseToPayRow(row: $0).record() }
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
        try promiseEvaluation(id, asOf: asOf, graceDays: graceDays)?.whole
    }

    /// Promise `id` with what the ledger says of it on `asOf`, as a whole and installment by
    /// installment (a promise of one payment: one), read in one snapshot; nil when there is no such
    /// promise. A payment plan's whole status is its installments' (``PromiseToPay/status(of:)``).
    public func promiseEvaluation(
        _ id: String, asOf: CivilDate, graceDays: Int = PromiseToPay.defaultGraceDays
    ) throws -> (promise: PromiseToPay, whole: PromiseEvaluation, installments: [InstallmentEvaluation])? {
        try writer.read { db in
            guard let promise = try PromiseToPayRow.live.filter(key: id).fetchOne(db)?.record() else { return nil }
            let applications = try Self.paymentApplications(toInvoices: promise.invoiceIDs, db)
            var whole = promise.evaluate(applications: applications, asOf: asOf, graceDays: graceDays)
            let installments = promise.evaluateInstallments(applications: applications, asOf: asOf, graceDays: graceDays)
            if !promise.installments.isEmpty { whole.status = PromiseToPay.status(of: installments) }
            return (promise, whole, installments)
        }
    }

    /// The live promises that may have an installment broken since `since` or due by `today`
    /// (a plan's promised date is its last installment's, so it is the bound), each with its
    /// installments measured on `today`; `scope` narrows them (SQL after the date test, with its
    /// arguments). What the worklist and the follow-up tasks read. A promise made after `today`
    /// is left out: its installments are due after it was made, so none is broken or due by then
    /// (a year of monthly metrics measures each month's promises only, not every later one).
    static func recentPromiseEvaluations(
        _ db: Database, since: CivilDate, today: CivilDate, scope: String = "", _ arguments: StatementArguments = []
    ) throws -> [(promise: PromiseToPay, installments: [InstallmentEvaluation])] {
        let earliest = since.adding(days: -(PromiseToPay.defaultGraceDays + 1))
        let promises = try PromiseToPayRow.live
            .filter(sql: "promised_date >= ? AND made_on <= ?\(scope)", arguments: [earliest.description, today.description] + arguments)
            .fetchAll(db).map { try $0.record() }
        // Every promise's applications in one read, not one read per promise: a worklist over
        // thousands of promises spent most of its time preparing and running the same statement.
        let applications = try Self.paymentApplications(toInvoices: Array(Set(promises.flatMap(\.invoiceIDs))), db)
        var byInvoice: [String: [Int]] = [:]
        for (position, application) in applications.enumerated() {
            if let invoice = application.targetID { byInvoice[invoice, default: []].append(position) }
        }
        return promises.map { promise in
            // In the ledger's order (date, then id), as one read per promise gave them.
            let positions = Set(promise.invoiceIDs).flatMap { byInvoice[$0] ?? [] }.sorted()
            return (promise, promise.evaluateInstallments(applications: positions.map { applications[$0] }, asOf: today))
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
        page: PageRequest = .first
    ) throws -> Page<CollectionTask> {
        let columns = CollectionTaskRow.Columns.self
        let request = CollectionTaskRow.live
            .matching(columns.assigneeID, assigneeID)
            .matching(columns.customerID, customerID)
            .matching(columns.done, done)
            .matching(columns.dueDate, from: dueFrom?.description, through: dueThrough?.description)
        return try read(request, page, ListOrder(CollectionTaskRow.self, by: columns.dueDate)) { try CollectionTaskRow(row: $0).record() }
    }

    public func deleteTasks(_ ids: [String]) throws {
        try tombstone(CollectionTaskRow.self, ids)
    }

    // MARK: Settings

    /// Sets tenant settings, all or none; each must pass ``TenantSetting/validate()``.
    public func upsert(_ settings: [TenantSetting]) throws {
        try save(settings, as: TenantSettingRow.init, validate: Self.check)
    }

    /// The settings that are set (not their defaults), by name.
    public func settings() throws -> [TenantSetting] {
        try writer.read { db in try Self.settings(db) }
    }

    static func settings(_ db: Database) throws -> [TenantSetting] {
        try TenantSettingRow.live.order(Column("id")).fetchAll(db).map { try $0.record() }
    }

    /// Puts settings back to their defaults.
    public func deleteSettings(_ ids: [String]) throws {
        try tombstone(TenantSettingRow.self, ids)
    }

    // MARK: Activities

    /// Appends activities, all or none. Each must pass ``Activity/validate()`` and belong
    /// to an existing customer; activities are never replaced. An activity whose id is already
    /// logged with exactly this content is a retry and changes nothing (ids are the client's
    /// idempotency keys, PROTOCOL.md §16.1); the same id with other content is ALREADY_EXISTS.
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
            try Self.logChange(db, kind: .activity, id: activity.id, op: "insert")
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
        page: PageRequest = .first
    ) throws -> Page<Activity> {
        let columns = ActivityRow.Columns.self
        var request = ActivityRow.all()
            .matching(columns.customerID, customerID)
            .matching(columns.authorID, authorID)
            .matching(columns.kind, oneOf: kinds.map(\.rawValue))
        if let occurredFrom { request = request.filter(columns.occurredAt >= Activity.milliseconds(of: occurredFrom)) }
        if let occurredBefore { request = request.filter(columns.occurredAt < Activity.milliseconds(of: occurredBefore)) }
        return try read(request, page, ListOrder(ActivityRow.self, by: columns.occurredAt, descending: newestFirst)) { try ActivityRow(row: $0).record() }
    }

    // MARK: Customers and ledger entries

    /// Customers by name (byte order), then id.
    public func customers(analystID: String? = nil, page: PageRequest = .first) throws -> Page<Customer> {
        let request = CustomerRow.all().matching(CustomerRow.Columns.analystID, analystID)
        return try read(request, page, ListOrder(CustomerRow.self, by: CustomerRow.Columns.name)) { try CustomerRow(row: $0).customer }
    }

    /// Ledger entries by date, then id. Empty `kinds` filters nothing; the date range is inclusive.
    public func entries(
        customerID: String? = nil, kinds: Set<LedgerEntryKind> = [], from: CivilDate? = nil, through: CivilDate? = nil,
        page: PageRequest = .first
    ) throws -> Page<LedgerEntry> {
        let columns = LedgerEntryRow.Columns.self
        let request = LedgerEntryRow.all()
            .matching(columns.customerID, customerID)
            .matching(columns.kind, oneOf: kinds.map(\.rawValue))
            .matching(columns.date, from: from?.description, through: through?.description)
        return try read(request, page, ListOrder(LedgerEntryRow.self, by: columns.date)) { try Self.entry(LedgerEntryRow(row: $0)) }
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
    func save<Record, RecordRow: TombstonedRow>(
        _ records: [Record], as makeRow: (Record) -> RecordRow, validate: (Record, Database) throws -> Void
    ) throws {
        try writeBatch(records) { record, db in
            try validate(record, db)
            try Self.save(makeRow(record), db)
        }
    }

    /// Inserts or updates one validated row, logging and stamping what changed (nothing when
    /// nothing did); a tombstone is never overwritten.
    static func save<RecordRow: TombstonedRow>(_ row: RecordRow, _ db: Database) throws {
        let change = try SaveChange(row, db)
        guard let op = change.op else { return }
        try change.write(row, db)
        try change.stamp(row, seq: try logChange(db, kind: RecordRow.recordKind, id: row.id, op: op), db)
    }

    /// Writes `row`, known to be new (its id is in no row): the change-log line as
    /// ``save(_:_:)`` writes it and one stamp for all its fields
    /// (``stampWholeRecord(_:kind:id:seq:at:)``, which merges read as a stamp per field), without
    /// looking for the row or decoding the body it was just encoded into. A caller writing many
    /// rows in one transaction passes the transaction's one time (`changedAt`, `stampedAt`) and
    /// its own cached insert, instead of a time formatted and a record encoded per row.
    static func insertNew<RecordRow: TombstonedRow>(
        _ row: RecordRow, _ db: Database, changedAt: String = changeTime(), stampedAt: Int64 = nowMilliseconds,
        insert: (RecordRow, Database) throws -> Void = { try $0.insert($1) }
    ) throws {
        try insert(row, db)
        let seq = try logChange(db, kind: RecordRow.recordKind, id: row.id, op: "insert", at: changedAt)
        try stampWholeRecord(db, kind: RecordRow.recordKind, id: row.id, seq: seq, at: stampedAt)
    }

    func tombstone<RecordRow: TombstonedRow>(_ type: RecordRow.Type, _ ids: [String]) throws {
        try writeBatch(ids) { id, db in
            let deleted = Column("deleted")
            let changed = try RecordRow.filter(key: id).filter(deleted == false).updateAll(db, deleted.set(to: true))
            guard changed == 1 else { throw DomainError.notFound(field: "id", id: id) }
            let seq = try Self.logChange(db, kind: RecordRow.recordKind, id: id, op: "delete")
            try Self.stampChangedFields(db, kind: RecordRow.recordKind, id: id, before: [:], after: [RecordCoding.deletedField: .bool(true)], seq: seq)
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

    static func check(_ setting: TenantSetting, _ db: Database) throws {
        try setting.validate()
    }

    static func check(_ activity: Activity, _ db: Database) throws {
        try activity.validate()
        try requireCustomer(activity.customerID, db)
        guard try !ActivityRow.exists(db, id: activity.id) else {
            throw DomainError.alreadyExists(field: "id", "activity \(activity.id) already exists")
        }
    }

    static func requireCustomer(_ id: String, _ db: Database) throws {
        guard try CustomerRow.exists(db, id: id) else { throw DomainError.notFound(field: "customer_id", id: id) }
    }

    // MARK: Reading

    func live<RecordRow: TombstonedRow>(_ type: RecordRow.Type, _ id: String) throws -> RecordRow? {
        try writer.read { db in try RecordRow.live.filter(key: id).fetchOne(db) }
    }

    private static func entry(_ row: LedgerEntryRow) throws -> LedgerEntry {
        guard let entry = row.entry else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "ledger_entry \(row.id) holds a kind, currency or date this version cannot read")
        }
        return entry
    }

    static func paymentApplications(toInvoices ids: [String], _ db: Database) throws -> [LedgerEntry] {
        let sql = """
            SELECT a.* FROM ledger_entry a JOIN ledger_entry s ON s.id = a.source_id AND s.kind = 'payment'
            WHERE a.kind = 'application' AND a.target_id IN (SELECT value FROM json_each(?))
              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = a.id)
            ORDER BY a.date, a.id
            """
        // Cached: the worklist and the follow-ups evaluate every recent promise with it.
        return try LedgerEntryRow.fetchAll(try db.cachedStatement(sql: sql), arguments: [StoredValue.json(ids)]).map(entry)
    }

    /// One page of `request` in `order` (``QueryInterfaceRequest/page(_:in:_:_:)``), in one read.
    func read<Item, RowDecoder>(
        _ request: QueryInterfaceRequest<RowDecoder>, _ page: PageRequest, _ order: ListOrder, _ decode: (Row) throws -> Item
    ) throws -> Page<Item> {
        try writer.read { db in try request.page(page, in: order, db, decode) }
    }
}

extension QueryInterfaceRequest {
    /// The rows whose `column` is `value`; every row when `value` is nil.
    func matching(_ column: Column, _ value: (some DatabaseValueConvertible)?) -> Self {
        guard let value else { return self }
        return filter(column == value)
    }

    /// The rows whose `column` is one of `values`; every row when there are none.
    func matching(_ column: Column, oneOf values: [String]) -> Self {
        values.isEmpty ? self : filter(values.sorted().contains(column))
    }

    /// The rows whose `column` lies between the bounds, both included, each only when given.
    func matching(_ column: Column, from lower: String?, through upper: String?) -> Self {
        var request = self
        if let lower { request = request.filter(column >= lower) }
        if let upper { request = request.filter(column <= upper) }
        return request
    }

    /// The rows whose `column`, a JSON array, holds `value`; every row when `value` is nil.
    func listing(_ column: Column, _ value: String?) -> Self {
        guard let value else { return self }
        return filter(literal: "EXISTS (SELECT 1 FROM json_each(\(column)) WHERE value = \(value))")
    }
}

/// What saving one validated row changes (``TenantStore/save(_:_:)``), found before anything is
/// written, so a caller writing many rows can check them all first and write them later in passes.
enum SaveChange<RecordRow: TombstonedRow> {
    /// The row is there exactly so: nothing to write, nothing to log.
    case none
    case insert
    case update(from: RecordRow)

    /// Reads the row `row` would replace; a tombstone (of a kind that is not revivable) is refused.
    init(_ row: RecordRow, _ db: Database) throws {
        guard let existing = try RecordRow.fetchOne(db, key: row.id) else {
            self = .insert
            return
        }
        if existing.deleted, !RecordRow.revivable {
            throw DomainError.conflict(field: "id", "\(RecordRow.databaseTableName) \(row.id) was deleted; ids are not reused")
        }
        self = existing == row ? .none : .update(from: existing)
    }

    /// The change-log operation, nil for ``none``.
    var op: String? {
        switch self {
        case .none: nil
        case .insert: "insert"
        case .update: "update"
        }
    }

    /// Inserts or updates `row`, as the change is.
    func write(_ row: RecordRow, _ db: Database) throws {
        switch self {
        case .none: return
        case .insert: try row.insert(db)
        case .update: try row.update(db)
        }
    }

    /// Stamps the fields `row` changes as written by change `seq`.
    func stamp(_ row: RecordRow, seq: Int64, _ db: Database, at: Int64 = TenantStore.nowMilliseconds) throws {
        let before: FieldMap?
        switch self {
        case .none: return
        case .insert: before = nil
        case .update(let existing): before = try TenantStore.liveFields(existing)
        }
        try TenantStore.stampChangedFields(db, kind: RecordRow.recordKind, id: row.id, before: before, after: try TenantStore.liveFields(row), seq: seq, at: at)
    }
}
