import DunlinCore
import GRDB

/// Reads behind the reports: open invoices and unapplied cash with their derived balances,
/// computed in one aggregate query each (no balance is ever stored).
extension TenantStore {
    /// Live invoices with an open balance, optionally of one customer, oldest due first.
    public func openInvoices(customerID: String? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        try writer.read { db in
            let sql = """
                SELECT i.*, i.amount
                    + COALESCE(SUM(CASE e.kind WHEN 'adjustment' THEN e.amount WHEN 'application' THEN -e.amount
                                            WHEN 'write_off' THEN -e.amount ELSE 0 END), 0) AS balance
                FROM ledger_entry i
                LEFT JOIN ledger_entry e ON e.target_id = i.id AND e.kind IN ('adjustment', 'application', 'write_off')
                    AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id)
                WHERE i.kind = 'invoice' \(customerID == nil ? "" : "AND i.customer_id = ?")
                    AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = i.id)
                GROUP BY i.id HAVING balance != 0
                ORDER BY i.due_date, i.id
                """
            return try Self.withBalances(db, sql: sql, customerID: customerID)
        }
    }

    /// Live payments and credit memos with money not yet applied or refunded, optionally of one
    /// customer (unidentified payments have an empty customer id).
    public func unappliedSources(customerID: String? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        try writer.read { db in
            let sql = """
                SELECT s.*, s.amount - COALESCE(SUM(e.amount), 0) AS balance
                FROM ledger_entry s
                LEFT JOIN ledger_entry e ON e.source_id = s.id AND e.kind IN ('application', 'refund')
                    AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id)
                WHERE s.kind IN ('payment', 'credit_memo') \(customerID == nil ? "" : "AND s.customer_id = ?")
                    AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = s.id)
                GROUP BY s.id HAVING balance != 0
                ORDER BY s.date, s.id
                """
            return try Self.withBalances(db, sql: sql, customerID: customerID)
        }
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

    private static func withBalances(_ db: Database, sql: String, customerID: String?) throws -> [(entry: LedgerEntry, open: Money)] {
        let arguments: StatementArguments = customerID.map { [$0] } ?? []
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            guard let entry = try LedgerEntryRow(row: row).entry else { return nil }
            return (entry, Money(minorUnits: row["balance"], currency: entry.amount.currency))
        }
    }
}
