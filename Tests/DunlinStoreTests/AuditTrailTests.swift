import DunlinCore
@testable import DunlinStore
import Foundation
import GRDB
import Testing

/// The control store's audit trail: every change records exactly one event, in its own
/// transaction, with the actor, the clock's time, the tenant, the action, the target and what
/// changed; a refused change records none; tokens appear by id only.
@Suite("Control store: the audit trail")
struct AuditTrailTests {
    let directory = DataDirectory()
    let clock = ManualClock()
    static let maria = AuditActor(userID: "u-maria", role: "server-admin", address: "203.0.113.7")

    /// Every event of the trail, oldest first.
    func trail(_ store: ControlStore, tenantID: String? = nil, since: Int64? = nil) throws -> [AuditEvent] {
        var events: [AuditEvent] = []
        var cursor: String?
        repeat {
            let page = try store.auditEvents(tenantID: tenantID, since: since, page: PageRequest(after: cursor, size: 2))
            events += page.items.map(\.event)
            cursor = page.nextCursor
        } while cursor != nil
        return events
    }

    /// Runs `action` and returns the one event it recorded (failing the test when it recorded
    /// another number).
    func recorded(_ store: ControlStore, _ action: () throws -> Void) throws -> AuditEvent {
        let before = try trail(store).count
        try action()
        let new = try trail(store).dropFirst(before)
        #expect(new.count == 1, "recorded \(new.map(\.action))")
        return try #require(new.first)
    }

    @Test("each admin action records exactly one event: actor, address, the clock's time, tenant, action, target and what changed")
    func eachActionOneEvent() throws {
        let (store, rootToken) = try ControlStore.initialize(directory.url, now: clock.reader)
        // dunlind init: the first server admin and their token, by dunlind itself.
        let initial = try trail(store)
        #expect(initial.map(\.action) == [.userCreate, .tokenIssue])
        #expect(initial.allSatisfy { $0.actorID.isEmpty && $0.address == "local" && $0.tenantID.isEmpty })
        #expect(initial[1].targetID == rootToken.record.id)
        let actor = Self.maria

        clock.advance(seconds: 1)
        var event = try recorded(store) { _ = try store.createTenant(id: "acme", name: "Acme Corp", baseCurrency: "usd", timeZone: "UTC", by: actor) }
        #expect(event.action == .tenantCreate && event.tenantID == "acme" && event.targetID == "acme")
        #expect(event.actorID == "u-maria" && event.actorRole == "server-admin" && event.address == "203.0.113.7")
        #expect(event.at == clock.now)
        #expect(event.detail == "Acme Corp, USD, UTC")

        var ana: UserRecord?
        event = try recorded(store) { ana = try store.createUser(tenantID: "acme", name: "Ana Reyes", email: "", role: .analyst, by: actor) }
        let anaID = try #require(ana?.id)
        #expect(event.action == .userCreate && event.tenantID == "acme" && event.targetID == anaID && event.detail == "Ana Reyes, analyst")

        event = try recorded(store) { _ = try store.updateUser(anaID, UserChanges(role: .manager), by: actor) }
        #expect(event.action == .userRole && event.targetID == anaID && event.detail == "role analyst → manager")
        event = try recorded(store) { _ = try store.updateUser(anaID, UserChanges(name: "Ana R.", timeZone: "Asia/Manila"), by: actor) }
        #expect(event.action == .userUpdate && event.detail == "name Ana Reyes → Ana R.; time zone none → Asia/Manila")

        var issued: IssuedToken?
        event = try recorded(store) { issued = try store.issueToken(userID: anaID, device: "ana-laptop", expiresAt: nil, by: actor) }
        let token = try #require(issued)
        #expect(event.action == .tokenIssue && event.tenantID == "acme" && event.targetID == token.record.id)
        #expect(event.detail == "for \(anaID) on ana-laptop, never expires")

        var rotated: IssuedToken?
        event = try recorded(store) { rotated = try store.rotateToken(token.record.id, by: actor) }
        let second = try #require(rotated)
        #expect(event.action == .tokenRotate && event.targetID == token.record.id && event.detail.hasPrefix("replaced by \(second.record.id); "))

        event = try recorded(store) { _ = try store.revokeToken(second.record.id, by: actor) }
        #expect(event.action == .tokenRevoke && event.targetID == second.record.id && event.tenantID == "acme")

        event = try recorded(store) { _ = try store.updateUser(anaID, UserChanges(active: false), by: actor) }
        #expect(event.action == .userDeactivate && event.detail == "deactivated")
        event = try recorded(store) { _ = try store.updateUser(anaID, UserChanges(active: true), by: actor) }
        #expect(event.action == .userActivate)

        event = try recorded(store) { _ = try store.setTenantStatus("acme", to: .suspended, by: actor) }
        #expect(event.action == .tenantSuspend && event.detail == "active → suspended")
        event = try recorded(store) { _ = try store.setTenantStatus("acme", to: .active, by: actor) }
        #expect(event.action == .tenantResume && event.detail == "suspended → active")
        _ = try store.setTenantStatus("acme", to: .suspended, by: actor)
        _ = try store.issueToken(userID: anaID, device: "ana-phone", expiresAt: nil, by: actor)
        event = try recorded(store) { _ = try store.markTenantDeleted("acme", by: actor) }
        #expect(event.action == .tenantDelete && event.targetID == "acme" && event.detail == "1 tokens revoked")

        event = try recorded(store) {
            try store.recordAudit(actor, .replicaRetire, tenantID: "acme", targetID: "r1", detail: "of user \(anaID)")
        }
        #expect(event.action == .replicaRetire && event.tenantID == "acme")

        // Increasing sequence numbers, every time from the injected clock.
        let all = try trail(store)
        #expect(all.compactMap(\.seq) == all.compactMap(\.seq).sorted() && Set(all.compactMap(\.seq)).count == all.count)
        #expect(all.allSatisfy { $0.at >= 1_790_000_000_000 && $0.at <= clock.now })
    }

    @Test("a refused action records nothing")
    func refusedRecordsNothing() throws {
        let (store, _) = try ControlStore.initialize(directory.url, now: clock.reader)
        _ = try store.createTenant(id: "acme", name: "Acme", baseCurrency: "USD", timeZone: "UTC", by: Self.maria)
        let admin = try store.createUser(tenantID: "acme", name: "Maria", email: "m@acme.example", role: .admin, by: Self.maria)
        let before = try trail(store)

        #expect(controlError { try store.createTenant(id: "acme", name: "Again", baseCurrency: "USD", timeZone: "UTC", by: Self.maria) }?.kind == .alreadyExists)
        #expect(controlError { try store.createTenant(id: "bad id", name: "Bad", baseCurrency: "USD", timeZone: "UTC", by: Self.maria) }?.kind == .invalid)
        #expect(controlError { try store.createUser(tenantID: "acme", name: "Twin", email: "m@acme.example", role: .viewer, by: Self.maria) }?.kind == .alreadyExists)
        #expect(controlError { try store.createUser(tenantID: "nowhere", name: "Lost", email: "", role: .viewer, by: Self.maria) }?.kind == .notFound)
        // The tenant's last admin cannot be demoted: the check comes after the change is made in
        // the transaction, and the whole transaction, event included, is rolled back.
        #expect(controlError { try store.updateUser(admin.id, UserChanges(role: .viewer), by: Self.maria) }?.reason == "last_admin")
        #expect(controlError { try store.issueToken(userID: "u-nobody", device: "x", expiresAt: nil, by: Self.maria) }?.kind == .notFound)
        #expect(controlError { try store.rotateToken("nope", by: Self.maria) }?.kind == .notFound)
        #expect(controlError { try store.revokeToken("nope", by: Self.maria) }?.kind == .notFound)
        #expect(controlError { try store.setTenantStatus("nope", to: .suspended, by: Self.maria) }?.kind == .notFound)
        #expect(controlError { try store.markTenantDeleted("acme", by: Self.maria) }?.reason == "not_suspended")

        #expect(try trail(store) == before)
    }

    @Test("no token value and no token hash is ever in the trail: tokens are named by id")
    func noTokenSecrets() throws {
        let (store, root) = try ControlStore.initialize(directory.url, now: clock.reader)
        let issued = try store.issueToken(userID: root.record.userID, device: "spare", expiresAt: clock.now + 60_000, by: Self.maria)
        let rotated = try store.rotateToken(issued.record.id, by: Self.maria)
        let secrets = [root, issued, rotated].flatMap { token in
            [token.token.plaintext, String(token.token.plaintext.suffix(APIToken.secretLength)), token.token.hash.base64EncodedString(),
             token.token.hash.map { String(format: "%02x", $0) }.joined()]
        }
        for event in try trail(store) {
            for field in [event.detail, event.targetID] {
                #expect(!secrets.contains { field.contains($0) }, "\(event.action): \(field)")
            }
        }
    }

    @Test("the trail is append-only: an update or a delete of an event is refused by the database")
    func appendOnly() throws {
        let (store, _) = try ControlStore.initialize(directory.url, now: clock.reader)
        #expect(throws: DatabaseError.self) { try store.writer.write { db in try db.execute(sql: "UPDATE audit_event SET actor_id = 'someone'") } }
        #expect(throws: DatabaseError.self) { try store.writer.write { db in try db.execute(sql: "DELETE FROM audit_event") } }
        #expect(try trail(store).count == 2)
    }

    @Test("listing filters by tenant ('' for server-wide) and by time, pages by sequence, and names actors and targets as they are now")
    func listing() throws {
        let (store, root) = try ControlStore.initialize(directory.url, now: clock.reader)
        let rootActor = AuditActor(userID: root.record.userID, role: "server-admin", address: "127.0.0.1")
        _ = try store.createTenant(id: "acme", name: "Acme Corp", baseCurrency: "USD", timeZone: "UTC", by: rootActor)
        clock.advance(seconds: 60)
        let since = clock.now
        _ = try store.createTenant(id: "bayani", name: "Bayani", baseCurrency: "PHP", timeZone: "Asia/Manila", by: rootActor)
        let jose = try store.createUser(tenantID: "bayani", name: "Jose", email: "", role: .admin, by: rootActor)
        let token = try store.issueToken(userID: jose.id, device: "jose-laptop", expiresAt: nil, by: rootActor)

        #expect(try trail(store, tenantID: "acme").map(\.action) == [.tenantCreate])
        #expect(try trail(store, tenantID: "bayani").map(\.action) == [.tenantCreate, .userCreate, .tokenIssue])
        #expect(try trail(store, tenantID: "").map(\.action) == [.userCreate, .tokenIssue])
        #expect(try trail(store, since: since).map(\.tenantID) == ["bayani", "bayani", "bayani"])
        #expect(try trail(store, tenantID: "acme", since: since).isEmpty)

        _ = try store.updateUser(jose.id, UserChanges(name: "Jose Rizal"), by: rootActor)
        let listed = try store.auditEvents(tenantID: "bayani").items
        #expect(listed.map(\.actorName) == Array(repeating: "Server admin", count: 4))
        #expect(listed.map(\.targetName) == ["Bayani", "Jose Rizal", "Jose Rizal", "Jose Rizal"])
        #expect(listed[2].event.targetID == token.record.id)
        #expect(controlError { try store.auditEvents(page: PageRequest(after: "forged")) }?.field == "cursor")
    }
}
