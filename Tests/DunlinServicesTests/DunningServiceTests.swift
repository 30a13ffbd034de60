import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Testing

/// The Dunning service in process: policies and holds held to the rights table, the run's
/// idempotence, the release's re-check and charges, tenant isolation, and a dispute made offline
/// holding dunning once it syncs. Acme (RightsTableTests.World) has C1 with INV-1, USD 1,000.00
/// due 2026-08-01; its day is 2026-11-23, 114 days later.
@Suite("Services in process: dunning")
struct DunningServiceTests {
    typealias World = RightsTableTests.World

    static func amount(_ minor: Int64) -> Dunlin_V1_Amount { .with { $0.currency = "USD"; $0.minor = minor } }

    /// Levels at 30 (email), 90 (letter, USD 25.00 fee, 18% interest) and 120 (escalate) days.
    static func policy(id: String = "POL-1", levels: [(Int32, String)] = [(30, "email"), (90, "letter"), (120, "escalate")]) -> Dunlin_V1_DunningPolicyRecord {
        .with {
            $0.id = id
            $0.name = "Standard"
            $0.customerIds = ["C1"]
            $0.levels = levels.map { days, channel in
                .with {
                    $0.days = days
                    $0.channel = channel
                    $0.template = "\(channel)_\(days)"
                    if days == 90 {
                        $0.fee = amount(25_00)
                        $0.interestBasisPoints = 1800
                    }
                }
            }
        }
    }

    static func withPolicy() async throws -> World {
        let world = try World.make()
        _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [policy()] }, as: .manager)
        return world
    }

    @Test("policies: managers write them, every role reads them", arguments: RightsTableTests.tenantRoles)
    func policyRights(role: Role) async throws {
        let world = try World.make()
        let code = await RightsTableTests.status {
            _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [Self.policy()] }, as: role)
        }
        #expect(code == (role.satisfies(.manager) ? nil : .permissionDenied))
        _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [Self.policy()] }, as: .manager)
        #expect(try await world.call(Dunning.getPolicy, .with { $0.id = "POL-1" }, as: role).levels.count == 3)
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.getPolicy, .with { $0.id = "POL-1" }, as: .manager, tenant: "t-bayani") } == .notFound)
    }

    @Test("a policy with overlapping or unordered levels is refused naming the level, and nothing is written", arguments: [
        ([(30, "email"), (30, "letter")], "levels[1].days"),
        ([(30, "email"), (90, "letter"), (60, "escalate")], "levels[2].days"),
    ] as [([(Int32, String)], String)])
    func badLevels(levels: [(Int32, String)], field: String) async throws {
        let world = try World.make()
        do {
            _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [Self.policy(levels: levels)] }, as: .manager)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument)
            #expect(error.details.first?.field == field)
            #expect(error.details.first?.line == 1)
        }
        #expect(try world.acme.store.dunningPolicies().items.isEmpty)
    }

    @Test("two policies may not both name a customer or a segment")
    func overlappingPolicies() async throws {
        let world = try await Self.withPolicy()
        var other = Self.policy(id: "POL-2")
        do {
            _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [other] }, as: .manager)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .failedPrecondition)
            #expect(error.details.first?.field == "customer_ids[0]")
        }
        other.customerIds = []
        other.segment = "smb"
        _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [other] }, as: .manager)
        other.id = "POL-3"
        await #expect(throws: RPCError.self) { _ = try await world.call(Dunning.upsertPolicies, .with { $0.policies = [other] }, as: .manager) }
    }

    @Test("holds: analysts place and release them, viewers only read", arguments: RightsTableTests.tenantRoles)
    func holdRights(role: Role) async throws {
        let world = try World.make()
        let hold = Dunlin_V1_DunningHoldRecord.with { $0.id = "H1"; $0.customerID = "C1"; $0.reason = "CFO on leave" }
        let code = await RightsTableTests.status { _ = try await world.call(Dunning.upsertHolds, .with { $0.holds = [hold] }, as: role) }
        #expect(code == (role.satisfies(.analyst) ? nil : .permissionDenied))
        guard code == nil else { return }
        var released = try await world.call(Dunning.getHold, .with { $0.id = "H1" }, as: .viewer)
        #expect(released.placedOn == "2026-11-23")
        released.releaseReason = "back at work"
        let saved = try await world.call(Dunning.upsertHolds, .with { $0.holds = [released] }, as: role).holds
        #expect(saved.first?.releasedOn == "2026-11-23", "released today, the tenant's")
        #expect(try await world.call(Dunning.listHolds, .with { $0.active = true }, as: .viewer).holds.isEmpty)
    }

    @Test("run and release are a manager's", arguments: RightsTableTests.tenantRoles)
    func runRights(role: Role) async throws {
        let world = try await Self.withPolicy()
        let expected: StatusCode? = role.satisfies(.manager) ? nil : .permissionDenied
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.runDunning, .init(), as: role) } == expected)
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.releaseNotices, .init(), as: role) } == expected)
        // Reading the queue is everyone's.
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(try await world.call(Dunning.listNotices, .init(), as: role).notices.count == 1)
    }

    @Test("a run is idempotent: the same date again creates nothing; a higher level replaces the pending lower one")
    func runIsIdempotent() async throws {
        let world = try await Self.withPolicy()
        let first = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(first.runID == "R-2026-11-23")
        #expect(first.created.map(\.id) == ["DN:C1:90:INV-1"])
        let notice = try #require(first.created.first)
        #expect([notice.level, notice.levelDays] == [2, 90])
        #expect(notice.lines.map(\.daysPastDue) == [114])
        // 1,000.00 x 18% x 114/365 = 56.2191... -> 56.22; and the fee.
        #expect(notice.charges.first?.interest.minor == 56_22)
        #expect(notice.charges.first?.fee.minor == 25_00)

        let again = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(again.created.isEmpty)
        #expect(again.existing == 1)
        let nextDay = try await world.call(Dunning.runDunning, .with { $0.asOf = "2026-11-24" }, as: .manager)
        #expect(nextDay.created.isEmpty, "the customer is still at the 90-day level for INV-1: no second notice")

        let later = try await world.call(Dunning.runDunning, .with { $0.asOf = "2026-11-29" }, as: .manager)
        #expect(later.created.map(\.id) == ["DN:C1:120:INV-1"])
        #expect(later.superseded == 1)
        let all = try await world.call(Dunning.listNotices, .init(), as: .viewer).notices
        #expect(all.map(\.status) == ["dropped", "pending"])
        #expect(all.first?.statusReason.contains("superseded by DN:C1:120:INV-1") == true)
        #expect(try await world.call(Dunning.listNotices, .with { $0.runID = "R-2026-11-29" }, as: .viewer).notices.count == 1)
    }

    @Test("release posts the fee and interest once; releasing again posts nothing")
    func releasePostsCharges() async throws {
        let world = try await Self.withPolicy()
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        let released = try await world.call(Dunning.releaseNotices, .with { $0.runID = "R-2026-11-23" }, as: .manager, user: "u-boss").notices
        #expect(released.map(\.status) == ["released"])
        #expect(released.first?.releasedBy == "u-boss")
        let fee = try #require(try world.acme.store.entry("DN:C1:90:INV-1:fee:USD"))
        #expect(fee.kind == .adjustment && fee.targetID == "INV-1" && fee.amount.minorUnits == 25_00)
        #expect(try world.acme.store.entry("DN:C1:90:INV-1:interest:USD")?.amount.minorUnits == 56_22)
        #expect(try world.acme.store.openBalance(ofInvoice: "INV-1")?.minorUnits == 1_000_00 + 25_00 + 56_22)

        let entries = try world.acme.store.entries().items.count
        let twice = try await world.call(Dunning.releaseNotices, .with { $0.noticeIds = ["DN:C1:90:INV-1"] }, as: .manager).notices
        #expect(twice.map(\.status) == ["released"])
        #expect(try world.acme.store.entries().items.count == entries, "nothing posted twice")
        #expect(try await world.call(Dunning.releaseNotices, .init(), as: .manager).notices.isEmpty, "nothing pending is left")
    }

    @Test("release re-checks: a notice whose customer paid since the run is dropped, and nothing is posted")
    func releaseDropsPaid() async throws {
        let world = try await Self.withPolicy()
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        let day = CivilDate("2026-11-23")!
        try world.acme.store.post([
            LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd), date: day),
            LedgerEntry(id: "APP-1", kind: .application, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd), date: day, sourceID: "PAY-1", targetID: "INV-1"),
        ])
        let answered = try await world.call(Dunning.releaseNotices, .init(), as: .manager).notices
        #expect(answered.map(\.status) == ["dropped"])
        #expect(answered.first?.statusReason.contains("paid") == true)
        #expect(try world.acme.store.entry("DN:C1:90:INV-1:fee:USD") == nil)
    }

    @Test("another tenant's notice is NOT_FOUND, to read and to release, and releases nothing")
    func otherTenantsNotice() async throws {
        let world = try await Self.withPolicy()
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(await RightsTableTests.status { _ = try await world.call(Dunning.getNotice, .with { $0.id = "DN:C1:90:INV-1" }, as: .manager, tenant: "t-bayani") } == .notFound)
        #expect(await RightsTableTests.status {
            _ = try await world.call(Dunning.releaseNotices, .with { $0.noticeIds = ["DN:C1:90:INV-1"] }, as: .manager, tenant: "t-bayani")
        } == .notFound)
        #expect(try world.acme.store.dunningNotice("DN:C1:90:INV-1")?.status == .pending)
    }

    @Test("a replica answers the notice reads offline but never runs or releases")
    func replicaReadsOnly() async throws {
        let world = try await Self.withPolicy()
        _ = try await world.call(Dunning.runDunning, .init(), as: .manager)
        var router = Router()
        DunningService(tenants: FixedTenants([world.acme]), authority: false).register(in: &router)
        let principal = Dunlin_V1_Principal.with { $0.id = "u-1"; $0.tenantID = "t-acme"; $0.role = "manager" }
        let preview = try await router.callLocally(Dunning.listNotices, .with { $0.statuses = ["pending"] }, context: .local(principal: principal))
        #expect(preview.notices.count == 1)
        #expect(await RightsTableTests.status { _ = try await router.callLocally(Dunning.runDunning, .init(), context: .local(principal: principal)) } == .unimplemented)
        #expect(await RightsTableTests.status { _ = try await router.callLocally(Dunning.releaseNotices, .init(), context: .local(principal: principal)) } == .unimplemented)
    }

    @Test("a dispute opened offline holds dunning once it syncs, and replicas pull no notice for it")
    func offlineDisputeHoldsDunning() async throws {
        let world = try await Self.withPolicy()
        let server = world.acme.store
        // A replica bootstrapped from the server, then offline: an analyst opens a dispute on INV-1.
        let replica = try TenantStore()
        let feed = try server.changes(after: 0, limit: 1000)
        try replica.applySyncBatch(feed.records, checkpoint: feed.through)
        try replica.upsert([Dispute(
            id: "D-OFF", customerID: "C1", invoiceIDs: ["INV-1"], amount: Money(minorUnits: 1_000_00, currency: .usd), reasonCode: "not_received",
            openedOn: CivilDate("2026-11-22")!
        )])
        #expect(try replica.dunningNotices().items.isEmpty)

        // Before the sync the server would dun INV-1; after it, the dispute holds it.
        let batch = try replica.outboxBatch(limit: 500)
        let (outcomes, _) = try server.applyPush(
            replica: "r-ana", userID: "u-a", changes: batch.changes, authorize: { _, _, _ in }, refusal: { PushRefusal(code: 3, message: "\($0)") }
        )
        #expect(outcomes.map(\.kind) == [.accepted])
        try replica.settlePush(batch, refusals: outcomes.map(\.refusal))
        let run = try await world.call(Dunning.runDunning, .init(), as: .manager)
        #expect(run.created.isEmpty)
        #expect(run.heldItems == 1)

        let pulled = try server.changes(after: feed.through, limit: 1000)
        try replica.applySyncBatch(pulled.records, checkpoint: pulled.through)
        #expect(try replica.dispute("D-OFF")?.status == .open)
        #expect(try replica.dunningNotices().items.isEmpty)

        // Resolved, the dispute holds nothing: the next run duns INV-1, and the notice reaches the replica.
        var resolved = try #require(try server.dispute("D-OFF"))
        resolved.status = .rejected
        resolved.resolvedOn = CivilDate("2026-11-23")!
        try server.upsert([resolved])
        #expect(try await world.call(Dunning.runDunning, .init(), as: .manager).created.map(\.id) == ["DN:C1:90:INV-1"])
        let next = try server.changes(after: pulled.through, limit: 1000)
        try replica.applySyncBatch(next.records, checkpoint: next.through)
        #expect(try replica.dunningNotices().items.map(\.id) == ["DN:C1:90:INV-1"])
    }

    @Test("the run time is the tenant setting dunning.run_time: managers set it, every role reads it, a bad time is refused naming it", arguments: RightsTableTests.tenantRoles)
    func settingsRights(role: Role) async throws {
        let world = try World.make()
        func runTime(_ settings: [Dunlin_V1_TenantSettingRecord]) -> String? { settings.first { $0.id == "dunning.run_time" }?.value }
        func set(_ value: String, as role: Role) async throws -> [Dunlin_V1_TenantSettingRecord] {
            try await world.call(Records.updateSettings, .with { $0.settings = [.with { $0.id = "dunning.run_time"; $0.value = value }] }, as: role).settings
        }
        #expect(runTime(try await world.call(Records.listSettings, .init(), as: role).settings) == "")
        let code = await RightsTableTests.status { _ = try await set("06:30", as: role) }
        #expect(code == (role.satisfies(.manager) ? nil : .permissionDenied))
        guard code == nil else { return }
        #expect(runTime(try await world.call(Records.listSettings, .init(), as: .viewer).settings) == "06:30")
        do {
            _ = try await set("6:30pm", as: role)
            Issue.record("accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.details.first?.field == "dunning.run_time")
        }
        #expect(try world.bayani.store.settings().isEmpty, "another tenant's settings are its own")
        // Off ("" puts the default back: no run), then on again: a reset setting is set again like any edit.
        #expect(runTime(try await set("", as: role)) == "")
        #expect(runTime(try await set("07:15", as: role)) == "07:15")
        #expect(try world.acme.store.settings() == [TenantSetting(id: "dunning.run_time", value: "07:15")])
    }

    @Test("the scheduler runs each tenant once a day at its own time, by the injected clock")
    func scheduledRuns() async throws {
        let world = try await Self.withPolicy()
        try world.acme.store.upsert([TenantSetting(id: TenantSetting.dunningRunTime, value: "06:00")])
        let zone = world.acme.timeZone  // Manila
        func scheduler(at hour: Int, on day: String) -> DunningScheduler {
            DunningScheduler(clock: WallClock.fixed(CivilDate(day)!, hour: hour, in: zone))
        }
        #expect(scheduler(at: 5, on: "2026-11-23").tick([world.acme, world.bayani]).isEmpty, "before 06:00 nothing runs")
        let morning = scheduler(at: 7, on: "2026-11-23")
        let runs = morning.tick([world.acme, world.bayani])
        #expect(runs.map(\.tenant) == ["t-acme"], "Bayani has no scheduled run")
        #expect(runs.first?.run.created.map(\.id) == ["DN:C1:90:INV-1"])
        #expect(morning.tick([world.acme]).isEmpty, "once a day")
        // A restarted server runs again the same day: nothing is created twice.
        #expect(scheduler(at: 8, on: "2026-11-23").tick([world.acme]).first?.run.existing == 1)
    }
}
