import DunlinCore
import DunlinServices
import DunlinWire
import Testing

// The Records service over a real connection, in the TwoTenants world (ReceivablesTests.swift):
// the author of what a token logs is that token's user. The service's rights, refusals, paging
// and tenant isolation are checked in process (DunlinServicesTests, RecordsServiceTests).

@Suite("Records over the protocol", .timeLimit(.minutes(2)))
struct RecordsTests {
    @Test("an activity's author is the caller, whatever the request says, and it happened now unless it says when")
    func activityAuthor() async throws {
        let world = try await TwoTenants.start()
        let analyst = world.server.client(token: "acme-analyst")
        let manager = world.server.client(token: "acme-manager")
        try world.acme.store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])

        let logged = try await analyst.unary(Records.logActivities, .with {
            $0.activities = [
                .with { $0.id = "A-1"; $0.customerID = "C1"; $0.kind = "call"; $0.authorID = "u-m"; $0.outcome = "left voicemail" },
                .with { $0.id = "A-2"; $0.customerID = "C1"; $0.kind = "email"; $0.direction = "inbound"; $0.authorID = "ceo"; $0.occurredAt = 1_743_500_000_000 },
            ]
        })
        #expect(logged.activities.map(\.authorID) == ["u-a", "u-a"])
        #expect(logged.activities[0].occurredAt == Activity.milliseconds(of: TwoTenants.clock.now()))
        #expect(logged.activities[1].occurredAt == 1_743_500_000_000)

        let stored = try await manager.unary(Records.listActivities, .with { $0.customerID = "C1" }).activities
        #expect(stored == logged.activities.sorted { $0.occurredAt < $1.occurredAt })
        #expect(try await manager.unary(Records.listActivities, .with { $0.authorID = "u-m" }).activities.isEmpty)
        #expect(try await manager.unary(Records.listActivities, .with { $0.authorID = "u-a" }).activities.count == 2)
        #expect(try world.acme.store.activity("A-1")?.authorID == "u-a")
        try await world.server.stop()
    }
}
