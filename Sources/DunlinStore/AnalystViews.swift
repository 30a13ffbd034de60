import DunlinCore
import GRDB

/// The read-only SQL views analysts query (`dunlin sql`, or any SQLite client on the replica
/// file: Excel, Power BI or Tableau through a SQLite ODBC driver), part of the schema contract:
/// their names and columns change only with a new ``version``, and a test holds each version's
/// shape. Every view starts `ar_`; amounts are minor units (`*_minor`, exact) and, for
/// spreadsheets, major units as REAL (`amount`, `open`: for display and sums, not for exact
/// arithmetic); dates are `YYYY-MM-DD` text; instants ISO 8601 UTC text.
///
/// Ages are counted to the day in `ar_report_day`, which `dunlin sql` sets to the analyst's today
/// (or `--as-of`) before each query; another tool reads ages as of the last day set there (NULL
/// before any).
public enum AnalystViews {
    /// The views' version: bumped whenever a view's name or columns change.
    public static let version = 3

    /// The views, by name, in the order they are listed.
    public static let names = [
        "ar_views", "ar_customers", "ar_open_items", "ar_ledger", "ar_activities", "ar_promises", "ar_disputes", "ar_approval_requests",
        "ar_tickets", "ar_exchange_rates", "ar_closes", "ar_close_buckets",
    ]

    /// The tables the views read. SQLite names them, not the view, when it flattens a view whose
    /// columns a query does not read (`SELECT count(*) FROM ar_customers`).
    public static let sources: Set<String> = [
        "ar_report_day", "customer", "invoice_balance", "ledger_entry", "activity", "promise_to_pay", "dispute", "approval_request", "ticket",
        "exchange_rate", "period_close",
    ]

    /// Minor units to major units, as REAL, by the currency's exponent.
    static func major(_ minor: String, _ currency: String) -> String {
        let exponents = Dictionary(grouping: Currency.all.filter { $0.exponent != 2 }, by: \.exponent)
        let cases = exponents.keys.sorted().map { exponent in
            let codes = exponents[exponent]!.map { "'\($0.code)'" }.joined(separator: ", ")
            let divisor = Currency.all.first { $0.exponent == exponent }!.minorUnitsPerMajor
            return "WHEN \(currency) IN (\(codes)) THEN \(minor) / \(divisor).0"
        }
        return "(CASE \(cases.joined(separator: " ")) ELSE \(minor) / 100.0 END)"
    }

    /// The bucket of `days` past due, as the aging names it (``AgingBuckets/standard``).
    static func bucket(_ days: String) -> String {
        let buckets = AgingBuckets.standard
        let labels = buckets.labels
        let cases = buckets.bounds.enumerated().map { index, bound in "WHEN \(days) <= \(bound) THEN '\(labels[index])'" }
        return "(CASE WHEN \(days) IS NULL THEN NULL \(cases.joined(separator: " ")) ELSE '\(labels.last!)' END)"
    }

    static let day = "(SELECT day FROM ar_report_day LIMIT 1)"

    /// Migration "v25: analysts' SQL views": version 1 (its text as shipped).
    static var schemaVersion1: String {
        let days = "CAST(julianday(\(day)) - julianday(b.due_date) AS INTEGER)"
        return """
            CREATE TABLE ar_report_day (day TEXT NOT NULL);
            CREATE VIEW ar_views AS SELECT 1 AS version, \(day) AS report_day;
            CREATE VIEW ar_customers AS
                SELECT id AS customer_id, number, name, analyst_id, risk_rating, payment_terms_days,
                       credit_limit AS credit_limit_minor, credit_currency, time_zone, language, tags
                FROM customer;
            CREATE VIEW ar_open_items AS
                SELECT b.invoice_id, e.reference, b.customer_id, c.name AS customer_name, c.analyst_id, b.currency,
                       b.date AS issue_date, b.due_date, e.amount AS amount_minor, b.gross AS open_minor, \(major("b.gross", "b.currency")) AS open,
                       \(days) AS days_past_due, \(bucket(days)) AS bucket
                FROM invoice_balance b JOIN ledger_entry e ON e.id = b.invoice_id JOIN customer c ON c.id = b.customer_id
                WHERE b.reversed_on IS NULL AND b.gross <> 0;
            CREATE VIEW ar_ledger AS
                SELECT id AS entry_id, kind, customer_id, currency, amount AS amount_minor, \(major("amount", "currency")) AS amount,
                       date, due_date, reference, source_id, target_id, memo
                FROM ledger_entry;
            CREATE VIEW ar_activities AS
                SELECT id AS activity_id, customer_id, kind, direction, outcome, author_id,
                       strftime('%Y-%m-%dT%H:%M:%fZ', occurred_at / 1000.0, 'unixepoch') AS occurred_at, body
                FROM activity;
            CREATE VIEW ar_promises AS
                SELECT id AS promise_id, customer_id, invoice_ids, currency, amount AS amount_minor, \(major("amount", "currency")) AS amount,
                       made_on, promised_date, status, installments, note
                FROM promise_to_pay WHERE deleted = 0;
            CREATE VIEW ar_disputes AS
                SELECT id AS dispute_id, customer_id, invoice_ids, currency, amount AS amount_minor, \(major("amount", "currency")) AS amount,
                       reason_code, status, owner_team, opened_on, resolved_on, note
                FROM dispute WHERE deleted = 0;
            CREATE VIEW ar_approval_requests AS
                SELECT id AS request_id, kind, customer_id, invoice_id, source_id, currency, amount AS amount_minor,
                       CASE WHEN amount IS NULL THEN NULL ELSE \(major("amount", "currency")) END AS amount, terms_days, reason,
                       requested_by, requested_on, status, decided_by, decided_on, decision_reason
                FROM approval_request WHERE deleted = 0;
            """
    }

    /// Migration "v30: analysts' SQL views, version 2": the tickets. Their SLA is the clock's, at
    /// a now (`dunlin tickets list`), not a column.
    static var schemaVersion2: String {
        """
        DROP VIEW ar_views;
        CREATE VIEW ar_views AS SELECT 2 AS version, \(day) AS report_day;
        CREATE VIEW ar_tickets AS
            SELECT id AS ticket_id, customer_id, invoice_ids, category, priority, subject, status, team_id, assignee_id,
                   strftime('%Y-%m-%dT%H:%M:%fZ', opened_at / 1000.0, 'unixepoch') AS opened_at, sla_minutes, dispute_id, request_id
            FROM ticket WHERE deleted = 0;
        """
    }

    /// Migration "v33: analysts' SQL views, version 3": the exchange rates the converted totals
    /// use, and the month-end closes with their frozen buckets and allowance (amounts in the
    /// close's base currency). A rate stays exact decimal text; `rate_percent` is a bucket's
    /// allowance rate in percent.
    static var schemaVersion3: String {
        func int(_ path: String, _ json: String) -> String { "CAST(json_extract(\(json), '$.\(path)') AS INTEGER)" }
        let base = "json_extract(c.body, '$.base_currency')"
        return """
            DROP VIEW ar_views;
            CREATE VIEW ar_views AS SELECT 3 AS version, \(day) AS report_day;
            CREATE VIEW ar_exchange_rates AS
                SELECT from_currency, to_currency, date, rate, source
                FROM exchange_rate WHERE deleted = 0;
            CREATE VIEW ar_closes AS
                SELECT c.id AS close_id, c.month, json_extract(c.body, '$.through') AS through, c.status, \(base) AS base_currency,
                       \(int("receivables", "c.body")) AS receivables_minor, \(major(int("receivables", "c.body"), base)) AS receivables,
                       \(int("allowance", "c.body")) AS allowance_minor, \(major(int("allowance", "c.body"), base)) AS allowance,
                       json_extract(c.body, '$.previous_id') AS previous_close_id,
                       \(int("allowance_change", "c.body")) AS allowance_change_minor, \(major(int("allowance_change", "c.body"), base)) AS allowance_change,
                       json_extract(c.body, '$.closed_by') AS closed_by, json_extract(c.body, '$.closed_on') AS closed_on,
                       json_extract(c.body, '$.reopened_by') AS reopened_by, json_extract(c.body, '$.reopened_on') AS reopened_on,
                       json_extract(c.body, '$.reopen_reason') AS reopen_reason,
                       \(int("post_close_adjustments", "c.body")) AS post_close_adjustments
                FROM period_close c WHERE c.deleted = 0;
            CREATE VIEW ar_close_buckets AS
                SELECT c.id AS close_id, c.month, c.status, \(base) AS base_currency, b.key AS position,
                       json_extract(b.value, '$.label') AS bucket,
                       \(int("amount", "b.value")) AS amount_minor, \(major(int("amount", "b.value"), base)) AS amount,
                       \(int("rate_basis_points", "b.value")) / 100.0 AS rate_percent,
                       \(int("allowance", "b.value")) AS allowance_minor, \(major(int("allowance", "b.value"), base)) AS allowance
                FROM period_close c, json_each(c.body, '$.buckets') b WHERE c.deleted = 0;
            """
    }
}

extension TenantStore {
    /// Sets the day the analysts' views count ages to (``AnalystViews``).
    public func setReportDay(_ day: CivilDate) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM ar_report_day")
            try db.execute(sql: "INSERT INTO ar_report_day (day) VALUES (?)", arguments: [day.description])
        }
    }
}
