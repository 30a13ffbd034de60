import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// A row of a table that holds one kind of synced record. The table is named after the kind
/// (PROTOCOL.md §16.2), so the change log's `record_kind` of a row is its table's name.
protocol RecordTable: TableRecord {
    static var recordKind: RecordKind { get }
}

extension RecordTable {
    static var databaseTableName: String { recordKind.rawValue }

    /// Whether a row has primary key `id`, through one cached statement per table: a sync push
    /// asks this for every change, and a query-interface request builds and compiles its SQL each
    /// time, which costs more than the read.
    static func exists(_ db: Database, id: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM \(databaseTableName) WHERE id = ?)"), arguments: [id]) ?? false
    }
}

extension RecordTable where Self: FetchableRecord {
    /// The row with primary key `id` (every record table's key is its `id`), through one cached
    /// statement per table (see ``exists(_:id:)``).
    static func fetchOne(_ db: Database, id: String) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: "SELECT * FROM \(databaseTableName) WHERE id = ?"), arguments: [id])
    }
}

/// A mutable record's row. Rows are never physically deleted by a write: `deleted` marks the
/// tombstone, which reads skip and the sync feed reports.
protocol TombstonedRow: Codable, Equatable, FetchableRecord, PersistableRecord, RecordTable {
    associatedtype Record: Codable & SyncRecordForm
    var id: String { get }
    var deleted: Bool { get }
    func record() throws -> Record
    /// Whether writing the id again brings a tombstoned record back. Records are not reused
    /// (false); a tenant setting is its name, and setting it after a reset to its default is
    /// an ordinary edit.
    static var revivable: Bool { get }
}

extension TombstonedRow {
    static var revivable: Bool { false }

    /// The tombstone flag every mutable record's table has.
    static var deletedColumn: Column { Column("deleted") }

    /// The rows reads see: not deleted.
    static var live: QueryInterfaceRequest<Self> { filter(deletedColumn == false) }
}

/// Conversions between domain values and columns, which refuse (rather than guess at) a value
/// this version cannot read: an unknown status written by a newer schema, a malformed date.
enum StoredValue {
    static func decode<Value: RawRepresentable<String>>(_ raw: String, _ table: String, _ column: String, id: String) throws -> Value {
        guard let value = Value(rawValue: raw) else { throw unreadable(table, column, id: id, raw) }
        return value
    }

    static func date(_ text: String, _ table: String, _ column: String, id: String) throws -> CivilDate {
        guard let date = CivilDate(text) else { throw unreadable(table, column, id: id, text) }
        return date
    }

    static func money(_ minorUnits: Int64, _ code: String, _ table: String, id: String) throws -> Money {
        guard let currency = Currency(code: code) else { throw unreadable(table, "currency", id: id, code) }
        return Money(minorUnits: minorUnits, currency: currency)
    }

    static func ids(_ json: String, _ table: String, _ column: String, id: String) throws -> [String] {
        // The hand reader first (a worklist reads thousands); what it leaves, the decoder decides.
        if case .array(let items) = CanonicalJSON.decode(json) {
            let ids = items.compactMap(\.text)
            if ids.count == items.count { return ids }
        }
        guard let ids = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else { throw unreadable(table, column, id: id, json) }
        return ids
    }

    static func json(_ ids: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(ids)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func unreadable(_ table: String, _ column: String, id: String, _ value: String) -> DatabaseError {
        DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(table).\(column) of \(id) holds \"\(value)\", which this version cannot read")
    }
}

struct ContactRow: TombstonedRow {
    static let recordKind = RecordKind.contact

    var id: String
    var customer_id: String
    var name: String
    var role: String
    var email: String
    var phone: String
    var preferred_channel: String
    var deleted: Bool

    init(_ contact: Contact) {
        id = contact.id
        customer_id = contact.customerID
        name = contact.name
        role = contact.role
        email = contact.email
        phone = contact.phone
        preferred_channel = contact.preferredChannel.rawValue
        deleted = false
    }

    func record() throws -> Contact {
        Contact(
            id: id, customerID: customer_id, name: name, role: role, email: email, phone: phone,
            preferredChannel: try StoredValue.decode(preferred_channel, Self.databaseTableName, "preferred_channel", id: id)
        )
    }
}

extension ContactRow {
    /// The columns its list filters and sorts by.
    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let name = Column(CodingKeys.name)
    }
}

struct DisputeRow: TombstonedRow {
    static let recordKind = RecordKind.dispute

    var id: String
    var customer_id: String
    var invoice_ids: String
    var currency: String
    var amount: Int64
    var reason_code: String
    var status: String
    var owner_team: String
    var opened_on: String
    var resolved_on: String?
    var note: String
    var deleted: Bool

    init(_ dispute: Dispute) {
        id = dispute.id
        customer_id = dispute.customerID
        invoice_ids = StoredValue.json(dispute.invoiceIDs)
        currency = dispute.amount.currency.code
        amount = dispute.amount.minorUnits
        reason_code = dispute.reasonCode
        status = dispute.status.rawValue
        owner_team = dispute.ownerTeam.rawValue
        opened_on = dispute.openedOn.description
        resolved_on = dispute.resolvedOn?.description
        note = dispute.note
        deleted = false
    }

    func record() throws -> Dispute {
        let table = Self.databaseTableName
        return Dispute(
            id: id, customerID: customer_id, invoiceIDs: try StoredValue.ids(invoice_ids, table, "invoice_ids", id: id),
            amount: try StoredValue.money(amount, currency, table, id: id), reasonCode: reason_code,
            status: try StoredValue.decode(status, table, "status", id: id),
            ownerTeam: try StoredValue.decode(owner_team, table, "owner_team", id: id),
            openedOn: try StoredValue.date(opened_on, table, "opened_on", id: id),
            resolvedOn: try resolved_on.map { text throws in try StoredValue.date(text, table, "resolved_on", id: id) }, note: note
        )
    }
}

extension DisputeRow {
    /// The columns its list filters and sorts by.
    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let invoiceIDs = Column(CodingKeys.invoice_ids)
        static let status = Column(CodingKeys.status)
        static let ownerTeam = Column(CodingKeys.owner_team)
        static let openedOn = Column(CodingKeys.opened_on)
    }
}

struct PromiseToPayRow: TombstonedRow {
    static let recordKind = RecordKind.promiseToPay

    var id: String
    var customer_id: String
    var invoice_ids: String
    var currency: String
    var amount: Int64
    var made_on: String
    var promised_date: String
    var status: String
    var note: String
    /// A payment plan's installments in their sync form (a JSON array), "[]" for none.
    var installments: String
    var deleted: Bool

    init(_ promise: PromiseToPay) {
        id = promise.id
        customer_id = promise.customerID
        invoice_ids = StoredValue.json(promise.invoiceIDs)
        currency = promise.amount.currency.code
        amount = promise.amount.minorUnits
        made_on = promise.madeOn.description
        promised_date = promise.promisedDate.description
        status = promise.status.rawValue
        note = promise.note
        installments = String(decoding: CanonicalJSON.encode(.array(promise.installments.map(\.fieldValue))), as: UTF8.self)
        deleted = false
    }

    /// Read by column, not through the Codable decoder (the worklist reads every recent promise).
    init(row: Row) throws {
        id = try row.decode(String.self, forColumn: "id")
        customer_id = try row.decode(String.self, forColumn: "customer_id")
        invoice_ids = try row.decode(String.self, forColumn: "invoice_ids")
        currency = try row.decode(String.self, forColumn: "currency")
        amount = try row.decode(Int64.self, forColumn: "amount")
        made_on = try row.decode(String.self, forColumn: "made_on")
        promised_date = try row.decode(String.self, forColumn: "promised_date")
        status = try row.decode(String.self, forColumn: "status")
        note = try row.decode(String.self, forColumn: "note")
        installments = try row.decode(String.self, forColumn: "installments")
        deleted = try row.decode(Bool.self, forColumn: "deleted")
    }

    private func decodedPlan(_ table: String) throws -> [Installment] {
        do {
            let value = try CanonicalJSON.decode(installments) ?? JSONDecoder().decode(FieldValue.self, from: Data(installments.utf8))
            return try Installment.plan(value)
        } catch {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(table).installments of \(id) holds \"\(installments.prefix(64))\", which this version cannot read")
        }
    }

    func record() throws -> PromiseToPay {
        let table = Self.databaseTableName
        // Most promises are one payment: no decoder for an empty plan.
        let plan = installments == "[]" ? [] : try decodedPlan(table)
        return PromiseToPay(
            id: id, customerID: customer_id, invoiceIDs: try StoredValue.ids(invoice_ids, table, "invoice_ids", id: id),
            amount: try StoredValue.money(amount, currency, table, id: id),
            madeOn: try StoredValue.date(made_on, table, "made_on", id: id),
            promisedDate: try StoredValue.date(promised_date, table, "promised_date", id: id),
            status: try StoredValue.decode(status, table, "status", id: id), note: note, installments: plan
        )
    }
}

extension PromiseToPayRow {
    /// The columns its list filters and sorts by.
    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let invoiceIDs = Column(CodingKeys.invoice_ids)
        static let status = Column(CodingKeys.status)
        static let promisedDate = Column(CodingKeys.promised_date)
    }
}

struct CollectionTaskRow: TombstonedRow {
    static let recordKind = RecordKind.collectionTask

    var id: String
    var assignee_id: String
    var customer_id: String
    var title: String
    var due_date: String
    var done: Bool
    var notes: String
    var deleted: Bool

    init(_ task: CollectionTask) {
        id = task.id
        assignee_id = task.assigneeID
        customer_id = task.customerID
        title = task.title
        due_date = task.dueDate.description
        done = task.done
        notes = task.notes
        deleted = false
    }

    func record() throws -> CollectionTask {
        CollectionTask(
            id: id, assigneeID: assignee_id, customerID: customer_id, title: title,
            dueDate: try StoredValue.date(due_date, Self.databaseTableName, "due_date", id: id), done: done, notes: notes
        )
    }
}

extension CollectionTaskRow {
    /// The columns its list filters and sorts by.
    enum Columns {
        static let assigneeID = Column(CodingKeys.assignee_id)
        static let customerID = Column(CodingKeys.customer_id)
        static let done = Column(CodingKeys.done)
        static let dueDate = Column(CodingKeys.due_date)
    }
}

struct TenantSettingRow: TombstonedRow {
    static let recordKind = RecordKind.tenantSetting
    static let revivable = true

    var id: String
    var value: String
    var deleted: Bool

    init(_ setting: TenantSetting) {
        id = setting.id
        value = setting.value
        deleted = false
    }

    func record() throws -> TenantSetting { TenantSetting(id: id, value: value) }
}

/// An activity as a row: inserted once, never updated or deleted (triggers refuse both).
struct ActivityRow: Codable, FetchableRecord, PersistableRecord, RecordTable {
    static let recordKind = RecordKind.activity

    var id: String
    var customer_id: String
    var kind: String
    var direction: String
    var outcome: String
    var author_id: String
    var occurred_at: Int64
    var body: String

    init(_ activity: Activity) {
        id = activity.id
        customer_id = activity.customerID
        kind = activity.kind.rawValue
        direction = activity.direction.rawValue
        outcome = activity.outcome
        author_id = activity.authorID
        occurred_at = Activity.milliseconds(of: activity.occurredAt)
        body = activity.body
    }

    func record() throws -> Activity {
        let table = Self.databaseTableName
        return Activity(
            id: id, customerID: customer_id, kind: try StoredValue.decode(kind, table, "kind", id: id),
            direction: try StoredValue.decode(direction, table, "direction", id: id), outcome: outcome, authorID: author_id,
            occurredAt: Activity.instant(milliseconds: occurred_at), body: body
        )
    }
}

extension ActivityRow {
    /// The columns its list filters and sorts by.
    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let authorID = Column(CodingKeys.author_id)
        static let kind = Column(CodingKeys.kind)
        static let occurredAt = Column(CodingKeys.occurred_at)
    }
}

