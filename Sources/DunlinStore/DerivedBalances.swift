import DunlinCore
import GRDB

/// The derived balance tables (migration "v3: derived balances"): each invoice's and each cash
/// source's balance as the ledger stands, kept by SQLite triggers on `ledger_entry` inserts, in
/// the inserting transaction.
///
/// They are caches of the immutable ledger, not records: no API writes them, no RPC returns them
/// as editable numbers, and any row can be recomputed from `ledger_entry` alone
/// (``recomputeInvoices`` and ``recomputeSources`` are exactly those queries;
/// ``TenantStore/derivedBalanceMismatches()`` and the tests compare the two on random ledgers). Because triggers keep
/// them, every write path keeps them true: `post`, the streaming import, and a replica's merge.
/// Entries may arrive in any order (a merge is a set union): an effect inserted after its reversal
/// has no effect, an invoice inserted after its applications starts from them, and only the first
/// reversal of an entry undoes it.
///
/// - `invoice_balance.gross`: the amount, plus live adjustments, less live applications and
///   write-offs. The invoice's own reversal does not change it; `reversed_on` is the date of the
///   (earliest) reversal, or NULL.
/// - `source_balance.gross`: a payment's or credit memo's amount less live applications and
///   refunds; `reversed_on` likewise.
///
/// The open balance as the ledger stands is `gross` when `reversed_on` is NULL, else zero. As of
/// a past date, the reports correct `gross` by the few entries dated after it
/// (`TenantStore+Reports.swift`).
enum DerivedBalances {
    /// An effect entry `e` on its invoice's balance, in minor units.
    static func invoiceEffect(_ e: String) -> String {
        "CASE \(e).kind WHEN 'adjustment' THEN \(e).amount WHEN 'application' THEN -\(e).amount WHEN 'write_off' THEN -\(e).amount ELSE 0 END"
    }

    static let invoiceEffectKinds = "('adjustment', 'application', 'write_off')"
    static let sourceEffectKinds = "('application', 'refund')"

    /// "Entry `e` has been reversed", as SQL.
    static func isReversed(_ e: String) -> String {
        "EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(e).id)"
    }

    /// The row values of the balance of invoice `i` (an alias of `ledger_entry`, or NEW).
    static func invoiceRow(_ i: String) -> String {
        """
        \(i).id, \(i).customer_id, \(i).currency, \(i).date, \(i).due_date,
        \(invoiceGross(i)),
        \(reversedOn(i))
        """
    }

    /// The `gross` of invoice `i`'s balance row, from the ledger.
    static func invoiceGross(_ i: String) -> String {
        """
        \(i).amount + COALESCE((SELECT SUM(\(invoiceEffect("e"))) FROM ledger_entry e
            WHERE e.target_id = \(i).id AND e.kind IN \(invoiceEffectKinds) AND NOT \(isReversed("e"))), 0)
        """
    }

    /// The `reversed_on` of entry `x`'s balance row: the date of its earliest reversal, or NULL.
    static func reversedOn(_ x: String) -> String {
        "(SELECT MIN(r.date) FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(x).id)"
    }

    /// The row values of the balance of payment or credit memo `s`.
    static func sourceRow(_ s: String) -> String {
        """
        \(s).id, \(s).customer_id, \(s).currency, \(s).date,
        \(sourceGross(s)),
        \(reversedOn(s))
        """
    }

    /// The `gross` of payment or credit memo `s`'s balance row, from the ledger.
    static func sourceGross(_ s: String) -> String {
        """
        \(s).amount - COALESCE((SELECT SUM(e.amount) FROM ledger_entry e
            WHERE e.source_id = \(s).id AND e.kind IN \(sourceEffectKinds) AND NOT \(isReversed("e"))), 0)
        """
    }

    static let invoiceColumns = "invoice_id, customer_id, currency, date, due_date, gross, reversed_on"
    static let sourceColumns = "source_id, customer_id, currency, date, gross, reversed_on"

    /// Both tables recomputed from the ledger alone, in the tables' column order (invoices with
    /// the fields they carry since "v40: statement items", ``StatementItems``).
    static let recomputeInvoices = "SELECT \(invoiceRow("i")), \(StatementItems.fields("i")) FROM ledger_entry i WHERE i.kind = 'invoice'"
    static let recomputeSources = "SELECT \(sourceRow("s")) FROM ledger_entry s WHERE s.kind IN ('payment', 'credit_memo')"

    static let schema = """
        -- Derived caches of the immutable ledger, kept by the triggers below; never written by
        -- any API (see DerivedBalances.swift). Amounts in minor units, dates as text.
        CREATE TABLE invoice_balance (
            invoice_id TEXT PRIMARY KEY NOT NULL,
            customer_id TEXT NOT NULL,
            currency TEXT NOT NULL,
            date TEXT NOT NULL,
            due_date TEXT,
            gross INTEGER NOT NULL,
            reversed_on TEXT
        ) WITHOUT ROWID;
        -- Aging scans it in (customer, currency) order without touching the table; statements
        -- read one customer's range.
        CREATE INDEX invoice_balance_by_customer ON invoice_balance(customer_id, currency, due_date, gross, date, reversed_on);

        CREATE TABLE source_balance (
            source_id TEXT PRIMARY KEY NOT NULL,
            customer_id TEXT NOT NULL,
            currency TEXT NOT NULL,
            date TEXT NOT NULL,
            gross INTEGER NOT NULL,
            reversed_on TEXT
        ) WITHOUT ROWID;
        CREATE INDEX source_balance_by_customer ON source_balance(customer_id, date);

        CREATE TRIGGER invoice_balance_insert AFTER INSERT ON ledger_entry WHEN NEW.kind = 'invoice'
        BEGIN \(invoiceInsert) END;

        CREATE TRIGGER source_balance_insert AFTER INSERT ON ledger_entry WHEN NEW.kind IN ('payment', 'credit_memo')
        BEGIN \(sourceInsert) END;

        CREATE TRIGGER balance_effect AFTER INSERT ON ledger_entry
        WHEN NEW.kind IN ('adjustment', 'application', 'write_off', 'refund') AND NOT \(isReversed("NEW"))
        BEGIN \(effectInsert) END;

        CREATE TRIGGER balance_reversal AFTER INSERT ON ledger_entry WHEN NEW.kind = 'reversal'
        BEGIN \(reversalInsert) END;

        CREATE TRIGGER invoice_balance_immutable BEFORE DELETE ON invoice_balance
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;
        CREATE TRIGGER source_balance_immutable BEFORE DELETE ON source_balance
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;
        """

    /// The bodies of the ledger's insert triggers above, which later migrations extend
    /// (``PortfolioTotals``): SQLite runs every trigger's program for each row it may fire on,
    /// so what else an insert keeps goes into these rather than into triggers of its own.
    static let invoiceInsert = """
        INSERT INTO invoice_balance (\(invoiceColumns)) VALUES (\(invoiceRow("NEW")));
        """
    static let sourceInsert = """
        INSERT INTO source_balance (\(sourceColumns)) VALUES (\(sourceRow("NEW")));
        """
    /// Only for an effect not already reversed (the trigger's WHEN, or the caller's condition).
    static func effectInsert(when condition: String = "true") -> String {
        """
        UPDATE invoice_balance SET gross = gross + (\(invoiceEffect("NEW")))
            WHERE NEW.kind IN \(invoiceEffectKinds) AND invoice_id = NEW.target_id AND \(condition);
        UPDATE source_balance SET gross = gross - NEW.amount
            WHERE NEW.kind IN \(sourceEffectKinds) AND source_id = NEW.source_id AND \(condition);
        """
    }
    static var effectInsert: String { effectInsert() }
    static let reversalInsert = """
            UPDATE invoice_balance SET reversed_on = MIN(COALESCE(reversed_on, NEW.date), NEW.date) WHERE invoice_id = NEW.target_id;
            UPDATE source_balance SET reversed_on = MIN(COALESCE(reversed_on, NEW.date), NEW.date) WHERE source_id = NEW.target_id;
            -- Undo the reversed effect, once: only the first reversal of an entry counts.
            UPDATE invoice_balance SET gross = gross - (SELECT \(invoiceEffect("t")) FROM ledger_entry t WHERE t.id = NEW.target_id)
                WHERE invoice_id = (SELECT t.target_id FROM ledger_entry t WHERE t.id = NEW.target_id AND t.kind IN \(invoiceEffectKinds))
                  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = NEW.target_id AND r.id != NEW.id);
            UPDATE source_balance SET gross = gross + (SELECT t.amount FROM ledger_entry t WHERE t.id = NEW.target_id)
                WHERE source_id = (SELECT t.source_id FROM ledger_entry t WHERE t.id = NEW.target_id AND t.kind IN \(sourceEffectKinds))
                  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = NEW.target_id AND r.id != NEW.id);
        """

    /// A replica takes back a ledger entry the server refused (only ids listed in `retraction`
    /// may be deleted, and only a replica lists any): the balance rows of what it touched are
    /// recomputed from the ledger, and its own balance row goes with it.
    static let retraction = """
        DROP TRIGGER invoice_balance_immutable;
        CREATE TRIGGER invoice_balance_immutable BEFORE DELETE ON invoice_balance
        WHEN OLD.invoice_id NOT IN (SELECT entry_id FROM retraction)
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;
        DROP TRIGGER source_balance_immutable;
        CREATE TRIGGER source_balance_immutable BEFORE DELETE ON source_balance
        WHEN OLD.source_id NOT IN (SELECT entry_id FROM retraction)
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;

        CREATE TRIGGER balance_retraction AFTER DELETE ON ledger_entry
        BEGIN
            DELETE FROM invoice_balance WHERE invoice_id = OLD.id;
            DELETE FROM source_balance WHERE source_id = OLD.id;
            INSERT OR REPLACE INTO invoice_balance (\(invoiceColumns))
                SELECT \(invoiceRow("i")) FROM ledger_entry i WHERE i.kind = 'invoice'
                AND i.id IN (OLD.target_id, (SELECT t.target_id FROM ledger_entry t WHERE t.id = OLD.target_id));
            INSERT OR REPLACE INTO source_balance (\(sourceColumns))
                SELECT \(sourceRow("s")) FROM ledger_entry s WHERE s.kind IN ('payment', 'credit_memo')
                AND s.id IN (OLD.source_id, OLD.target_id, (SELECT t.source_id FROM ledger_entry t WHERE t.id = OLD.target_id));
        END;
        """

    /// Whether invoice balance row `r` counts as open as the ledger stands.
    private static func isOpen(_ r: String) -> String { "\(r).gross > 0 AND \(r).reversed_on IS NULL" }

    /// Adds (`sign` "+") or takes away ("-") row `r`'s part of its customer's open balance;
    /// `source` names where `r` comes from when it is not NEW or OLD.
    private static func openChange(_ r: String, _ sign: String, source: String = "WHERE true") -> String {
        """
        INSERT INTO customer_open_balance (customer_id, currency, high, low, items, inexact)
            SELECT \(r).customer_id, \(r).currency,
                CASE WHEN typeof(\(r).gross) = 'integer' THEN \(sign)(\(r).gross >> 32) ELSE 0 END,
                CASE WHEN typeof(\(r).gross) = 'integer' THEN \(sign)(\(r).gross & 4294967295) ELSE 0 END,
                \(sign)1, CASE WHEN typeof(\(r).gross) = 'integer' THEN 0 ELSE \(sign)1 END
            \(source)
            ON CONFLICT (customer_id, currency) DO UPDATE SET high = high + excluded.high, low = low + excluded.low,
                items = items + excluded.items, inexact = inexact + excluded.inexact;
        """
    }

    /// Migration "v22: open balances per customer": each customer's open invoice balance per
    /// currency, kept by triggers on `invoice_balance` (so by every path that keeps it), summed
    /// as 32-bit halves like ``WideSum`` so no sum overflows; `items` counts the open invoices
    /// and `inexact` those whose balance is no longer a 64-bit integer (the reads refuse those).
    /// A row replaced by `INSERT OR REPLACE` (a replica's retraction) fires no delete trigger,
    /// so the row's part is taken away before the insert that replaces it. The worklist reads
    /// it instead of summing every open invoice of an analyst's customers
    /// (``TenantStore/currentOpenBalanceSums(_:analystID:asOf:)``), with the partial index of open
    /// invoices by customer and due date for what is not yet due and the oldest due date (since
    /// v34 by customer, currency and due date, and covering: ``CurrentOpenBalance``).
    static let openByCustomer = """
        CREATE TABLE customer_open_balance (
            customer_id TEXT NOT NULL,
            currency TEXT NOT NULL,
            high INTEGER NOT NULL,
            low INTEGER NOT NULL,
            items INTEGER NOT NULL,
            inexact INTEGER NOT NULL,
            PRIMARY KEY (customer_id, currency)
        ) WITHOUT ROWID;
        CREATE INDEX open_invoice_by_customer_due ON invoice_balance(customer_id, due_date, currency, gross) WHERE \(isOpen("invoice_balance"));

        CREATE TRIGGER customer_open_replaced BEFORE INSERT ON invoice_balance
        WHEN EXISTS (SELECT 1 FROM invoice_balance o WHERE o.invoice_id = NEW.invoice_id AND \(isOpen("o")))
        BEGIN \(openChange("o", "-", source: "FROM invoice_balance o WHERE o.invoice_id = NEW.invoice_id")) END;
        CREATE TRIGGER customer_open_insert AFTER INSERT ON invoice_balance WHEN \(isOpen("NEW"))
        BEGIN \(openChange("NEW", "+")) END;
        CREATE TRIGGER customer_open_update_old AFTER UPDATE OF customer_id, currency, gross, reversed_on ON invoice_balance WHEN \(isOpen("OLD"))
        BEGIN \(openChange("OLD", "-")) END;
        CREATE TRIGGER customer_open_update_new AFTER UPDATE OF customer_id, currency, gross, reversed_on ON invoice_balance WHEN \(isOpen("NEW"))
        BEGIN \(openChange("NEW", "+")) END;
        CREATE TRIGGER customer_open_delete AFTER DELETE ON invoice_balance WHEN \(isOpen("OLD"))
        BEGIN \(openChange("OLD", "-")) END;

        INSERT INTO customer_open_balance (customer_id, currency, high, low, items, inexact)
            \(recomputeOpenByCustomer);
        """

    /// ``openByCustomer``'s table recomputed from `invoice_balance` alone.
    static let recomputeOpenByCustomer = """
        SELECT customer_id, currency, SUM(CASE WHEN typeof(gross) = 'integer' THEN gross >> 32 ELSE 0 END),
            SUM(CASE WHEN typeof(gross) = 'integer' THEN gross & 4294967295 ELSE 0 END), COUNT(*),
            SUM(typeof(gross) != 'integer')
        FROM invoice_balance WHERE \(isOpen("invoice_balance")) GROUP BY customer_id, currency
        """

    /// Migration "v3"'s fill of the tables it made, with v3's columns.
    static let backfill = """
        INSERT INTO invoice_balance (\(invoiceColumns)) SELECT \(invoiceRow("i")) FROM ledger_entry i WHERE i.kind = 'invoice';
        INSERT INTO source_balance (\(sourceColumns)) \(recomputeSources);
        """
}

extension TenantStore {
    /// Ids whose derived balance row differs from a recomputation from the ledger alone (or is
    /// missing, or has no ledger entry), and customers whose open balance
    /// (`customer_open_balance`) differs from their open invoices', and rows of the portfolio's
    /// totals (``PortfolioTotals``) and of the promises' progress (``InstallmentProgress``) that
    /// differ from a recomputation: empty unless the triggers are wrong. A full scan, for
    /// tests and an operator's consistency check, never on a request path.
    public func derivedBalanceMismatches() throws -> [String] {
        try writer.read { db in
            var ids: Set<String> = []
            for (table, recompute) in [("invoice_balance", DerivedBalances.recomputeInvoices), ("source_balance", DerivedBalances.recomputeSources)] {
                ids.formUnion(try String.fetchAll(db, sql: "SELECT * FROM \(table) EXCEPT \(recompute)"))
                ids.formUnion(try String.fetchAll(db, sql: "\(recompute) EXCEPT SELECT * FROM \(table)"))
            }
            // Each customer's open balance against its open invoices (ids: the customer's).
            let kept = "SELECT * FROM customer_open_balance WHERE items != 0 OR high != 0 OR low != 0 OR inexact != 0"
            ids.formUnion(try String.fetchAll(db, sql: "\(kept) EXCEPT \(DerivedBalances.recomputeOpenByCustomer)"))
            ids.formUnion(try String.fetchAll(db, sql: "\(DerivedBalances.recomputeOpenByCustomer) EXCEPT \(kept)"))
            // The portfolio's kept totals (rows described, not ids).
            ids.formUnion(try PortfolioTotals.mismatches(db))
            // What has arrived towards each promise's installments (rows described).
            ids.formUnion(try InstallmentProgress.mismatches(db))
            return ids.sorted()
        }
    }
}

extension TenantStore {
    /// Records with no line in the change log (a replica could never pull them), and change-log
    /// lines naming a record that is not there (a pull would fail on them), as "kind id" texts:
    /// empty unless a write skipped the log. A full scan of every record table, for an operator's
    /// consistency check (`dunlind check`), never on a request path.
    public func changeLogMismatches() throws -> [String] {
        try writer.read { db in
            var found: [String] = []
            for kind in RecordKind.allCases where try db.tableExists(kind.rawValue) {
                let table = kind.rawValue
                for id in try String.fetchAll(db, sql: """
                    SELECT id FROM \(table) WHERE id NOT IN (SELECT record_id FROM change_log WHERE record_kind = ?)
                    """, arguments: [table]) {
                    found.append("\(table) \(id): no change-log line")
                }
                for id in try String.fetchAll(db, sql: """
                    SELECT DISTINCT record_id FROM change_log WHERE record_kind = ? AND record_id NOT IN (SELECT id FROM \(table))
                    """, arguments: [table]) {
                    found.append("\(table) \(id): in the change log, not in the table")
                }
            }
            return found
        }
    }
}
