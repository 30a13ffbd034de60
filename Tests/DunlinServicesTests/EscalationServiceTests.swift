import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// Escalations in process: rules held to the rights table, a released escalate level making a task
/// for the escalation manager with the account summary, a place rule stopping dunning until a
/// manager recalls it, nothing made twice, the server alone making and recalling them, and the
/// preview re-checking queued notices against the holds of the store that answers. Acme
/// (RightsTableTests.World) has C1 with INV-1, USD 1,000.00 due 2026-08-01; its day is 2026-11-23.
@Suite("Services in process: escalation")
struct EscalationServiceTests {
    typealias World = RightsTableTests.World

    static func amount(_ minor: Int64, _ currency: String = "USD") -> Dunlin_V1_Amount { .with { $0.currency = currency; $0.minor = minor } }

    /// More than USD 500.00 over 60 days past due: place with Acme Recovery.
    static let placeRule = Dunlin_V1_EscalationRuleRecord.with {
        $0.id = "ER-1"
        $0.name = "Big and old"
        $0.trigger = "overdue"
        $0.days = 60
        $0.amount = amount(500_00)
        $0.action = "place"
        $0.agency = "Acme Recovery"
    }

    static func world(analyst: String = "u-ana") throws -> World {
        let world = try World.make()
        try world.acme.store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail", analystID: analyst)])
        return world
    }

    @Test("escalation rules: managers write and delete them, every role reads them; a bad one names the field", arguments: RightsTableTests.tenantRoles)
    func ruleRights(role: Role) async throws {
        let world = try Self.world()
        let code = await RightsTableTests.status { _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule] }, as: role) }
        #expect(code == (role.satisfies(.manager) ? nil : .permissionDenied))
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule] }, as: .manager)
        #expect(try await world.call(Dunning.listEscalationRules, .init(), as: role).rules.map(\.id) == ["ER-1"])
        #expect(try await world.call(Dunning.getEscalationRule, .with { $0.id = "ER-1" }, as: role).agency == "Acme Recovery")
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.getEscalationRule, .with { $0.id = "ER-1" }, as: .manager, tenant: "t-bayani") } == .notFound)
        var bad = Self.placeRule
        bad.id = "ER-2"
        bad.agency = ""
        do {
            _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [bad] }, as: .manager)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.details.first?.field == "agency" && error.details.first?.line == 1)
        }
        #expect(try world.acme.store.escalationRule("ER-2") == nil)
        bad = Self.placeRule
        bad.id = "ER-3"
        bad.amount = Self.amount(500_00, "PHP")
        do {
            _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule, bad] }, as: .manager)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.details.first?.field == "amount" && error.details.first?.line == 2, "the base currency, USD")
        }
        #expect(try world.acme.store.escalationRule("ER-3") == nil)
        let deleted = await RightsTableTests.status { _ = try await world.call(Dunning.deleteEscalationRules, .with { $0.ids = ["ER-1"] }, as: role) }
        #expect(deleted == (role.satisfies(.manager) ? nil : .permissionDenied))
    }

    @Test("a released escalate level makes a task for the escalation manager with the account summary, once")
    func escalateLevel() async throws {
        let world = try Self.world()
        _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [DunningServiceTests.policy(levels: [(30, "email"), (90, "escalate")])] }, as: .manager)
        _ = try await world.call(Records.updateSettings, .with { $0.settings = [.with { $0.id = "escalation.manager"; $0.value = "u-mia" }] }, as: .manager)
        let run = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(run.created.map(\.channel) == ["escalate"])
        #expect(try world.acme.store.escalations().items.isEmpty, "queued, nothing escalated yet")
        _ = try await world.call(Dunning.releaseNotices, .init(), as: .manager)
        let escalations = try await world.call(Dunning.listEscalations, .init(), as: .viewer).escalations
        #expect(escalations.map(\.id) == ["ESC:DN:C1:90:INV-1"])
        let escalation = try #require(escalations.first)
        #expect(escalation.action == "escalate" && escalation.noticeID == "DN:C1:90:INV-1" && escalation.assigneeID == "u-mia")
        #expect(escalation.summary == "overdue USD 1,000.00; oldest item 114 days past due; 0 promises broken in the last 90 days; 0 open disputes")
        let task = try #require(try world.acme.store.task(escalation.taskID))
        #expect(task.assigneeID == "u-mia" && task.customerID == "C1" && task.dueDate == CivilDate("2026-11-23")!)
        #expect(task.title.hasPrefix("Escalation: Globe Retail: dunning level 2"))
        #expect(task.notes.contains("oldest item 114 days past due"))
        // Releasing again (the notice is released already) and evaluating make nothing more.
        _ = try await world.call(Dunning.releaseNotices, .with { $0.noticeIds = ["DN:C1:90:INV-1"] }, as: .manager)
        #expect(try world.acme.store.escalations().items.count == 1)
        #expect(try world.acme.store.tasks().items.count == 1)
    }

    @Test("the task goes to the analyst's manager first, then the tenant's escalation manager")
    func escalateToTheAnalystsManager() async throws {
        let world = try Self.world(analyst: "u-ana")
        let acme = TenantHandle(
            id: "t-acme", store: world.acme.store, baseCurrency: .usd, timeZone: world.acme.timeZone, clock: world.acme.clock,
            managerOf: { $0 == "u-ana" ? "u-lea" : nil }
        )
        var rule = Self.placeRule
        rule.action = "escalate"
        rule.agency = ""
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [rule] }, as: .manager)
        try world.acme.store.upsert([TenantSetting(id: TenantSetting.escalationManager, value: "u-mia")])
        let made = try acme.store.evaluateEscalations(asOf: acme.today, baseCurrency: .usd, at: acme.now, managerOf: acme.managerOf).created
        #expect(made.map(\.assigneeID) == ["u-lea"])
        #expect(try world.acme.store.task("tsk_ESC:ER-1:C1:INV-1")?.title.hasPrefix("Escalation: Globe Retail") == true)
        // Ben's customers have no manager for Ben: the tenant's escalation manager takes them.
        try world.acme.store.upsert([Customer(id: "C2", number: "1002", name: "Bayani Foods", analystID: "u-ben")])
        try world.acme.store.post([
            LedgerEntry(id: "INV-2", kind: .invoice, customerID: "C2", amount: Money(minorUnits: 900_00, currency: .usd),
                        date: CivilDate("2026-08-01")!, dueDate: CivilDate("2026-08-01")!, reference: "INV-2"),
        ])
        let next = try acme.store.evaluateEscalations(asOf: acme.today, baseCurrency: .usd, at: acme.now, managerOf: acme.managerOf).created
        #expect(next.map(\.assigneeID) == ["u-mia"])
    }

    @Test("without an escalation manager the task goes to the customer's analyst, to take to their manager")
    func escalateFallsBackToTheAnalyst() async throws {
        let world = try Self.world(analyst: "u-ana")
        var rule = Self.placeRule
        rule.action = "escalate"
        rule.agency = ""
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [rule] }, as: .manager)
        let made = try await world.call(Dunning.evaluateEscalations, .init(), as: .manager).created
        #expect(made.map(\.id) == ["ESC:ER-1:C1:INV-1"])
        #expect(made.first?.assigneeID == "u-ana")
        #expect(try world.acme.store.task("tsk_ESC:ER-1:C1:INV-1")?.title.hasPrefix("Escalate to your manager: Globe Retail") == true)
    }

    @Test("a place rule places the customer: dunning stops, counted like a hold, and it leaves the worklist, until a manager recalls it; nothing is made twice")
    func placement() async throws {
        let world = try Self.world()
        let today = CivilDate("2026-11-23")!
        func onWorklist() throws -> Bool {
            try world.acme.store.worklistFacts(analystID: nil, today: today, timeZone: world.acme.timeZone).contains { $0.customerID == "C1" }
        }
        #expect(try onWorklist())
        _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [DunningServiceTests.policy()] }, as: .manager)
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule] }, as: .manager)
        let first = try await world.call(Dunning.evaluateEscalations, .init(), as: .manager)
        #expect(try !onWorklist(), "the agency works a placed customer, not the analyst")
        #expect(first.created.map(\.id) == ["ESC:ER-1:C1:INV-1"])
        #expect(first.created.first?.agency == "Acme Recovery" && first.created.first?.status == "active")
        #expect(try await world.call(Dunning.evaluateEscalations, .init(), as: .manager).created.isEmpty)

        let held = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(held.created.isEmpty)
        #expect(held.heldCustomers == 1)
        #expect(try await world.call(Dunning.listEscalations, .with { $0.action = "place"; $0.status = "active" }, as: .viewer).escalations.count == 1)

        for role in [Role.viewer, .analyst] {
            #expect(await RightsTableTests.status {
                _ = try await world.call(Dunning.recallPlacement, .with { $0.id = "ESC:ER-1:C1:INV-1"; $0.reason = "paid" }, as: role)
            } == .permissionDenied)
        }
        do {
            _ = try await world.call(Dunning.recallPlacement, .with { $0.id = "ESC:ER-1:C1:INV-1"; $0.reason = " " }, as: .manager)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.details.first?.field == "reason")
        }
        #expect(await RightsTableTests.status {
            _ = try await world.call(Dunning.recallPlacement, .with { $0.id = "ESC:ER-1:C1:INV-1"; $0.reason = "paid" }, as: .manager, tenant: "t-bayani")
        } == .notFound)
        #expect(try world.acme.store.escalation("ESC:ER-1:C1:INV-1")?.status == .active, "refusals change nothing")

        let recalled = try await world.call(Dunning.recallPlacement, .with { $0.id = "ESC:ER-1:C1:INV-1"; $0.reason = "agency returned it" }, as: .manager, user: "u-ben")
        #expect(recalled.status == "recalled" && recalled.recalledBy == "u-ben" && recalled.recalledOn == "2026-11-23")
        #expect(try onWorklist(), "recalled: the analyst's again from the day of the recall")
        #expect(try await world.call(Dunning.runDunning, .init(), as: .manager).created.map(\.id) == ["DN:C1:90:INV-1"], "dunned again")
        #expect(try await world.call(Dunning.evaluateEscalations, .init(), as: .manager).existing == 1, "a recalled episode is not placed again")
    }

    @Test("the scheduler evaluates each tenant's rules once a tenant day, by the injected clock; a restart the same day makes nothing twice")
    func scheduledEvaluation() async throws {
        let world = try Self.world()
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule] }, as: .manager)
        func scheduler(on day: String, hour: Int = 9) -> DunningScheduler {
            DunningScheduler(clock: WallClock.fixed(CivilDate(day)!, hour: hour, in: world.acme.timeZone))
        }
        func tenant(on day: String) -> TenantHandle {
            TenantHandle(id: "t-acme", store: world.acme.store, baseCurrency: .usd, timeZone: world.acme.timeZone, clock: .fixed(CivilDate(day)!, in: world.acme.timeZone))
        }
        let morning = scheduler(on: "2026-11-23")
        #expect(morning.escalations([tenant(on: "2026-11-23"), world.bayani]).map(\.made) == [1, 0])
        #expect(morning.escalations([tenant(on: "2026-11-23")]).isEmpty, "once a tenant day")
        #expect(scheduler(on: "2026-11-23", hour: 15).escalations([tenant(on: "2026-11-23")]).map(\.made) == [0], "a restarted server makes nothing twice")
        #expect(morning.escalations([tenant(on: "2026-11-24")]).map(\.made) == [0], "the next day, the same episode")
        #expect(try world.acme.store.escalations().items.map(\.escalatedOn) == [CivilDate("2026-11-23")!])
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.getEscalation, .with { $0.id = "ESC:ER-1:C1:INV-1" }, as: .manager, tenant: "t-bayani") } == .notFound)
    }

    @Test("escalations are the server's: a replica reads them but neither evaluates nor recalls, and a pushed one is refused")
    func serverOnly() async throws {
        let world = try Self.world()
        _ = try await world.call(Dunning.upsertEscalationRules, .with { $0.rules = [Self.placeRule] }, as: .manager)
        _ = try await world.call(Dunning.evaluateEscalations, .init(), as: .manager)
        for role in [Role.viewer, .analyst] {
            #expect(await RightsTableTests.status { _ = try await world.call(Dunning.evaluateEscalations, .init(), as: role) } == .permissionDenied)
        }
        var replica = Router()
        DunningService(tenants: FixedTenants([world.acme]), authority: false).register(in: &replica)
        let principal = Dunlin_V1_Principal.with { $0.id = "u-1"; $0.tenantID = "t-acme"; $0.role = "manager" }
        #expect(try await replica.callLocally(Dunning.listEscalations, .init(), context: .local(principal: principal)).escalations.count == 1)
        #expect(await RightsTableTests.status { _ = try await replica.callLocally(Dunning.evaluateEscalations, .init(), context: .local(principal: principal)) } == .unimplemented)
        #expect(await RightsTableTests.status {
            _ = try await replica.callLocally(Dunning.recallPlacement, .with { $0.id = "ESC:ER-1:C1:INV-1"; $0.reason = "r" }, context: .local(principal: principal))
        } == .unimplemented)

        // A hand-edited replica pushing a placement (a new one, or a recall) is refused, whatever its role.
        var sync = Router()
        SyncService(tenants: FixedTenants([world.acme])).register(in: &sync)
        var forged = try #require(try world.acme.store.escalation("ESC:ER-1:C1:INV-1"))
        forged.id = "ESC:forged"
        for (counter, (id, fields)) in [("ESC:forged", forged.fieldMap), ("ESC:ER-1:C1:INV-1", ["status": FieldValue.string("recalled")])].enumerated() {
            var full = fields
            full[RecordCoding.deletedField] = .bool(false)
            let response = try await sync.callLocally(SyncMethods.push, .with {
                $0.replicaID = "r0123456789abcdef0123456789abcdef"
                $0.changes = [.with { $0.kind = "escalation"; $0.id = id; $0.counter = UInt64(counter + 1); $0.fields = RecordCoding.canonical(full) }]
            }, context: .local(principal: principal))
            #expect(response.results.first?.outcome == .refused)
            #expect(response.results.first?.code == UInt32(StatusCode.permissionDenied.rawValue))
        }
        #expect(try world.acme.store.escalations().items.map(\.id) == ["ESC:ER-1:C1:INV-1"])
        #expect(try world.acme.store.escalation("ESC:ER-1:C1:INV-1")?.status == .active)

        // A rule pushed from a replica is held to the same table: an analyst's is refused, a manager's lands.
        var rule = try Self.placeRule.record(today: CivilDate("2026-11-23")!, caller: "u-1")
        rule.id = "ER-PUSHED"
        var fields = rule.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        for (counter, role) in [(3, Role.analyst), (4, .manager)] {
            let pusher = Dunlin_V1_Principal.with { $0.id = "u-\(role.rawValue)"; $0.tenantID = "t-acme"; $0.role = role.rawValue }
            let response = try await sync.callLocally(SyncMethods.push, .with {
                $0.replicaID = "r" + String(repeating: role == .manager ? "2" : "1", count: 32)
                $0.changes = [.with { $0.kind = "escalation_rule"; $0.id = "ER-PUSHED"; $0.counter = UInt64(counter); $0.fields = RecordCoding.canonical(fields) }]
            }, context: .local(principal: pusher))
            #expect(response.results.first?.outcome == (role == .manager ? .accepted : .refused), "\(role)")
        }
        #expect(try world.acme.store.escalationRule("ER-PUSHED") != nil)
    }

    @Test("the preview re-checks each queued notice: a line disputed on this laptop offline is held now, and on another laptop after sync")
    func previewRechecksHolds() async throws {
        let world = try await DunningServiceTests.withPolicy()
        let server = world.acme.store
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        // Two laptops bootstrapped with the queued notice.
        let feed = try server.changes(after: 0, limit: 1000)
        let ana = try TenantStore(), ben = try TenantStore()
        for replica in [ana, ben] { try replica.applySyncBatch(feed.records, checkpoint: feed.through) }
        func preview(_ store: TenantStore) async throws -> Dunlin_V1_NoticePreview {
            var router = Router()
            let handle = TenantHandle(id: "t-acme", store: store, baseCurrency: .usd, timeZone: world.acme.timeZone, clock: world.acme.clock)
            DunningService(tenants: FixedTenants([handle]), authority: false).register(in: &router)
            let principal = Dunlin_V1_Principal.with { $0.id = "u-1"; $0.tenantID = "t-acme"; $0.role = "analyst" }
            return try #require(try await router.callLocally(Dunning.previewNotices, .init(), context: .local(principal: principal)).previews.first)
        }
        #expect(try await preview(ana).heldLines.isEmpty)

        // Offline, Ana opens a dispute on INV-1: her preview shows the line held at once.
        try ana.upsert([Dispute(
            id: "D-OFF", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 1_000_00, currency: .usd), reasonCode: "not_received",
            openedOn: CivilDate("2026-11-23")!
        )])
        let offline = try await preview(ana)
        #expect(offline.notice.id == "DN:C1:90:INV-1" && offline.notice.status == "pending", "the notice as queued")
        #expect(offline.heldLines.map(\.invoiceID) == ["INV-1"])
        #expect(offline.heldLines.first?.reason == "disputed (D-OFF)")
        #expect(try await preview(ben).heldLines.isEmpty, "Ben has not synced yet")

        // Ana syncs; Ben pulls: his preview holds the line too.
        let batch = try ana.outboxBatch(limit: 500)
        let (outcomes, _) = try server.applyPush(
            replica: "r-ana", userID: "u-a", changes: batch.changes, authorize: { _, _, _ in }, refusal: { PushRefusal(code: 3, message: "\($0)") }
        )
        try ana.settlePush(batch, refusals: outcomes.map(\.refusal))
        let pulled = try server.changes(after: feed.through, limit: 1000)
        try ben.applySyncBatch(pulled.records, checkpoint: pulled.through)
        #expect(try await preview(ben).heldLines.map(\.reason) == ["disputed (D-OFF)"])
        // The server's own preview says the same, and its release drops the notice.
        #expect(try await world.call(Dunning.previewNotices, .init(), as: .viewer).previews.first?.heldLines.count == 1)
        #expect(try await world.call(Dunning.releaseNotices, .init(), as: .manager).notices.first?.status == "dropped")
    }
}
