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
/// Amounts are summed as 32-bit halves (``WideSum``): no sum overflows. An arriving invoice adds
/// its part (and that of any effect that came before it), an effect its own, an invoice, payment
/// or credit memo its day; a reversal or a retraction recomputes the one invoice (or entry) it
/// touches from the ledger, taking its old part away and adding its new one. So entries may
/// arrive in any order (a replica's merge) and a retraction undoes exactly what its entry did. ``TenantStore/derivedBalanceMismatches()``
/// compares all three tables with a recomputation from the ledger alone.
enum PortfolioTotals {
    /// Sorts after every ISO date: "never reversed" as the end of an interval.
    private static let never = "'~'"

    /// What a recomputation leaves out of the ledger: one entry (`entry`, an SQL expression of
    /// its id: a reversal's or a retraction's own), or every entry inserted after a rowid (`after`,
    /// an SQL expression: the entries of a bulk batch, ``BulkDerivation``).
    enum Without {
        case entry(String)
        case after(String)
    }

    /// The first reversal date of entry `id`, leaving out entry `excluding`; `never` without one.
    private static func firstReversal(_ id: String, excluding: Without?) -> String {
        "COALESCE((SELECT MIN(r.date) FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = \(id)\(excludingClause("r", excluding))), \(never))"
    }

    private static func excludingClause(_ alias: String, _ excluding: Without?) -> String {
        switch excluding {
        case nil: ""
        case .entry(let id): " AND \(alias).id IS NOT \(id)"
        case .after(let rowid): " AND \(alias).rowid <= \(rowid)"
        }
    }

    /// The flows (columns `day, currency, due, amount`) of the invoices `i` that `which` selects
    /// (a condition on alias `i`), as the ledger would stand without entry `excluding`.
    static func invoiceFlows(_ which: String, excluding: String? = nil) -> String {
        invoiceFlows(which, without: excluding.map(Without.entry))
    }

    /// ``invoiceFlows(_:excluding:)`` as the ledger would stand without what `excluding` names.
    static func invoiceFlows(_ which: String, without excluding: Without?) -> String {
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
        dayParts(which, without: excluding.map(Without.entry))
    }

    /// ``dayParts(_:excluding:)`` as the ledger would stand without what `excluding` names.
    static func dayParts(_ which: String, without excluding: Without?) -> String {
        """
        SELECT s.kind, s.date, s.currency, NULLIF(\(firstReversal("s.id", excluding: excluding)), \(never)) AS reversed_on, s.amount
        FROM ledger_entry s WHERE s.kind IN \(dayKinds) AND \(which)\(excludingClause("s", excluding))
        """
    }


    /// Adds `flows` times `sign` (an SQL expression, 1 or -1) to `receivable_flow` and, without
    /// the day, to `receivable_open`.
    private static func addFlows(_ flows: String, _ sign: String) -> String {
        addPart(day: "day", amount: "amount", currency: "currency", due: "due", from: "FROM (\(flows))", where: "true", sign: sign)
    }

    /// Adds `parts` (``dayParts(_:excluding:)``) times `sign` to `ledger_day`.
    private static func addDays(_ parts: String, _ sign: String) -> String {
        addDay(of: "", reversedOn: "reversed_on", from: "FROM (\(parts))", sign: sign)
    }

    /// Adds one day's part of the entries (columns `kind, date, currency, amount`, prefixed by
    /// `alias`) that `from` gives, voided on `reversedOn` (NULL: not), times `sign`.
    private static func addDay(of alias: String, reversedOn: String, from: String = "", sign: String = "1") -> String {
        """
        INSERT INTO ledger_day (kind, day, currency, reversed_on, high, low, items)
            SELECT \(alias)kind, \(alias)date, \(alias)currency, COALESCE(\(reversedOn), ''),
                \(sign) * (\(alias)amount >> 32), \(sign) * (\(alias)amount & 4294967295), \(sign)
            \(from) WHERE true
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

    /// Queues the recomputation of what entry `x` touches, `sign` 1 or -1, without entry `excluding`.
    private static func touch(_ x: String, _ sign: Int, excluding: String = "NULL") -> String {
        """
        INSERT INTO portfolio_touch (invoice_id, day_id, excluded, sign) VALUES (\(touchedInvoice(x)), \(touchedDay(x)), \(excluding), \(sign));
        """
    }

    /// Adds one flow: `amount` on `day`, of the invoice whose currency and due date are
    /// `currency` and `due`, for each row `from` and `condition` give (none, usually), times
    /// `sign`. A flow is summed as its own 32-bit halves, times the sign, so taking a part away
    /// cancels exactly the halves that adding it put there.
    private static func addPart(
        day: String, amount: String, currency: String, due: String, from: String = "", where condition: String, sign: String = "1"
    ) -> String {
        """
        INSERT INTO receivable_flow (day, currency, due, high, low)
            SELECT \(day), \(currency), \(due), \(sign) * ((\(amount)) >> 32), \(sign) * ((\(amount)) & 4294967295) \(from) WHERE \(condition)
            ON CONFLICT (day, currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
        INSERT INTO receivable_open (currency, due, high, low)
            SELECT \(currency), \(due), \(sign) * ((\(amount)) >> 32), \(sign) * ((\(amount)) & 4294967295) \(from) WHERE \(condition)
            ON CONFLICT (currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low;
        """
    }

    /// An invoice arrives: its interval from its date to its first reversal, and that of each
    /// effect already on it (a merge may bring them first), as ``invoiceFlows(_:excluding:)`` has them.
    private static var invoiceArrives: String {
        let end = firstReversal("NEW.id", excluding: nil), effectEnd = "MIN(\(end), \(firstReversal("e.id", excluding: nil)))"
        let effect = DerivedBalances.invoiceEffect("e"), start = "MAX(NEW.date, e.date)"
        let currency = "NEW.currency", due = "COALESCE(NEW.due_date, NEW.date)"
        let effects = "FROM ledger_entry e"
        let onIt = "e.target_id = NEW.id AND e.kind IN \(DerivedBalances.invoiceEffectKinds) AND (\(effect)) != 0 AND \(start) < \(effectEnd)"
        return addPart(day: "NEW.date", amount: "NEW.amount", currency: currency, due: due, where: "NEW.amount != 0 AND NEW.date < \(end)")
            + addPart(day: end, amount: "-NEW.amount", currency: currency, due: due, where: "NEW.amount != 0 AND NEW.date < \(end) AND \(end) != \(never)")
            + addPart(day: start, amount: effect, currency: currency, due: due, from: effects, where: onIt)
            + addPart(day: effectEnd, amount: "-(\(effect))", currency: currency, due: due, from: effects, where: "\(onIt) AND \(effectEnd) != \(never)")
    }

    /// An adjustment, application or write-off arrives: its own interval on its invoice, when
    /// the invoice is there (else the invoice's arrival counts it).
    private static var effectArrives: String {
        let end = "MIN(\(firstReversal("i.id", excluding: nil)), \(firstReversal("NEW.id", excluding: nil)))"
        let effect = DerivedBalances.invoiceEffect("NEW"), start = "MAX(i.date, NEW.date)"
        let currency = "i.currency", due = "COALESCE(i.due_date, i.date)", invoice = "FROM ledger_entry i"
        let onIt = "i.id = NEW.target_id AND i.kind = 'invoice' AND NEW.kind IN \(DerivedBalances.invoiceEffectKinds) AND (\(effect)) != 0 AND \(start) < \(end)"
        return addPart(day: start, amount: effect, currency: currency, due: due, from: invoice, where: onIt)
            + addPart(day: end, amount: "-(\(effect))", currency: currency, due: due, from: invoice, where: "\(onIt) AND \(end) != \(never)")
    }

    /// An invoice, payment or credit memo arrives: its day, by its first reversal if one came first.
    private static var dayArrives: String {
        addDay(of: "NEW.", reversedOn: "NULLIF(\(firstReversal("NEW.id", excluding: nil)), \(never))")
    }

    static let touching = "('invoice', 'adjustment', 'application', 'write_off', 'payment', 'credit_memo', 'reversal')"
    static let dayKinds = "('invoice', 'payment', 'credit_memo')"

    /// SQLite runs a trigger's whole program, WHEN clause included, for every row it may fire on
    /// (measured: a trigger whose WHEN is false for an import's invoices still cost it about as
    /// much as one doing the work). So nothing here adds a trigger to a ledger insert: the
    /// additions go into the ledger's existing insert triggers, redefined with them, and a
    /// reversal's recomputation into the queue `portfolio_touch`, whose trigger runs only for
    /// the rows queued and empties it again.
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

        -- What an insert adds goes into the ledger's existing insert triggers (no program run
        -- more per row): an invoice its own part and that of the effects already on it, an
        -- effect its own part, an invoice, payment or credit memo its day; a reversal queues the
        -- recomputation of what it touches.
        \(invoiceInserted.redefinition)
        \(sourceInserted.redefinition)
        \(effectInserted.redefinition)
        \(reversalInserted.redefinition)
        -- A replica's retraction (the one delete the ledger allows): the touched entry's part
        -- with the retracted entry, taken away before; without it, added after.
        CREATE TRIGGER portfolio_totals_retracting BEFORE DELETE ON ledger_entry WHEN OLD.kind IN \(touching)
        BEGIN \(touch("OLD", -1)) END;
        CREATE TRIGGER portfolio_totals_retracted AFTER DELETE ON ledger_entry WHEN OLD.kind IN \(touching)
        BEGIN \(touch("OLD", 1)) END;

        \(addFlows(invoiceFlows("true"), "1"))
        \(addDays(dayParts("true"), "1"))
        """

    /// The ledger's insert triggers as this migration defines them; a later migration that keeps
    /// something more on a ledger insert redefines them with its statements ``LedgerInsertTrigger/adding(_:)``.
    static let invoiceInserted = LedgerInsertTrigger(
        name: "invoice_balance_insert", when: "NEW.kind = 'invoice'", body: DerivedBalances.invoiceInsert + invoiceArrives + dayArrives
    )
    static let sourceInserted = LedgerInsertTrigger(
        name: "source_balance_insert", when: "NEW.kind IN ('payment', 'credit_memo')", body: DerivedBalances.sourceInsert + dayArrives
    )
    static let effectInserted = LedgerInsertTrigger(
        name: "balance_effect", when: "NEW.kind IN ('adjustment', 'application', 'write_off', 'refund')",
        body: DerivedBalances.effectInsert(when: "NOT \(DerivedBalances.isReversed("NEW"))") + effectArrives
    )
    static let reversalInserted = LedgerInsertTrigger(
        name: "balance_reversal", when: "NEW.kind = 'reversal'",
        body: DerivedBalances.reversalInsert + touch("NEW", -1, excluding: "NEW.id") + touch("NEW", 1)
    )

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
        try writer.read { db in try Self.agingTotals(db, asOf: [asOf], buckets: buckets)[asOf] ?? [:] }
    }

    /// ``agingTotals(asOf:buckets:)`` on each of `days`, in one read: the balances as the ledger
    /// stands, then, day by day from the latest back, less the flows after each. A year's monthly
    /// metrics read the flows once instead of twelve times (an early month's as-of took nearly
    /// every flow of the year).
    public func agingTotals(asOf days: [CivilDate], buckets: AgingBuckets) throws -> [CivilDate: [Currency: [Int128]]] {
        try writer.read { db in try Self.agingTotals(db, asOf: days, buckets: buckets) }
    }

    static func agingTotals(_ db: Database, asOf days: [CivilDate], buckets: AgingBuckets) throws -> [CivilDate: [Currency: [Int128]]] {
        let latestFirst = Set(days).sorted(by: >)
        guard let earliest = latestFirst.last else { return [:] }
        struct Key: Hashable { var currency: String; var due: String }
        var open: [Key: Int128] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT currency, due, high, low FROM receivable_open")
        while let row = try rows.next() { open[Key(currency: row[0], due: row[1]), default: 0] += WideSum.value(row, at: 2) }
        // The flows after the earliest day, latest first: each is taken off before the totals of
        // the days before it are read.
        let flows = try Row.fetchCursor(db, sql: """
            SELECT day, currency, due, high, low FROM receivable_flow WHERE day > ? ORDER BY day DESC
            """, arguments: [earliest.description])
        var pending = try flows.next()
        var totals: [CivilDate: [Currency: [Int128]]] = [:]
        for day in latestFirst {
            let text = day.description
            while let row = pending, row[0] as String > text {
                open[Key(currency: row[1], due: row[2]), default: 0] -= WideSum.value(row, at: 3)
                pending = try flows.next()
            }
            let thresholds = Self.agingThresholds(asOf: day, buckets: buckets)
            var sums: [Currency: [Int128]] = [:]
            for (key, amount) in open where amount != 0 {
                guard let currency = Currency(code: key.currency) else { continue }
                let bucket = thresholds.firstIndex { key.due >= $0 } ?? thresholds.count
                sums[currency, default: Array(repeating: 0, count: buckets.count)][bucket] += amount
            }
            totals[day] = AgingReport.nonZero(sums)
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

/// One of the ledger's `AFTER INSERT` triggers, by name, the entries it fires on and its body.
/// SQLite runs a trigger's whole program for every row it may fire on, so what another kept table
/// needs on a ledger insert is added to these bodies (``adding(_:)``) rather than put in a
/// trigger of its own.
struct LedgerInsertTrigger {
    var name: String
    var when: String
    var body: String

    /// The same trigger with `statements` run after its body.
    func adding(_ statements: String) -> LedgerInsertTrigger {
        LedgerInsertTrigger(name: name, when: when, body: body + "\n" + statements)
    }

    /// The SQL that replaces the trigger of this name with this one.
    var redefinition: String {
        """
        DROP TRIGGER \(name);
        CREATE TRIGGER \(name) AFTER INSERT ON ledger_entry WHEN \(when)
        BEGIN
            \(body)
        END;
        """
    }
}
