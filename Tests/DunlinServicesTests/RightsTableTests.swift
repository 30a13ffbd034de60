import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// The services called in process, through the router's local call, on in-memory stores: no
/// sockets, so each case is cheap. The rights table (DunlinCore `Rights`) is the oracle: every
/// role's write of every mutable record kind is allowed exactly when the table says so.
@Suite("Services in process: the rights table and tenant isolation")
struct RightsTableTests {
    static let zone = TimeZone(identifier: "Asia/Manila")!

    /// Two tenants, Acme seeded with customer C1, invoice INV-1 and contact K1; Bayani empty.
    struct World {
        let router: Router
        let acme: TenantHandle
        let bayani: TenantHandle

        static func make() throws -> World {
            let clock = WallClock.fixed(CivilDate("2026-11-23")!, in: RightsTableTests.zone)
            let acme = TenantHandle(id: "t-acme", store: try TenantStore(), baseCurrency: .usd, timeZone: RightsTableTests.zone, clock: clock)
            let bayani = TenantHandle(id: "t-bayani", store: try TenantStore(), baseCurrency: .php, timeZone: RightsTableTests.zone, clock: clock)
            try acme.store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
            let day = CivilDate("2026-08-01")!
            try acme.store.post([
                LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd),
                            date: day, dueDate: day, reference: "INV-1"),
            ])
            try acme.store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example")])
            let tenants = FixedTenants([acme, bayani])
            var router = Router()
            ReceivablesService(tenants: tenants).register(in: &router)
            RecordsService(tenants: tenants).register(in: &router)
            DunningService(tenants: tenants, authority: true).register(in: &router)
            CashService(tenants: tenants, authority: true).register(in: &router)
            CloseService(tenants: tenants, authority: true).register(in: &router)
            return World(router: router, acme: acme, bayani: bayani)
        }

        func call<Request, Response>(
            _ method: MethodDescriptor<Request, Response>, _ request: Request, as role: Role, tenant: String = "t-acme", user: String = "u-1"
        ) async throws -> Response {
            let principal = Dunlin_V1_Principal.with { $0.id = user; $0.tenantID = tenant; $0.role = role.rawValue }
            return try await router.callLocally(method, request, context: .local(principal: principal))
        }
    }

    /// The status a call ends with: nil for OK.
    static func status(_ body: () async throws -> Void) async -> StatusCode? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            Issue.record("not a status: \(error)")
            return .unknown
        }
    }

    static let tenantRoles: [Role] = [.viewer, .analyst, .manager, .admin]

    @Test("each role creates, changes and deletes each mutable kind exactly when the rights table allows", arguments: tenantRoles)
    func writesFollowTheTable(role: Role) async throws {
        let world = try World.make()
        func allowed(_ kind: RecordKind, _ write: RecordWrite) -> Bool {
            Rights.records[kind]?.role(for: write).map { role.satisfies($0) } ?? false
        }
        func expect(_ kind: RecordKind, _ write: RecordWrite, _ body: () async throws -> Void) async {
            let code = await Self.status(body)
            #expect((code == nil) == allowed(kind, write), "\(role.rawValue) \(write.rawValue) \(kind.rawValue): \(code.map { "\($0)" } ?? "OK")")
            if let code { #expect(code == .permissionDenied, "\(role.rawValue) \(write.rawValue) \(kind.rawValue)") }
        }
        // One user id per role, so a task assigned to the caller is its own.
        let user = "u-\(role.rawValue)"
        await expect(.contact, .change) {
            _ = try await world.call(Records.upsertContacts, .with { $0.contacts = [.with { $0.id = "K2"; $0.customerID = "C1"; $0.name = "Ben"; $0.email = "ben@globe.example" }] }, as: role, user: user)
        }
        await expect(.dispute, .change) {
            _ = try await world.call(Records.upsertDisputes, .with {
                $0.disputes = [.with { $0.id = "D1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = .with { $0.currency = "USD"; $0.minor = 50_00 }; $0.reasonCode = "pricing" }]
            }, as: role, user: user)
        }
        await expect(.promiseToPay, .change) {
            _ = try await world.call(Records.upsertPromises, .with {
                $0.promises = [.with {
                    $0.id = "P1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = .with { $0.currency = "USD"; $0.minor = 100_00 }
                    $0.promisedDate = "2026-11-30"
                }]
            }, as: role, user: user)
        }
        await expect(.collectionTask, .change) {
            _ = try await world.call(Records.upsertTasks, .with { $0.tasks = [.with { $0.id = "T1"; $0.title = "call Rosa"; $0.assigneeID = user }] }, as: role, user: user)
        }
        await expect(.activity, .create) {
            _ = try await world.call(Records.logActivities, .with { $0.activities = [.with { $0.customerID = "C1"; $0.kind = "note"; $0.body = "noted" }] }, as: role, user: user)
        }
        await expect(.customer, .change) {
            _ = try await world.call(Receivables.upsertCustomers, .with { $0.customers = [.with { $0.id = "C2"; $0.number = "1002"; $0.name = "Ayala" }] }, as: role, user: user)
        }
        await expect(.tenantSetting, .change) {
            _ = try await world.call(Records.updateSettings, .with { $0.settings = [.with { $0.id = "worklist.risk"; $0.value = "7" }] }, as: role, user: user)
        }
        await expect(.contact, .delete) {
            _ = try await world.call(Records.deleteContacts, .with { $0.ids = ["K1"] }, as: role, user: user)
        }
    }

    @Test("settings: every role reads them; a bad name or value is refused naming it and changes nothing; another tenant's stay its own")
    func settings() async throws {
        let world = try World.make()
        for role in Self.tenantRoles {
            let listed = try await world.call(Records.listSettings, .init(), as: role)
            #expect(listed.settings.map(\.id) == TenantSetting.names)
            #expect(listed.settings.allSatisfy { $0.isDefault })
        }
        let changed = try await world.call(Records.updateSettings, .with {
            $0.settings = [.with { $0.id = "worklist.broken_promise"; $0.value = "35" }, .with { $0.id = "worklist.risk"; $0.value = "0" }]
        }, as: .manager)
        #expect(changed.settings.first { $0.id == "worklist.broken_promise" }.map { [$0.value, "\($0.isDefault)"] } == ["35", "false"])
        let weights = try TenantSetting.weights(world.acme.store.settings())
        #expect(weights.brokenPromise == 35)
        for (id, value, field) in [("worklist.friendliness", "1", "id"), ("worklist.risk", "1001", "worklist.risk"), ("worklist.risk", "lots", "worklist.risk")] {
            do {
                _ = try await world.call(Records.updateSettings, .with {
                    $0.settings = [.with { $0.id = "worklist.overdue"; $0.value = "9" }, .with { $0.id = id; $0.value = value }]
                }, as: .manager)
                Issue.record("\(id)=\(value) was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument || error.code == .outOfRange, "\(id)=\(value)")
                #expect(error.details.first?.field == field, "\(id)=\(value): \(error)")
                #expect(error.details.first?.line == 2, "the item: \(id)=\(value)")
            }
        }
        let after = try TenantSetting.weights(world.acme.store.settings())
        #expect(after.overdue == WorklistWeights.standard.overdue, "nothing of a refused batch")
        // "" puts the default back.
        let reset = try await world.call(Records.updateSettings, .with { $0.settings = [.with { $0.id = "worklist.broken_promise"; $0.value = "" }] }, as: .admin)
        #expect(reset.settings.first { $0.id == "worklist.broken_promise" }?.isDefault == true)
        // Bayani's settings are its own.
        let bayani = try await world.call(Records.listSettings, .init(), as: .admin, tenant: "t-bayani")
        #expect(bayani.settings.first { $0.id == "worklist.risk" }?.value == "5")
    }

    @Test("an analyst's tasks are their own; a manager assigns anyone's", arguments: tenantRoles)
    func taskOwnership(role: Role) async throws {
        let world = try World.make()
        let code = await Self.status {
            _ = try await world.call(Records.upsertTasks, .with { $0.tasks = [.with { $0.id = "T1"; $0.title = "call"; $0.assigneeID = "u-someone-else" }] }, as: role)
        }
        switch role {
        case .viewer, .analyst: #expect(code == .permissionDenied)
        default: #expect(code == nil)
        }
    }

    @Test("another tenant's ids answer exactly like ids that do not exist, and its writes change nothing here")
    func tenantIsolation() async throws {
        let world = try World.make()
        let missing = await Self.status { _ = try await world.call(Records.getContact, .with { $0.id = "K1" }, as: .admin, tenant: "t-bayani") }
        let nowhere = await Self.status { _ = try await world.call(Records.getContact, .with { $0.id = "NOPE" }, as: .admin, tenant: "t-bayani") }
        #expect(missing == .notFound && nowhere == .notFound)
        let listed = try await world.call(Records.listContacts, .init(), as: .admin, tenant: "t-bayani")
        #expect(listed.contacts.isEmpty)
        let deleted = await Self.status { _ = try await world.call(Records.deleteContacts, .with { $0.ids = ["K1"] }, as: .admin, tenant: "t-bayani") }
        #expect(deleted == nil || deleted == .notFound)
        #expect(try world.acme.store.contact("K1") != nil)
        let customer = await Self.status { _ = try await world.call(Receivables.getCustomer, .with { $0.id = "C1" }, as: .admin, tenant: "t-bayani") }
        #expect(customer == .notFound)
    }

    @Test("a refusal names the field and the item, and writes nothing of its batch")
    func validationNamesFieldAndItem() async throws {
        let world = try World.make()
        do {
            _ = try await world.call(Records.upsertContacts, .with {
                $0.contacts = [.with { $0.id = "K3"; $0.customerID = "C1"; $0.name = "Ana"; $0.email = "ana@globe.example" }, .with { $0.id = "K4"; $0.customerID = "C1"; $0.name = ""; $0.email = "x@globe.example" }]
            }, as: .analyst)
            Issue.record("an unnamed contact was accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.details.first?.field == "name" && error.details.first?.line == 2)
        }
        #expect(try world.acme.store.contact("K3") == nil)
    }
}

@Suite("Services in process: client ids make retries safe")
struct RetryTests {
    @Test("an activity logged again with the same id and content changes nothing; other content is ALREADY_EXISTS")
    func activityRetries() async throws {
        let world = try RightsTableTests.World.make()
        let note = Dunlin_V1_ActivityRecord.with {
            $0.id = "ACT-1"; $0.customerID = "C1"; $0.kind = "call"; $0.direction = "outbound"; $0.outcome = "no answer"
            $0.occurredAt = 1_795_000_000_000
        }
        let first = try await world.call(Records.logActivities, .with { $0.activities = [note] }, as: .analyst)
        let again = try await world.call(Records.logActivities, .with { $0.activities = [note] }, as: .analyst)
        #expect(again == first)
        #expect(try world.acme.store.activities(customerID: "C1").items.map(\.id) == ["ACT-1"])
        var changed = note
        changed.outcome = "spoke to Rosa"
        do {
            _ = try await world.call(Records.logActivities, .with { $0.activities = [changed] }, as: .analyst)
            Issue.record("an activity id was reused with other content")
        } catch let error as RPCError {
            #expect(error.code == .alreadyExists && error.details.first?.field == "id" && error.details.first?.line == 1)
        }
        #expect(try world.acme.store.activity("ACT-1")?.outcome == "no answer")
    }
}
