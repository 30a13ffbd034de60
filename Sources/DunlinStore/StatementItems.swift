import Foundation
import DunlinCore
import GRDB

/// Migration "v40: statement items": each invoice's balance row carries the invoice's immutable
/// fields a statement shows (`amount`, `reference`, `memo`), and an index orders one customer's
/// invoices by due date with every column a statement reads. A statement of 10,000 items is then
/// one contiguous range of one index, read in the order it is printed; before, each item was a
/// lookup of its ledger entry by id, and ids are spread over the whole ledger (at 1M invoices,
/// two B-tree descents an item on pages nowhere near each other), then a sort.
///
/// The fields are copies of the ledger entry's, which never changes (`ledger_entry_immutable`),
/// so the copy is never stale; ``DerivedBalances/recomputeInvoices`` includes them, so the
/// consistency check (``TenantStore/derivedBalanceMismatches()``) compares them with the ledger
/// like the balance itself.
///
/// The triggers that write `invoice_balance` rows (the ledger's insert trigger, whose body later
/// migrations extend, and a replica's retraction) are rewritten in place: their stored SQL with
/// the row's insert widened, whatever else their bodies hold kept as it is.
enum StatementItems {
    /// The balance row's columns after this migration, in the table's order.
    static let columns = DerivedBalances.invoiceColumns + ", amount, reference, memo"

    /// The carried fields of ledger entry `i`, in ``columns``' order after the balance's own.
    static func fields(_ i: String) -> String { "\(i).amount, \(i).reference, \(i).memo" }

    /// The columns a statement reads, in its order: customer, then oldest due first (no due date
    /// first, as SQL orders NULL), then invoice id.
    static let index = """
        CREATE INDEX invoice_statement ON invoice_balance(customer_id, due_date, invoice_id, currency, date, gross, reversed_on, amount, reference, memo);
        """

    /// Each stored trigger's text and what in it becomes what: exactly one occurrence each, or
    /// the migration fails rather than leave a trigger writing rows without the fields.
    static var rewrites: [(trigger: String, from: String, to: String)] {
        [
            ("invoice_balance_insert",
             "INSERT INTO invoice_balance (\(DerivedBalances.invoiceColumns)) VALUES (\(DerivedBalances.invoiceRow("NEW")));",
             "INSERT INTO invoice_balance (\(columns)) VALUES (\(DerivedBalances.invoiceRow("NEW")), \(fields("NEW")));"),
            ("balance_retraction",
             "INSERT OR REPLACE INTO invoice_balance (\(DerivedBalances.invoiceColumns))",
             "INSERT OR REPLACE INTO invoice_balance (\(columns))"),
            ("balance_retraction",
             "SELECT \(DerivedBalances.invoiceRow("i")) FROM ledger_entry i WHERE i.kind = 'invoice'",
             "SELECT \(DerivedBalances.invoiceRow("i")), \(fields("i")) FROM ledger_entry i WHERE i.kind = 'invoice'"),
        ]
    }

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE invoice_balance ADD COLUMN amount INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE invoice_balance ADD COLUMN reference TEXT NOT NULL DEFAULT '';
            ALTER TABLE invoice_balance ADD COLUMN memo TEXT NOT NULL DEFAULT '';
            UPDATE invoice_balance SET (amount, reference, memo) =
                (SELECT \(fields("i")) FROM ledger_entry i WHERE i.id = invoice_balance.invoice_id);
            \(index)
            """)
        var triggers: [String: String] = [:]
        for (name, from, to) in rewrites {
            // The retraction trigger exists on every store (only a replica ever fires it).
            guard var sql = try triggers[name] ?? String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", arguments: [name]) else {
                throw DatabaseError(message: "v40: no trigger \(name) to widen")
            }
            let parts = sql.components(separatedBy: from)
            guard parts.count == 2 else {
                throw DatabaseError(message: "v40: trigger \(name) holds \(parts.count - 1) copies of the statement to widen, not one")
            }
            sql = parts.joined(separator: to)
            triggers[name] = sql
        }
        for (name, sql) in triggers.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "DROP TRIGGER \(name); \(sql);")
        }
    }
}
