import DunlinClient
import DunlinCore
import DunlinStore
import Foundation
import Testing

/// The analysts' SQL views (a schema contract) and `dunlin sql`'s read-only runner over them.
@Suite struct AnalystSQLTests {
    /// Each version of the views: their names and columns, in order. A change to a view needs a new
    /// version (AnalystViews.version) and its shape here; version 1's stays what it was.
    static let shapes: [Int: [String: [String]]] = {
        let one: [String: [String]] = [
            "ar_views": ["version", "report_day"],
            "ar_customers": ["customer_id", "number", "name", "analyst_id", "risk_rating", "payment_terms_days", "credit_limit_minor", "credit_currency", "time_zone", "language", "tags"],
            "ar_open_items": ["invoice_id", "reference", "customer_id", "customer_name", "analyst_id", "currency", "issue_date", "due_date", "amount_minor", "open_minor", "open", "days_past_due", "bucket"],
            "ar_ledger": ["entry_id", "kind", "customer_id", "currency", "amount_minor", "amount", "date", "due_date", "reference", "source_id", "target_id", "memo"],
            "ar_activities": ["activity_id", "customer_id", "kind", "direction", "outcome", "author_id", "occurred_at", "body"],
            "ar_promises": ["promise_id", "customer_id", "invoice_ids", "currency", "amount_minor", "amount", "made_on", "promised_date", "status", "installments", "note"],
            "ar_disputes": ["dispute_id", "customer_id", "invoice_ids", "currency", "amount_minor", "amount", "reason_code", "status", "owner_team", "opened_on", "resolved_on", "note"],
            "ar_approval_requests": ["request_id", "kind", "customer_id", "invoice_id", "source_id", "currency", "amount_minor", "amount", "terms_days", "reason", "requested_by", "requested_on", "status", "decided_by", "decided_on", "decision_reason"],
        ]
        // Version 2: version 1's views and the tickets.
        var two = one
        two["ar_tickets"] = ["ticket_id", "customer_id", "invoice_ids", "category", "priority", "subject", "status", "team_id", "assignee_id", "opened_at", "sla_minutes", "dispute_id", "request_id"]
        // Version 3: version 2's views, the exchange rates and the month-end closes.
        var three = two
        three["ar_exchange_rates"] = ["from_currency", "to_currency", "date", "rate", "source"]
        three["ar_closes"] = [
            "close_id", "month", "through", "status", "base_currency", "receivables_minor", "receivables", "allowance_minor", "allowance", "previous_close_id",
            "allowance_change_minor", "allowance_change", "closed_by", "closed_on", "reopened_by", "reopened_on", "reopen_reason", "post_close_adjustments",
        ]
        three["ar_close_buckets"] = ["close_id", "month", "status", "base_currency", "position", "bucket", "amount_minor", "amount", "rate_percent", "allowance_minor", "allowance"]
        return [1: one, 2: two, 3: three]
    }()

    static func store() throws -> (TenantStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-sql-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("replica.sqlite").path
        return (try TenantStore(path: path), path)
    }

    @Test("each view has the shape its version promises")
    func shapes() throws {
        let (_, path) = try Self.store()
        let expected = try #require(Self.shapes[AnalystViews.version], "a new version needs its shape here")
        #expect(Set(expected.keys) == Set(AnalystViews.names))
        for name in AnalystViews.names {
            let result = try AnalystSQL.run("SELECT * FROM \(name) LIMIT 0", path: path)
            #expect(result.columns == expected[name], "\(name)")
        }
        #expect(try AnalystSQL.run("SELECT version FROM ar_views", path: path).rows == [[.integer(Int64(AnalystViews.version))]])
    }

    @Test("tickets read as they are stored, their opening in ISO 8601 UTC")
    func tickets() throws {
        let (store, path) = try Self.store()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-ana")])
        try store.upsert([TeamCalendar(id: "billing-manila", timeZone: "Asia/Manila")])
        let ticket = Ticket(id: "tkt_1", customerID: "C1", category: .billing, priority: .high, subject: "invoice copy", teamID: "billing-manila", openedAt: 1_795_000_000_123, slaMinutes: 480)
        try store.open(ticket, event: TicketEvent(id: "tkt_1.opened", ticketID: "tkt_1", kind: .opened, at: ticket.openedAt, authorID: "u-ana", teamID: "billing-manila"))
        let result = try AnalystSQL.run("SELECT ticket_id, priority, status, opened_at, sla_minutes, invoice_ids FROM ar_tickets", path: path)
        #expect(result.rows == [[.text("tkt_1"), .text("high"), .text("open"), .text("2026-11-18T11:06:40.123Z"), .integer(480), .text("[]")]])
    }

    @Test("exchange rates read exact, and a month-end close with its buckets reads as the store closed it")
    func ratesAndCloses() throws {
        let (store, path) = try Self.store()
        let day = { (text: String) in CivilDate(text)! }
        try store.upsert([DatedRate(from: .usd, to: Currency(code: "PHP")!, date: day("2026-11-30"), rate: "56.125", source: "BSP reference rate")])
        #expect(try AnalystSQL.run("SELECT * FROM ar_exchange_rates", path: path).rows == [
            [.text("USD"), .text("PHP"), .text("2026-11-30"), .text("56.125"), .text("BSP reference rate")]
        ])

        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-ana")])
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd), date: day("2026-06-01"), dueDate: day("2026-07-01"), reference: "INV-1"),
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 200_00, currency: .usd), date: day("2026-11-01"), dueDate: day("2026-12-01"), reference: "INV-2"),
        ])
        let close = try store.closeMonth("2026-11", by: "u-m", today: day("2026-12-01"), base: .usd)
        let closes = try AnalystSQL.run(
            "SELECT close_id, month, through, status, base_currency, receivables_minor, receivables, allowance_minor, allowance_change_minor, closed_by, closed_on, reopened_on FROM ar_closes",
            path: path
        )
        #expect(closes.rows == [[
            .text("close_2026-11"), .text("2026-11"), .text("2026-11-30"), .text("closed"), .text("USD"), .integer(1_200_00), .real(1_200.0),
            .integer(close.allowance), .integer(close.allowanceChange), .text("u-m"), .text("2026-12-01"), .null,
        ]])
        #expect(close.receivables == 1_200_00 && close.allowance > 0)
        let buckets = try AnalystSQL.run("SELECT bucket, amount_minor, rate_percent, allowance_minor FROM ar_close_buckets ORDER BY position", path: path)
        #expect(buckets.rows == close.buckets.map { [.text($0.label), .integer($0.amount), .real(Double($0.rateBasisPoints) / 100), .integer($0.allowance)] })
        #expect(buckets.rows.count == AllowanceMatrix.buckets.bounds.count + 1)
    }

    @Test("open items with their age and bucket on the report day, amounts exact in minor units and in major units by currency")
    func openItems() throws {
        let (store, path) = try Self.store()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-ana")])
        let day = { (text: String) in CivilDate(text)! }
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd), date: day("2026-09-01"), dueDate: day("2026-10-01"), reference: "INV-1"),
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 5_000, currency: .jpy), date: day("2026-11-01"), dueDate: day("2026-12-31"), reference: "INV-2"),
            LedgerEntry(id: "INV-3", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_234, currency: .kwd), date: day("2026-06-01"), dueDate: day("2026-07-01"), reference: "INV-3"),
            LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 250_00, currency: .usd), date: day("2026-11-20")),
            LedgerEntry(id: "APP-1", kind: .application, customerID: "C1", amount: Money(minorUnits: 250_00, currency: .usd), date: day("2026-11-20"), sourceID: "PAY-1", targetID: "INV-1"),
        ])
        try store.setReportDay(day("2026-11-30"))
        let result = try AnalystSQL.run(
            "SELECT invoice_id, customer_name, open_minor, open, days_past_due, bucket FROM ar_open_items ORDER BY invoice_id", path: path
        )
        #expect(result.rows == [
            [.text("INV-1"), .text("Globe Retail"), .integer(750_00), .real(750.0), .integer(60), .text("31-60")],
            [.text("INV-2"), .text("Globe Retail"), .integer(5_000), .real(5_000.0), .integer(-31), .text("current")],
            [.text("INV-3"), .text("Globe Retail"), .integer(1_234), .real(1.234), .integer(152), .text("120+")],
        ])
        // The same figures as the store's own open balance.
        #expect(try store.openBalance(ofInvoice: "INV-1")?.minorUnits == 750_00)
        try store.setReportDay(day("2026-10-31"))
        #expect(try AnalystSQL.run("SELECT bucket FROM ar_open_items WHERE invoice_id = 'INV-1'", path: path).rows == [[.text("1-30")]])
    }

    @Test("only the views can be read, nothing written, one statement at a time", arguments: [
        ("SELECT * FROM customer", true),
        ("SELECT * FROM change_log", true),
        ("WITH c AS (SELECT * FROM ledger_entry) SELECT count(*) FROM c", true),
        ("SELECT (SELECT count(*) FROM sync_meta) FROM ar_views", true),
        ("DELETE FROM ar_report_day", true),
        ("INSERT INTO customer (id) VALUES ('x')", true),
        ("PRAGMA table_info(customer)", true),
        ("ATTACH DATABASE '/tmp/x.sqlite' AS x", true),
        ("SELECT 1; SELECT 2", false),
        ("SELEC 1", false),
        ("", false),
    ])
    func refusals(query: String, permission: Bool) throws {
        let (_, path) = try Self.store()
        do {
            _ = try AnalystSQL.run(query, path: path)
            Issue.record("ran \(query)")
        } catch let refusal as AnalystSQL.Refusal {
            #expect(refusal.permission == permission, "\(query): \(refusal)")
        }
    }

    @Test("views joined, grouped and filtered freely")
    func freeQueries() throws {
        let (store, path) = try Self.store()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
        let result = try AnalystSQL.run(
            "WITH x AS (SELECT customer_id, name FROM ar_customers) SELECT x.name, count(o.invoice_id) FROM x LEFT JOIN ar_open_items o USING (customer_id) GROUP BY 1",
            path: path
        )
        #expect(result.rows == [[.text("Globe Retail"), .integer(0)]])
        // A count reads no column: SQLite names the view's table, which is allowed; a direct
        // column read of the same table is not.
        #expect(try AnalystSQL.run("SELECT count(*) FROM ar_customers", path: path).rows == [[.integer(1)]])
        #expect(throws: AnalystSQL.Refusal.self) { try AnalystSQL.run("SELECT name FROM customer", path: path) }
    }
}
