import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// A column that holds one field of a record's sync form as canonical JSON (a policy's levels, a
/// notice's whole body): read back through the kind's form, which refuses what it cannot read.
enum FormColumn {
    static func encode(_ value: FieldValue?) -> String {
        String(decoding: CanonicalJSON.encode(value ?? .null), as: UTF8.self)
    }

    static func decode(_ json: String, _ table: String, _ column: String, id: String) throws -> FieldValue {
        if let value = CanonicalJSON.decode(json) { return value }
        do {
            return try JSONDecoder().decode(FieldValue.self, from: Data(json.utf8))
        } catch {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(table).\(column) of \(id) is not JSON this version can read")
        }
    }
}

struct DunningPolicyRow: TombstonedRow {
    static let recordKind = RecordKind.dunningPolicy

    var id: String
    var name: String
    var segment: String
    var customer_ids: String
    var levels: String
    var deleted: Bool

    init(_ policy: DunningPolicy) {
        id = policy.id
        name = policy.name
        segment = policy.segment
        customer_ids = StoredValue.json(policy.customerIDs)
        levels = FormColumn.encode(policy.fieldMap["levels"])
        deleted = false
    }

    func record() throws -> DunningPolicy {
        let table = Self.databaseTableName
        return try DunningPolicy(fieldMap: [
            "id": .string(id), "name": .string(name), "segment": .string(segment),
            "customer_ids": .array(try StoredValue.ids(customer_ids, table, "customer_ids", id: id).map(FieldValue.string)),
            "levels": try FormColumn.decode(levels, table, "levels", id: id),
        ])
    }

    enum Columns {
        static let name = Column(CodingKeys.name)
        static let segment = Column(CodingKeys.segment)
        static let customerIDs = Column(CodingKeys.customer_ids)
    }
}

struct DunningHoldRow: TombstonedRow {
    static let recordKind = RecordKind.dunningHold

    var id: String
    var customer_id: String
    var reason: String
    var placed_on: String
    var released_on: String?
    var release_reason: String
    var deleted: Bool

    init(_ hold: DunningHold) {
        id = hold.id
        customer_id = hold.customerID
        reason = hold.reason
        placed_on = hold.placedOn.description
        released_on = hold.releasedOn?.description
        release_reason = hold.releaseReason
        deleted = false
    }

    func record() throws -> DunningHold {
        let table = Self.databaseTableName
        return DunningHold(
            id: id, customerID: customer_id, reason: reason, placedOn: try StoredValue.date(placed_on, table, "placed_on", id: id),
            releasedOn: try released_on.map { text throws in try StoredValue.date(text, table, "released_on", id: id) },
            releaseReason: release_reason
        )
    }

    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let placedOn = Column(CodingKeys.placed_on)
        static let releasedOn = Column(CodingKeys.released_on)
    }
}

/// A notice: its sync form as canonical JSON in `body` but for its lines, which `lines` holds
/// packed (``PackedNoticeLines``, migration v35); the other columns are what lists filter and
/// sort by.
struct DunningNoticeRow: TombstonedRow {
    typealias Record = DunningNotice
    static let recordKind = RecordKind.dunningNotice

    var id: String
    var run_id: String
    var customer_id: String
    var status: String
    var as_of: String
    var body: String
    var lines: Data
    var delivery: String
    var deleted: Bool

    init(_ notice: DunningNotice) {
        id = notice.id
        run_id = notice.runID
        customer_id = notice.customerID
        status = notice.status.rawValue
        as_of = notice.asOf.description
        body = String(decoding: notice.canonicalJSONBytes(lines: false), as: UTF8.self)
        lines = PackedNoticeLines.pack(notice.lines)
        delivery = notice.delivery?.rawValue ?? ""
        deleted = false
    }

    func record() throws -> DunningNotice {
        let table = Self.databaseTableName
        guard case .object(var fields) = try FormColumn.decode(body, table, "body", id: id) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(table).body of \(id) is not a JSON object")
        }
        // A body still holding its lines is one the migration could not read.
        guard fields["lines"] == nil else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(table).body of \(id) holds its lines: not a form this version reads")
        }
        fields["lines"] = .array([])
        var notice = try DunningNotice(fieldMap: fields)
        notice.lines = try PackedNoticeLines.unpack(lines, id: id)
        return notice
    }

    /// Inserts the row through one cached statement: a run inserts tens of thousands, and
    /// GRDB's record insert (a persistence container and a statement lookup per row) was a
    /// twentieth of a full-size run.
    static func insertCached(_ row: Self, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO dunning_notice (id, run_id, customer_id, status, as_of, body, lines, delivery, deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [row.id, row.run_id, row.customer_id, row.status, row.as_of, row.body, row.lines, row.delivery, row.deleted])
    }

    enum Columns {
        static let runID = Column(CodingKeys.run_id)
        static let customerID = Column(CodingKeys.customer_id)
        static let status = Column(CodingKeys.status)
        static let asOf = Column(CodingKeys.as_of)
        static let delivery = Column(CodingKeys.delivery)
    }
}

/// A row whose record lives whole in `body`, its sync form as canonical JSON; the other columns
/// are what lists filter and sort by.
protocol BodyRow: TombstonedRow where Record: SyncRecordForm {
    var body: String { get }
}

extension BodyRow {
    static func body(_ record: Record) -> String { String(decoding: RecordCoding.canonical(record.fieldMap), as: UTF8.self) }

    func record() throws -> Record {
        guard case .object(let fields) = try FormColumn.decode(body, Self.databaseTableName, "body", id: id) else {
            throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "\(Self.databaseTableName).body of \(id) is not a JSON object")
        }
        return try Record(fieldMap: fields)
    }
}

struct EscalationRuleRow: BodyRow {
    typealias Record = EscalationRule
    static let recordKind = RecordKind.escalationRule

    var id: String
    var name: String
    var body: String
    var deleted: Bool

    init(_ rule: EscalationRule) {
        id = rule.id
        name = rule.name
        body = Self.body(rule)
        deleted = false
    }

    enum Columns {
        static let name = Column(CodingKeys.name)
    }
}

struct EscalationRow: BodyRow {
    typealias Record = Escalation
    static let recordKind = RecordKind.escalation

    var id: String
    var customer_id: String
    var action: String
    var status: String
    var escalated_on: String
    var body: String
    var deleted: Bool

    init(_ escalation: Escalation) {
        id = escalation.id
        customer_id = escalation.customerID
        action = escalation.action.rawValue
        status = escalation.status.rawValue
        escalated_on = escalation.escalatedOn.description
        body = Self.body(escalation)
        deleted = false
    }

    enum Columns {
        static let customerID = Column(CodingKeys.customer_id)
        static let action = Column(CodingKeys.action)
        static let status = Column(CodingKeys.status)
        static let escalatedOn = Column(CodingKeys.escalated_on)
    }
}

struct NoticeTemplateRow: TombstonedRow {
    static let recordKind = RecordKind.noticeTemplate

    var id: String
    var name: String
    var language: String
    var subject: String
    var recipient: String
    var text: String
    var html: String
    var deleted: Bool

    init(_ template: NoticeTemplate) {
        id = template.id
        name = template.name
        language = template.language
        subject = template.subject
        recipient = template.recipient
        text = template.text
        html = template.html
        deleted = false
    }

    func record() throws -> NoticeTemplate {
        NoticeTemplate(id: id, name: name, language: language, subject: subject, recipient: recipient, text: text, html: html)
    }

    enum Columns {
        static let name = Column(CodingKeys.name)
        static let language = Column(CodingKeys.language)
    }
}
