import DunlinCore
import GRDB

/// The portfolio's totals kept by triggers (migration "v31: portfolio totals"), so a report over
/// the whole tenant reads a few thousand rows instead of its million invoices, as of any date.
///
/// - `receivable_flow(day, currency, due, high, low)`: how the sum of the open invoice balances
///   due on `due` (the due date, else the invoice date: the aging's) changes on `day`. An invoice
///   counts from its date until its first reversal, and each live adjustment, application or
///   write-off on it counts from the later of its own date and the invoice's until the earlier of
///   their first reversals: each such interval `[start, end)` is `+amount` on `start` and
///   `-amount` on `end`. So the receivables as of a date D, per due date, are the flows of the
///   days on or before D; equal, by construction, to the as-of balances
///   ``TenantStore/agingSums(analystID:asOf:buckets:)`` sums customer by customer.
/// - `receivable_open(currency, due, high, low)`: every day's flows added, the receivables as the
///   ledger stands (future-dated entries included), kept with it. As of D: this, less the flows
///   of the days after D, the few rows a recent date needs.
/// - `ledger_day(kind, day, currency, reversed_on, high, low, items)`: the invoices, payments and
///   credit memos dated `day`, by the date of their first reversal (`''`: none), for the metrics'
///   sales and cash collected "not voided by the period's end".
///
/// Amounts are summed as 32-bit halves (``WideSum``): no sum overflows. The triggers recompute the
/// one invoice (or entry) an inserted or retracted entry touches, from the ledger, taking its old
/// part away and adding its new one, so entries may arrive in any order (a replica's merge) and a
/// retraction undoes exactly what its entry did. ``TenantStore/derivedBalanceMismatches()``
/// compares all three tables with a recomputation from the ledger alone.
enum PortfolioTotals {
    /// Sorts after every ISO date: "never reversed" as the end of an interval.
    private static let never = "'~'"

    /// The first reversal date of entry `id`, leaving out entry `excluding`; `never` without one.
    private static func firstReversal(_ id: String, excluding: String?) -> String {
        "COALESCE((SELECT MIN(r.date) FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(id)\(excludingClause("r", excluding))), \(never))"
    }

    private static func excludingClause(_ alias: String, _ excluding: String?) -> String {
        excluding.map { " AND \(alias).id IS NOT \($0)" } ?? ""
    }

    /// The flows (columns `day, currency, due, amount`) of the invoices `i` that `which` selects
    /// (a condition on alias `i`), as the ledger would stand without entry `excluding`.
    static func invoiceFlows(_ which: String, excluding: String? = nil) -> String {
        let invoiceEnd = firstReversal("i.id", excluding: excluding)
        let due = "COALESCE(i.due_date, i.date)"
        return """
            SELECT CASE k.n WHEN 0 THEN p.s ELSE p.t END AS day, p.currency, p.due,
                CASE k.n WHEN 0 THEN p.amount ELSE -p.amount END AS amount
            FROM (
                SELECT i.currency AS currency, \(due) AS due, i.date AS s, \(invoiceEnd) AS t, i.amount AS amount
                FROM ledger_entry i WHERE i.kind = 'invoice' AND \(which)\(excludingClause("i", excluding))
                UNION ALL
                SELECT i.currency, \(due), MAX(i.date, e.date), MIN(\(invoiceEnd), \(firstReversal("e.id", excluding: excluding))),
                    \(DerivedBalances.invoiceEffect("e"))
                FROM ledger_entry i JOIN ledger_entry e ON e.target_id = i.id AND e.kind IN \(DerivedBalances.invoiceEffectKinds)\(excludingClause("e", excluding))
                WHERE i.kind = 'invoice' AND \(which)\(excludingClause("i", excluding))
            ) p JOIN (SELECT 0 AS n UNION ALL SELECT 1) k
            WHERE p.amount != 0 AND p.s < p.t AND (k.n = 0 OR p.t != \(never))
            """
    }

    /// The `ledger_day` parts (columns `kind, day, currency, reversed_on, amount`) of the invoices,
    /// payments and credit memos `s` that `which` selects, without entry `excluding`.
    static func dayParts(_ which: String, excluding: String? = nil) -> String {
        """
        SELECT s.kind, s.date, s.currency, NULLIF(\(firstReversal("s.id", excluding: excluding)), \(never)) AS reversed_on, s.amount
        FROM ledger_entry s WHERE s.kind IN \(dayKinds) AND \(which)\(excludingClause("s", excluding))
        """
    }


    /// Adds `flows` times `sign` (an SQL expression, 1 or -1) to `receivable_flow` and, without
    /// the day, to `receivable_open`.
    private static func addFlows(_ flows: String, _ sign: String) -> String {
        """
        INSERT INTO receivable_flow (day, currency, due, high, low)
            SELECT day, currency, due, \(sign) * (amount >> 32), \(sign) * (amount & 4294967295) FROM (\(flows)) WHERE true
            ON CONFLICT (day, currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
        INSERT INTO receivable_open (currency, due, high, low)
            SELECT currency, due, \(sign) * (amount >> 32), \(sign) * (amount & 4294967295) FROM (\(flows)) WHERE true
            ON CONFLICT (currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
        """
    }

    private static func addDays(_ parts: String, _ sign: String) -> String {
        """
        INSERT INTO ledger_day (kind, day, currency, reversed_on, high, low, items)
            SELECT kind, date, currency, COALESCE(reversed_on, ''), \(sign) * (amount >> 32), \(sign) * (amount & 4294967295), \(sign)
            FROM (\(parts)) WHERE true
            ON CONFLICT (kind, day, currency, reversed_on) DO UPDATE SET
                high = high + excluded.high, low = low + excluded.low, items = items + excluded.items;
        """
    }

    /// The invoice entry `x` (NEW or OLD) touches: itself, its target, or its target's target.
    private static func touchedInvoice(_ x: String) -> String {
        """
        CASE WHEN \(x).kind = 'invoice' THEN \(x).id
            WHEN \(x).kind IN \(DerivedBalances.invoiceEffectKinds) THEN \(x).target_id
            WHEN \(x).kind = 'reversal' THEN (SELECT CASE WHEN t.kind = 'invoice' THEN t.id ELSE t.target_id END
                FROM ledger_entry t WHERE t.id = \(x).target_id AND t.kind IN ('invoice', 'adjustment', 'application', 'write_off'))
            END
        """
    }

    /// The invoice, payment or credit memo entry `x` touches: itself or its target.
    private static func touchedDay(_ x: String) -> String {
        "CASE WHEN \(x).kind = 'reversal' THEN \(x).target_id ELSE \(x).id END"
    }

    /// Whether some entry already targets entry `x` (one arrived before it, as a merge may order them).
    private static func targeted(_ x: String) -> String {
        "EXISTS (SELECT 1 FROM ledger_entry t WHERE t.target_id = \(x).id)"
    }

    /// Queues the recomputation of what entry `x` touches, `sign` 1 or -1, without entry `excluding`.
    private static func touch(_ x: String, _ sign: Int, excluding: String = "NULL") -> String {
        """
        INSERT INTO portfolio_touch (invoice_id, day_id, excluded, sign) VALUES (\(touchedInvoice(x)), \(touchedDay(x)), \(excluding), \(sign));
        """
    }

    static let touching = "('invoice', 'adjustment', 'application', 'write_off', 'payment', 'credit_memo', 'reversal')"
    static let dayKinds = "('invoice', 'payment', 'credit_memo')"

    /// SQLite runs a trigger's whole program, WHEN clause included, for every row it may fire on,
    /// at a cost that grows with the program: so the ledger's own triggers are small (the common
    /// case, an invoice or payment nothing targets yet, adds its part directly; any other entry
    /// queues what it touches in `portfolio_touch`), and the recomputation is the trigger of
    /// that queue, which runs only for the entries that need it and empties the queue again.
    static let schema = """
        CREATE TABLE receivable_flow (
            day TEXT NOT NULL,
            currency TEXT NOT NULL,
            due TEXT NOT NULL,
            high INTEGER NOT NULL,
            low INTEGER NOT NULL,
            PRIMARY KEY (day, currency, due)
        ) WITHOUT ROWID;
        CREATE TABLE receivable_open (
            currency TEXT NOT NULL,
            due TEXT NOT NULL,
            high INTEGER NOT NULL,
            low INTEGER NOT NULL,
            PRIMARY KEY (currency, due)
        ) WITHOUT ROWID;
        CREATE TABLE ledger_day (
            kind TEXT NOT NULL,
            day TEXT NOT NULL,
            currency TEXT NOT NULL,
            reversed_on TEXT NOT NULL,
            high INTEGER NOT NULL,
            low INTEGER NOT NULL,
            items INTEGER NOT NULL,
            PRIMARY KEY (kind, day, currency, reversed_on)
        ) WITHOUT ROWID;
        -- Empty outside a ledger insert or retraction (its trigger deletes each row it handles).
        CREATE TABLE portfolio_touch (invoice_id TEXT, day_id TEXT, excluded TEXT, sign INTEGER NOT NULL);

        CREATE TRIGGER portfolio_touch_apply AFTER INSERT ON portfolio_touch
        BEGIN
            \(addFlows(invoiceFlows("i.id = NEW.invoice_id", excluding: "NEW.excluded"), "NEW.sign"))
            \(addDays(dayParts("s.id = NEW.day_id", excluding: "NEW.excluded"), "NEW.sign"))
            DELETE FROM portfolio_touch WHERE rowid = NEW.rowid;
        END;

        CREATE TRIGGER portfolio_totals_insert_new AFTER INSERT ON ledger_entry
        WHEN NEW.kind IN \(dayKinds) AND NOT \(targeted("NEW"))
        BEGIN
            INSERT INTO receivable_flow (day, currency, due, high, low)
                SELECT NEW.date, NEW.currency, COALESCE(NEW.due_date, NEW.date), NEW.amount >> 32, NEW.amount & 4294967295
                WHERE NEW.kind = 'invoice' AND NEW.amount != 0
                ON CONFLICT (day, currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
            INSERT INTO receivable_open (currency, due, high, low)
                SELECT NEW.currency, COALESCE(NEW.due_date, NEW.date), NEW.amount >> 32, NEW.amount & 4294967295
                WHERE NEW.kind = 'invoice' AND NEW.amount != 0
                ON CONFLICT (currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
            INSERT INTO ledger_day (kind, day, currency, reversed_on, high, low, items)
                VALUES (NEW.kind, NEW.date, NEW.currency, '', NEW.amount >> 32, NEW.amount & 4294967295, 1)
                ON CONFLICT (kind, day, currency, reversed_on) DO UPDATE SET
                    high = high + excluded.high, low = low + excluded.low, items = items + excluded.items;
        END;
        CREATE TRIGGER portfolio_totals_insert AFTER INSERT ON ledger_entry
        WHEN NEW.kind IN \(touching) AND NOT (NEW.kind IN \(dayKinds) AND NOT \(targeted("NEW")))
        BEGIN
            \(touch("NEW", -1, excluding: "NEW.id"))
            \(touch("NEW", 1))
        END;
        -- A replica's retraction (the one delete the ledger allows): the touched entry's part
        -- with the retracted entry, taken away before; without it, added after.
        CREATE TRIGGER portfolio_totals_retracting BEFORE DELETE ON ledger_entry WHEN OLD.kind IN \(touching)
        BEGIN \(touch("OLD", -1)) END;
        CREATE TRIGGER portfolio_totals_retracted AFTER DELETE ON ledger_entry WHEN OLD.kind IN \(touching)
        BEGIN \(touch("OLD", 1)) END;

        \(addFlows(invoiceFlows("true"), "1"))
        \(addDays(dayParts("true"), "1"))
        """

    /// Each table recomputed from the ledger alone, rows that are all zeros left out, in the
    /// tables' column order.
    static let recomputeFlows = """
        SELECT day, currency, due, SUM(amount >> 32), SUM(amount & 4294967295) FROM (\(invoiceFlows("true")))
        GROUP BY day, currency, due HAVING SUM(amount >> 32) != 0 OR SUM(amount & 4294967295) != 0
        """
    static let recomputeOpen = """
        SELECT currency, due, SUM(amount >> 32), SUM(amount & 4294967295) FROM (\(invoiceFlows("true")))
        GROUP BY currency, due HAVING SUM(amount >> 32) != 0 OR SUM(amount & 4294967295) != 0
        """
    static let recomputeDays = """
        SELECT kind, date, currency, COALESCE(reversed_on, ''), SUM(amount >> 32), SUM(amount & 4294967295), COUNT(*)
        FROM (\(dayParts("true"))) GROUP BY kind, date, currency, COALESCE(reversed_on, '')
        """

    /// The kept rows (all-zero rows left out) against ``recomputeFlows`` and the others: a
    /// description of each row that differs, empty when the triggers are right.
    static func mismatches(_ db: Database) throws -> [String] {
        var found: [String] = []
        for (table, recompute, nonzero) in [
            ("receivable_flow", recomputeFlows, "high != 0 OR low != 0"),
            ("receivable_open", recomputeOpen, "high != 0 OR low != 0"),
            ("ledger_day", recomputeDays, "items != 0"),
        ] {
            let kept = "SELECT * FROM \(table) WHERE \(nonzero)"
            for sql in ["\(kept) EXCEPT \(recompute)", "\(recompute) EXCEPT \(kept)"] {
                for row in try Row.fetchAll(db, sql: sql) {
                    found.append("\(table): " + row.databaseValues.map(\.description).joined(separator: " "))
                }
            }
        }
        return found
    }
}

extension TenantStore {
    /// The receivables of the whole tenant as of `asOf`, per currency and bucket, from the kept
    /// totals (``PortfolioTotals``): the balances as the ledger stands per currency and due date,
    /// less the flows of the days after `asOf`. Equal to adding up every row
    /// ``agingSums(analystID:asOf:buckets:)`` makes, without reading an invoice: a few thousand rows.
    public func agingTotals(asOf: CivilDate, buckets: AgingBuckets) throws -> [Currency: [Int128]] {
        try writer.read { db in try Self.agingTotals(db, asOf: asOf, buckets: buckets) }
    }

    static func agingTotals(_ db: Database, asOf: CivilDate, buckets: AgingBuckets) throws -> [Currency: [Int128]] {
        let thresholds = Self.agingThresholds(asOf: asOf, buckets: buckets)
        var totals: [Currency: [Int128]] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT currency, due, SUM(high), SUM(low) FROM (
                SELECT currency, due, high, low FROM receivable_open
                UNION ALL
                SELECT currency, due, -high, -low FROM receivable_flow WHERE day > ?
            ) GROUP BY currency, due
            """, arguments: [asOf.description])
        while let row = try rows.next() {
            let amount = WideSum.value(row, at: 2)
            guard amount != 0, let currency = Currency(code: row[0]) else { continue }
            let due: String = row[1]
            let bucket = thresholds.firstIndex { due >= $0 } ?? thresholds.count
            totals[currency, default: Array(repeating: 0, count: buckets.count)][bucket] += amount
        }
        return totals
    }

    /// Bucket k of an aging as of `asOf` holds what is at most `bounds[k]` days past due, that is
    /// due on or after threshold k (ISO dates compare as text); the last bucket, the rest.
    static func agingThresholds(asOf: CivilDate, buckets: AgingBuckets) -> [String] {
        buckets.bounds.map { bound -> String in
            let day = asOf.daysSinceEpoch - bound
            return day < CivilDate(year: 1, month: 1, day: 1)!.daysSinceEpoch ? "0000-00-00" : CivilDate(daysSinceEpoch: day).description
        }
    }
}
