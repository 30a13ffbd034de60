WITH correction(id, delta) AS MATERIALIZED (
    SELECT id, SUM(delta) FROM (
        SELECT e.target_id AS id, -(CASE e.kind WHEN 'adjustment' THEN e.amount WHEN 'application' THEN -e.amount WHEN 'write_off' THEN -e.amount ELSE 0 END) AS delta FROM ledger_entry e
        WHERE e.date > '2026-11-30' AND e.kind IN ('adjustment', 'application', 'write_off') AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.kind = 'reversal' AND r.target_id = e.id)
        UNION ALL
        SELECT t.target_id, (CASE t.kind WHEN 'adjustment' THEN t.amount WHEN 'application' THEN -t.amount WHEN 'write_off' THEN -t.amount ELSE 0 END) FROM ledger_entry r JOIN ledger_entry t ON t.id = r.target_id
        WHERE r.kind = 'reversal' AND r.date > '2026-11-30' AND t.kind IN ('adjustment', 'application', 'write_off') AND t.date <= '2026-11-30'
          AND NOT EXISTS (SELECT 1 FROM ledger_entry r2 WHERE r2.kind = 'reversal' AND r2.target_id = t.id
                          AND (r2.date < r.date OR (r2.date = r.date AND r2.id < r.id)))
    ) GROUP BY id
)
SELECT count(*), sum(d) FROM (SELECT b.customer_id, b.currency, COALESCE(b.due_date, b.date), b.gross, x.delta AS d
FROM correction x CROSS JOIN invoice_balance b ON b.invoice_id = x.id WHERE b.date <= '2026-11-30' AND (b.reversed_on IS NULL OR b.reversed_on > '2026-11-30')
ORDER BY b.customer_id, b.currency) q;
