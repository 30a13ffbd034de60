import DunlinCore
import GRDB

/// What has arrived towards each promise to pay, installment by installment, kept by triggers
/// (migration "v32: installment progress"), so the worklist reads a few columns per promise
/// instead of every promise's applications, invoice list and plan on every request.
///
/// - `promise_invoice(invoice_id, promise_id)`: the invoices each live promise is for (its
///   `invoice_ids`), the way from an application to the promises it may count towards.
/// - `installment_progress`: one row per installment of each live promise (a promise of one
///   payment: one, its amount by its promised date), in the worklist's order (customer, promised
///   date, promise, installment), with the promise's currency, `made_on` and promised date, the
///   installment's due date, deadline (due date plus ``DunlinCore/PromiseToPay/defaultGraceDays``,
///   fixed in the SQL: a change of the grace period needs a migration; NULL past 9999-12-31) and
///   amount, what the earlier installments add up to (`before`), and what arrived towards the
///   plan by the due date (`by_due`) and by the deadline (`by_deadline`).
///
/// "Arrived" is what ``DunlinCore/PromiseToPay/evaluate(applications:asOf:graceDays:)`` counts: the
/// live (unreversed) applications of payments, positive and in the promise's currency, to one of
/// its invoices, dated from the day it was made. Those two sums are all an evaluation needs on
/// the days the worklist asks about: after the deadline (broken, partly kept or kept, from
/// `by_deadline`) and on the due date (due today unless kept, from `by_due`); the rule itself is
/// ``DunlinCore/InstallmentEvaluation/init(installment:received:before:asOf:deadline:)``, shared
/// with the evaluation from the applications. Sums are kept as 32-bit halves (``WideSum``), so
/// none overflows, and are saturated to 64 bits when read, as the evaluation saturates them.
///
/// A promise's write (insert, update, tombstone, a replica's removal) rebuilds its rows. A ledger
/// insert that can change what counts (an application, the payment it applies if that comes
/// later, the application's reversal) recomputes the sums of the promises on the invoices it
/// touches, in the ledger's existing insert triggers (``LedgerInsertTrigger``: no trigger of its
/// own on ledger inserts); a replica's retraction of one of those does the same after the
/// delete. So entries and promises may arrive in any order, as a merge brings them.
/// ``TenantStore/derivedBalanceMismatches()`` compares both tables with a recomputation from the
/// promises and the ledger alone.
enum InstallmentProgress {
    static let columns = """
        customer_id, promised_date, promise_id, number, currency, made_on, due_date, deadline, amount,
        before_high, before_low, by_due_high, by_due_low, by_deadline_high, by_deadline_low
        """

    /// The installments of the promises `p` that `which` selects, in ``columns``' order (and
    /// names) up to `before_low`: a plan's from its `installments` (minor units are text in the sync form), a
    /// single payment's its amount by its promised date.
    private static func plans(_ which: String) -> String {
        let minor = "CAST(json_extract(j.value, '$.amount.minor') AS INTEGER)"
        let deadline = { (due: String) in "date(\(due), '+\(PromiseToPay.defaultGraceDays) days')" }
        return """
            SELECT p.customer_id AS customer_id, p.promised_date AS promised_date, p.id AS promise_id, 0 AS number, p.currency AS currency,
                p.made_on AS made_on, p.promised_date AS due_date, \(deadline("p.promised_date")) AS deadline, p.amount AS amount,
                0 AS before_high, 0 AS before_low
            FROM promise_to_pay p WHERE \(which) AND json_array_length(p.installments) = 0
            UNION ALL
            SELECT p.customer_id, p.promised_date, p.id, j.key, p.currency, p.made_on, json_extract(j.value, '$.due_date'),
                \(deadline("json_extract(j.value, '$.due_date')")), \(minor),
                COALESCE(SUM(\(minor) >> 32) OVER earlier, 0), COALESCE(SUM(\(minor) & 4294967295) OVER earlier, 0)
            FROM promise_to_pay p, json_each(p.installments) j WHERE \(which)
            WINDOW earlier AS (PARTITION BY p.id ORDER BY j.key ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
            """
    }

    /// "Application `a` counts towards installment `k`" (aliases), but for the invoice test.
    private static func counts(_ a: String, towards k: String) -> String {
        """
        \(a).kind = 'application' AND \(a).amount > 0 AND \(a).currency = \(k).currency
            AND \(a).date >= \(k).made_on AND \(a).date <= COALESCE(\(k).deadline, \(k).due_date)
            AND EXISTS (SELECT 1 FROM ledger_entry s WHERE s.id = \(a).source_id AND s.kind = 'payment')
            AND NOT \(DerivedBalances.isReversed(a))
        """
    }

    /// The four sums of installment `k` over the applications `a` the rest of the query gives.
    private static func sums(_ a: String, _ k: String) -> String {
        """
        COALESCE(SUM(\(a).amount >> 32) FILTER (WHERE \(a).date <= \(k).due_date), 0),
        COALESCE(SUM(\(a).amount & 4294967295) FILTER (WHERE \(a).date <= \(k).due_date), 0),
        COALESCE(SUM(\(a).amount >> 32) FILTER (WHERE \(a).date <= \(k).deadline), 0),
        COALESCE(SUM(\(a).amount & 4294967295) FILTER (WHERE \(a).date <= \(k).deadline), 0)
        """
    }

    /// Recomputes the sums of every installment of the promises `promises` (a subquery) gives,
    /// from the ledger and `promise_invoice`.
    static func recount(_ promises: String) -> String {
        """
        UPDATE installment_progress SET (by_due_high, by_due_low, by_deadline_high, by_deadline_low) = (
            SELECT \(sums("a", "installment_progress")) FROM ledger_entry a
            WHERE a.target_id IN (SELECT invoice_id FROM promise_invoice WHERE promise_id = installment_progress.promise_id)
              AND \(counts("a", towards: "installment_progress")))
        WHERE promise_id IN (\(promises));
        """
    }

    /// The promises whose progress ledger entry `x` (NEW or OLD) can change: those on the invoice
    /// of an application, on the invoices a payment's applications settle, or on the invoice of
    /// a reversed application.
    private static func touched(_ x: String) -> String {
        """
        SELECT pi.promise_id FROM promise_invoice pi WHERE pi.invoice_id IN (
            SELECT \(x).target_id WHERE \(x).kind = 'application'
            UNION ALL
            SELECT a.target_id FROM ledger_entry a WHERE \(x).kind = 'payment' AND a.source_id = \(x).id AND a.kind = 'application'
            UNION ALL
            SELECT t.target_id FROM ledger_entry t WHERE \(x).kind = 'reversal' AND t.id = \(x).target_id AND t.kind = 'application')
        """
    }

    /// What a ledger insert or retraction of entry `x` keeps here.
    private static func follow(_ x: String) -> String { recount(touched(x)) }

    /// Rebuilds the rows of promise `p` (NEW) from its row as written: none once it is deleted.
    private static let rebuild = """
        DELETE FROM promise_invoice WHERE promise_id = NEW.id;
        DELETE FROM installment_progress WHERE promise_id = NEW.id;
        INSERT OR IGNORE INTO promise_invoice (invoice_id, promise_id) SELECT value, NEW.id FROM json_each(NEW.invoice_ids) WHERE NEW.deleted = 0;
        INSERT INTO installment_progress (\(columns)) SELECT *, 0, 0, 0, 0 FROM (\(plans("p.id = NEW.id AND p.deleted = 0")));
        \(recount("SELECT NEW.id"))
        """

    static let sourceInserted = PortfolioTotals.sourceInserted.adding(follow("NEW"))
    static let effectInserted = PortfolioTotals.effectInserted.adding(follow("NEW"))
    static let reversalInserted = PortfolioTotals.reversalInserted.adding(follow("NEW"))

    static let schema = """
        CREATE TABLE promise_invoice (
            invoice_id TEXT NOT NULL,
            promise_id TEXT NOT NULL,
            PRIMARY KEY (invoice_id, promise_id)
        ) WITHOUT ROWID;
        CREATE INDEX promise_invoice_by_promise ON promise_invoice(promise_id);
        CREATE TABLE installment_progress (
            customer_id TEXT NOT NULL,
            promised_date TEXT NOT NULL,
            promise_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            currency TEXT NOT NULL,
            made_on TEXT NOT NULL,
            due_date TEXT NOT NULL,
            deadline TEXT,
            amount INTEGER NOT NULL,
            before_high INTEGER NOT NULL,
            before_low INTEGER NOT NULL,
            by_due_high INTEGER NOT NULL,
            by_due_low INTEGER NOT NULL,
            by_deadline_high INTEGER NOT NULL,
            by_deadline_low INTEGER NOT NULL,
            PRIMARY KEY (customer_id, promised_date, promise_id, number)
        ) WITHOUT ROWID;
        CREATE INDEX installment_progress_by_promise ON installment_progress(promise_id);

        CREATE TRIGGER installment_progress_promise_insert AFTER INSERT ON promise_to_pay
        BEGIN \(rebuild) END;
        CREATE TRIGGER installment_progress_promise_update AFTER UPDATE ON promise_to_pay
        BEGIN
            DELETE FROM promise_invoice WHERE promise_id = OLD.id;
            DELETE FROM installment_progress WHERE promise_id = OLD.id;
            \(rebuild)
        END;
        CREATE TRIGGER installment_progress_promise_delete AFTER DELETE ON promise_to_pay
        BEGIN
            DELETE FROM promise_invoice WHERE promise_id = OLD.id;
            DELETE FROM installment_progress WHERE promise_id = OLD.id;
        END;

        \(sourceInserted.redefinition)
        \(effectInserted.redefinition)
        \(reversalInserted.redefinition)
        -- A replica's retraction (the one delete the ledger allows), after the entry is gone.
        CREATE TRIGGER installment_progress_retracted AFTER DELETE ON ledger_entry WHEN OLD.kind IN ('application', 'payment', 'reversal')
        BEGIN \(follow("OLD")) END;

        INSERT OR IGNORE INTO promise_invoice (invoice_id, promise_id)
            SELECT j.value, p.id FROM promise_to_pay p, json_each(p.invoice_ids) j WHERE p.deleted = 0;
        INSERT INTO installment_progress (\(columns)) SELECT *, 0, 0, 0, 0 FROM (\(plans("p.deleted = 0")));
        \(recount("SELECT promise_id FROM installment_progress"))
        """

    /// Both tables recomputed from the promises and the ledger alone, in the tables' column order.
    static let recomputeInvoices = "SELECT DISTINCT j.value, p.id FROM promise_to_pay p, json_each(p.invoice_ids) j WHERE p.deleted = 0"
    static let recomputeProgress = """
        SELECT k.*, \(sums("a", "k"))
        FROM (\(plans("p.deleted = 0"))) k
        LEFT JOIN ledger_entry a ON a.target_id IN (SELECT j.value FROM promise_to_pay q, json_each(q.invoice_ids) j WHERE q.id = k.promise_id)
            AND \(counts("a", towards: "k"))
        GROUP BY k.promise_id, k.number
        """

    /// The kept rows against ``recomputeInvoices`` and ``recomputeProgress``: a description of each
    /// row that differs, empty when the triggers are right.
    static func mismatches(_ db: Database) throws -> [String] {
        var found: [String] = []
        for (table, recompute) in [("promise_invoice", recomputeInvoices), ("installment_progress", recomputeProgress)] {
            for sql in ["SELECT * FROM \(table) EXCEPT \(recompute)", "\(recompute) EXCEPT SELECT * FROM \(table)"] {
                for row in try Row.fetchAll(db, sql: sql) {
                    found.append("\(table): " + row.databaseValues.map(\.description).joined(separator: " "))
                }
            }
        }
        return found
    }
}

extension TenantStore {
    /// The installments of the live promises made by `today` that may have been broken since
    /// `since` or are due on `today` (the promises ``recentPromiseEvaluations(_:since:today:scope:_:)``
    /// reads), each measured on `today` from its kept progress (``InstallmentProgress``), with
    /// its customer: those past their deadline and those due that day, the only ones whose status
    /// the worklist reads. In the order of customer, promised date, promise and installment.
    /// `scope` narrows them as it narrows that read.
    static func keptInstallmentEvaluations(
        _ db: Database, since: CivilDate, today: CivilDate, scope: String = "", _ arguments: StatementArguments = []
    ) throws -> [(customerID: String, evaluation: InstallmentEvaluation)] {
        let earliest = since.adding(days: -(PromiseToPay.defaultGraceDays + 1))
        let day = today.description
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: """
                SELECT customer_id, currency, due_date, amount, before_high, before_low,
                    CASE WHEN deadline < ? THEN by_deadline_high ELSE by_due_high END, CASE WHEN deadline < ? THEN by_deadline_low ELSE by_due_low END
                FROM installment_progress
                WHERE promised_date >= ? AND made_on <= ? AND (deadline < ? OR due_date = ?)\(scope)
                ORDER BY customer_id, promised_date, promise_id, number
                """),
            arguments: [day, day, earliest.description, day, day, day] + arguments
        )
        func saturated(_ row: Row, _ index: Int) -> Int64 { Int64(clamping: WideSum.value(row, at: index)) }
        var currencies: [String: Currency] = [:]
        var found: [(customerID: String, evaluation: InstallmentEvaluation)] = []
        while let row = try rows.next() {
            let customerID: String = row[0], code: String = row[1], due: String = row[2]
            guard let currency = currencies[code] ?? Currency(code: code), let dueDate = CivilDate(due) else {
                throw DatabaseError(resultCode: .SQLITE_MISMATCH, message: "installment_progress of customer \(customerID) holds \(code) due \"\(due)\", which this version cannot read")
            }
            currencies[code] = currency
            let installment = Installment(dueDate: dueDate, amount: Money(minorUnits: row[3], currency: currency))
            found.append((customerID, InstallmentEvaluation(
                installment: installment, received: saturated(row, 6), before: saturated(row, 4), asOf: today,
                deadline: dueDate.adding(days: PromiseToPay.defaultGraceDays)
            )))
        }
        return found
    }
}
