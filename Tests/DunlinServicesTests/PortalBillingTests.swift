import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Portal billing's upload tasks and their worklist reason, on 2026-11-23 (Chicago).
@Suite("Services in process: portal billing")
struct PortalBillingTests {
    static func day(_ text: String) -> CivilDate { CivilDate(text)! }
    static func invoice(_ id: String, _ customer: String, issued: String, due: String) -> LedgerEntry {
        LedgerEntry(id: id, kind: .invoice, customerID: customer, amount: Money(minorUnits: 100_00, currency: .usd), date: day(issued), dueDate: day(due), reference: "N-\(id)")
    }

    /// Ana's C1 wants invoices on Coupa (the tenant's 2 days), C2 on Ariba within 5 days; C3 by
    /// email; C4 on a portal but without an analyst; Mo's C5 on Coupa, with an invoice of September.
    static func world() throws -> InProcessTenants {
        let tenants = try InProcessTenants.make()
        let store = tenants.acme.store
        try store.upsert([
            Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: "u-a", portalBilling: "Coupa (acct 99)"),
            Customer(id: "C2", number: "1002", name: "Harbor Foods", analystID: "u-a", portalBilling: "Ariba AN0123", portalUploadDays: 5),
            Customer(id: "C3", number: "1003", name: "Summit Steel", analystID: "u-a"),
            Customer(id: "C4", number: "1004", name: "Nobody's", portalBilling: "Coupa"),
            Customer(id: "C5", number: "1005", name: "Old Mill", analystID: "u-m", portalBilling: "Coupa"),
        ])
        try store.post([
            invoice("INV-1", "C1", issued: "2026-11-20", due: "2026-12-20"),
            invoice("INV-2", "C2", issued: "2026-11-21", due: "2026-12-21"),
            invoice("INV-3", "C3", issued: "2026-11-21", due: "2026-12-21"),
            invoice("INV-4", "C4", issued: "2026-11-21", due: "2026-12-21"),
            invoice("INV-OLD", "C5", issued: "2026-09-01", due: "2026-10-01"),
            invoice("INV-VOID", "C1", issued: "2026-11-21", due: "2026-12-21"),
            LedgerEntry(id: "REV-VOID", kind: .reversal, customerID: "C1", amount: Money(minorUnits: 100_00, currency: .usd), date: day("2026-11-22"), targetID: "INV-VOID"),
        ])
        return tenants
    }

    @Test("each new invoice of a portal customer gets one upload task, due by the customer's rule or the tenant's; old, voided and email invoices get none; made again, nothing twice")
    func tasks() async throws {
        let tenants = try Self.world()
        let scheduler = DunningScheduler(clock: InProcessTenants.clock)
        #expect(scheduler.portalTasks([tenants.acme]).map(\.made) == [2])
        let tasks = try tenants.acme.store.tasks().items.sorted { $0.id < $1.id }
        #expect(tasks.map(\.id) == ["tsk_portal_INV-1", "tsk_portal_INV-2"])
        #expect(tasks.map(\.dueDate) == [Self.day("2026-11-22"), Self.day("2026-11-26")], "Nov 20 + the tenant's 2 days; Nov 21 + C2's 5")
        #expect(tasks[0].assigneeID == "u-a" && tasks[0].customerID == "C1" && tasks[0].title == "Upload invoice N-INV-1 to Coupa (acct 99)")
        #expect(scheduler.portalTasks([tenants.acme]).map(\.made) == [0])
        // One an analyst deleted stays deleted.
        try tenants.acme.store.deleteTasks(["tsk_portal_INV-2"])
        #expect(try tenants.acme.store.makePortalTasks(today: Self.day("2026-11-23")).isEmpty)
        // The tenant's rule is a manager's setting, 0 to 90 days; a customer's likewise.
        _ = try await tenants.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "portal.upload_days"; $0.value = "7" }] })
        try tenants.acme.store.post([Self.invoice("INV-5", "C1", issued: "2026-11-23", due: "2026-12-23")])
        #expect(try tenants.acme.store.makePortalTasks(today: Self.day("2026-11-23")).map(\.dueDate) == [Self.day("2026-11-30")])
        let setting = await refusal {
            _ = try await tenants.acme(.manager).unary(Records.updateSettings, .with { $0.settings = [.with { $0.id = "portal.upload_days"; $0.value = "91" }] })
        }
        #expect(setting?.code == .invalidArgument && setting?.details.first?.field == "portal.upload_days")
        var customer = Dunlin_V1_CustomerRecord(try #require(try tenants.acme.store.customer("C2")))
        customer.portalUploadDays = -1
        let field = await refusal { _ = try await tenants.acme(.manager).unary(Receivables.upsertCustomers, .with { $0.customers = [customer] }) }
        #expect(field?.details.first?.field == "portal_upload_days")
    }

    @Test("the worklist names invoices not yet uploaded; a late upload brings the customer onto the list without making it a call-back; done, the reason goes")
    func worklist() async throws {
        let tenants = try Self.world()
        try tenants.acme.store.makePortalTasks(today: Self.day("2026-11-23"))
        let list = try await tenants.acme(.analyst).unary(Receivables.worklist, .init())
        let globe = try #require(list.rows.first { $0.customerID == "C1" }, "nothing is overdue: the late upload alone brings C1 on")
        #expect(globe.reasons == ["1 invoice not yet uploaded to the portal (late since 2026-11-22)", "never contacted"])
        #expect(!globe.priority)
        #expect(!list.rows.contains { $0.customerID == "C2" }, "C2's upload is not due yet")
        var task = try #require(try tenants.acme.store.task("tsk_portal_INV-1"))
        task.done = true
        try tenants.acme.store.upsert([task])
        let after = try await tenants.acme(.analyst).unary(Receivables.worklist, .init())
        #expect(!after.rows.contains { $0.customerID == "C1" })
    }
}
