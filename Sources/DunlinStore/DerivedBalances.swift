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
        \(i).amount + COALESCE((SELECT SUM(\(invoiceEffect("e"))) FROM ledger_entry e
            WHERE e.target_id = \(i).id AND e.kind IN \(invoiceEffectKinds) AND NOT \(isReversed("e"))), 0),
        (SELECT MIN(r.date) FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(i).id)
        """
    }

    /// The row values of the balance of payment or credit memo `s`.
    static func sourceRow(_ s: String) -> String {
        """
        \(s).id, \(s).customer_id, \(s).currency, \(s).date,
        \(s).amount - COALESCE((SELECT SUM(e.amount) FROM ledger_entry e
            WHERE e.source_id = \(s).id AND e.kind IN \(sourceEffectKinds) AND NOT \(isReversed("e"))), 0),
        (SELECT MIN(r.date) FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(s).id)
        """
    }

    static let invoiceColumns = "invoice_id, customer_id, currency, date, due_date, gross, reversed_on"
    static let sourceColumns = "source_id, customer_id, currency, date, gross, reversed_on"

    /// Both tables recomputed from the ledger alone, in the tables' column order.
    static let recomputeInvoices = "SELECT \(invoiceRow("i")) FROM ledger_entry i WHERE i.kind = 'invoice'"
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
        BEGIN
            INSERT INTO invoice_balance (\(invoiceColumns)) VALUES (\(invoiceRow("NEW")));
        END;

        CREATE TRIGGER source_balance_insert AFTER INSERT ON ledger_entry WHEN NEW.kind IN ('payment', 'credit_memo')
        BEGIN
            INSERT INTO source_balance (\(sourceColumns)) VALUES (\(sourceRow("NEW")));
        END;

        CREATE TRIGGER balance_effect AFTER INSERT ON ledger_entry
        WHEN NEW.kind IN ('adjustment', 'application', 'write_off', 'refund') AND NOT \(isReversed("NEW"))
        BEGIN
            UPDATE invoice_balance SET gross = gross + (\(invoiceEffect("NEW")))
                WHERE NEW.kind IN \(invoiceEffectKinds) AND invoice_id = NEW.target_id;
            UPDATE source_balance SET gross = gross - NEW.amount
                WHERE NEW.kind IN \(sourceEffectKinds) AND source_id = NEW.source_id;
        END;

        CREATE TRIGGER balance_reversal AFTER INSERT ON ledger_entry WHEN NEW.kind = 'reversal'
        BEGIN
            UPDATE invoice_balance SET reversed_on = MIN(COALESCE(reversed_on, NEW.date), NEW.date) WHERE invoice_id = NEW.target_id;
            UPDATE source_balance SET reversed_on = MIN(COALESCE(reversed_on, NEW.date), NEW.date) WHERE source_id = NEW.target_id;
            -- Undo the reversed effect, once: only the first reversal of an entry counts.
            UPDATE invoice_balance SET gross = gross - (SELECT \(invoiceEffect("t")) FROM ledger_entry t WHERE t.id = NEW.target_id)
                WHERE invoice_id = (SELECT t.target_id FROM ledger_entry t WHERE t.id = NEW.target_id AND t.kind IN \(invoiceEffectKinds))
                  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = NEW.target_id AND r.id != NEW.id);
            UPDATE source_balance SET gross = gross + (SELECT t.amount FROM ledger_entry t WHERE t.id = NEW.target_id)
                WHERE source_id = (SELECT t.source_id FROM ledger_entry t WHERE t.id = NEW.target_id AND t.kind IN \(sourceEffectKinds))
                  AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = NEW.target_id AND r.id != NEW.id);
        END;

        CREATE TRIGGER invoice_balance_immutable BEFORE DELETE ON invoice_balance
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;
        CREATE TRIGGER source_balance_immutable BEFORE DELETE ON source_balance
        BEGIN SELECT RAISE(ABORT, 'derived balances follow the ledger; they are never deleted'); END;
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

    static let backfill = """
        INSERT INTO invoice_balance (\(invoiceColumns)) \(recomputeInvoices);
        INSERT INTO source_balance (\(sourceColumns)) \(recomputeSources);
        """
}

extension TenantStore {
    /// Ids whose derived balance row differs from a recomputation from the ledger alone (or is
    /// missing, or has no ledger entry): empty unless the triggers are wrong. A full scan, for
    /// tests and an operator's consistency check, never on a request path.
    public func derivedBalanceMismatches() throws -> [String] {
        try writer.read { db in
            var ids: Set<String> = []
            for (table, recompute) in [("invoice_balance", DerivedBalances.recomputeInvoices), ("source_balance", DerivedBalances.recomputeSources)] {
                ids.formUnion(try String.fetchAll(db, sql: "SELECT * FROM \(table) EXCEPT \(recompute)"))
                ids.formUnion(try String.fetchAll(db, sql: "\(recompute) EXCEPT SELECT * FROM \(table)"))
            }
            return ids.sorted()
        }
    }
}
