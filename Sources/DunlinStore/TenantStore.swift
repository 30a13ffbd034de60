import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// One tenant's receivables, in one SQLite file (WAL): customers, the immutable ledger, and the
/// change log the sync feed reads. A tenant's data never shares a file with another's, so export
/// is a copy of one file and deletion removes it.
///
/// Every write is one transaction that also appends to the change log.
public final class TenantStore: Sendable {
    public let writer: any DatabaseWriter

    /// Opens (creating if needed) the tenant database at `path`, migrated to the current schema.
    /// WAL with `synchronous = FULL`: a commit is on disk before the call that made it returns, so
    /// what the server acknowledges (an RPC's answer, a push's result) survives a crash or power cut.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        writer = try DatabasePool(path: path, configuration: configuration)
        try TenantSchema.migrator.migrate(writer)
    }

    /// An in-memory store, for tests.
    public init() throws {
        writer = try DatabaseQueue()
        try TenantSchema.migrator.migrate(writer)
    }

    // MARK: Writes

    /// Validates and posts ledger entries in one transaction: all of them or none.
    public func post(_ entries: [LedgerEntry]) throws {
        try writer.write { db in
            let state = SQLLedgerState(db: db)
            for (index, entry) in entries.enumerated() {
                do throws(DomainError) {
                    try LedgerRules.validate(entry, against: state)
                } catch {
                    throw StoreError.refused(index: index, error)
                }
                try LedgerEntryRow(entry).insert(db)
                try Self.logChange(db, kind: "ledger_entry", id: entry.id, op: "insert")
            }
        }
    }

    /// Creates or replaces customers in one transaction, all or none.
    public func upsert(_ customers: [Customer]) throws {
        try writer.write { db in
            for (index, customer) in customers.enumerated() {
                do throws(DomainError) {
                    try customer.validate()
                } catch {
                    throw StoreError.refused(index: index, error)
                }
                let existing = try CustomerRow.fetchOne(db, key: customer.id)
                do throws(DomainError) {
                    try Self.checkNumber(of: customer, db)
                } catch {
                    throw StoreError.refused(index: index, error)
                }
                try CustomerRow(customer).save(db)
                let seq = try Self.logChange(db, kind: "customer", id: customer.id, op: existing == nil ? "insert" : "update")
                try Self.stampChangedFields(
                    db, kind: "customer", id: customer.id, before: try existing.map { try RecordCoding.fields(of: $0.customer) },
                    after: try RecordCoding.fields(of: customer), seq: seq
                )
            }
        }
    }

    /// Change-log times: UTC, milliseconds ("2026-11-23T16:20:01.123Z"), so they sort as text.
    /// (ISO8601DateFormatter is thread-safe once configured; it is never changed after this.)
    nonisolated(unsafe) static let changeTime: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    /// Appends to the change log and returns the change's sequence number. `dot` is the replica
    /// change it came from, for a pushed change.
    @discardableResult
    static func logChange(_ db: Database, kind: String, id: String, op: String, dot: Dot? = nil) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO change_log (record_kind, record_id, op, dot_replica, dot_counter, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [kind, id, op, dot?.replica, dot.map { Int64($0.counter) }, changeTime.string(from: Date())]
        )
        return db.lastInsertedRowID
    }

    /// A customer number belongs to one customer.
    static func checkNumber(of customer: Customer, _ db: Database) throws(DomainError) {
        let other: String?
        do {
            other = try String.fetchOne(db, sql: "SELECT id FROM customer WHERE number = ? AND id != ?", arguments: [customer.number, customer.id])
        } catch {
            throw .invalid(field: "number", "could not be checked: \(error)")
        }
        if let other { throw .conflict(field: "number", "customer number \(customer.number) is already \(other)") }
    }

    // MARK: Reads

    public func customer(_ id: String) throws -> Customer? {
        try writer.read { db in try CustomerRow.fetchOne(db, key: id)?.customer }
    }

    public func entry(_ id: String) throws -> LedgerEntry? {
        try writer.read { db in SQLLedgerState(db: db).entry(id) }
    }

    public func openBalance(ofInvoice id: String) throws -> Money? {
        try writer.read { db in SQLLedgerState(db: db).openBalance(ofInvoice: id) }
    }

    public func unapplied(ofSource id: String) throws -> Money? {
        try writer.read { db in SQLLedgerState(db: db).unapplied(ofSource: id) }
    }

    /// The highest change-log sequence number: where a sync feed reader would start.
    public func lastChangeSequence() throws -> Int64 {
        try writer.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log") ?? 0 }
    }
}

/// Why the store refused a write; nothing was written.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Item `index` of the batch (0-based) broke a domain rule.
    case refused(index: Int, DomainError)

    public var description: String {
        switch self {
        case .refused(let index, let error): "item \(index + 1): \(error)"
        }
    }
}

/// The ledger rules' view of a tenant database, answering from indexed queries.
struct SQLLedgerState: LedgerState {
    let db: Database

    func entry(_ id: String) -> LedgerEntry? {
        (try? LedgerEntryRow.fetchOne(db, key: id))?.entry
    }

    func reversal(of id: String) -> LedgerEntry? {
        (try? LedgerEntryRow.filter(Column("target_id") == id && Column("kind") == "reversal").fetchOne(db))?.entry
    }

    private func liveSum(_ column: String, _ id: String, kinds: [String], signed: Bool = false) -> Int64 {
        let placeholders = kinds.map { _ in "?" }.joined(separator: ",")
        let value = signed ? "CASE kind WHEN 'adjustment' THEN amount ELSE -amount END" : "amount"
        let sql = """
            SELECT COALESCE(SUM(\(value)), 0) FROM ledger_entry e
            WHERE e.\(column) = ? AND e.kind IN (\(placeholders))
              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id)
            """
        return (try? Int64.fetchOne(db, sql: sql, arguments: StatementArguments([id] + kinds))) ?? 0
    }

    func openBalance(ofInvoice id: String) -> Money? {
        guard let invoice = entry(id), invoice.kind == .invoice else { return nil }
        if reversal(of: id) != nil { return .zero(invoice.amount.currency) }
        let change = liveSum("target_id", id, kinds: ["adjustment", "application", "write_off"], signed: true)
        return Money(minorUnits: invoice.amount.minorUnits + change, currency: invoice.amount.currency)
    }

    func unapplied(ofSource id: String) -> Money? {
        guard let source = entry(id), source.isCashSource else { return nil }
        if reversal(of: id) != nil { return .zero(source.amount.currency) }
        let used = liveSum("source_id", id, kinds: ["application", "refund"])
        return Money(minorUnits: source.amount.minorUnits - used, currency: source.amount.currency)
    }

    func hasLiveApplications(_ id: String) -> Bool {
        let sql = """
            SELECT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.kind = 'application' AND (e.source_id = ? OR e.target_id = ?)
              AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id))
            """
        return (try? Bool.fetchOne(db, sql: sql, arguments: [id, id])) ?? false
    }
}
