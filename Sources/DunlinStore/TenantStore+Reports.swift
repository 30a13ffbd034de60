import DunlinCore
import GRDB

/// Reads behind the reports: open invoices and unapplied cash with their derived balances,
/// computed in one aggregate query each (no balance is ever stored).
extension TenantStore {
    /// Invoices with an open balance as of a date (entries dated after it do not count, nor
    /// reversals dated after it), optionally of one customer or one analyst's customers, oldest
    /// due first. Without a date: as the ledger stands.
    public func openInvoices(customerID: String? = nil, analystID: String? = nil, asOf: CivilDate? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        let (reversed, reversedArguments) = Self.reversedBy(asOf, alias: "e")
        let (invoiceReversed, invoiceArguments) = Self.reversedBy(asOf, alias: "i")
        var arguments: [(any DatabaseValueConvertible)?] = reversedArguments
        var sql = """
            SELECT i.*, i.amount
                + COALESCE(SUM(CASE e.kind WHEN 'adjustment' THEN e.amount WHEN 'application' THEN -e.amount
                                        WHEN 'write_off' THEN -e.amount ELSE 0 END), 0) AS balance
            FROM ledger_entry i
            LEFT JOIN ledger_entry e ON e.target_id = i.id AND e.kind IN ('adjustment', 'application', 'write_off')
                AND NOT \(reversed)\(asOf == nil ? "" : " AND e.date <= ?")
            """
        if let asOf { arguments.append(asOf.description) }
        if let analystID {
            sql += " JOIN customer c ON c.id = i.customer_id AND c.analyst_id = ?"
            arguments.append(analystID)
        }
        sql += " WHERE i.kind = 'invoice' AND NOT \(invoiceReversed)"
        arguments += invoiceArguments
        if let customerID {
            sql += " AND i.customer_id = ?"
            arguments.append(customerID)
        }
        if let asOf {
            sql += " AND i.date <= ?"
            arguments.append(asOf.description)
        }
        sql += " GROUP BY i.id HAVING balance != 0 ORDER BY i.due_date, i.id"
        return try writer.read { db in try Self.withBalances(db, sql: sql, arguments: StatementArguments(arguments)) }
    }

    /// Open items for aging, as of a date.
    public func agingItems(analystID: String? = nil, asOf: CivilDate? = nil) throws -> [AgingItem] {
        try openInvoices(analystID: analystID, asOf: asOf).map { invoice in
            AgingItem(customerID: invoice.entry.customerID, dueDate: invoice.entry.dueDate ?? invoice.entry.date, open: invoice.open)
        }
    }

    /// Payments and credit memos with money not yet applied or refunded as of a date, optionally
    /// of one customer (unidentified payments have an empty customer id).
    public func unappliedSources(customerID: String? = nil, asOf: CivilDate? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        let (reversed, reversedArguments) = Self.reversedBy(asOf, alias: "e")
        let (sourceReversed, sourceArguments) = Self.reversedBy(asOf, alias: "s")
        var arguments: [(any DatabaseValueConvertible)?] = reversedArguments
        var sql = """
            SELECT s.*, s.amount - COALESCE(SUM(e.amount), 0) AS balance
            FROM ledger_entry s
            LEFT JOIN ledger_entry e ON e.source_id = s.id AND e.kind IN ('application', 'refund')
                AND NOT \(reversed)\(asOf == nil ? "" : " AND e.date <= ?")
            WHERE s.kind IN ('payment', 'credit_memo') AND NOT \(sourceReversed)
            """
        if let asOf { arguments.append(asOf.description) }
        arguments += sourceArguments
        if let customerID {
            sql += " AND s.customer_id = ?"
            arguments.append(customerID)
        }
        if let asOf {
            sql += " AND s.date <= ?"
            arguments.append(asOf.description)
        }
        sql += " GROUP BY s.id HAVING balance != 0 ORDER BY s.date, s.id"
        return try writer.read { db in try Self.withBalances(db, sql: sql, arguments: StatementArguments(arguments)) }
    }

    /// "Entry `alias` has been reversed (by a reversal dated on or before `asOf`)", as SQL.
    private static func reversedBy(_ asOf: CivilDate?, alias: String) -> (String, [(any DatabaseValueConvertible)?]) {
        let condition = "EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(alias).id\(asOf == nil ? "" : " AND r.date <= ?"))"
        return (condition, asOf.map { [$0.description] } ?? [])
    }

    /// Names of the given customers, by id (missing ids are absent).
    public func customerNames(_ ids: some Collection<String>) throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        return try writer.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, name FROM customer WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments(Array(ids))
            )
            return Dictionary(rows.map { ($0["id"] as String, $0["name"] as String) }, uniquingKeysWith: { first, _ in first })
        }
    }

    private static func withBalances(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(entry: LedgerEntry, open: Money)] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            guard let entry = try LedgerEntryRow(row: row).entry else { return nil }
            return (entry, Money(minorUnits: row["balance"], currency: entry.amount.currency))
        }
    }
}
