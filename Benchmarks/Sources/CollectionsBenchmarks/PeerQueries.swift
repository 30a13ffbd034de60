/// The sqlite3 peer's queries: what each Dunlin figure reads, written by hand as one statement
/// against the tenant schema (the same tables and indexes Dunlin uses). Both assume what the
/// generated tenant guarantees: no ledger entry dated after the day asked about (so balances are
/// the derived `gross`, as Dunlin's reads take them on that day) and no ledger exceptions.
enum PeerQueries {
    /// The worklist's facts for analyst ?1 on day ?2: per customer (and currency), the open and
    /// overdue balance, the oldest overdue due date, open disputes, the earliest call-back due and
    /// the last contact. Dunlin's read also evaluates promises against the ledger; this leaves
    /// that out.
    static let worklist = """
        WITH mine AS (SELECT id, name, risk_rating, credit_limit, credit_currency FROM customer WHERE analyst_id = ?1),
        open AS (
            SELECT b.customer_id, b.currency, SUM(b.gross) AS open_total,
                   SUM(CASE WHEN b.due_date < ?2 THEN b.gross ELSE 0 END) AS overdue,
                   MIN(CASE WHEN b.due_date < ?2 THEN b.due_date END) AS oldest_due
              FROM mine m JOIN invoice_balance b ON b.customer_id = m.id
             WHERE b.reversed_on IS NULL AND b.date <= ?2 AND b.gross > 0
             GROUP BY b.customer_id, b.currency
        )
        SELECT m.id, m.name, m.risk_rating, m.credit_limit, m.credit_currency, o.currency, o.open_total, o.overdue, o.oldest_due,
               (SELECT COUNT(*) FROM dispute d WHERE d.customer_id = m.id AND d.deleted = 0 AND d.status NOT IN ('resolved', 'rejected')),
               (SELECT MIN(t.due_date) FROM collection_task t WHERE t.customer_id = m.id AND t.deleted = 0 AND t.done = 0 AND t.due_date <= ?2),
               (SELECT MAX(a.occurred_at) FROM activity a WHERE a.customer_id = m.id)
          FROM mine m LEFT JOIN open o ON o.customer_id = m.id
        """

    /// The dunning run's plan on day ?1 (promise grace ?2 days): customers taking a policy by
    /// segment and not on a manual hold; their open items not held by an open dispute or an open
    /// promise within its deadline; each customer's level from its oldest such item and the
    /// policy's levels; and per customer and currency the notice's lines (those at least as old
    /// as the level asks) as JSON, with their count and total.
    static let dunningPlan = """
        WITH held_item(invoice_id) AS MATERIALIZED (
            SELECT j.value FROM dispute d, json_each(d.invoice_ids) j
             WHERE d.deleted = 0 AND d.status NOT IN ('resolved', 'rejected')
            UNION
            SELECT j.value FROM promise_to_pay p, json_each(p.invoice_ids) j
             WHERE p.deleted = 0 AND p.status = 'open' AND ?1 <= date(p.promised_date, '+' || ?2 || ' days')
        ),
        dunned(id, policy_id) AS MATERIALIZED (
            SELECT c.id, p.id FROM customer c JOIN dunning_policy p
                ON p.deleted = 0 AND p.segment != '' AND EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value = p.segment)
             WHERE NOT EXISTS (SELECT 1 FROM dunning_hold h WHERE h.customer_id = c.id AND h.deleted = 0 AND h.placed_on <= ?1
                                  AND (h.released_on IS NULL OR h.released_on > ?1))
        ),
        policy_level(policy_id, days) AS MATERIALIZED (
            SELECT p.id, CAST(json_extract(l.value, '$.days') AS INTEGER) FROM dunning_policy p, json_each(p.levels) l WHERE p.deleted = 0
        ),
        item AS MATERIALIZED (
            SELECT b.customer_id, d.policy_id, b.invoice_id, b.currency, b.gross,
                   CAST(julianday(?1) - julianday(COALESCE(b.due_date, b.date)) AS INTEGER) AS days
              FROM dunned d JOIN invoice_balance b ON b.customer_id = d.id
             WHERE b.reversed_on IS NULL AND b.gross > 0 AND b.invoice_id NOT IN held_item
        ),
        levelled AS (
            SELECT a.*, (SELECT MAX(l.days) FROM policy_level l WHERE l.policy_id = a.policy_id AND l.days <= a.anchor) AS level_days
              FROM (SELECT i.*, MAX(i.days) OVER (PARTITION BY i.customer_id) AS anchor FROM item i) a
        )
        SELECT v.customer_id, v.level_days, v.currency, COUNT(*), SUM(v.gross),
               json_group_array(json_array(v.invoice_id, e.reference, v.days, v.gross))
          FROM levelled v JOIN ledger_entry e ON e.id = v.invoice_id
         WHERE v.level_days IS NOT NULL AND v.days >= MIN(v.level_days, 1)
         GROUP BY v.customer_id, v.currency
        """

    /// The possible-duplicate payments as the invariant check found them before migration v16:
    /// every payment of an identified customer probed for another with the same customer,
    /// currency, amount and reference within 3 days (`ledger_entry_payment_match` serves it).
    static let everyPaymentProbed = """
        SELECT DISTINCT p.* FROM ledger_entry p JOIN ledger_entry q
          ON q.kind = 'payment' AND q.customer_id = p.customer_id AND q.currency = p.currency
         AND q.amount = p.amount AND q.reference = p.reference AND q.id != p.id
         AND q.date BETWEEN date(p.date, '-3 days') AND date(p.date, '+3 days')
        WHERE p.kind = 'payment' AND p.customer_id != ''
        """
}
