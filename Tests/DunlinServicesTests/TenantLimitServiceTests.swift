import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Testing

/// `Admin/SetTenantLimits` and `Admin/GetTenantLimits` in process over a real control database
/// (the audit suite's world: tenants t-acme and t-bayani, Acme's users of each role).
@Suite("Services in process: a tenant's limits")
struct TenantLimitServiceTests {
    typealias World = AuditServiceTests.World

    static func settings(calls: UInt64 = 0, streams: UInt64 = 0, rate: UInt64 = 0, importBytes: UInt64 = 0) -> Dunlin_V1_TenantLimitSettings {
        .with { $0.maxCalls = calls; $0.maxStreams = streams; $0.callsPerSecond = rate; $0.maxImportBytes = importBytes }
    }

    @Test("a server admin sets a tenant's limits: what was set, what holds with the defaults, read back by the tenant's admin, recorded in the audit trail; all 0 returns to the defaults")
    func setAndRead() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let defaults = TenantLimits.defaults
        let set = try await world.call(
            Admin.setTenantLimits, .with { $0.tenantID = "t-acme"; $0.limits = Self.settings(calls: 40, rate: 7) }, as: world.root, role: .serverAdmin
        )
        #expect(set.set == Self.settings(calls: 40, rate: 7))
        // Streams not set are at most the calls.
        #expect(set.effective.maxStreams == 40)
        #expect(set.effective.maxCalls == 40 && set.effective.callsPerSecond == 7 && set.effective.maxImportBytes == UInt64(defaults.maxImportBytes))
        #expect(set.updatedAtMs == world.now)
        #expect(try world.control.tenantLimits("t-acme") == TenantLimitOverrides(tenantID: "t-acme", maxCalls: 40, callsPerSecond: 7, updatedAt: world.now))
        #expect(try world.control.tenantLimits("t-bayani") == nil)

        let acmeAdmin = try #require(world.acme[.admin])
        let read = try await world.call(Admin.getTenantLimits, .with { $0.tenantID = "t-acme" }, as: acmeAdmin, role: .admin)
        #expect(read == set)
        let event = try #require(try await world.audit(as: world.root, role: .serverAdmin).last)
        #expect(event.action == "tenant.limits" && event.tenantID == "t-acme" && event.detail == "max_calls=40, calls_per_second=7" && event.address == "198.51.100.7")

        world.advance(seconds: 60)
        let reset = try await world.call(Admin.setTenantLimits, .with { $0.tenantID = "t-acme" }, as: world.root, role: .serverAdmin)
        #expect(reset.set == Self.settings() && reset.updatedAtMs == 0)
        #expect(reset.effective == Self.settings(
            calls: UInt64(defaults.maxCalls), streams: UInt64(defaults.maxStreams), rate: UInt64(defaults.callsPerSecond), importBytes: UInt64(defaults.maxImportBytes)
        ))
        #expect(try world.control.tenantLimits("t-acme") == nil)
        #expect(try await world.audit(as: world.root, role: .serverAdmin).last?.detail == "the server's defaults")
    }

    @Test("only server admins set limits; only they and the tenant's own admins read them; another tenant is NOT_FOUND like one that does not exist; nothing changes")
    func whoMay() async throws {
        let world = try await World.make()
        defer { world.remove() }
        let request = Dunlin_V1_SetTenantLimitsRequest.with { $0.tenantID = "t-acme"; $0.limits = Self.settings(calls: 1) }
        for role in [Role.admin, .manager, .analyst, .viewer] {
            let user = try #require(world.acme[role])
            let refused = await refusal { _ = try await world.call(Admin.setTenantLimits, request, as: user, role: role) }
            #expect(refused?.code == .permissionDenied, "\(role)")
        }
        for role in [Role.manager, .analyst, .viewer] {
            let user = try #require(world.acme[role])
            let refused = await refusal { _ = try await world.call(Admin.getTenantLimits, .with { $0.tenantID = "t-acme" }, as: user, role: role) }
            #expect(refused?.code == .permissionDenied, "\(role)")
        }
        let other = await refusal {
            _ = try await world.call(Admin.getTenantLimits, .with { $0.tenantID = "t-acme" }, as: world.bayaniAdmin, role: .admin, tenant: "t-bayani")
        }
        let missing = await refusal {
            _ = try await world.call(Admin.getTenantLimits, .with { $0.tenantID = "t-acme-x" }, as: world.bayaniAdmin, role: .admin, tenant: "t-bayani")
        }
        #expect(other?.code == .notFound && missing?.code == .notFound)
        #expect(other?.message.replacingOccurrences(of: "t-acme", with: "T") == missing?.message.replacingOccurrences(of: "t-acme-x", with: "T"))
        let nowhere = await refusal {
            _ = try await world.call(Admin.setTenantLimits, .with { $0.tenantID = "t-nowhere"; $0.limits = Self.settings(calls: 1) }, as: world.root, role: .serverAdmin)
        }
        #expect(nowhere?.code == .notFound)
        #expect(try world.control.tenantLimits("t-acme") == nil)
        #expect(try await world.audit(as: world.root, role: .serverAdmin).allSatisfy { $0.action != "tenant.limits" })
    }

    @Test("limits that cannot hold are INVALID_ARGUMENT naming the field, and change nothing", arguments: [
        (settings(calls: 5, streams: 6), "limits.max_streams"),
        (settings(streams: UInt64(TenantLimits.defaults.maxCalls) + 1), "limits.max_streams"),
        (settings(calls: UInt64(Int32.max) + 1), "limits.max_calls"),
        (settings(rate: UInt64.max), "limits.calls_per_second"),
        (settings(importBytes: UInt64.max), "limits.max_import_bytes"),
    ])
    func invalid(settings: Dunlin_V1_TenantLimitSettings, field: String) async throws {
        let world = try await World.make()
        defer { world.remove() }
        let refused = await refusal {
            _ = try await world.call(Admin.setTenantLimits, .with { $0.tenantID = "t-acme"; $0.limits = settings }, as: world.root, role: .serverAdmin)
        }
        #expect(refused?.code == .invalidArgument && refused?.details.first?.field == field, "\(String(describing: refused))")
        #expect(try world.control.tenantLimits("t-acme") == nil)
    }
}
