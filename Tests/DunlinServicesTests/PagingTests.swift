import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// Every list the services answer pages one way (PROTOCOL.md §16.1, "Paging"): an opaque cursor
/// and a page size with one clamp. Called in process through the router, on an in-memory tenant
/// store and a control database in a temporary directory.
@Suite("Services in process: one paging scheme for every list")
struct PagingTests {
    static let zone = TimeZone(identifier: "UTC")!
    static let day = CivilDate("2026-08-01")!
    static let count = 23

    /// Tenant t-acme (one of four) with 25 customers (three names, so the name order has ties), a USD invoice
    /// each and a PHP one for every other customer (aging rows in two currencies), 23 records of
    /// each kind, 23 activities and 12 replicas; a control database with the tenant, 23 of its
    /// users (all created at one instant: the id breaks the tie) and 23 tokens of one of them.
    struct World {
        let router: Router
        let tenant: TenantHandle
        let control: ControlStore
        let admin: UserRecord
        let directory: URL

        static func make() throws -> World {
            let clock = WallClock.fixed(CivilDate("2026-11-23")!, in: PagingTests.zone)
            let store = try TenantStore()
            let tenant = TenantHandle(id: "t-acme", store: store, baseCurrency: .usd, timeZone: PagingTests.zone, clock: clock)
            let customers = (0..<25).map { Customer(id: String(format: "C%02d", $0), number: "N\($0)", name: ["Globe", "Ayala", "Jollibee"][$0 % 3]) }
            try store.upsert(customers)
            var entries: [LedgerEntry] = []
            for (index, customer) in customers.enumerated() {
                entries.append(LedgerEntry(id: "U-\(customer.id)", kind: .invoice, customerID: customer.id, amount: Money(minorUnits: 1_000_00, currency: .usd),
                                           date: day, dueDate: day.adding(days: index), reference: "U-\(customer.id)"))
                if index % 2 == 0 {
                    entries.append(LedgerEntry(id: "P-\(customer.id)", kind: .invoice, customerID: customer.id, amount: Money(minorUnits: 5_000_00, currency: .php),
                                               date: day, dueDate: day, reference: "P-\(customer.id)"))
                }
            }
            try store.post(entries)
            let ids = (0..<PagingTests.count).map { String(format: "%02d", $0) }
            try store.upsert(ids.map { Contact(id: "K\($0)", customerID: "C00", name: ["Rosa", "Ben"][Int($0)! % 2], email: "k\($0)@globe.example") })
            try store.upsert(ids.map {
                Dispute(id: "D\($0)", customerID: "C00", invoiceIDs: ["U-C00"], amount: Money(minorUnits: 1_00, currency: .usd), reasonCode: "pricing",
                        openedOn: day.adding(days: Int($0)! % 4))
            })
            try store.upsert(ids.map {
                PromiseToPay(id: "P\($0)", customerID: "C00", invoiceIDs: ["U-C00"], amount: Money(minorUnits: 1_00, currency: .usd), madeOn: day,
                             promisedDate: day.adding(days: Int($0)! % 3))
            })
            try store.upsert(ids.map { CollectionTask(id: "T\($0)", assigneeID: "u-1", customerID: "C00", title: "call", dueDate: day.adding(days: Int($0)! % 5)) })
            try store.append(ids.map {
                Activity(id: "A\($0)", customerID: "C00", kind: .note, direction: .undirected, authorID: "u-1",
                         occurredAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(Int($0)! % 6) * 60), body: "noted")
            })
            for index in 0..<12 {
                try store.acknowledge(replica: "r" + String(repeating: String(format: "%x", index), count: 32), userID: "u-1", checkpoint: 0, rejoining: false)
            }

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-paging-\(UUID().uuidString)")
            let (control, _) = try ControlStore.initialize(directory, now: { 1_790_000_000_000 })
            for id in ["t-acme", "t-bayani", "t-cebu", "t-davao"] {
                _ = try control.createTenant(id: id, name: id, baseCurrency: "USD", timeZone: "UTC")
            }
            let admin = try control.createUser(tenantID: "t-acme", name: "Maria", email: "", role: .admin)
            for index in 1..<PagingTests.count {
                _ = try control.createUser(tenantID: "t-acme", name: "User \(index)", email: "", role: .viewer)
            }
            for index in 0..<PagingTests.count {
                _ = try control.issueToken(userID: admin.id, device: "laptop-\(index)", expiresAt: nil)
            }

            let tenants = FixedTenants([tenant])
            var router = Router()
            ReceivablesService(tenants: tenants).register(in: &router)
            RecordsService(tenants: tenants).register(in: &router)
            SyncService(tenants: tenants).register(in: &router)
            AdminService(tenants: try TenantDirectory(control: control)).register(in: &router)
            return World(router: router, tenant: tenant, control: control, admin: admin, directory: directory)
        }

        func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
            let principal = Dunlin_V1_Principal.with { $0.id = admin.id; $0.tenantID = "t-acme"; $0.role = Role.admin.rawValue }
            return try await router.callLocally(method, request, context: .local(principal: principal))
        }

        func remove() {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// One list as a test pages it: a page of `size` rows after `cursor`, as ids and the next cursor.
    typealias Lister = @Sendable (World, UInt32, String) async throws -> (ids: [String], next: String)

    static let lists: [(name: String, list: Lister)] = [
        ("ListCustomers", { world, size, cursor in
            let page = try await world.call(Receivables.listCustomers, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.customers.map(\.id), page.nextCursor)
        }),
        ("ListEntries", { world, size, cursor in
            let page = try await world.call(Receivables.listEntries, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.entries.map(\.id), page.nextCursor)
        }),
        ("ListContacts", { world, size, cursor in
            let page = try await world.call(Records.listContacts, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.contacts.map(\.id), page.nextCursor)
        }),
        ("ListDisputes", { world, size, cursor in
            let page = try await world.call(Records.listDisputes, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.disputes.map(\.id), page.nextCursor)
        }),
        ("ListPromises", { world, size, cursor in
            let page = try await world.call(Records.listPromises, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.promises.map(\.id), page.nextCursor)
        }),
        ("ListTasks", { world, size, cursor in
            let page = try await world.call(Records.listTasks, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.tasks.map(\.id), page.nextCursor)
        }),
        ("ListActivities", { world, size, cursor in
            let page = try await world.call(Records.listActivities, .with { $0.pageSize = size; $0.cursor = cursor; $0.newestFirst = true })
            return (page.activities.map(\.id), page.nextCursor)
        }),
        ("Aging", { world, size, cursor in
            let page = try await world.call(Receivables.aging, .with { $0.pageSize = size; $0.cursor = cursor; $0.baseCurrency = "-" })
            return (page.rows.map { "\($0.customerID)/\($0.currency)" }, page.nextCursor)
        }),
        ("ListReplicas", { world, size, cursor in
            let page = try await world.call(SyncMethods.listReplicas, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.replicas.map(\.id), page.nextCursor)
        }),
        ("ListTenants", { world, size, cursor in
            let principal = Dunlin_V1_Principal.with { $0.id = "u-root"; $0.role = Role.serverAdmin.rawValue }
            let page = try await world.router.callLocally(Admin.listTenants, .with { $0.pageSize = size; $0.cursor = cursor }, context: .local(principal: principal))
            return (page.tenants.map(\.id), page.nextCursor)
        }),
        ("ListUsers", { world, size, cursor in
            let page = try await world.call(Admin.listUsers, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.users.map(\.id), page.nextCursor)
        }),
        ("ListPeople", { world, size, cursor in
            let page = try await world.call(Admin.listPeople, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.users.map(\.id), page.nextCursor)
        }),
        ("ListTokens", { world, size, cursor in
            let page = try await world.call(Admin.listTokens, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.tokens.map(\.id), page.nextCursor)
        }),
        ("ListAudit", { world, size, cursor in
            let page = try await world.call(Admin.listAudit, .with { $0.pageSize = size; $0.cursor = cursor })
            return (page.events.map { "\($0.seq)" }, page.nextCursor)
        }),
    ]

    /// What each list holds, read in one page of the largest size.
    static func whole(_ list: Lister, _ world: World) async throws -> [String] {
        let (ids, next) = try await list(world, UInt32.max, "")
        #expect(next.isEmpty)
        return ids
    }

    @Test("paging through each list with small pages meets every row exactly once, in the order one page gives", arguments: lists.map(\.name))
    func everyRowOnce(name: String) async throws {
        let world = try World.make()
        defer { world.remove() }
        let list = try #require(Self.lists.first { $0.name == name }).list
        let whole = try await Self.whole(list, world)
        #expect(whole.count >= 2, "\(name) holds too little to page")
        for size: UInt32 in [1, 2, 7] {
            var seen: [String] = []
            var cursor = ""
            var pages = 0
            repeat {
                let (ids, next) = try await list(world, size, cursor)
                #expect(ids.count <= Int(size), "\(name): a page of \(ids.count) rows for page_size \(size)")
                if !next.isEmpty { #expect(ids.count == Int(size), "\(name): a short page before the last") }
                seen += ids
                cursor = next
                pages += 1
            } while !cursor.isEmpty && pages <= whole.count
            #expect(seen == whole, "\(name), page_size \(size)")
        }
    }

    @Test("a garbled cursor, and another list's cursor, are INVALID_ARGUMENT naming cursor", arguments: lists.map(\.name))
    func foreignCursors(name: String) async throws {
        let world = try World.make()
        defer { world.remove() }
        let list = try #require(Self.lists.first { $0.name == name }).list
        // A cursor of a list other than this one: the tasks', or for the tasks list the contacts'.
        let other = try #require(Self.lists.first { $0.name == (name == "ListTasks" ? "ListContacts" : "ListTasks") }).list
        let (_, foreign) = try await other(world, 1, "")
        for cursor in ["forged", "eyJsaXN0IjoiZWxzZXdoZXJlIiwia2V5IjoxLCJpZCI6IngifQ", foreign] {
            do {
                _ = try await list(world, 5, cursor)
                Issue.record("\(name) took cursor \(cursor)")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument, "\(name): \(error)")
                #expect(error.details.first?.field == "cursor", "\(name): \(error)")
            }
        }
    }

    @Test("page_size 0 is the default and a larger one than the maximum is cut to it, never refused")
    func oneClamp() async throws {
        let world = try World.make()
        defer { world.remove() }
        try world.tenant.store.upsert((0..<1_005).map { Customer(id: String(format: "X%04d", $0), number: "X\($0)", name: "Extra") })
        let standard = try await world.call(Receivables.listCustomers, .with { $0.pageSize = 0 })
        #expect(standard.customers.count == PageRequest.Sizes.lists.standard)
        let cut = try await world.call(Receivables.listCustomers, .with { $0.pageSize = 5_000 })
        #expect(cut.customers.count == PageRequest.Sizes.lists.maximum)
        #expect(!cut.nextCursor.isEmpty)
        // The admin lists clamp the same way (they once refused a size above 1000).
        let users = try await world.call(Admin.listUsers, .with { $0.pageSize = UInt32.max })
        #expect(users.users.count == Self.count)
        #expect(users.nextCursor.isEmpty)
        let aging = try await world.call(Receivables.aging, .with { $0.pageSize = UInt32.max; $0.baseCurrency = "-" })
        #expect(aging.rows.count == 25 + 13)
        #expect(aging.nextCursor.isEmpty)
    }
}
