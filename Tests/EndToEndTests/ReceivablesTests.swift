import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Two tenants, Acme (USD base, Chicago) and Bayani (PHP base, Manila), each with its own store,
/// and a token per role.
struct TwoTenants {
    let server: TestServer
    let acme: TenantHandle
    let bayani: TenantHandle

    /// Noon on 2026-11-23 in Chicago (02:00 on the 24th in Manila): the day every test here runs,
    /// whatever the machine's date.
    static let clock = WallClock.fixed(CivilDate("2026-11-23")!, hour: 12, in: TimeZone(identifier: "America/Chicago")!)

    static func start() async throws -> TwoTenants {
        let acme = TenantHandle(id: "t-acme", store: try TenantStore(), baseCurrency: .usd, timeZone: TimeZone(identifier: "America/Chicago")!, clock: clock)
        let bayani = TenantHandle(id: "t-bayani", store: try TenantStore(), baseCurrency: .php, timeZone: TimeZone(identifier: "Asia/Manila")!, clock: clock)
        func principal(_ id: String, _ tenant: String, _ role: String) -> Dunlin_V1_Principal {
            .with { $0.id = id; $0.tenantID = tenant; $0.role = role }
        }
        let tokens = [
            "acme-viewer": principal("u-v", "t-acme", "viewer"),
            "acme-analyst": principal("u-a", "t-acme", "analyst"),
            "acme-manager": principal("u-m", "t-acme", "manager"),
            "bayani-manager": principal("u-b", "t-bayani", "manager"),
            "server-admin": principal("root", "", "server-admin"),
        ]
        let server = try await TestServer.start(
            services: [
                DiagnosticsService(), ReceivablesService(tenants: FixedTenants([acme, bayani])), RecordsService(tenants: FixedTenants([acme, bayani])),
                CashService(tenants: FixedTenants([acme, bayani]), authority: true),
            ],
            tokens: tokens
        )
        return TwoTenants(server: server, acme: acme, bayani: bayani)
    }
}

private func amount(_ minor: Int64, _ currency: String = "USD") -> Dunlin_V1_Amount {
    .with { $0.currency = currency; $0.minor = minor }
}

/// Seeds Acme with one customer, two invoices and a payment, as its manager.
private func seedAcme(_ client: RPCClient) async throws {
    _ = try await client.unary(Receivables.upsertCustomers, .with {
        $0.customers = [.with { $0.id = "C1"; $0.number = "1001"; $0.name = "Globe Retail"; $0.timeZone = "America/Chicago" }]
    })
    func entry(_ id: String, _ kind: String, _ minor: Int64, on date: String, due: String = "") -> Dunlin_V1_LedgerEntryRecord {
        .with { $0.id = id; $0.kind = kind; $0.customerID = "C1"; $0.amount = amount(minor); $0.date = date; $0.dueDate = due; $0.reference = due.isEmpty ? "" : id }
    }
    _ = try await client.unary(Receivables.postEntries, .with {
        $0.entries = [
            entry("INV-1", "invoice", 1_000_00, on: "2026-08-01", due: "2026-09-01"),
            entry("INV-2", "invoice", 500_00, on: "2026-08-01", due: "2026-12-01"),
            entry("PAY-1", "payment", 1_200_00, on: "2026-11-20"),
        ]
    })
}

// One representative case over a real connection: seeded, aged, applied and unapplied through the
// wire. The service's rights, refusals, paging and tenant isolation are checked in process
// (DunlinServicesTests, ReceivablesServiceTests).
@Suite("Receivables over the protocol", .timeLimit(.minutes(2)))
struct ReceivablesTests {
    @Test("applying a payment moves the aging, and unapplying moves it back")
    func applyAndAge() async throws {
        let world = try await TwoTenants.start()
        let manager = world.server.client(token: "acme-manager")
        let analyst = world.server.client(token: "acme-analyst")
        try await seedAcme(manager)

        let before = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" })
        #expect(before.labels == ["current", "1-30", "31-60", "61-90", "91-120", "120+"])
        #expect(before.totals.first?.buckets == [500_00, 0, 0, 1_000_00, 0, 0])  // INV-1 is 83 days past due

        let applied = try await analyst.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-1"
            $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = amount(1_000_00); $0.applicationID = "APP-1" }]
            $0.date = "2026-11-21"
        })
        #expect(applied.applications.count == 1)

        let after = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" })
        #expect(after.totals.first?.buckets == [500_00, 0, 0, 0, 0, 0])
        let statement = try await analyst.unary(Receivables.statement, .with { $0.customerID = "C1"; $0.asOf = "2026-11-23" })
        #expect(statement.openInvoices.map(\.id) == ["INV-2"])
        #expect(statement.payments.first?.balance.minor == 200_00)
        // Packed: the same invoices as columns, and no records beside them.
        let packed = try await analyst.unary(Receivables.statement, .with { $0.customerID = "C1"; $0.asOf = "2026-11-23"; $0.packed = true })
        #expect(packed.openInvoices.isEmpty && packed.openInvoiceColumns.id == ["INV-2"])
        #expect(try packed.openInvoiceColumns.records(customerID: "C1") == statement.openInvoices)
        #expect(try packed.openInvoiceRecords() == statement.openInvoiceRecords())
        #expect(packed.payments == statement.payments && packed.totalOpen == statement.totalOpen)
        let unapplied = try await analyst.unary(Receivables.unappliedCash, .init())
        #expect(unapplied.totals == [amount(200_00)])

        _ = try await analyst.unary(Receivables.unapply, .with { $0.applicationID = "APP-1" })
        let undone = try await analyst.unary(Receivables.aging, .with { $0.asOf = "2026-11-23" })
        #expect(undone.totals.first?.buckets == before.totals.first?.buckets)
        let entry = try await analyst.unary(Receivables.getEntry, .with { $0.id = "APP-1" })
        #expect(entry.reversed)
        try await world.server.stop()
    }
}
