import DunlinCore
import GRDB

/// Reads behind the reports: open invoices and unapplied cash with their balances, read from the
/// derived balance tables (``DerivedBalances``) and, as of a past date, corrected by the entries
/// dated after it. Every balance here equals the one computed from the ledger entries alone.
///
/// As of a date D, an item counts when it is dated on or before D and not reversed on or before
/// D; its balance is its `gross` (the ledger as it stands)
///   - less the effect of each live entry on it dated after D (it had not happened yet),
///   - plus the effect of each entry on it dated on or before D whose first reversal is dated after
///     D (it was still live on D).
/// With D today or later, and no future-dated entries, both sets are empty and the correction is
/// skipped: the report reads one index.
extension TenantStore {
    /// Invoices with an open balance as of a date, optionally of one customer or one analyst's
    /// customers, oldest due first. Without a date: as the ledger stands.
    public func openInvoices(customerID: String? = nil, analystID: String? = nil, asOf: CivilDate? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        try writer.read { db in try Self.openInvoices(db, customerID: customerID, analystID: analystID, asOf: asOf) }
    }

    /// ``openInvoices(customerID:analystID:asOf:)`` inside a transaction the caller holds.
    static func openInvoices(_ db: Database, customerID: String? = nil, analystID: String? = nil, asOf: CivilDate? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        let view = try AsOfView(db, asOf: asOf, side: .invoice)
        var arguments = view.arguments
        // The balance rows carry the invoices' fields (``StatementItems``): one customer's are one
        // range of `invoice_statement`, in this order, with no ledger lookups.
        var sql = """
            \(view.with) SELECT b.invoice_id, b.customer_id, b.currency, b.amount, b.date, b.due_date, b.reference, b.memo,
                \(view.balance) AS balance FROM invoice_balance b \(view.join)
            """
        if let analystID {
            sql += " JOIN customer c ON c.id = b.customer_id AND c.analyst_id = ?"
            arguments.append(analystID)
        }
        sql += " WHERE \(view.counts)"
        arguments += view.countsArguments
        if let customerID {
            sql += " AND b.customer_id = ?"
            arguments.append(customerID)
        }
        sql += " AND balance != 0 ORDER BY b.due_date, b.invoice_id"
        do {
            var result: [(entry: LedgerEntry, open: Money)] = []
            var currency: Currency?
            // Cached: the dunning run reads one customer's at a time.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let code: String = row[2]
                if currency?.code != code { currency = Currency(code: code) }
                guard let currency, let date = CivilDate(row[4] as String) else { continue }
                let entry = LedgerEntry(
                    id: row[0], kind: .invoice, customerID: row[1], amount: Money(minorUnits: row[3], currency: currency), date: date,
                    dueDate: (row[5] as String?).flatMap(CivilDate.init), reference: row[6], memo: row[7]
                )
                result.append((entry, Money(minorUnits: try integer(row, 8), currency: currency)))
            }
            return result
        } catch let error as DatabaseError where error.message == "integer overflow" {
            throw sumOutOfRange
        }
    }

    /// Per customer and currency, over the invoices that count on `asOf` with a positive balance
    /// (optionally of one analyst's customers): the open balance, the part of it due before
    /// `asOf`, and the oldest due date of that part. Summed in SQL (``WideSum``) over the
    /// covering index rather than read invoice by invoice: equal to summing the positive
    /// balances ``openInvoices(_:customerID:analystID:asOf:)`` returns, with the same refusal of
    /// a balance beyond 64 bits. A currency with nothing overdue has `overdue` zero and no date.
    /// This is the path for any date: every open invoice summed, corrected by the entries dated
    /// after `asOf`; ``currentOpenBalanceSums(_:analystID:asOf:)`` gives the same from the kept
    /// totals when the ledger is current on `asOf`.
    static func summedOpenBalanceSums(_ db: Database, analystID: String?, asOf: CivilDate) throws -> [OpenBalanceSum] {
        let view = try AsOfView(db, asOf: asOf, side: .invoice)
        let balance = view.balance, day = asOf.description
        let positive = "(\(balance)) > 0", overdue = "(\(balance)) > 0 AND b.due_date < ?"
        var sql = """
            \(view.with) SELECT b.customer_id, b.currency, \(WideSum.columns(balance, filter: positive)),
                \(WideSum.columns(balance, filter: overdue)), MIN(b.due_date) FILTER (WHERE \(overdue)),
                SUM(typeof(\(balance)) != 'integer')
            FROM invoice_balance b \(view.join)
            """
        var arguments = view.arguments + [day, day, day]
        if let analystID {
            sql += " JOIN customer c ON c.id = b.customer_id AND c.analyst_id = ?"
            arguments.append(analystID)
        }
        sql += " WHERE \(view.counts) AND (\(balance)) != 0 GROUP BY b.customer_id, b.currency"
        arguments += view.countsArguments
        do {
            var sums: [OpenBalanceSum] = []
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                // A balance SQLite's `+` turned into a REAL is beyond 64 bits, as `integer(_:_:)` refuses it.
                guard (row[7] as Int64? ?? 0) == 0 else { throw sumOutOfRange }
                guard let currency = Currency(code: row[1]) else { continue }
                sums.append(OpenBalanceSum(
                    customerID: row[0], currency: currency, open: WideSum.value(row, at: 2), overdue: WideSum.value(row, at: 4),
                    oldestOverdue: (row[6] as String?).flatMap(CivilDate.init)
                ))
            }
            return sums
        } catch let error as DatabaseError where error.message == "integer overflow" {
            throw sumOutOfRange
        }
    }

    /// Whether nothing in the ledger that makes, changes or voids an invoice balance is dated
    /// after `asOf`: then the balances as they stand are the balances as of that date.
    static func ledgerIsCurrent(_ db: Database, asOf: CivilDate) throws -> Bool {
        try !AsOfView.anyEntry(db, after: asOf.description, kinds: ["invoice"] + AsOfView.balanceChangingKinds)
    }

    /// ``summedOpenBalanceSums(_:analystID:asOf:)`` when the ledger is current as of `asOf`, without
    /// reading every open invoice: the open sums from `customer_open_balance` (kept by triggers,
    /// ``DerivedBalances/openByCustomer``) with each row's oldest overdue due date and what is not
    /// yet due from the covering index of open invoices by customer, currency and due date
    /// (``CurrentOpenBalance``). Customers with only negative balances have no row (the general
    /// path gives them one of zeros; the worklist reads neither).
    static func currentOpenBalanceSums(_ db: Database, analystID: String?, asOf: CivilDate) throws -> [OpenBalanceSum] {
        let sql = analystID == nil
            ? "SELECT o.customer_id, \(CurrentOpenBalance.columns) FROM customer_open_balance o WHERE o.items > 0"
            : """
                SELECT o.customer_id, \(CurrentOpenBalance.columns)
                FROM customer c JOIN customer_open_balance o ON o.customer_id = c.id AND o.items > 0 WHERE c.analyst_id = ?
                """
        let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(CurrentOpenBalance.arguments(asOf) + (analystID.map { [$0] } ?? [])))
        var sums: [OpenBalanceSum] = []
        while let row = try rows.next() {
            if let sum = try CurrentOpenBalance.sum(db, row, at: 1, customerID: row[0], asOf: asOf) { sums.append(sum) }
        }
        return sums
    }

    /// Open items for aging, as of a date.
    public func agingItems(analystID: String? = nil, asOf: CivilDate? = nil) throws -> [AgingItem] {
        try openInvoices(analystID: analystID, asOf: asOf).map { invoice in
            AgingItem(customerID: invoice.entry.customerID, dueDate: invoice.entry.dueDate ?? invoice.entry.date, open: invoice.open)
        }
    }

    /// Open receivables as of `asOf`, summed per customer, currency and bucket in SQL: at most
    /// customers x currencies rows. An invoice's bucket follows from its due date against
    /// thresholds derived from the bucket bounds (ISO dates compare as text): SQL sums what is due
    /// on or after each threshold (one comparison per bound, one pass over the covering index in
    /// customer order, no sort) and the buckets are the differences. Entries dated after `asOf`
    /// are then applied invoice by invoice (only the invoices they touch are read), keeping count
    /// of each row's non-zero items so a row exists exactly when aging the items one by one would
    /// make it. Equal to aging ``agingItems(analystID:asOf:)`` one by one.
    ///
    /// Sums cannot overflow: SQL sums each balance's high and low 32 bits apart (``WideSum``),
    /// and the rest is added in 128 bits. A bucket the wire's int64 cannot carry is OUT_OF_RANGE.
    public func agingSums(analystID: String? = nil, asOf: CivilDate, buckets: AgingBuckets) throws -> [AgingReport.Row] {
        try writer.read { db in try Self.agingSums(db, analystID: analystID, asOf: asOf, buckets: buckets) }
    }

    /// One page of the aging's rows, in (customer, currency) order, with the totals of the whole
    /// report, in one snapshot. For the whole tenant the totals come from the kept totals
    /// (``agingTotals(asOf:buckets:)``) and the rows from the page's customers' invoices alone
    /// (plus the entries dated after `asOf`); for one analyst both from their customers' invoices.
    public func agingPage(analystID: String? = nil, asOf: CivilDate, buckets: AgingBuckets, page request: PageRequest) throws -> AgingPage {
        try writer.read { db in
            var after: (customerID: String, currency: String)?
            if let text = request.cursor {
                let cursor = try PageCursor(decoding: text, list: "aging")
                guard case .text(let customerID) = cursor.key else {
                    throw DomainError.invalid(field: "cursor", "the cursor is from another list; pass back this list's next cursor")
                }
                after = (customerID, cursor.id)
            }
            let rows: [AgingReport.Row]
            let totals: [Currency: [Int128]]
            if analystID == nil {
                rows = try Self.agingSums(db, asOf: asOf, buckets: buckets, after: after, limit: request.size + 1)
                totals = try Self.agingTotals(db, asOf: [asOf], buckets: buckets)[asOf] ?? [:]
            } else {
                rows = try Self.agingSums(db, analystID: analystID, asOf: asOf, buckets: buckets)
                totals = AgingReport.wideTotals(rows, buckets: buckets)
            }
            let page = try Page(slicing: rows, list: "aging", request) { ($0.customerID, $0.currency.code) }
            return AgingPage(rows: page.items, nextCursor: page.nextCursor, totals: totals)
        }
    }

    /// ``agingSums(analystID:asOf:buckets:)`` in a transaction the caller holds, optionally only
    /// the rows after `after` (customer, currency), at most `limit` of them: then it reads the
    /// invoices of those rows' customers only (and the entries dated after `asOf`), so one page
    /// costs what its customers hold, not what the ledger does. Rows come in (customer, currency)
    /// order.
    static func agingSums(
        _ db: Database, analystID: String? = nil, asOf: CivilDate, buckets: AgingBuckets,
        after: (customerID: String, currency: String)? = nil, limit: Int? = nil
    ) throws -> [AgingReport.Row] {
        // SQLite's own SUM first: a sum it cannot hold sends the rows to be summed wide.
        do {
            return try agingSums(db, analystID: analystID, asOf: asOf, buckets: buckets, after: after, limit: limit, width: .narrow)
        } catch SumWidth.TooNarrow.sum {
        } catch let error as DatabaseError where error.message == "integer overflow" {
        }
        do {
            return try agingSums(db, analystID: analystID, asOf: asOf, buckets: buckets, after: after, limit: limit, width: .wide)
        } catch let error as DatabaseError where error.message == "integer overflow" {
            throw Self.sumOutOfRange
        }
    }

    /// ``agingSums(_:analystID:asOf:buckets:after:limit:)`` with the buckets summed `width`.
    private static func agingSums(
        _ db: Database, analystID: String?, asOf: CivilDate, buckets: AgingBuckets,
        after: (customerID: String, currency: String)?, limit: Int?, width: SumWidth
    ) throws -> [AgingReport.Row] {
            let view = try AsOfView(db, asOf: asOf, side: .invoice)
            let thresholds = agingThresholds(asOf: asOf, buckets: buckets)
            let due = "COALESCE(b.due_date, b.date)"
            let analyst = analystID == nil ? "" : " JOIN customer c ON c.id = b.customer_id AND c.analyst_id = ?"
            // What changed after `asOf`, per row, from the invoices it touches, in row order: merged
            // into the rows as they stand below, keeping count of each row's non-zero items so a
            // row exists exactly when aging the items one by one would make it. Read as the page
            // needs it, so a page's rows cost what changed for its customers, not for the tenant.
            var changes: AgingCorrections?
            if !view.with.isEmpty {
                // CROSS JOIN: the (few) changed invoices drive, not a walk of every balance row.
                var sql = """
                    \(view.with) SELECT b.customer_id, b.currency, \(due), b.gross, x.delta
                    FROM correction x CROSS JOIN invoice_balance b ON b.invoice_id = x.id\(analyst) WHERE \(view.counts)
                    """
                var arguments = view.arguments + (analystID.map { [$0] } ?? []) + view.countsArguments
                if let after {
                    sql += " AND (b.customer_id, b.currency) > (?, ?)"
                    arguments += [after.customerID, after.currency]
                }
                sql += " ORDER BY b.customer_id, b.currency"
                changes = try AgingCorrections(
                    Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments)), thresholds: thresholds, buckets: buckets.count
                )
            }
            var nextChange = try changes?.next()
            var rows: [AgingReport.Row] = []
            /// Adds the row `key` when it has an open item; whether the rows are complete.
            func emit(_ key: AgingGroup, _ sums: [Int128], open: Int) throws -> Bool {
                if open > 0, let currency = Currency(code: key.currency) {
                    rows.append(AgingReport.Row(customerID: key.customerID, currency: currency, buckets: try AgingReport.narrow(sums, currency, field: "buckets")))
                }
                return limit.map { rows.count >= $0 } ?? false
            }
            // The ledger as it stands, of the invoices that count on `asOf`, in row order.
            var sql = "SELECT b.customer_id, b.currency, COUNT(*)"
            var arguments: [(any DatabaseValueConvertible)?] = []
            for threshold in thresholds {
                sql += ", " + width.columns("b.gross", filter: "\(due) >= ?")
                arguments += Array(repeating: threshold, count: width.columnsPerSum)
            }
            // By customer and currency whatever else is indexed (the statement's index, by customer
            // and due date, looks as cheap to the planner and would sort every row to group them).
            sql += ", \(width.columns("b.gross")) FROM invoice_balance b INDEXED BY invoice_balance_by_customer\(analyst) WHERE \(view.counts) AND b.gross != 0"
            if let analystID { arguments.append(analystID) }
            arguments += view.countsArguments
            if let after {
                sql += " AND (b.customer_id, b.currency) > (?, ?)"
                arguments += [after.customerID, after.currency]
            }
            // An analyst's customers come from `customer_analyst` (analyst, id, ...) in id order.
            // Grouped by that index's columns and the rowid, SQLite sees that each customer comes
            // once and groups in that order, with no sort of the analyst's invoices (grouped by
            // b.customer_id it sorts them all); the columns are read from the index itself, so a
            // redefinition of it (v38 made it cover the worklist's columns) keeps this true.
            let groups = analystID == nil ? "b.customer_id, b.currency" : try analystOrder(db) + ", b.currency"
            sql += " GROUP BY \(groups) ORDER BY \(groups)"
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try cursor.next() {
                let key = AgingGroup(customerID: row[0], currency: row[1])
                // Rows that exist only through what changed after `asOf` come first, in order.
                while let only = nextChange, only.key < key {
                    nextChange = try changes?.next()
                    if try emit(only.key, only.sums, open: only.open) { return rows }
                }
                // Column sum k from 3: due on or after threshold k; the last: everything.
                let cumulative = try (0...thresholds.count).map { try width.value(row, sum: $0, from: 3) }
                var sums = [cumulative[0]]
                for index in 1...thresholds.count {
                    sums.append(cumulative[index] - cumulative[index - 1])
                }
                var open: Int = row[2]
                if let correction = nextChange, correction.key == key {
                    nextChange = try changes?.next()
                    for index in sums.indices { sums[index] += correction.sums[index] }
                    open += correction.open
                }
                if try emit(key, sums, open: open) { return rows }
            }
            while let only = nextChange {
                nextChange = try changes?.next()
                if try emit(only.key, only.sums, open: only.open) { return rows }
            }
            return rows
    }

    /// `customer_analyst`'s columns (alias `c`), then the rowid: the order an analyst's customers
    /// are read in, and each customer once.
    static func analystOrder(_ db: Database) throws -> String {
        let columns = try String.fetchAll(db.cachedStatement(sql: "SELECT name FROM pragma_index_info('customer_analyst') ORDER BY seqno"))
        return (columns.map { "c.\($0)" } + ["c.rowid"]).joined(separator: ", ")
    }

    /// A computed balance column: SQLite's `+` turns an integer overflow into a REAL instead of
    /// failing, so anything but an integer is a balance beyond 64 bits, OUT_OF_RANGE (never a trap).
    static func integer(_ row: Row, _ index: Int) throws -> Int64 {
        guard case .int64(let value) = (row[index] as DatabaseValue).storage else { throw sumOutOfRange }
        return value
    }

    /// SQLite's SUM refuses to wrap (it raises "integer overflow"): a per-item as-of correction
    /// sums what one invoice's or payment's entries dated after the date changed, and only
    /// thousands of entries at the maximum amount, all on one item, could reach it.
    static let sumOutOfRange = DomainError.outOfRange(
        field: "as_of", "the entries dated after this date change one balance by more than 64 bits of minor units hold"
    )

    /// Payments and credit memos with money not yet applied or refunded as of a date, optionally
    /// of one customer (unidentified payments have an empty customer id).
    public func unappliedSources(customerID: String? = nil, asOf: CivilDate? = nil) throws -> [(entry: LedgerEntry, open: Money)] {
        try writer.read { db in
            let view = try AsOfView(db, asOf: asOf, side: .source)
            var arguments = view.arguments
            var sql = "\(view.with) SELECT \(Self.entryColumns("s")), \(view.balance) AS balance FROM source_balance b JOIN ledger_entry s ON s.id = b.source_id \(view.join)"
            sql += " WHERE \(view.counts)"
            arguments += view.countsArguments
            if let customerID {
                sql += " AND b.customer_id = ?"
                arguments.append(customerID)
            }
            sql += " AND balance != 0 ORDER BY s.date, s.id"
            return try Self.withBalances(db, sql: sql, arguments: StatementArguments(arguments))
        }
    }

    /// Names of the given customers, by id (missing ids are absent).
    public func customerNames(_ ids: some Collection<String>) throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let ids = Array(ids)
        return try writer.read { db in
            var names: [String: String] = [:]
            // In batches: SQLite takes at most 32,766 parameters per statement.
            for start in stride(from: 0, to: ids.count, by: 10_000) {
                let batch = ids[start..<min(start + 10_000, ids.count)]
                let request = CustomerRow.select(CustomerRow.Columns.id, CustomerRow.Columns.name).filter(keys: batch)
                let rows = try Row.fetchCursor(db, request)
                while let row = try rows.next() { names[row[0]] = row[1] }
            }
            return names
        }
    }

    /// The `ledger_entry` columns ``withBalances`` reads, in its order.
    private static func entryColumns(_ alias: String) -> String {
        ["id", "kind", "customer_id", "currency", "amount", "date", "due_date", "reference", "source_id", "target_id", "memo"]
            .map { "\(alias).\($0)" }.joined(separator: ", ")
    }

    /// Entries (``entryColumns(_:)``) with their balance (the next
    /// column), read by position: a statement reads thousands of them.
    private static func withBalances(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(entry: LedgerEntry, open: Money)] {
        do {
            return try readBalances(db, sql: sql, arguments: arguments)
        } catch let error as DatabaseError where error.message == "integer overflow" {
            throw sumOutOfRange
        }
    }

    private static func readBalances(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(entry: LedgerEntry, open: Money)] {
        var result: [(entry: LedgerEntry, open: Money)] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            guard let kind = LedgerEntryKind(rawValue: row[1]), let currency = Currency(code: row[3]), let date = CivilDate(row[5]) else { continue }
            let entry = LedgerEntry(
                id: row[0], kind: kind, customerID: row[2], amount: Money(minorUnits: row[4], currency: currency), date: date,
                dueDate: (row[6] as String?).flatMap(CivilDate.init), reference: row[7], sourceID: row[8], targetID: row[9], memo: row[10]
            )
            result.append((entry, Money(minorUnits: try integer(row, 11), currency: currency)))
        }
        return result
    }
}

/// How a query sums 64-bit amounts. `narrow`: SQLite's own SUM, one column, which raises
/// "integer overflow" rather than wrap, and is REAL when a value is (a balance the triggers could
/// not keep as an integer); its reader throws ``TooNarrow`` for the REAL, and either sends the
/// query back to be summed `wide` (``WideSum``: two columns, never overflows). An aging sums each
/// invoice into every bucket's column, so the narrow form's half as many sums is most of its cost.
enum SumWidth {
    case narrow, wide

    enum TooNarrow: Error { case sum }

    var columnsPerSum: Int { self == .narrow ? 1 : 2 }

    /// The result columns of one sum, optionally `FILTER (WHERE filter)` (bound once per column).
    func columns(_ expression: String, filter: String? = nil) -> String {
        switch self {
        case .narrow: "SUM(\(expression))" + (filter.map { " FILTER (WHERE \($0))" } ?? "")
        case .wide: WideSum.columns(expression, filter: filter)
        }
    }

    /// Sum number `sum` of those that start at column `first` (NULL, no rows: zero).
    func value(_ row: Row, sum: Int, from first: Int) throws -> Int128 {
        switch self {
        case .wide:
            return WideSum.value(row, at: first + 2 * sum)
        case .narrow:
            switch (row[first + sum] as DatabaseValue).storage {
            case .null: return 0
            case .int64(let value): return Int128(value)
            default: throw TooNarrow.sum
            }
        }
    }
}

/// A SQL SUM that cannot overflow: each value's high 32 bits (arithmetic shift, |hi| <= 2^31) and
/// low 32 bits (0 <= lo < 2^32) are summed apart, so SQLite's 64-bit SUM could overflow only past
/// 2^31 rows, far beyond any tenant; Swift joins them in 128 bits as hi * 2^32 + lo.
enum WideSum {
    /// Two result columns: the high and the low halves' sums, optionally `FILTER (WHERE filter)`.
    static func columns(_ expression: String, filter: String? = nil) -> String {
        let where_ = filter.map { " FILTER (WHERE \($0))" } ?? ""
        return "SUM((\(expression)) >> 32)\(where_), SUM((\(expression)) & 4294967295)\(where_)"
    }

    /// The exact sum from the two columns at `index` and `index + 1` (NULL, no rows: zero).
    static func value(_ row: Row, at index: Int) -> Int128 {
        let high = (row[index] as Int64?) ?? 0
        let low = (row[index + 1] as Int64?) ?? 0
        return Int128(high) << 32 + Int128(low)
    }
}

/// One page of an aging (``TenantStore/agingPage(analystID:asOf:buckets:page:)``).
public struct AgingPage: Sendable {
    public var rows: [AgingReport.Row]
    /// Pass it back for the next page; nil on the last.
    public var nextCursor: String?
    /// The whole report's sums per currency and bucket, in 128 bits.
    public var totals: [Currency: [Int128]]
}

/// The columns that turn a row `o` of `customer_open_balance` (one customer's open invoices in
/// one currency, kept by triggers) into that customer's sums as of a date when the ledger is
/// current on it (``TenantStore/ledgerIsCurrent(_:asOf:)``): its kept open total, and two seeks
/// into the covering partial index `open_invoice_by_customer_currency_due` (migration v34): the
/// first open invoice in due-date order, and the balances due on or after the date (what is not
/// yet overdue). The index puts invoices without a due date first, so the first one says whether
/// there are any: when there are none (every invoice the API takes has a due date) it is the
/// oldest due date, overdue when before the date; when there are, two more seeks for that
/// customer alone (``sum(_:_:at:customerID:asOf:)``) find the oldest due date before the date
/// and the undated sum (never overdue). No invoice row is read and nothing is grouped: a
/// worklist adds these columns to its one read of the analyst's customers.
enum CurrentOpenBalance {
    private static let open = "b.gross > 0 AND b.reversed_on IS NULL"
    private static let range = "b.customer_id = o.customer_id AND b.currency = o.currency AND \(open)"
    private static let index = "invoice_balance b INDEXED BY open_invoice_by_customer_currency_due"

    /// Six columns: currency, the kept sum's halves, its count of inexact balances, the first
    /// open invoice's due date ('' for none: it has no due date) and the sum not yet due (a
    /// 64-bit SUM: it is part of the open total, which must fit 64 bits too; SQLite raises
    /// "integer overflow" when it does not). The date is bound once, first (``arguments(_:)``).
    static let columns = """
        o.currency, o.high, o.low, o.inexact,
        (SELECT IFNULL(b.due_date, '') FROM \(index) WHERE \(range) ORDER BY b.due_date LIMIT 1),
        (SELECT SUM(b.gross) FROM \(index) WHERE \(range) AND b.due_date >= ?1)
        """

    /// For a customer and currency with undated open invoices: the oldest due date before the
    /// date, and the undated sum (64-bit, as above).
    private static let undated = """
        SELECT (SELECT MIN(b.due_date) FROM \(index) WHERE b.customer_id = ?2 AND b.currency = ?3 AND \(open) AND b.due_date < ?1),
               (SELECT SUM(b.gross) FROM \(index) WHERE b.customer_id = ?2 AND b.currency = ?3 AND \(open) AND b.due_date IS NULL)
        """

    static func arguments(_ asOf: CivilDate) -> [(any DatabaseValueConvertible)?] { [asOf.description] }

    /// The sum the six columns at `index` describe, nil for a currency this version does not
    /// know (as the other paths skip it).
    static func sum(_ db: Database, _ row: Row, at index: Int, customerID: String, asOf: CivilDate) throws -> OpenBalanceSum? {
        guard (row[index + 3] as Int64) == 0 else { throw TenantStore.sumOutOfRange }
        let code: String = row[index]
        guard let currency = Currency(code: code) else { return nil }
        let total = WideSum.value(row, at: index + 1)
        var notDue = Int128((row[index + 5] as Int64?) ?? 0)
        let day = asOf.description
        var oldestOverdue: String?
        switch row[index + 4] as String? {
        case ""?:
            let found = try Row.fetchOne(db.cachedStatement(sql: undated), arguments: [day, customerID, code])
            oldestOverdue = found?[0]
            notDue += Int128((found?[1] as Int64?) ?? 0)
        case let first? where first < day:
            oldestOverdue = first
        case _:
            break
        }
        return OpenBalanceSum(
            customerID: customerID, currency: currency, open: total, overdue: total - notDue,
            oldestOverdue: oldestOverdue.flatMap(CivilDate.init)
        )
    }

    /// Migration "v34: open invoices by customer, currency and due date": the partial index of
    /// open invoices (v22's, by customer and due date) in (customer, currency, due date) order
    /// and covering the open test, so each of the seeks above reads only index pages.
    static let schema = """
        DROP INDEX open_invoice_by_customer_due;
        CREATE INDEX open_invoice_by_customer_currency_due ON invoice_balance(customer_id, currency, due_date, gross, reversed_on)
            WHERE \(open.replacingOccurrences(of: "b.", with: "invoice_balance."));
        """
}

/// One customer's open invoices in one currency, as ``TenantStore/summedOpenBalanceSums(_:analystID:asOf:)`` sums them.
struct OpenBalanceSum: Equatable {
    var customerID: String
    var currency: Currency
    /// The positive balances' sum.
    var open: Int128
    /// The part of `open` due before the date.
    var overdue: Int128
    var oldestOverdue: CivilDate?
}

/// One row of an aging: a customer's receivables in one currency.
private struct AgingGroup: Hashable, Comparable {
    var customerID: String
    var currency: String

    static func < (a: Self, b: Self) -> Bool { (a.customerID, a.currency) < (b.customerID, b.currency) }
}

/// What entries dated after an aging's date change in its rows, one row at a time in (customer,
/// currency) order, from a cursor over the changed invoices in that order (customer, currency,
/// due date, balance as the ledger stands, and the change to undo).
private struct AgingCorrections {
    private let rows: RowCursor
    private let thresholds: [String]
    private let buckets: Int
    /// The first invoice of the next row, read ahead (a cursor's rows are reused, so copied out).
    private var ahead: (key: AgingGroup, dueDate: String, gross: Int64, delta: Int64)?

    init(_ rows: RowCursor, thresholds: [String], buckets: Int) throws {
        self.rows = rows
        self.thresholds = thresholds
        self.buckets = buckets
        ahead = try read()
    }

    private func read() throws -> (key: AgingGroup, dueDate: String, gross: Int64, delta: Int64)? {
        guard let row = try rows.next() else { return nil }
        return (AgingGroup(customerID: row[0], currency: row[1]), row[2], row[3], try TenantStore.integer(row, 4))
    }

    /// The next row's change: what to add to each bucket, and to its count of open items.
    mutating func next() throws -> (key: AgingGroup, sums: [Int128], open: Int)? {
        guard let first = ahead else { return nil }
        var sums = [Int128](repeating: 0, count: buckets)
        var open = 0
        var item: (key: AgingGroup, dueDate: String, gross: Int64, delta: Int64)? = first
        while let current = item, current.key == first.key {
            let balance = Int128(current.gross) + Int128(current.delta)
            sums[thresholds.firstIndex { current.dueDate >= $0 } ?? thresholds.count] += Int128(current.delta)
            open += (balance != 0 ? 1 : 0) - (current.gross != 0 ? 1 : 0)
            item = try read()
        }
        ahead = item
        return (first.key, sums, open)
    }
}

/// Migration "v41: the ledger by date and kind": v1's `ledger_entry_by_date` (date, id) with the
/// kind between, so the entries of some kinds dated after a date (an as-of report's corrections,
/// ``AsOfView``, and whether the ledger is current on a date) are picked out in the index, not by
/// reading each later entry's row for its kind: 30 days back, most of what is dated later is
/// invoices, which a correction never needs. A bootstrap defers this index like the one it
/// replaces: `IF EXISTS`, since a bootstrap cut short has it dropped (the migration then builds
/// the new one at once, and the kept SQL of the old one, run `IF NOT EXISTS`, does nothing).
enum LedgerByDate {
    static let schema = """
        DROP INDEX IF EXISTS ledger_entry_by_date;
        CREATE INDEX ledger_entry_by_date ON ledger_entry(date, kind, id);
        """

    /// Whether an entry of one of `kinds` is dated after the one argument: read from this index
    /// alone, a few pages even when a month of invoices is dated later.
    static func anyEntryAfter(kinds: [String]) -> String {
        "SELECT EXISTS (SELECT 1 FROM ledger_entry WHERE date > ? AND kind IN (\(kinds.map { "'\($0)'" }.joined(separator: ", "))))"
    }
}

/// The SQL pieces that read a derived balance table (alias `b`) as of a date: which rows count,
/// and the balance expression, joined to the correction (alias `x`) only when some entry is
/// dated after the date.
private struct AsOfView {
    enum Side { case invoice, source }

    /// A `WITH` clause defining `correction(id, delta)`, or empty.
    var with = ""
    var join = ""
    var balance = "b.gross"
    var arguments: [(any DatabaseValueConvertible)?] = []
    /// Which rows count as of the date.
    var counts = "b.reversed_on IS NULL"
    var countsArguments: [(any DatabaseValueConvertible)?] = []

    /// The kinds that change a balance after it is made.
    static let balanceChangingKinds = ["adjustment", "application", "write_off", "refund", "reversal"]

    /// Whether an entry of one of `kinds` is dated after `date` (by `ledger_entry_by_date`).
    static func anyEntry(_ db: Database, after date: String, kinds: [String]) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: LedgerByDate.anyEntryAfter(kinds: kinds)), arguments: [date]) ?? false
    }

    init(_ db: Database, asOf: CivilDate?, side: Side) throws {
        guard let asOf else { return }
        let date = asOf.description
        counts = "b.date <= ? AND (b.reversed_on IS NULL OR b.reversed_on > ?)"
        countsArguments = [date, date]
        guard try Self.anyEntry(db, after: date, kinds: Self.balanceChangingKinds) else { return }
        let (key, kinds, effect) =
            switch side {
            case .invoice: ("target_id", DerivedBalances.invoiceEffectKinds, DerivedBalances.invoiceEffect)
            case .source: ("source_id", DerivedBalances.sourceEffectKinds, { (e: String) in "-\(e).amount" })
            }
        with = """
            WITH correction(id, delta) AS MATERIALIZED (
                SELECT id, SUM(delta) FROM (
                    SELECT e.\(key) AS id, -(\(effect("e"))) AS delta FROM ledger_entry e
                    WHERE e.date > ? AND e.kind IN \(kinds) AND NOT \(DerivedBalances.isReversed("e"))
                    UNION ALL
                    SELECT t.\(key), \(effect("t")) FROM ledger_entry r JOIN ledger_entry t ON t.id = r.target_id
                    WHERE r.kind = 'reversal' AND r.date > ? AND t.kind IN \(kinds) AND t.date <= ?
                      AND NOT EXISTS (SELECT 1 FROM ledger_entry r2 WHERE r2.kind = 'reversal' AND r2.target_id = t.id
                                      AND (r2.date < r.date OR (r2.date = r.date AND r2.id < r.id)))
                ) GROUP BY id
            )
            """
        arguments = [date, date, date]
        join = "LEFT JOIN correction x ON x.id = b.\(side == .invoice ? "invoice_id" : "source_id")"
        balance = "b.gross + COALESCE(x.delta, 0)"
    }
}
