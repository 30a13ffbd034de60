import DunlinCore
import Foundation
import GRDB

/// The import's bulk path (issue 14 item 2): inside an import's transaction, the ledger's
/// per-row insert triggers that keep the derived tables are set aside, the entries are inserted
/// bare, and each batch's effect on the derived tables is applied afterwards with set-based SQL,
/// once per touched invoice, cash source, promise, and per (day, currency, due date) of the
/// portfolio's totals: no trigger program runs per entry.
///
/// What the batch leaves is what the per-row triggers leave, by construction. Every derived table
/// is a function of the ledger alone (entries may arrive in any order, as a merge brings them:
/// ``DerivedBalances``, ``PortfolioTotals``, ``InstallmentProgress``), and a batch is the entries
/// inserted after a rowid (the ledger only grows inside an import). So a batch:
/// - recomputes from the ledger the balance rows of the invoices and cash sources its entries
///   touch (an invoice, its effects and their reversals; a source, its applications and refunds
///   and their reversals): an update where a row is there, an insert for the batch's new ones;
/// - recomputes the installment sums of the promises on the invoices its applications, its
///   payments' applications and its reversed applications settle;
/// - adds to the kept totals the touched invoices' flows and days as the ledger now stands, less
///   the same as it stood before the batch (the entries after the batch's first rowid left out,
///   ``PortfolioTotals/Without/after(_:)``), summed per key in 32-bit halves exactly as the
///   triggers sum each part, and written once per key whose total changed.
/// Rows the triggers would have left at zero (a customer's last open invoice closed, a flow whose
/// parts cancel) may be absent instead: every reader and the consistency check treat the two alike.
/// `derivedBalanceMismatches()` and the differential tests (`BulkDerivationTests`) hold it.
///
/// The triggers are dropped and re-created from their own stored SQL inside the transaction, so
/// no other connection ever sees the ledger without them, a rollback (a refusal, a failed feed, a
/// crash) restores them, and ``run(_:_:)`` re-creates them before the transaction can commit. The
/// path is used only when the ledger's insert triggers are exactly the ones it knows
/// (``setAside`` and ``keptRunning``); a trigger added by a later migration turns it off (the
/// import then runs per row, as before) until this type learns what that trigger keeps.
///
/// The ledger rules read balances inside the batch (an application to an invoice posted earlier
/// in the same batch): ``SQLLedgerState`` asks ``willRead(invoice:)`` and ``willRead(source:)``
/// first, and a balance a pending entry touches is derived before it is read.
final class BulkDerivation {
    /// The ledger's insert triggers whose work a batch does instead (as v31, v32 and v40 left them).
    static let setAside = ["invoice_balance_insert", "source_balance_insert", "balance_effect", "balance_reversal"]
    /// Insert triggers on the ledger that keep running during a batch (a payment's possible
    /// duplicates: one indexed probe per payment, nothing per invoice).
    static let keptRunning = ["ledger_entry_possible_duplicate"]
    /// A batch is derived at the end of a feed's chunk once at least this many entries are
    /// pending (and before a read that needs it, and at the end): larger batches share more writes
    /// per key, and the import's memory holds only the pending ids.
    static let minimumBatch = 4_096
    /// An import whose reads keep forcing batches of fewer than this many entries (a payment,
    /// then its applications, each reading the payment's unapplied cash) would pay a batch's
    /// fixed cost per entry: after ``smallBatchesAllowed`` of them the path hands the rest of the
    /// import back to the per-row triggers (measured: 2,000 payments each followed by its five
    /// applications took minutes batch by batch, 9 s per row).
    static let smallBatch = 64
    static let smallBatchesAllowed = 8

    private let db: Database
    private let batch: Int
    /// The set-aside triggers' stored SQL, to re-create them verbatim.
    private let triggers: [(name: String, sql: String)]
    /// Entries up to this rowid are derived.
    private var derivedThrough: Int64
    private var pending = 0
    private var pendingInvoices: Set<String> = []
    private var pendingSources: Set<String> = []
    /// A pending reversal may touch any balance (its target's target): the next read derives.
    private var pendingReversal = false
    private var restored = false
    /// Batches a read forced while fewer than ``smallBatch`` entries were pending.
    private var smallForcedBatches = 0

    /// Runs `body` (an import's inserts) on the bulk path when the schema allows it (`nil`
    /// otherwise: per-row triggers, as before), then derives what is pending and re-creates the
    /// triggers. If `body` throws, the triggers are re-created (and what is pending derived) on a
    /// best-effort basis before the error goes on: the caller's transaction rolls back anyway.
    static func run<T>(_ db: Database, batch: Int = minimumBatch, _ body: (BulkDerivation?) throws -> T) throws -> T {
        guard let bulk = try BulkDerivation(db, batch: batch) else { return try body(nil) }
        let result: T
        do {
            result = try body(bulk)
        } catch {
            try? bulk.finish()
            throw error
        }
        try bulk.finish()
        return result
    }

    /// Sets the triggers aside, or nil when the ledger's insert triggers are not exactly the ones
    /// this path knows.
    private init?(_ db: Database, batch: Int) throws {
        var stored: [String: String] = [:]
        let insertTrigger = try Regex("INSERT\\s+ON\\s+\"?ledger_entry\\b").ignoresCase()
        for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entry'") {
            let name: String = row[0], sql: String = row[1]
            guard sql.contains(insertTrigger), !Self.keptRunning.contains(name) else { continue }
            guard Self.setAside.contains(name) else { return nil }
            stored[name] = sql
        }
        guard stored.count == Self.setAside.count else { return nil }
        self.db = db
        self.batch = batch
        triggers = Self.setAside.map { ($0, stored[$0]!) }
        derivedThrough = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(rowid), 0) FROM ledger_entry") ?? 0
        try db.execute(sql: Self.scratch)
        for (name, _) in triggers { try db.execute(sql: "DROP TRIGGER \(name)") }
    }

    /// Notes an entry just inserted: the balances its rules' reads must see derived first.
    func inserted(_ entry: LedgerEntry) {
        guard !restored else { return }
        pending += 1
        switch entry.kind {
        case .invoice: pendingInvoices.insert(entry.id)
        case .payment, .creditMemo: pendingSources.insert(entry.id)
        case .adjustment, .writeOff: if let target = entry.targetID { pendingInvoices.insert(target) }
        case .application:
            if let target = entry.targetID { pendingInvoices.insert(target) }
            if let source = entry.sourceID { pendingSources.insert(source) }
        case .refund: if let source = entry.sourceID { pendingSources.insert(source) }
        case .reversal: pendingReversal = true
        }
    }

    /// Before invoice `id`'s balance row is read: derives the batch if a pending entry touches it.
    func willRead(invoice id: String) throws {
        if pendingReversal || pendingInvoices.contains(id) { try forcedDerive() }
    }

    /// Before source `id`'s balance row is read: derives the batch if a pending entry touches it.
    func willRead(source id: String) throws {
        if pendingReversal || pendingSources.contains(id) { try forcedDerive() }
    }

    /// A batch a read needs; the hand-back to the per-row triggers after too many small ones.
    private func forcedDerive() throws {
        if pending < Self.smallBatch { smallForcedBatches += 1 }
        if smallForcedBatches > Self.smallBatchesAllowed {
            try finish()
        } else {
            try derive()
        }
    }

    /// At the end of a feed's chunk: derives when the batch is large enough to be worth it.
    func chunkEnded() throws {
        if pending >= batch { try derive() }
    }

    /// Applies every entry inserted since the last batch to the derived tables.
    func derive() throws {
        // Once the triggers are back, they keep the tables: nothing is pending.
        guard !restored else { return }
        defer {
            pending = 0
            pendingInvoices.removeAll(keepingCapacity: true)
            pendingSources.removeAll(keepingCapacity: true)
            pendingReversal = false
        }
        let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(rowid), 0) FROM ledger_entry")) ?? 0
        guard last > derivedThrough else { return }
        for sql in Self.derivation {
            let statement = try db.cachedStatement(sql: sql)
            try statement.execute(arguments: sql.contains("?1") ? [derivedThrough] : [])
        }
        derivedThrough = last
    }

    /// Derives what is pending and re-creates the set-aside triggers, once.
    private func finish() throws {
        guard !restored else { return }
        try derive()
        for (_, sql) in triggers { try db.execute(sql: sql) }
        restored = true
    }

    /// The connection's scratch tables (TEMP: never in the tenant's file), empty between batches.
    private static let scratch = """
        CREATE TEMP TABLE IF NOT EXISTS bulk_invoice (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TEMP TABLE IF NOT EXISTS bulk_source (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TEMP TABLE IF NOT EXISTS bulk_day (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TEMP TABLE IF NOT EXISTS bulk_promise (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
        CREATE TEMP TABLE IF NOT EXISTS bulk_flow (day TEXT NOT NULL, currency TEXT NOT NULL, due TEXT NOT NULL, high INTEGER NOT NULL, low INTEGER NOT NULL);
        """

    /// The batch's statements, in order; `?1` is the rowid the batch starts after.
    static let derivation: [String] = {
        let batch = "c.rowid > ?1"
        let touchedInvoices = "i.id IN (SELECT id FROM temp.bulk_invoice)"
        let touchedDays = "s.id IN (SELECT id FROM temp.bulk_day)"
        let before = PortfolioTotals.Without.after("?1")
        func halves(_ amount: String) -> String { "SUM(sign * (\(amount) >> 32)), SUM(sign * (\(amount) & 4294967295))" }
        return [
            // What the batch touches.
            """
            INSERT OR IGNORE INTO temp.bulk_invoice (id) SELECT id FROM (
                SELECT CASE c.kind WHEN 'invoice' THEN c.id ELSE c.target_id END AS id FROM ledger_entry c
                WHERE \(batch) AND c.kind IN ('invoice', 'adjustment', 'application', 'write_off')
                UNION ALL
                SELECT CASE t.kind WHEN 'invoice' THEN t.id ELSE t.target_id END FROM ledger_entry c JOIN ledger_entry t ON t.id = c.target_id
                WHERE \(batch) AND c.kind = 'reversal' AND t.kind IN ('invoice', 'adjustment', 'application', 'write_off')
            ) WHERE id IS NOT NULL
            """,
            """
            INSERT OR IGNORE INTO temp.bulk_source (id) SELECT id FROM (
                SELECT CASE WHEN c.kind IN ('payment', 'credit_memo') THEN c.id ELSE c.source_id END AS id FROM ledger_entry c
                WHERE \(batch) AND c.kind IN ('payment', 'credit_memo', 'application', 'refund')
                UNION ALL
                SELECT CASE WHEN t.kind IN ('payment', 'credit_memo') THEN t.id ELSE t.source_id END FROM ledger_entry c JOIN ledger_entry t ON t.id = c.target_id
                WHERE \(batch) AND c.kind = 'reversal' AND t.kind IN ('payment', 'credit_memo', 'application', 'refund')
            ) WHERE id IS NOT NULL
            """,
            """
            INSERT OR IGNORE INTO temp.bulk_day (id) SELECT id FROM (
                SELECT CASE c.kind WHEN 'reversal' THEN c.target_id ELSE c.id END AS id FROM ledger_entry c
                WHERE \(batch) AND c.kind IN ('invoice', 'payment', 'credit_memo', 'reversal')
            ) WHERE id IS NOT NULL
            """,
            """
            INSERT OR IGNORE INTO temp.bulk_promise (id) SELECT pi.promise_id FROM promise_invoice pi WHERE pi.invoice_id IN (
                SELECT c.target_id FROM ledger_entry c WHERE \(batch) AND c.kind = 'application'
                UNION ALL
                SELECT a.target_id FROM ledger_entry c JOIN ledger_entry a ON a.source_id = c.id AND a.kind = 'application'
                WHERE \(batch) AND c.kind = 'payment'
                UNION ALL
                SELECT t.target_id FROM ledger_entry c JOIN ledger_entry t ON t.id = c.target_id AND t.kind = 'application'
                WHERE \(batch) AND c.kind = 'reversal')
            """,
            // Balance rows: those there recomputed where they changed, the batch's new ones inserted.
            """
            UPDATE invoice_balance SET gross = n.gross, reversed_on = n.reversed_on
            FROM (SELECT i.id AS id, \(DerivedBalances.invoiceGross("i")) AS gross, \(DerivedBalances.reversedOn("i")) AS reversed_on
                  FROM ledger_entry i WHERE \(touchedInvoices) AND i.kind = 'invoice' AND i.rowid <= ?1) AS n
            WHERE invoice_balance.invoice_id = n.id AND (invoice_balance.gross IS NOT n.gross OR invoice_balance.reversed_on IS NOT n.reversed_on)
            """,
            """
            INSERT INTO invoice_balance (\(StatementItems.columns))
            SELECT \(DerivedBalances.invoiceRow("c")), \(StatementItems.fields("c")) FROM ledger_entry c WHERE \(batch) AND c.kind = 'invoice'
            """,
            """
            UPDATE source_balance SET gross = n.gross, reversed_on = n.reversed_on
            FROM (SELECT s.id AS id, \(DerivedBalances.sourceGross("s")) AS gross, \(DerivedBalances.reversedOn("s")) AS reversed_on
                  FROM ledger_entry s WHERE s.id IN (SELECT id FROM temp.bulk_source) AND s.kind IN ('payment', 'credit_memo') AND s.rowid <= ?1) AS n
            WHERE source_balance.source_id = n.id AND (source_balance.gross IS NOT n.gross OR source_balance.reversed_on IS NOT n.reversed_on)
            """,
            """
            INSERT INTO source_balance (\(DerivedBalances.sourceColumns))
            SELECT \(DerivedBalances.sourceRow("c")) FROM ledger_entry c WHERE \(batch) AND c.kind IN ('payment', 'credit_memo')
            """,
            // The promises' installment sums, recounted.
            InstallmentProgress.recount("SELECT id FROM temp.bulk_promise").trimmingCharacters(in: CharacterSet(charactersIn: "; \n")),
            // The portfolio's totals: the touched invoices' flows now, less before the batch.
            """
            INSERT INTO temp.bulk_flow (day, currency, due, high, low)
            SELECT day, currency, due, \(halves("amount")) FROM (
                SELECT 1 AS sign, day, currency, due, amount FROM (\(PortfolioTotals.invoiceFlows(touchedInvoices, without: nil)))
                UNION ALL
                SELECT -1 AS sign, day, currency, due, amount FROM (\(PortfolioTotals.invoiceFlows(touchedInvoices, without: before)))
            ) GROUP BY day, currency, due HAVING SUM(sign * (amount >> 32)) != 0 OR SUM(sign * (amount & 4294967295)) != 0
            """,
            """
            INSERT INTO receivable_flow (day, currency, due, high, low) SELECT day, currency, due, high, low FROM temp.bulk_flow WHERE true
            ON CONFLICT (day, currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low
            """,
            """
            INSERT INTO receivable_open (currency, due, high, low) SELECT currency, due, SUM(high), SUM(low) FROM temp.bulk_flow WHERE true
            GROUP BY currency, due HAVING SUM(high) != 0 OR SUM(low) != 0
            ON CONFLICT (currency, due) DO UPDATE SET high = high + excluded.high, low = low + excluded.low
            """,
            """
            INSERT INTO ledger_day (kind, day, currency, reversed_on, high, low, items)
            SELECT kind, date, currency, COALESCE(reversed_on, ''), \(halves("amount")), SUM(sign) FROM (
                SELECT 1 AS sign, kind, date, currency, reversed_on, amount FROM (\(PortfolioTotals.dayParts(touchedDays, without: nil)))
                UNION ALL
                SELECT -1 AS sign, kind, date, currency, reversed_on, amount FROM (\(PortfolioTotals.dayParts(touchedDays, without: before)))
            ) WHERE true GROUP BY kind, date, currency, COALESCE(reversed_on, '')
            HAVING SUM(sign) != 0 OR SUM(sign * (amount >> 32)) != 0 OR SUM(sign * (amount & 4294967295)) != 0
            ON CONFLICT (kind, day, currency, reversed_on) DO UPDATE SET
                high = high + excluded.high, low = low + excluded.low, items = items + excluded.items
            """,
            "DELETE FROM temp.bulk_invoice",
            "DELETE FROM temp.bulk_source",
            "DELETE FROM temp.bulk_day",
            "DELETE FROM temp.bulk_promise",
            "DELETE FROM temp.bulk_flow",
        ]
    }()
}
