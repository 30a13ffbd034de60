import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Synchronization
import Testing

/// One tenant served by a real server on 127.0.0.1 with the Sync service, and laptops: replicas
/// in a temporary directory, each with its own analyst.
struct SyncWorld {
    let server: TestServer
    let tenant: TenantHandle
    let directory: URL

    static let principals: [String: Dunlin_V1_Principal] = [
        "manager": .with { $0.id = "u-m"; $0.name = "Marta"; $0.tenantID = "t-acme"; $0.role = "manager" },
        "mo": .with { $0.id = "u-mo"; $0.name = "Mo"; $0.tenantID = "t-acme"; $0.role = "manager" },
        "admin": .with { $0.id = "u-admin"; $0.name = "Ada"; $0.tenantID = "t-acme"; $0.role = "admin" },
        "ana": .with { $0.id = "u-ana"; $0.name = "Ana"; $0.tenantID = "t-acme"; $0.role = "analyst"; $0.device = "ana-laptop" },
        "ben": .with { $0.id = "u-ben"; $0.name = "Ben"; $0.tenantID = "t-acme"; $0.role = "analyst"; $0.device = "ben-laptop" },
        "cy": .with { $0.id = "u-cy"; $0.name = "Cy"; $0.tenantID = "t-acme"; $0.role = "analyst" },
        "viewer": .with { $0.id = "u-v"; $0.name = "Vi"; $0.tenantID = "t-acme"; $0.role = "viewer" },
    ]

    static func start() async throws -> SyncWorld {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tenant = TenantHandle(
            id: "t-acme", store: try TenantStore(path: directory.appendingPathComponent("server.sqlite").path),
            baseCurrency: .usd, timeZone: TimeZone(identifier: "America/Chicago")!
        )
        let tenants = FixedTenants([tenant])
        let server = try await TestServer.start(
            services: [
                DiagnosticsService(), ReceivablesService(tenants: tenants), RecordsService(tenants: tenants),
                DunningService(tenants: tenants, authority: true), CashService(tenants: tenants, authority: true), CloseService(tenants: tenants, authority: true),
                SyncService(tenants: tenants),
            ],
            tokens: principals
        )
        return SyncWorld(server: server, tenant: tenant, directory: directory)
    }

    /// A laptop logged in as `user` (a token name above), with its own replica file.
    func laptop(_ user: String, name: String? = nil) throws -> Laptop {
        let principal = Self.principals[user]!
        let profile = Profile(
            name: name ?? user, server: "127.0.0.1:\(server.port)", token: user, replicaID: Profile.newReplicaID(),
            userID: principal.id, userName: principal.name, tenantID: principal.tenantID, role: principal.role
        )
        let replica = try Replica(profile: profile, path: directory.appendingPathComponent("\(name ?? user).sqlite").path)
        return Laptop(replica: replica, client: try SyncEngine.client(for: profile, timeout: .seconds(5)))
    }

    func stop() async throws {
        try await server.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

struct Laptop {
    let replica: Replica
    let client: RPCClient

    @discardableResult
    func sync() async throws -> SyncReport { try await SyncEngine(replica: replica, client: client).sync() }

    func close() async { await client.close() }
}

func usd(_ minor: Int64) -> Dunlin_V1_Amount { .with { $0.currency = "USD"; $0.minor = minor } }

/// Seeds the server, as its manager: customer C1, invoices INV-1 (1,000.00) and INV-2 (500.00),
/// payment PAY-1 (1,200.00), contact K1.
func seed(_ world: SyncWorld) async throws {
    let client = world.server.client(token: "manager")
    defer { Task { await client.close() } }
    _ = try await client.unary(Receivables.upsertCustomers, .with {
        $0.customers = [.with { $0.id = "C1"; $0.number = "1001"; $0.name = "Globe Retail"; $0.timeZone = "America/Chicago" }]
    })
    _ = try await client.unary(Receivables.postEntries, .with {
        $0.entries = [
            .with { $0.id = "INV-1"; $0.kind = "invoice"; $0.customerID = "C1"; $0.amount = usd(1_000_00); $0.date = "2026-08-01"; $0.dueDate = "2026-09-01"; $0.reference = "INV-1" },
            .with { $0.id = "INV-2"; $0.kind = "invoice"; $0.customerID = "C1"; $0.amount = usd(500_00); $0.date = "2026-08-01"; $0.dueDate = "2026-12-01"; $0.reference = "INV-2" },
            .with { $0.id = "PAY-1"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(1_200_00); $0.date = "2026-11-20" },
        ]
    })
    _ = try await client.unary(Records.upsertContacts, .with {
        $0.contacts = [.with { $0.id = "K1"; $0.customerID = "C1"; $0.name = "Rosa"; $0.phone = "+1 312 555 0100"; $0.email = "rosa@globe.example" }]
    })
}

@Suite(.serialized, .loadsTheMachine) struct SyncTests {
    @Test func offlineWorkFromTwoLaptopsConvergesAndConcurrentEditsBecomeConflicts() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = try world.laptop("ana"), ben = try world.laptop("ben")
        #expect(try await ana.sync().bootstrapped)
        try await ben.sync()
        #expect(try await ana.replica.unary(Receivables.getCustomer, .with { $0.id = "C1" }).openBalance.map(\.minor) == [1_500_00])

        // Offline. Ana takes a new payment and applies it; both edit Rosa's phone; Ben also her email.
        _ = try await ana.replica.unary(Receivables.postEntries, .with {
            $0.entries = [.with { $0.id = "PAY-A"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(300_00); $0.date = "2026-11-22" }]
        })
        _ = try await ana.replica.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-A"
            $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = usd(300_00); $0.applicationID = "APP-A" }]
        })
        // Reports see local work at once.
        #expect(try await ana.replica.unary(Receivables.getCustomer, .with { $0.id = "C1" }).openBalance.map(\.minor) == [1_200_00])
        _ = try await ana.replica.unary(Records.upsertContacts, .with {
            $0.contacts = [.with { $0.id = "K1"; $0.customerID = "C1"; $0.name = "Rosa"; $0.phone = "+1 312 555 0101"; $0.email = "rosa@globe.example" }]
        })
        try await Task.sleep(for: .milliseconds(20))
        _ = try await ben.replica.unary(Records.upsertContacts, .with {
            $0.contacts = [.with { $0.id = "K1"; $0.customerID = "C1"; $0.name = "Rosa"; $0.phone = "+1 312 555 0102"; $0.email = "rosa.cruz@globe.example" }]
        })
        _ = try await ben.replica.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.id = "ACT-B"; $0.customerID = "C1"; $0.kind = "call"; $0.direction = "outbound"; $0.outcome = "promised Friday" }]
        })
        #expect(try ana.replica.store.pendingCount() == 3)

        let anaFirst = try await ana.sync()
        #expect(anaFirst.accepted == 3 && anaFirst.refused == 0)
        let benFirst = try await ben.sync()
        #expect(benFirst.accepted == 2 && benFirst.openConflicts == 1)
        try await ana.sync()

        // Everyone agrees: the later phone wins, the other is kept as a conflict; both emails merge.
        for store in [world.tenant.store, ana.replica.store, ben.replica.store] {
            let contact = try #require(try store.contact("K1"))
            #expect(contact.phone == "+1 312 555 0102")
            #expect(contact.email == "rosa.cruz@globe.example")
            #expect(try store.entry("PAY-A") != nil && store.entry("APP-A") != nil)
            #expect(try store.activity("ACT-B") != nil)
            #expect(try store.openBalance(ofInvoice: "INV-1")?.minorUnits == 700_00)
        }
        for store in [ana.replica.store, ben.replica.store] {
            let conflicts = try store.conflicts()
            #expect(conflicts.count == 1)
            #expect(conflicts.first?.field == "phone")
            #expect(conflicts.first?.kept == .string("+1 312 555 0102"))
            #expect(conflicts.first?.lost == .string("+1 312 555 0101"))
            #expect(try store.pendingCount() == 0)
        }
        // Settling on one laptop reaches the other: Ana puts her number back.
        let settled = try ana.replica.store.settleConflict(try ana.replica.store.conflicts()[0].id, outcome: .setAside, by: "u-ana")
        #expect(settled.status == .settled)
        try await ana.sync()
        try await ben.sync()
        #expect(try ben.replica.store.contact("K1")?.phone == "+1 312 555 0101")
        #expect(try ben.replica.store.conflicts().isEmpty)
        await ana.close()
        await ben.close()
        try await world.stop()
    }

    /// Issue 10.5: a settlement is one edit of the record; the first one to reach the server
    /// stands, a second is refused with who settled first, and nobody's record disagrees with
    /// the conflict's stated outcome.
    @Test func twoAnalystsSettleTheSameConflictDifferently() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = try world.laptop("ana"), ben = try world.laptop("ben"), cy = try world.laptop("cy")
        for laptop in [ana, ben, cy] { try await laptop.sync() }
        func phone(_ laptop: Laptop, _ number: String) async throws {
            _ = try await laptop.replica.unary(Records.upsertContacts, .with {
                $0.contacts = [.with { $0.id = "K1"; $0.customerID = "C1"; $0.name = "Rosa"; $0.phone = number; $0.email = "rosa@globe.example" }]
            })
        }
        try await phone(ana, "+63 1111")
        try await phone(ben, "+1 2222")
        for laptop in [ana, ben, ana, cy] { try await laptop.sync() }
        let open = try #require(try ana.replica.store.conflicts().first)
        #expect(try ben.replica.store.conflicts().map(\.id) == [open.id])
        // The conflict names each writer by user and the device their token was issued for.
        let writers = [open.keptBy: (open.keptByUser, open.keptDevice), open.lostBy: (open.lostByUser, open.lostDevice)]
        #expect(writers[ana.replica.profile.replicaID].map { [$0.0, $0.1] } == ["u-ana", "ana-laptop"])
        #expect(writers[ben.replica.profile.replicaID].map { [$0.0, $0.1] } == ["u-ben", "ben-laptop"])

        // Both settle, offline, each for their own number.
        let anaChoice: ConflictRecord.Outcome = open.kept == .string("+63 1111") ? .kept : .setAside
        let benChoice: ConflictRecord.Outcome = anaChoice == .kept ? .setAside : .kept
        _ = try ana.replica.store.settleConflict(open.id, outcome: anaChoice, by: "u-ana")
        _ = try ben.replica.store.settleConflict(open.id, outcome: benChoice, by: "u-ben")
        #expect(try ana.replica.store.contact("K1")?.phone == "+63 1111")
        #expect(try ben.replica.store.contact("K1")?.phone == "+1 2222")
        // Settling again on the same laptop is refused there.
        #expect(throws: DomainError.self) { try ana.replica.store.settleConflict(open.id, outcome: benChoice, by: "u-ana") }

        let first = try await ana.sync()
        #expect(first.accepted == 1 && first.refused == 0)
        let second = try await ben.sync()
        #expect(second.refused == 1)
        let refusal = try #require(try ben.replica.store.refusedChanges().first)
        #expect(refusal.kind == "sync_conflict" && refusal.id == open.id)
        #expect(refusal.refusal.code == StatusCode.failedPrecondition.rawValue && refusal.refusal.field == "status")
        #expect(refusal.refusal.message.contains("settled already, by u-ana"))
        #expect(refusal.refusal.message.contains("+63 1111"))
        for laptop in [ana, cy] { try await laptop.sync() }

        // Everywhere: Ana's settlement, and the record says what it says; no conflict on the conflict.
        for store in [world.tenant.store, ana.replica.store, ben.replica.store, cy.replica.store] {
            let all = try store.conflicts(includeSettled: true)
            #expect(all.map(\.id) == [open.id])
            let settled = try #require(all.first)
            #expect(settled.status == .settled && settled.settledBy == "u-ana" && settled.outcome == anaChoice)
            #expect(settled.settledValue == .string("+63 1111"))
            #expect(try store.contact("K1")?.phone == "+63 1111")
        }

        // The settlement is an edit like any other: Ben, who has pulled it, changes the number
        // again, and that simply wins, with no new conflict.
        try await phone(ben, "+1 3333")
        for laptop in [ben, ana] { try await laptop.sync() }
        for store in [world.tenant.store, ana.replica.store, ben.replica.store] {
            #expect(try store.contact("K1")?.phone == "+1 3333")
            #expect(try store.conflicts().isEmpty)
        }
        for laptop in [ana, ben, cy] { await laptop.close() }
        try await world.stop()
    }

    @Test func twoPeopleEditTheSameCustomerOffline() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let marta = try world.laptop("manager"), mo = try world.laptop("mo"), ana = try world.laptop("ana")
        for laptop in [marta, mo, ana] { try await laptop.sync() }
        func edit(_ laptop: Laptop, _ change: (inout Dunlin_V1_CustomerRecord) -> Void) async throws {
            var customer = try await laptop.replica.unary(Receivables.getCustomer, .with { $0.id = "C1" }).customer
            change(&customer)
            _ = try await laptop.replica.unary(Receivables.upsertCustomers, .with { $0.customers = [customer] })
        }
        // One changes the phone number, the other the credit limit: both edits survive.
        try await edit(marta) { $0.phone = "+1 312 555 0199" }
        try await edit(mo) { $0.creditLimit = usd(50_000_00) }
        for laptop in [marta, mo, marta, ana] { try await laptop.sync() }
        for store in [world.tenant.store, marta.replica.store, mo.replica.store, ana.replica.store] {
            let customer = try #require(try store.customer("C1"))
            #expect(customer.phone == "+1 312 555 0199")
            #expect(customer.creditLimit == Money(minorUnits: 50_000_00, currency: .usd))
            #expect(try store.conflicts().isEmpty)
        }
        // Both change the phone number: every replica shows the same one, and the conflict lists both.
        try await edit(marta) { $0.phone = "+1 312 555 0111" }
        try await Task.sleep(for: .milliseconds(20))
        try await edit(mo) { $0.phone = "+1 312 555 0222" }
        for laptop in [mo, marta, mo, ana] { try await laptop.sync() }
        let phones = try [world.tenant.store, marta.replica.store, mo.replica.store, ana.replica.store].map { try $0.customer("C1")?.phone }
        #expect(Set(phones).count == 1)
        #expect(phones.first == "+1 312 555 0222")
        for store in [marta.replica.store, mo.replica.store, ana.replica.store] {
            let conflict = try #require(try store.conflicts().first)
            #expect(conflict.kind == "customer" && conflict.recordID == "C1" && conflict.field == "phone")
            #expect(Set([conflict.kept, conflict.lost]) == [.string("+1 312 555 0111"), .string("+1 312 555 0222")])
            #expect(conflict.kept == .string("+1 312 555 0222"))
        }
        for laptop in [marta, mo, ana] { await laptop.close() }
        try await world.stop()
    }

    @Test func theSamePushReplayedChangesNothing() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let client = world.server.client(token: "ana")
        let activity = Activity(
            id: "ACT-1", customerID: "C1", kind: .note, direction: .undirected, outcome: "", authorID: "u-ana", occurredAt: Date(timeIntervalSince1970: 1_790_000_000), body: "left a note"
        ).fieldMap
        let contactEdit: FieldMap = ["phone": .string("+63 2 8888 0000")]
        let request = Dunlin_V1_PushRequest.with {
            $0.replicaID = testReplica("replay")
            $0.changes = [
                .with { $0.kind = "activity"; $0.id = "ACT-1"; $0.counter = 1; $0.fields = RecordCoding.canonical(activity) },
                .with { $0.kind = "contact"; $0.id = "K1"; $0.counter = 2; $0.baseSeq = 5; $0.fields = RecordCoding.canonical(contactEdit) },
                .with { $0.kind = "ledger_entry"; $0.id = "BAD"; $0.counter = 3; $0.fields = RecordCoding.canonical(["id": .string("BAD"), "kind": .string("invoice")]) },
            ]
        }
        let first = try await client.unary(SyncMethods.push, request)
        #expect(first.results.map(\.outcome) == [Dunlin_V1_PushResult.Outcome.accepted, .accepted, .refused])
        #expect(first.results[2].code == StatusCode.invalidArgument.rawValue)
        let sequence = try world.tenant.store.lastChangeSequence()
        let second = try await client.unary(SyncMethods.push, request)
        #expect(second.results.map(\.outcome) == [Dunlin_V1_PushResult.Outcome.duplicate, .duplicate, .duplicate])
        #expect(second.results[2].code == first.results[2].code && second.results[2].message == first.results[2].message)
        #expect(try world.tenant.store.lastChangeSequence() == sequence)
        #expect(try world.tenant.store.activities(customerID: "C1").items.count == 1)
        // Another user cannot push under this replica's id.
        let ben = world.server.client(token: "ben")
        await #expect(throws: RPCError.self) { try await ben.unary(SyncMethods.push, request) }
        await client.close()
        await ben.close()
        try await world.stop()
    }

    /// The server applies a push in runs, one savepoint a run (``TenantStore/applyPush``): a
    /// refusal rolls its run back and applies the changes before it again. Each refusal must still
    /// be the one a change-by-change push gives (the second ACT-1 is refused only because the first
    /// landed earlier in the same push), and every other change must land once.
    @Test("refusals inside one push are refused alone; the changes before and after them land once")
    func refusalsInsideOnePush() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let client = world.server.client(token: "ana")
        func activity(_ id: String, _ body: String) -> Data {
            RecordCoding.canonical(Activity(
                id: id, customerID: "C1", kind: .note, direction: .undirected, outcome: "", authorID: "u-ana",
                occurredAt: Date(timeIntervalSince1970: 1_790_000_000), body: body
            ).fieldMap)
        }
        let pushed: [(counter: UInt64, kind: String, id: String, fields: Data)] = [
            (1, "activity", "ACT-1", activity("ACT-1", "first")),
            (2, "activity", "ACT-2", activity("ACT-2", "second")),
            (3, "activity", "ACT-1", activity("ACT-1", "other content")),
            (4, "activity", "ACT-3", activity("ACT-3", "third")),
            (5, "ledger_entry", "BAD", RecordCoding.canonical(["id": .string("BAD"), "kind": .string("invoice")])),
            (6, "activity", "ACT-4", activity("ACT-4", "fourth")),
            (2, "activity", "ACT-2", activity("ACT-2", "second")),
        ]
        let request = Dunlin_V1_PushRequest.with { request in
            request.replicaID = testReplica("runs")
            request.changes = pushed.map { change in
                .with { $0.kind = change.kind; $0.id = change.id; $0.counter = change.counter; $0.fields = change.fields }
            }
        }
        let sequence = try world.tenant.store.lastChangeSequence()
        let first = try await client.unary(SyncMethods.push, request)
        #expect(first.results.map(\.outcome) == [Dunlin_V1_PushResult.Outcome.accepted, .accepted, .refused, .accepted, .refused, .accepted, .duplicate])
        // (An activity's id taken: a change of an activity, which the rights table refuses.)
        #expect(first.results.map(\.code) == [0, 0, StatusCode.permissionDenied.rawValue, 0, StatusCode.invalidArgument.rawValue, 0, 0])
        #expect(first.results.map(\.counter) == pushed.map(\.counter))
        // Four inserts, each logged once.
        #expect(try world.tenant.store.lastChangeSequence() == sequence + 4)
        let activities = try world.tenant.store.activities(customerID: "C1").items
        #expect(Set(activities.map(\.id)) == ["ACT-1", "ACT-2", "ACT-3", "ACT-4"])
        #expect(activities.first { $0.id == "ACT-1" }?.body == "first")
        // Sent again: every dot answered as the first time, nothing written.
        let second = try await client.unary(SyncMethods.push, request)
        #expect(second.results.map(\.outcome) == Array(repeating: Dunlin_V1_PushResult.Outcome.duplicate, count: pushed.count))
        #expect(second.results.map(\.code) == first.results.map(\.code))
        #expect(try world.tenant.store.lastChangeSequence() == sequence + 4)
        await client.close()
        try await world.stop()
    }

    @Test("a pushed change not in its kind's sync form is refused naming the field, writes nothing, and the rest of the push lands")
    func changesNotInTheSyncFormAreRefusedByField() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let client = world.server.client(token: "ana")
        let before = try world.tenant.store.syncedRecords()
        let pushed: [(kind: String, id: String, fields: String)] = [
            ("contact", "K1", #"{"phone":5}"#),
            ("contact", "K1", #"{"nickname":"Ro"}"#),
            ("dispute", "D-NEW", #"{"amount":{"currency":"USD","minor":"9223372036854775808"}}"#),
            ("dispute", "D-NEW", #"{"amount":{"currency":"USD","minor":100}}"#),
            // Schema 1's form of a payment.
            ("ledger_entry", "PAY-9", #"{"amount":{"currency":"USD","minorUnits":100},"customerID":"C1","date":"2026-11-20","id":"PAY-9","kind":"payment","memo":"","reference":""}"#),
            ("contact", "K1", #"{"phone":"+63 2 8888 0001"}"#),
        ]
        let response = try await client.unary(SyncMethods.push, .with { request in
            request.replicaID = testReplica("form")
            request.changes = pushed.enumerated().map { index, change in
                .with { $0.kind = change.kind; $0.id = change.id; $0.counter = UInt64(index + 1); $0.baseSeq = 5; $0.fields = Data(change.fields.utf8) }
            }
        })
        #expect(response.results.map(\.outcome) == [Dunlin_V1_PushResult.Outcome.refused, .refused, .refused, .refused, .refused, .accepted])
        #expect(response.results.map(\.field) == ["phone", "nickname", "amount.minor", "amount.minor", "amount.minorUnits", ""])
        let invalid = StatusCode.invalidArgument.rawValue
        #expect(response.results.map(\.code) == [invalid, invalid, StatusCode.outOfRange.rawValue, invalid, invalid, 0])
        var after = try world.tenant.store.syncedRecords()
        #expect(after["contact/K1"]?["phone"] == .string("+63 2 8888 0001"))
        after["contact/K1"] = before["contact/K1"]
        #expect(after == before)
        await client.close()
        try await world.stop()
    }

    @Test func aRefusedChangeComesBackWithItsReasonAndLeavesTheLocalData() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = try world.laptop("ana"), ben = try world.laptop("ben")
        try await ana.sync()
        try await ben.sync()
        // Both key in the same bank line under one id, with different amounts: the second is refused.
        for (laptop, minor) in [(ana, Int64(250_00)), (ben, Int64(260_00))] {
            _ = try await laptop.replica.unary(Receivables.postEntries, .with {
                $0.entries = [.with { $0.id = "PAY-BANK-77"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(minor); $0.date = "2026-11-21" }]
            })
        }
        try await ana.sync()
        let report = try await ben.sync()
        #expect(report.refused == 1)
        let refused = try ben.replica.store.refusedChanges()
        #expect(refused.map(\.id) == ["PAY-BANK-77"])
        #expect(refused.first?.refusal.code == StatusCode.alreadyExists.rawValue)
        #expect(refused.first?.refusal.message.contains("already exists") == true)
        // Ben's replica agrees with the server again: Ana's 250.00, not his 260.00.
        #expect(try ben.replica.store.entry("PAY-BANK-77")?.amount.minorUnits == 250_00)
        #expect(try world.tenant.store.entry("PAY-BANK-77")?.amount.minorUnits == 250_00)
        #expect(try ben.replica.store.syncedRecords() == world.tenant.store.syncedRecords())
        #expect(try ben.replica.store.derivedBalanceMismatches().isEmpty)
        #expect(try ben.replica.store.unapplied(ofSource: "PAY-BANK-77")?.minorUnits == 250_00)
        await ana.close()
        await ben.close()
        try await world.stop()
    }

    @Test func theSamePaymentAppliedTwiceOfflineIsAnExceptionHeldAndSettledByAReversal() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let manager = world.server.client(token: "manager")
        _ = try await manager.unary(Receivables.postEntries, .with {
            $0.entries = [
                .with { $0.id = "INV-3"; $0.kind = "invoice"; $0.customerID = "C1"; $0.amount = usd(1_000_00); $0.date = "2026-08-01"; $0.dueDate = "2026-09-15"; $0.reference = "INV-3" },
                .with { $0.id = "PAY-K"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(1_000_00); $0.date = "2026-11-21" },
            ]
        })
        await manager.close()
        let ana = try world.laptop("ana"), ben = try world.laptop("ben")
        try await ana.sync()
        try await ben.sync()
        // Both offline: Ana applies PAY-K to INV-1, Ben to INV-3, all 1,000.00 of it each.
        _ = try await ana.replica.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-K"; $0.allocations = [.with { $0.invoiceID = "INV-1"; $0.amount = usd(1_000_00); $0.applicationID = "APP-ANA" }]
        })
        _ = try await ben.replica.unary(Receivables.applyCash, .with {
            $0.sourceID = "PAY-K"; $0.allocations = [.with { $0.invoiceID = "INV-3"; $0.amount = usd(1_000_00); $0.applicationID = "APP-BEN" }]
        })
        try await ana.sync()
        let report = try await ben.sync()
        #expect(report.refused == 0)
        try await ana.sync()
        // Both applications exist everywhere; nothing was deleted; the payment is over-applied by
        // 1,000.00 and dunning is held on both invoices, on both laptops.
        for store in [world.tenant.store, ana.replica.store, ben.replica.store] {
            #expect(try store.entry("APP-ANA") != nil && store.entry("APP-BEN") != nil)
        }
        for laptop in [ana, ben] {
            let exceptions = try laptop.replica.store.exceptions().map(\.exception)
            #expect(exceptions.map(\.kind) == [.sourceOverApplied])
            #expect(exceptions.first?.subjectID == "PAY-K")
            #expect(exceptions.first?.excess == Money(minorUnits: 1_000_00, currency: .usd))
            #expect(exceptions.first?.entryIDs == ["APP-ANA", "APP-BEN"])
            #expect(exceptions.first?.holds == ["INV-1", "INV-3"])
            #expect(try laptop.replica.store.dunningHolds() == ["INV-1", "INV-3"])
        }
        // Ana settles it by reversing her application; after syncing, the queue is empty everywhere.
        _ = try await ana.replica.unary(Receivables.unapply, .with { $0.applicationID = "APP-ANA"; $0.memo = "resolves the double application" })
        #expect(try ana.replica.store.recheckInvariants().isEmpty)
        try await ana.sync()
        try await ben.sync()
        for laptop in [ana, ben] {
            #expect(try laptop.replica.store.exceptions().isEmpty)
            #expect(try laptop.replica.store.exceptions(includeResolved: true).map(\.status) == ["resolved"])
            #expect(try laptop.replica.store.dunningHolds().isEmpty)
        }
        #expect(try world.tenant.store.entry("APP-ANA") != nil)
        #expect(try world.tenant.store.unapplied(ofSource: "PAY-K")?.minorUnits == 0)
        await ana.close()
        await ben.close()
        try await world.stop()
    }

    @Test func anOlderReplicaSchemaIsToldToUpgradeBeforeAnythingIsWritten() async throws {
        let world = try await SyncWorld.start()
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0, minimumSchemaVersion: SyncMethods.schemaVersion + 1),
            services: [SyncService(tenants: FixedTenants([world.tenant]))], authenticator: StaticTokenAuthenticator(SyncWorld.principals)
        )
        let task = Task { try await server.run() }
        let port = try await server.listeningPort
        try await expectToldToUpgrade(port: port, schema: SyncMethods.schemaVersion, saying: "upgrade dunlin", world)
        server.beginShutdown()
        try await task.value
        try await world.stop()
    }

    @Test("a schema 1 client (records in the Swift Codable form) and a schema 2 one (ledger entries and activities as JSON) are told to upgrade dunlin by a default server")
    func olderSchemaClientsAreToldToUpgrade() async throws {
        #expect(SyncMethods.schemaVersion == 3)
        let world = try await SyncWorld.start()
        for schema: UInt32 in [1, 2] {
            try await expectToldToUpgrade(
                port: world.server.port, schema: schema, saying: "client replica schema \(schema): this server needs replica schema 3 or newer: upgrade dunlin", world
            )
        }
        try await world.stop()
    }

    /// A client announcing replica schema `schema` pushes: HELLO refuses it, saying `saying`, and
    /// nothing is written.
    private func expectToldToUpgrade(port: Int, schema: UInt32, saying: String, _ world: SyncWorld) async throws {
        let old = RPCClient(configuration: .init(host: "127.0.0.1", port: port, token: "ana", replicaID: testReplica("old"), schemaVersion: schema, connectPatience: .seconds(2)))
        do {
            _ = try await old.unary(SyncMethods.push, .with { $0.replicaID = testReplica("old"); $0.changes = [.with { $0.kind = "contact"; $0.id = "X"; $0.counter = 1 }] })
            Issue.record("a client of replica schema \(schema) was let in")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition)
            #expect(error.message.contains(saying), "\(error.message)")
        }
        #expect(try world.tenant.store.lastChangeSequence() == 0)
        await old.close()
    }
}

@Suite(.serialized) struct SyncHorizonTests {
    @Test func tombstonesGoOnlyBelowEveryLiveReplicasCheckpointAndARetiredReplicaRebootstraps() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let marta = try world.laptop("manager"), ana = try world.laptop("ana"), cy = try world.laptop("cy")
        for laptop in [marta, ana, cy] { try await laptop.sync() }
        _ = try await marta.replica.unary(Records.deleteContacts, .with { $0.ids = ["K1"] })
        try await marta.sync()
        // Ana and Cy have not pulled the delete: the tombstone stays.
        #expect(try world.tenant.store.syncedRecords()["contact/K1"]?[RecordCoding.deletedField] == .bool(true))
        try await ana.sync()
        #expect(try world.tenant.store.syncedRecords()["contact/K1"] != nil)
        // Cy's laptop is lost: the tenant admin sees it holding the horizon back and retires it
        // (an analyst may not). The next acknowledgement collects the tombstone.
        let admin = world.server.client(token: "admin"), analyst = world.server.client(token: "ana")
        let listed = try await admin.unary(SyncMethods.listReplicas, .init())
        #expect(Set(listed.replicas.map(\.id)) == Set([marta, ana, cy].map(\.replica.profile.replicaID)))
        let cyID = cy.replica.profile.replicaID
        await #expect(throws: RPCError.self) { _ = try await analyst.unary(SyncMethods.retireReplica, .with { $0.replicaID = cyID }) }
        #expect(try await admin.unary(SyncMethods.retireReplica, .with { $0.replicaID = cyID }).retired)
        await admin.close()
        await analyst.close()
        try await ana.sync()
        try await marta.sync()
        #expect(try world.tenant.store.syncedRecords()["contact/K1"] == nil)
        // Cy comes back with offline work: it is pushed, then Cy bootstraps again and agrees.
        _ = try await cy.replica.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.id = "ACT-CY"; $0.customerID = "C1"; $0.kind = "note"; $0.direction = "none"; $0.body = "back online" }]
        })
        let report = try await cy.sync()
        #expect(report.accepted == 1)
        #expect(report.bootstrapped)
        #expect(try world.tenant.store.activity("ACT-CY") != nil)
        #expect(try cy.replica.store.contact("K1") == nil)
        #expect(try cy.replica.store.derivedBalanceMismatches().isEmpty)
        for laptop in [marta, ana, cy] { await laptop.close() }
        try await world.stop()
    }

    @Test func watchPullsWhatAnotherLaptopPushes() async throws {
        let world = try await SyncWorld.start()
        try await seed(world)
        let ana = try world.laptop("ana"), ben = try world.laptop("ben")
        try await ben.sync()
        let reports = Mutex<[SyncReport]>([])
        let engine = SyncEngine(replica: ana.replica, client: ana.client)
        let watching = Task { await engine.watch { event in if case .synced(let report) = event { reports.withLock { $0.append(report) } } } }
        #expect(try await eventually(timeout: .seconds(10)) { reports.withLock { !$0.isEmpty } })
        _ = try await ben.replica.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.id = "ACT-BEN"; $0.customerID = "C1"; $0.kind = "note"; $0.direction = "none"; $0.body = "from Ben" }]
        })
        try await ben.sync()
        #expect(try await eventually(timeout: .seconds(10)) { (try? ana.replica.store.activity("ACT-BEN")) != nil })
        // A local change is pushed without being asked.
        _ = try await ana.replica.unary(Records.logActivities, .with {
            $0.activities = [.with { $0.id = "ACT-ANA"; $0.customerID = "C1"; $0.kind = "note"; $0.direction = "none"; $0.body = "from Ana" }]
        })
        #expect(try await eventually(timeout: .seconds(10)) { (try? world.tenant.store.activity("ACT-ANA")) != nil })
        watching.cancel()
        #expect(await watching.value == nil, "a cancelled watch ends without an error")
        await ana.close()
        await ben.close()
        try await world.stop()
    }
}
