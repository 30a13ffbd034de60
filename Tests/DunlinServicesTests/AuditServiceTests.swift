import DunlinCore
import DunlinServices
import DunlinStore
import DunlinSync
import DunlinWire
import Foundation
import Synchronization
import Testing

/// `Admin/ListAudit` and what the services record, in process over a real control database: who
/// may read which tenant's events, paging and the time filter, and the events of an approval
/// decided by RPC or settled from a push and of a replica retired, each with the caller's
/// address.
@Suite("Services in process: the audit trail")
struct AuditServiceTests {
    /// Server admin `root` (from 192.0.2.1) made tenants t-acme and t-bayani, each with an
    /// admin, and Acme's manager, analyst and viewer; Acme has customer C1 with a 1,000.00 USD
    /// invoice INV-1. The control store's clock moves by hand.
    struct World {
        let directory: URL
        let control: ControlStore
        let tenants: TenantDirectory
        let router: Router
        let clock: Clock
        let root: String
        /// Acme's users by role; Bayani's admin.
        let acme: [Role: String]
        let bayaniAdmin: String

        static func make() async throws -> World {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-audit-\(UUID().uuidString)")
            let clock = Clock()
            let (control, rootToken) = try ControlStore.initialize(directory, now: { clock.now })
            let tenants = try TenantDirectory(control: control)
            var services = Router()
            AdminService(tenants: tenants).register(in: &services)
            RecordsService(tenants: tenants).register(in: &services)
            SyncService(tenants: tenants).register(in: &services)
            let router = services
            let root = rootToken.record.userID
            func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
                var context = ServerContext.local(principal: .with { $0.id = root; $0.role = Role.serverAdmin.rawValue })
                context.peerAddress = "192.0.2.1"
                return try await router.callLocally(method, request, context: context)
            }
            var acme: [Role: String] = [:]
            var bayaniAdmin = ""
            for tenant in ["t-acme", "t-bayani"] {
                _ = try await call(Admin.createTenant, .with { $0.id = tenant; $0.name = tenant; $0.baseCurrency = "USD"; $0.timeZone = "UTC" })
                for role in tenant == "t-acme" ? [Role.admin, .manager, .analyst, .viewer] : [.admin] {
                    let user = try await call(Admin.createUser, .with { $0.tenantID = tenant; $0.name = "\(tenant) \(role.rawValue)"; $0.role = role.rawValue })
                    if tenant == "t-acme" { acme[role] = user.id } else { bayaniAdmin = user.id }
                }
            }
            let store = try tenants.store(for: "t-acme")
            try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
            let day = CivilDate("2026-08-01")!
            try store.post([LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: .usd),
                                        date: day, dueDate: day, reference: "INV-1")])
            return World(directory: directory, control: control, tenants: tenants, router: router, clock: clock,
                         root: root, acme: acme, bayaniAdmin: bayaniAdmin)
        }

        final class Clock: Sendable {
            let milliseconds = Mutex<Int64>(1_790_000_000_000)
            var now: Int64 { milliseconds.withLock { $0 } }
        }

        func advance(seconds: Int64) { clock.milliseconds.withLock { $0 += seconds * 1000 } }
        var now: Int64 { clock.now }

        func call<Request, Response>(
            _ method: MethodDescriptor<Request, Response>, _ request: Request, as user: String, role: Role, tenant: String = "t-acme",
            from address: String = "198.51.100.7"
        ) async throws -> Response {
            var context = ServerContext.local(principal: .with {
                $0.id = user; $0.role = role.rawValue; $0.tenantID = role == .serverAdmin ? "" : tenant
            })
            context.peerAddress = address
            return try await router.callLocally(method, request, context: context)
        }

        /// Every event `user` may list with `request`'s filters, page by page.
        func audit(as user: String, role: Role, tenant: String = "t-acme", _ request: Dunlin_V1_ListAuditRequest = .init()) async throws -> [Dunlin_V1_AuditEvent] {
            var events: [Dunlin_V1_AuditEvent] = []
            var request = request
            repeat {
                let page = try await call(Admin.listAudit, request, as: user, role: role, tenant: tenant)
                events += page.events
                request.cursor = page.nextCursor
            } while !request.cursor.isEmpty
            return events
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("a server admin sees every event; a tenant admin only their tenant's, and any other tenant is NOT_FOUND like one that does not exist")
    func tenantScope() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let acmeAdmin = try #require(world.acme[.admin])
        _ = try await world.call(Admin.createUser, .with { $0.name = "Ana"; $0.role = "analyst" }, as: acmeAdmin, role: .admin)
        _ = try await world.call(Admin.createUser, .with { $0.name = "Jose"; $0.role = "analyst" }, as: world.bayaniAdmin, role: .admin, tenant: "t-bayani")

        let all = try await world.audit(as: world.root, role: .serverAdmin)
        #expect(Set(all.map(\.tenantID)) == ["", "t-acme", "t-bayani"])
        #expect(all.map(\.seq) == all.map(\.seq).sorted())
        let acme = try await world.audit(as: acmeAdmin, role: .admin)
        #expect(!acme.isEmpty && acme.allSatisfy { $0.tenantID == "t-acme" })
        #expect(acme.map(\.seq) == all.filter { $0.tenantID == "t-acme" }.map(\.seq))
        #expect(try await world.audit(as: acmeAdmin, role: .admin, .with { $0.tenantID = "t-acme" }).map(\.seq) == acme.map(\.seq))
        #expect(try await world.audit(as: world.root, role: .serverAdmin, .with { $0.tenantID = "t-acme" }).map(\.seq) == acme.map(\.seq))

        // Ana's creation: by Acme's admin, from their address, named.
        let created = try #require(acme.last)
        #expect(created.action == "user.create" && created.actorID == acmeAdmin && created.actorRole == "admin" && created.actorName == "t-acme admin")
        #expect(created.address == "198.51.100.7" && created.targetName == "Ana" && created.atMs == world.now)
        // The tenants and their first users: the server admin, from theirs.
        #expect(all.first { $0.action == "tenant.create" }?.address == "192.0.2.1")

        let other = await refusal { _ = try await world.audit(as: acmeAdmin, role: .admin, .with { $0.tenantID = "t-bayani" }) }
        let missing = await refusal { _ = try await world.audit(as: acmeAdmin, role: .admin, .with { $0.tenantID = "t-bayani-x" }) }
        #expect(other?.code == .notFound && missing?.code == .notFound)
        #expect(other?.details == missing?.details)
        #expect(other?.message.replacingOccurrences(of: "t-bayani", with: "T") == missing?.message.replacingOccurrences(of: "t-bayani-x", with: "T"))
        #expect(await refusal { _ = try await world.audit(as: world.root, role: .serverAdmin, .with { $0.tenantID = "t-nowhere" }) }?.code == .notFound)

        // A deleted tenant's trail stays readable by server admins, its deletion last.
        _ = try await world.call(Admin.suspendTenant, .with { $0.tenantID = "t-bayani" }, as: world.root, role: .serverAdmin)
        _ = try await world.call(Admin.deleteTenant, .with { $0.tenantID = "t-bayani" }, as: world.root, role: .serverAdmin)
        let deleted = try await world.audit(as: world.root, role: .serverAdmin, .with { $0.tenantID = "t-bayani" })
        #expect(deleted.suffix(2).map(\.action) == ["tenant.suspend", "tenant.delete"])
        #expect(deleted.last?.detail == "0 tokens revoked" && deleted.last?.address == "198.51.100.7")
    }

    @Test("managers, analysts and viewers are refused", arguments: [Role.manager, .analyst, .viewer])
    func lowerRolesRefused(role: Role) async throws {
        let world = try await World.make()
        defer { world.remove() }
        let user = try #require(world.acme[role])
        #expect(await refusal { _ = try await world.audit(as: user, role: role) }?.code == .permissionDenied)
        #expect(await refusal { _ = try await world.audit(as: user, role: role, .with { $0.tenantID = "t-acme" }) }?.code == .permissionDenied)
    }

    @Test("pages meet every event once in sequence order; since keeps the events at or after it")
    func pagingAndSince() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let whole = try await world.audit(as: world.root, role: .serverAdmin)
        var paged: [UInt64] = []
        var cursor = ""
        repeat {
            let page = try await world.call(Admin.listAudit, .with { $0.pageSize = 3; $0.cursor = cursor }, as: world.root, role: .serverAdmin)
            #expect(page.events.count <= 3)
            paged += page.events.map(\.seq)
            cursor = page.nextCursor
        } while !cursor.isEmpty
        #expect(paged == whole.map(\.seq) && whole.count > 6)

        world.advance(seconds: 3600)
        let since = world.now
        let acmeAdmin = try #require(world.acme[.admin]), analyst = try #require(world.acme[.analyst])
        _ = try await world.call(Admin.updateUser, .with { $0.userID = analyst; $0.role = "manager" }, as: acmeAdmin, role: .admin)
        let recent = try await world.audit(as: acmeAdmin, role: .admin, .with { $0.sinceMs = since })
        #expect(recent.map(\.action) == ["user.role"])
        #expect(recent.first?.detail == "role analyst → manager")
        #expect(try await world.audit(as: acmeAdmin, role: .admin, .with { $0.sinceMs = since + 1 }).isEmpty)
        #expect(await refusal { _ = try await world.call(Admin.listAudit, .with { $0.cursor = "forged" }, as: acmeAdmin, role: .admin) }?.code == .invalidArgument)
    }

    @Test("an approval decided by RPC is recorded once, with the decider's address; a repeated decision is not recorded again")
    func approvalByRPC() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let analyst = try #require(world.acme[.analyst]), manager = try #require(world.acme[.manager])
        let asked = try await world.call(Records.addApprovalRequest, .with {
            $0.request = .with {
                $0.kind = "writeoff"; $0.customerID = "C1"; $0.invoiceID = "INV-1"; $0.reason = "freight"
                $0.amount = .with { $0.currency = "USD"; $0.minor = 600_00 }
            }
        }, as: analyst, role: .analyst)
        let decide = Dunlin_V1_DecideApprovalRequestRequest.with { $0.id = asked.id; $0.approve = true; $0.reason = "agreed" }
        _ = try await world.call(Records.decideApprovalRequest, decide, as: manager, role: .manager, from: "203.0.113.9")
        _ = try await world.call(Records.decideApprovalRequest, decide, as: manager, role: .manager, from: "203.0.113.9")

        let approvals = try await world.audit(as: world.root, role: .serverAdmin).filter { $0.action.hasPrefix("approval.") }
        #expect(approvals.count == 1)
        let event = try #require(approvals.first)
        #expect(event.action == "approval.approve" && event.tenantID == "t-acme" && event.targetID == asked.id)
        #expect(event.actorID == manager && event.actorRole == "manager" && event.address == "203.0.113.9")
        #expect(event.detail == "approved writeoff USD 600.00 for customer C1 (invoice INV-1): agreed")
    }

    @Test("a decision settled from a push is recorded once with the pusher's address (a replayed push adds nothing); a retired replica is recorded")
    func approvalFromPushAndRetire() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let analyst = try #require(world.acme[.analyst]), manager = try #require(world.acme[.manager])
        let asked = try await world.call(Records.addApprovalRequest, .with {
            $0.request = .with { $0.kind = "terms"; $0.customerID = "C1"; $0.termsDays = 45; $0.reason = "big customer" }
        }, as: analyst, role: .analyst)
        let store = try world.tenants.store(for: "t-acme")
        var decided = try #require(try store.approvalRequest(asked.id)).request
        decided.status = .rejected
        decided.decidedBy = manager
        decided.decidedOn = CivilDate("2026-11-23")!
        decided.decisionReason = "not now"
        var fields = decided.fieldMap
        fields[RecordCoding.deletedField] = .bool(false)
        let replica = "r" + String(repeating: "a", count: 32)
        let base = try UInt64(store.lastChangeSequence())
        let push = Dunlin_V1_PushRequest.with {
            $0.replicaID = replica
            $0.changes = [.with {
                $0.kind = "approval_request"; $0.id = asked.id; $0.counter = 1; $0.baseSeq = base
                $0.fields = RecordCoding.canonical(fields)
            }]
        }
        for _ in 0..<2 {
            let response = try await world.call(SyncMethods.push, push, as: manager, role: .manager, from: "203.0.113.20")
            #expect(response.results.first?.outcome == .accepted || response.results.first?.outcome == .duplicate, "\(response)")
        }
        #expect(try store.approvalRequest(asked.id)?.request.status == .rejected)

        let acmeAdmin = try #require(world.acme[.admin])
        _ = try await world.call(SyncMethods.retireReplica, .with { $0.replicaID = replica }, as: acmeAdmin, role: .admin, from: "198.51.100.30")

        let events = try await world.audit(as: acmeAdmin, role: .admin).filter { $0.action.hasPrefix("approval.") || $0.action.hasPrefix("replica.") }
        #expect(events.map(\.action) == ["approval.reject", "replica.retire"])
        #expect(events.first?.actorID == manager && events.first?.address == "203.0.113.20" && events.first?.targetID == asked.id)
        #expect(events.first?.detail == "rejected terms of 45 days for customer C1: not now (settled from a push)")
        #expect(events.last?.actorID == acmeAdmin && events.last?.address == "198.51.100.30" && events.last?.targetID == replica)
    }

    /// The server's tenants, with the control database's trail failing while `failing` is set:
    /// a control write that fails between a tenant's commit and its audit record.
    final class FailingTrail: TenantProvider {
        let tenants: TenantDirectory
        let failing = Mutex(true)

        init(tenants: TenantDirectory) { self.tenants = tenants }

        func tenant(_ id: String) throws(RPCError) -> TenantHandle {
            var handle = try tenants.tenant(id)
            guard let real = handle.auditTrail else { throw RPCError(.internal, "the server's tenants keep an audit trail") }
            handle.auditTrail = AuditTrail(now: real.now) { [self] note, outboxID in
                if failing.withLock({ $0 }) { throw RPCError(.unavailable, "the control database is busy") }
                try real.record(note, outboxID)
            }
            return handle
        }
    }

    @Test("a decision and a retirement whose trail write fails still reach the trail: their events, written with them, wait in the tenant's outbox and are recorded once, with their own time, at the next flush")
    func failedTrailWrite() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let analyst = try #require(world.acme[.analyst]), manager = try #require(world.acme[.manager]), acmeAdmin = try #require(world.acme[.admin])
        let failing = FailingTrail(tenants: world.tenants)
        var services = Router()
        RecordsService(tenants: failing).register(in: &services)
        SyncService(tenants: failing).register(in: &services)
        func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request, as user: String, role: Role) async throws -> Response {
            var context = ServerContext.local(principal: .with { $0.id = user; $0.role = role.rawValue; $0.tenantID = "t-acme" })
            context.peerAddress = "203.0.113.9"
            return try await services.callLocally(method, request, context: context)
        }
        let asked = try await call(Records.addApprovalRequest, .with {
            $0.request = .with {
                $0.kind = "writeoff"; $0.customerID = "C1"; $0.invoiceID = "INV-1"; $0.reason = "freight"
                $0.amount = .with { $0.currency = "USD"; $0.minor = 600_00 }
            }
        }, as: analyst, role: .analyst)
        let store = try world.tenants.store(for: "t-acme")
        let replica = "r" + String(repeating: "b", count: 32)
        _ = try store.applyPush(replica: replica, userID: analyst, changes: [], authorize: { _, _, _ in }, refusal: { _ in PushRefusal(code: 2, message: "", field: "") })
        let decidedAt = world.now

        // The actions stand and answer as usual; their events wait in the outbox.
        let decided = try await call(Records.decideApprovalRequest, .with { $0.id = asked.id; $0.approve = true; $0.reason = "agreed" }, as: manager, role: .manager)
        #expect(decided.status == "approved")
        _ = try await call(SyncMethods.retireReplica, .with { $0.replicaID = replica }, as: acmeAdmin, role: .admin)
        #expect(try store.auditOutbox().map(\.note.action) == [.approvalApprove, .replicaRetire])
        #expect(try await world.audit(as: world.root, role: .serverAdmin).filter { $0.action.hasPrefix("approval.") || $0.action.hasPrefix("replica.") }.isEmpty)

        // The server restarts (or the next audited action comes): the outbox is flushed, once.
        world.advance(seconds: 600)
        failing.failing.withLock { $0 = false }
        let restarted = try TenantDirectory(control: world.control)
        _ = try restarted.store(for: "t-acme")
        let events = try await world.audit(as: world.root, role: .serverAdmin).filter { $0.action.hasPrefix("approval.") || $0.action.hasPrefix("replica.") }
        #expect(events.map(\.action) == ["approval.approve", "replica.retire"])
        #expect(events.allSatisfy { $0.atMs == decidedAt && $0.address == "203.0.113.9" }, "\(events)")
        #expect(events.first?.actorID == manager && events.first?.targetID == asked.id && events.last?.targetID == replica)
        #expect(try store.auditOutbox().isEmpty)

        // A note recorded before its removal from the outbox (a crash between the two) is not
        // recorded again.
        let note = AuditNote(at: decidedAt, actor: AuditActor(userID: manager, role: "manager", address: "203.0.113.9"), action: .approvalApprove, targetID: asked.id, detail: "again")
        #expect(try world.control.recordAudit(note, tenantID: "t-acme", outboxID: 1) == false)
        #expect(try world.control.recordAudit(note, tenantID: "t-acme", outboxID: 1_000) == true)
    }
}
