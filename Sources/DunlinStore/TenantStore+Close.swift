import DunlinCore
import DunlinSync
import Foundation
import GRDB

/// Month-end closes (``PeriodClose``, kind `period_close`, migration v27): the record in
/// `period_close` (its sync form as JSON, like a conflict's), synced to every replica; the frozen
/// per-customer snapshot in `period_close_row`, on the server alone.
extension TenantStore {
    /// Closes `month` as `user` on `today` (the tenant's), in one transaction: the aging as of the
    /// month's last day, per customer and currency into `period_close_row` and in total,
    /// converted into `base` at the rates in force that day (a currency without one is kept as
    /// booked and left out of the buckets), the allowance at the tenant's matrix, the change
    /// against the latest close before it, and the count of the entries posted after that close
    /// into its period. Refuses (FAILED_PRECONDITION, field `month`) a month already closed or not
    /// over yet.
    public func closeMonth(_ month: String, by user: String, today: CivilDate, base: Currency) throws -> PeriodClose {
        let (_, through) = try PeriodClose.month(month)
        guard through < today else {
            throw DomainError.conflict(field: "month", "\(month) is not over yet (today is \(today)); a month closes from the day after its last")
        }
        let id = PeriodClose.id(month: month)
        return try writer.write { db in
            let existing = try Self.close(id, db)
            if let existing, existing.status == .closed {
                throw DomainError.conflict(field: "month", "\(month) was closed by \(existing.closedBy) on \(existing.closedOn); an admin reopens it first")
            }
            let matrix = try TenantSetting.allowanceMatrix(TenantSettingRow.live.fetchAll(db).map { try $0.record() })
            let buckets = AllowanceMatrix.buckets
            let closedSeq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM change_log") ?? 0
            let rows = try Self.agingSums(db, asOf: through, buckets: buckets)
            let rates = try Self.ratesInForce(db, into: base, on: through)

            // The frozen snapshot, as booked.
            try db.execute(sql: "DELETE FROM period_close_row WHERE close_id = ?", arguments: [id])
            let insert = try db.cachedStatement(sql: "INSERT INTO period_close_row (close_id, customer_id, currency, buckets) VALUES (?, ?, ?, ?)")
            var totals: [Currency: [Int128]] = [:]
            for row in rows {
                try insert.execute(arguments: [id, row.customerID, row.currency.code, "[" + row.buckets.map(String.init).joined(separator: ",") + "]"])
                for (index, amount) in row.buckets.enumerated() {
                    totals[row.currency, default: Array(repeating: 0, count: buckets.count)][index] += Int128(amount)
                }
            }
            // Each currency's buckets into the base, once each.
            var inBase = Array(repeating: Int128(0), count: buckets.count)
            var currencies: [PeriodClose.CurrencyTotal] = []
            for (currency, sums) in totals.sorted(by: { $0.key < $1.key }) {
                let booked = try AgingReport.narrow(sums, currency, field: "month")
                var entry = PeriodClose.CurrencyTotal(currency: currency, total: try AgingReport.Row(customerID: "", currency: currency, buckets: booked).total())
                if currency == base {
                    for (index, amount) in booked.enumerated() { inBase[index] += Int128(amount) }
                } else if let applied = rates[currency] {
                    for (index, amount) in booked.enumerated() {
                        do throws(MoneyError) {
                            inBase[index] += Int128(try applied.rate.convert(Money(minorUnits: amount, currency: currency)).minorUnits)
                        } catch {
                            throw DomainError.money(field: "month", error)
                        }
                    }
                    entry.rate = applied.rate.quoted
                    entry.inverse = applied.rate.inverted
                    entry.rateDate = applied.quote?.date.description ?? ""
                }
                currencies.append(entry)
            }
            let amounts = try AgingReport.narrow(inBase, base, field: "month")
            let previous = try Self.latestClose(before: month, db)
            let adjustments = try previous.map { try Self.postCloseEntries(of: $0, db).count } ?? 0
            var close = PeriodClose(
                month: month, through: through, baseCurrency: base,
                buckets: try PeriodClose.buckets(amounts, labels: buckets.labels, matrix: matrix), currencies: currencies,
                previousID: previous?.id ?? "", previousAllowance: previous?.allowance ?? 0, closedBy: user, closedOn: today, closedSeq: closedSeq,
                postCloseAdjustments: adjustments
            )
            // A reopened month closed again keeps the record of its reopening.
            if let existing {
                close.reopenedBy = existing.reopenedBy
                close.reopenedOn = existing.reopenedOn
                close.reopenReason = existing.reopenReason
            }
            try Self.write(close, replacing: existing, db)
            return close
        }
    }

    /// Reopens a closed month as `user` on `today`, with `reason`; its snapshot stays until the
    /// month is closed again. Refuses a month not closed (NOT_FOUND, or FAILED_PRECONDITION when
    /// already reopened) and an empty reason.
    public func reopenMonth(_ month: String, by user: String, today: CivilDate, reason: String) throws -> PeriodClose {
        _ = try PeriodClose.month(month)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DomainError.invalid(field: "reason", "must not be empty") }
        try StoredText.check(reason, field: "reason")
        let id = PeriodClose.id(month: month)
        return try writer.write { db in
            guard let existing = try Self.close(id, db) else { throw DomainError.notFound(field: "month", id: month) }
            guard existing.status == .closed else {
                throw DomainError.conflict(field: "month", "\(month) is not closed (reopened by \(existing.reopenedBy) on \(existing.reopenedOn?.description ?? "?"))")
            }
            var reopened = existing
            reopened.status = .reopened
            reopened.reopenedBy = user
            reopened.reopenedOn = today
            reopened.reopenReason = reason
            try Self.write(reopened, replacing: existing, db)
            return reopened
        }
    }

    /// The close of `month`, or nil.
    public func close(month: String) throws -> PeriodClose? {
        _ = try PeriodClose.month(month)
        return try writer.read { db in try Self.close(PeriodClose.id(month: month), db) }
    }

    /// Every close, newest month first.
    public func closes() throws -> [PeriodClose] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM period_close WHERE deleted = 0 ORDER BY month DESC").map(Self.decodeClose)
        }
    }

    /// The frozen snapshot of `month`'s close, one page by (customer id, currency).
    public func closeSnapshot(month: String, page: PageRequest) throws -> Page<AgingReport.Row> {
        let id = PeriodClose.id(month: month)
        let rows = try writer.read { db in
            guard try Self.close(id, db) != nil else { throw DomainError.notFound(field: "month", id: month) }
            return try Row.fetchAll(db, sql: "SELECT customer_id, currency, buckets FROM period_close_row WHERE close_id = ? ORDER BY customer_id, currency", arguments: [id])
                .map { row -> AgingReport.Row in
                    let customer: String = row[0], code: String = row[1], text: String = row[2]
                    guard let currency = Currency(code: code), let buckets = try? JSONDecoder().decode([Int64].self, from: Data(text.utf8)) else {
                        throw StoredValue.unreadable("period_close_row", "buckets", id: customer, text)
                    }
                    return AgingReport.Row(customerID: customer, currency: currency, buckets: buckets)
                }
        }
        return try Page(slicing: rows, list: "close_snapshot", page) { ($0.customerID, $0.currency.code) }
    }

    /// The entries dated on or before `month`'s last day and posted after its close, by date.
    public func postCloseAdjustments(month: String) throws -> [LedgerEntry] {
        let id = PeriodClose.id(month: month)
        return try writer.read { db in
            guard let close = try Self.close(id, db) else { throw DomainError.notFound(field: "month", id: month) }
            return try Self.postCloseEntries(of: close, db)
        }
    }

    // MARK: Rows

    static func close(_ id: String, _ db: Database) throws -> PeriodClose? {
        try String.fetchOne(db, sql: "SELECT body FROM period_close WHERE id = ? AND deleted = 0", arguments: [id]).map(decodeClose)
    }

    static func decodeClose(_ body: String) throws -> PeriodClose {
        try PeriodClose(fieldMap: RecordCoding.decode(Data(body.utf8)))
    }

    /// The latest close of a month before `month` that is closed.
    static func latestClose(before month: String, _ db: Database) throws -> PeriodClose? {
        try String.fetchOne(db, sql: "SELECT body FROM period_close WHERE deleted = 0 AND month < ? AND status = 'closed' ORDER BY month DESC LIMIT 1", arguments: [month])
            .map(decodeClose)
    }

    static func postCloseEntries(of close: PeriodClose, _ db: Database) throws -> [LedgerEntry] {
        try LedgerEntryRow.fetchAll(db, sql: """
            SELECT e.* FROM change_log c JOIN ledger_entry e ON e.id = c.record_id
            WHERE c.seq > ? AND c.record_kind = 'ledger_entry' AND c.op = 'insert' AND e.date <= ?
            ORDER BY e.date, e.id
            """, arguments: [close.closedSeq, close.through.description]).compactMap(\.entry)
    }

    /// Writes `close` over `existing` (nil: new), logging the change and stamping what changed.
    static func write(_ close: PeriodClose, replacing existing: PeriodClose?, _ db: Database) throws {
        var fields = close.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        var before = existing?.fieldMap
        before?[RecordCoding.deletedField] = .bool(false)
        try db.execute(
            sql: "INSERT OR REPLACE INTO period_close (id, month, status, body, deleted) VALUES (?, ?, ?, ?, 0)",
            arguments: [close.id, close.month, close.status.rawValue, String(decoding: RecordCoding.canonical(close.fieldMap), as: UTF8.self)]
        )
        let seq = try logChange(db, kind: .periodClose, id: close.id, op: existing == nil ? "insert" : "update")
        try stampChangedFields(db, kind: .periodClose, id: close.id, before: before, after: fields, seq: seq)
    }
}
