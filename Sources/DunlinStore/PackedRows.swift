import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// Ledger entries and activities between their rows and their packed sync forms (PROTOCOL.md §16.2
/// "Packed forms"): the server writes each record's form from its columns' bytes as the query
/// steps, and a replica binds a pulled one's values to one cached insert, so neither builds a
/// record value, a field map or JSON per row. They are most of a tenant's records, and of a
/// bootstrap's time.
enum PackedRows {
    /// The `ledger_entry` columns in `LedgerEntryForm`'s field order, after the id.
    private static let ledgerColumns = ["kind", "customer_id", "currency", "amount", "date", "due_date", "reference", "source_id", "target_id", "memo"]
    /// The `activity` columns in `ActivityForm`'s field order, after the id.
    private static let activityColumns = ["customer_id", "kind", "direction", "outcome", "author_id", "occurred_at", "body"]

    /// The packed forms of the entries `selection` picks, with their ids.
    static func ledgerEntries(_ db: Database, _ selection: RecordSelection) throws -> [(id: String, bytes: Data)] {
        try read(db, selection, table: LedgerEntryRow.databaseTableName, kind: .ledgerEntry, columns: ledgerColumns) { writer, row in
            try writer.text(1, row, 1)
            try writer.text(2, row, 2)
            try writer.text(3, row, 3)
            writer.int64(4, row[4])
            try writer.text(5, row, 5)
            try writer.optional(6, row, 6)
            try writer.text(7, row, 7)
            try writer.optional(8, row, 8)
            try writer.optional(9, row, 9)
            try writer.text(10, row, 10)
        }
    }

    /// The packed forms of the activities `selection` picks, with their ids.
    static func activities(_ db: Database, _ selection: RecordSelection) throws -> [(id: String, bytes: Data)] {
        try read(db, selection, table: ActivityRow.databaseTableName, kind: .activity, columns: activityColumns) { writer, row in
            try writer.text(1, row, 1)
            try writer.text(2, row, 2)
            try writer.text(3, row, 3)
            try writer.text(4, row, 4)
            try writer.text(5, row, 5)
            writer.int64(6, row[6])
            try writer.text(7, row, 7)
        }
    }

    private static func read(
        _ db: Database, _ selection: RecordSelection, table: String, kind: RecordKind, columns: [String],
        _ pack: (inout PackedForm.Writer, Row) throws -> Void
    ) throws -> [(id: String, bytes: Data)] {
        let request = selection.apply(to: Table(table).select([SyncKind.id] + columns.map { Column($0) }), kind: kind)
        var result: [(id: String, bytes: Data)] = []
        let rows = try request.fetchCursor(db)
        while let row = try rows.next() {
            var writer = PackedForm.Writer()
            try pack(&writer, row)
            result.append((row[0], writer.data))
        }
        return result
    }

    /// Inserts a pulled entry unless one with its id is there (set union).
    static func insert(_ entry: PackedLedgerEntry, id: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO ledger_entry (id, kind, customer_id, currency, amount, date, due_date, reference, source_id, target_id, memo)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                id, entry.kind, entry.customerID, entry.currency, entry.amount, entry.date, entry.dueDate, entry.reference, entry.sourceID,
                entry.targetID, entry.memo,
            ])
    }

    /// Inserts a pulled activity unless one with its id is there (set union).
    static func insert(_ activity: PackedActivity, id: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO activity (id, customer_id, kind, direction, outcome, author_id, occurred_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                id, activity.customerID, activity.kind, activity.direction, activity.outcome, activity.authorID, activity.occurredAt, activity.body,
            ])
    }
}

extension PackedForm.Writer {
    /// A text column's bytes as a proto3 `string` (left out when empty), read without a copy.
    mutating func text(_ field: UInt64, _ row: Row, _ index: Int) throws {
        try row.withUnsafeData(atIndex: index) { data in
            guard let data else { return }
            data.withUnsafeBytes { text(field, $0) }
        }
    }

    /// A nullable text column as an `optional string`: written exactly when not NULL.
    mutating func optional(_ field: UInt64, _ row: Row, _ index: Int) throws {
        guard !row.hasNull(atIndex: index) else { return }
        try row.withUnsafeData(atIndex: index) { data in
            guard let data else { return present(field, UnsafeRawBufferPointer(start: nil, count: 0)) }
            data.withUnsafeBytes { present(field, $0) }
        }
    }
}
