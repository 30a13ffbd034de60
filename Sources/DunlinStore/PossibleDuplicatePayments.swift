import DunlinSync

/// The payments that have a possible duplicate (migration "v19"): every live-or-not payment of an
/// identified customer with another payment of the same customer, currency, amount and reference
/// within ``DunlinSync/LedgerInvariants/duplicateWindowDays`` days. A trigger on `ledger_entry`
/// inserts keeps the table, in the inserting transaction, so the invariant check reads these few
/// rows instead of probing every payment of the tenant for a match on each check.
///
/// The ledger is insert-only, so a pair that matches once matches for good: each insert adds
/// itself and its matches when it has any. The one delete, a replica's retraction of a refused
/// entry, removes that payment; a partner it leaves may then have no match, which is harmless:
/// ``DunlinSync/LedgerInvariants/possibleDuplicatePayments(in:)`` forms clusters only of payments
/// with a match nearby, so a superset of the matched payments gives the same answer.
///
/// The window is fixed in the trigger's SQL: a change to ``DunlinSync/LedgerInvariants/duplicateWindowDays``
/// needs a migration that replaces the trigger and refills the table.
enum PossibleDuplicatePayments {
    /// Payments `q` matching payment `p` (an alias or NEW): what the `ledger_entry_payment_match`
    /// index serves.
    static func matches(_ p: String) -> String {
        let window = LedgerInvariants.duplicateWindowDays
        return """
            SELECT q.id FROM ledger_entry q WHERE q.kind = 'payment' AND q.customer_id = \(p).customer_id AND q.currency = \(p).currency
               AND q.amount = \(p).amount AND q.reference = \(p).reference AND q.id != \(p).id
               AND q.date BETWEEN date(\(p).date, '-\(window) days') AND date(\(p).date, '+\(window) days')
            """
    }

    static var schema: String {
        """
        CREATE TABLE possible_duplicate_payment (payment_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        INSERT INTO possible_duplicate_payment (payment_id)
            SELECT p.id FROM ledger_entry p WHERE p.kind = 'payment' AND p.customer_id != '' AND EXISTS (\(matches("p")));
        CREATE TRIGGER ledger_entry_possible_duplicate AFTER INSERT ON ledger_entry
        WHEN NEW.kind = 'payment' AND NEW.customer_id != ''
        BEGIN
            INSERT OR IGNORE INTO possible_duplicate_payment (payment_id) \(matches("NEW"));
            INSERT OR IGNORE INTO possible_duplicate_payment (payment_id) SELECT NEW.id WHERE EXISTS (\(matches("NEW")));
        END;
        CREATE TRIGGER ledger_entry_possible_duplicate_retracted AFTER DELETE ON ledger_entry
        WHEN OLD.kind = 'payment'
        BEGIN
            DELETE FROM possible_duplicate_payment WHERE payment_id = OLD.id;
        END;
        """
    }
}
