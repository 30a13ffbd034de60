import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Approval requests through the Records service, in process: who may ask and decide what, the
/// entry written only on approval and in the same transaction, another tenant's ids, and a
/// replica's decision left for the server.
@Suite("Services in process: approval requests")
struct ApprovalServiceTests {
    typealias World = RightsTableTests.World

    static func add(
        _ world: World, _ kind: ApprovalKind, minor: Int64?, invoice: String = "INV-1", as role: Role = .analyst, user: String = "u-ana"
    ) async throws -> Dunlin_V1_ApprovalRequestRecord {
        try await world.call(Records.addApprovalRequest, .with {
            $0.request = .with {
                $0.kind = kind.rawValue
                $0.customerID = "C1"
                if kind == .writeOff || kind == .adjustment { $0.invoiceID = invoice }
                if let minor { $0.amount = Dunlin_V1_Amount(Money(minorUnits: minor, currency: .usd)) }
                if kind == .terms { $0.termsDays = 45 }
                $0.reason = "customer asked"
            }
        }, as: role, user: user)
    }

    static func decide(_ world: World, _ id: String, approve: Bool = true, as role: Role, user: String) async throws -> Dunlin_V1_ApprovalRequestRecord {
        try await world.call(Records.decideApprovalRequest, .with {
            $0.id = id
            $0.approve = approve
            $0.reason = "checked the file"
        }, as: role, user: user)
    }

    @Test("a write-off is asked by an analyst and written only when someone whose role covers it approves it, once")
    func writeOffLifecycle() async throws {
        let world = try World.make()
        let asked = try await Self.add(world, .writeOff, minor: 600_00)
        #expect(asked.status == "pending" && asked.requestedBy == "u-ana" && asked.requestedOn == "2026-11-23" && asked.entryID.isEmpty)
        #expect(asked.id.hasPrefix("req_"))
        #expect(try world.acme.store.entry(asked.id + ":writeoff") == nil)

        // 600.00 is over an analyst's 500.00: another analyst may not; the requester may not, even as admin.
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, asked.id, as: .analyst, user: "u-bo") } == .permissionDenied)
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, asked.id, as: .admin, user: "u-ana") } == .permissionDenied)
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, asked.id, as: .viewer, user: "u-vi") } == .permissionDenied)
        #expect(try world.acme.store.entry(asked.id + ":writeoff") == nil)

        let approved = try await Self.decide(world, asked.id, as: .manager, user: "u-ben")
        #expect(approved.status == "approved" && approved.decidedBy == "u-ben" && approved.decidedOn == "2026-11-23")
        #expect(approved.entryID == asked.id + ":writeoff")
        let entry = try #require(try world.acme.store.entry(approved.entryID))
        #expect(entry.kind == .writeOff && entry.targetID == "INV-1" && entry.amount.minorUnits == 600_00)
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 400_00)

        // Again the same way: the same answer, no second entry. The other way: a conflict.
        _ = try await Self.decide(world, asked.id, as: .manager, user: "u-ben")
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 400_00)
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, asked.id, approve: false, as: .admin, user: "u-cy") } == .failedPrecondition)
    }

    @Test("a rejection writes nothing; a terms change writes the customer's terms; a refused entry refuses the approval")
    func rejectionTermsAndRefusal() async throws {
        let world = try World.make()
        let small = try await Self.add(world, .writeOff, minor: 100_00)
        let rejected = try await Self.decide(world, small.id, approve: false, as: .analyst, user: "u-bo")
        #expect(rejected.status == "rejected" && rejected.entryID.isEmpty)
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 1_000_00)

        let terms = try await Self.add(world, .terms, minor: nil)
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, terms.id, as: .analyst, user: "u-bo") } == .permissionDenied)
        _ = try await Self.decide(world, terms.id, as: .manager, user: "u-ben")
        #expect(try world.acme.store.customer("C1")?.paymentTermsDays == 45)

        // More than the invoice has open: the ledger refuses the entry, so the request stays pending.
        let tooMuch = try await Self.add(world, .writeOff, minor: 2_000_00)
        #expect(await RightsTableTests.status { _ = try await Self.decide(world, tooMuch.id, as: .manager, user: "u-ben") } != nil)
        #expect(try world.acme.store.approvalRequest(tooMuch.id)?.request.status == .pending)
        #expect(try world.acme.store.entry(tooMuch.id + ":writeoff") == nil)
    }

    @Test("who may ask: analysts up; what they ask is theirs and pending; bad requests are refused naming the field and write nothing")
    func asking() async throws {
        let world = try World.make()
        #expect(await RightsTableTests.status { _ = try await Self.add(world, .credit, minor: 5_00, as: .viewer) } == .permissionDenied)
        for role in [Role.analyst, .manager, .admin] {
            _ = try await Self.add(world, .credit, minor: 5_00, as: role)
        }
        let cases: [(String, (inout Dunlin_V1_ApprovalRequestRecord) -> Void)] = [
            ("kind", { $0.kind = "forgive" }),
            ("amount", { $0.amount = Dunlin_V1_Amount(Money(minorUnits: -1, currency: .usd)) }),
            ("amount.currency", { $0.amount.currency = "XXY" }),
            ("customer_id", { $0.customerID = "C-NOPE" }),
            ("invoice_id", { $0.invoiceID = "INV-NOPE" }),
            ("status", { $0.status = "approved" }),
            ("requested_by", { $0.requestedBy = "u-someone-else" }),
            ("reason", { $0.reason = "" }),
        ]
        for (field, change) in cases {
            var record = Dunlin_V1_ApprovalRequestRecord.with {
                $0.kind = "writeoff"
                $0.customerID = "C1"
                $0.invoiceID = "INV-1"
                $0.amount = Dunlin_V1_Amount(Money(minorUnits: 5_00, currency: .usd))
                $0.reason = "why"
            }
            change(&record)
            do {
                _ = try await world.call(Records.addApprovalRequest, .with { $0.request = record }, as: .analyst)
                Issue.record("accepted a bad \(field)")
            } catch let error as RPCError {
                #expect(error.details.first?.field == field, "\(field): \(error)")
            }
        }
        #expect(try world.acme.store.approvalRequests().items.count == 3)
    }

    @Test("another tenant's requests answer NOT_FOUND, and its customers cannot be asked about")
    func tenants() async throws {
        let world = try World.make()
        let asked = try await Self.add(world, .credit, minor: 5_00)
        #expect(await RightsTableTests.status {
            _ = try await world.call(Records.getApprovalRequest, .with { $0.id = asked.id }, as: .admin, tenant: "t-bayani")
        } == .notFound)
        #expect(await RightsTableTests.status {
            _ = try await world.call(Records.decideApprovalRequest, .with { $0.id = asked.id; $0.approve = true; $0.reason = "x" }, as: .admin, tenant: "t-bayani", user: "u-z")
        } == .notFound)
        #expect(try world.acme.store.approvalRequest(asked.id)?.request.status == .pending)
        let listed = try await world.call(Records.listApprovalRequests, .init(), as: .viewer, tenant: "t-bayani")
        #expect(listed.requests.isEmpty)
    }

    @Test("on a replica (authority false) an approval is recorded and waits for the server: no entry")
    func replicaDecisionWaits() async throws {
        let clock = WallClock.fixed(CivilDate("2026-11-23")!, in: RightsTableTests.zone)
        let tenant = TenantHandle(id: "t-acme", store: try TenantStore(), baseCurrency: .usd, timeZone: RightsTableTests.zone, clock: clock)
        try tenant.store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
        try tenant.store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd),
                        date: CivilDate("2026-08-01")!, dueDate: CivilDate("2026-08-01")!, reference: "INV-1"),
        ])
        var router = Router()
        RecordsService(tenants: FixedTenants([tenant]), authority: false).register(in: &router)
        func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request, as role: Role, user: String) async throws -> Response {
            try await router.callLocally(method, request, context: .local(principal: .with { $0.id = user; $0.tenantID = "t-acme"; $0.role = role.rawValue }))
        }
        let asked = try await call(Records.addApprovalRequest, .with {
            $0.request = .with { $0.kind = "writeoff"; $0.customerID = "C1"; $0.invoiceID = "INV-1"; $0.amount = Dunlin_V1_Amount(Money(minorUnits: 50_00, currency: .usd)); $0.reason = "r" }
        }, as: .analyst, user: "u-ana")
        let decided = try await call(Records.decideApprovalRequest, .with { $0.id = asked.id; $0.approve = true; $0.reason = "ok" }, as: .manager, user: "u-ben")
        #expect(decided.status == "approved" && decided.entryID.isEmpty)
        #expect(try tenant.store.entry(asked.id + ":writeoff") == nil)
        #expect(try tenant.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 1_000_00)
    }
}
