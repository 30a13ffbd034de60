SELECT count(*) FROM (SELECT b.customer_id, b.currency, COUNT(*),
 SUM((b.gross) >> 32) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-11-30'), SUM((b.gross) & 4294967295) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-11-30'),
 SUM((b.gross) >> 32) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-31'), SUM((b.gross) & 4294967295) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-31'),
 SUM((b.gross) >> 32) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-01'), SUM((b.gross) & 4294967295) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-01'),
 SUM((b.gross) >> 32) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-09-01'), SUM((b.gross) & 4294967295) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-09-01'),
 SUM((b.gross) >> 32) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-08-02'), SUM((b.gross) & 4294967295) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-08-02'),
 SUM((b.gross) >> 32), SUM((b.gross) & 4294967295)
 FROM invoice_balance b WHERE b.date <= '2026-11-30' AND (b.reversed_on IS NULL OR b.reversed_on > '2026-11-30') AND b.gross != 0
 GROUP BY b.customer_id, b.currency ORDER BY b.customer_id, b.currency LIMIT 1001);
SELECT count(*) FROM (SELECT b.customer_id, b.currency, COUNT(*),
 SUM(b.gross) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-11-30'), SUM(b.gross) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-31'), SUM(b.gross) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-10-01'), SUM(b.gross) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-09-01'), SUM(b.gross) FILTER (WHERE COALESCE(b.due_date, b.date) >= '2026-08-02'), SUM(b.gross)
 FROM invoice_balance b WHERE b.date <= '2026-11-30' AND (b.reversed_on IS NULL OR b.reversed_on > '2026-11-30') AND b.gross != 0
 GROUP BY b.customer_id, b.currency ORDER BY b.customer_id, b.currency LIMIT 1001);
