import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation

/// A caller of the services in process: the router's local call with one principal, which is
/// what a connection hands a handler once HELLO has named who is calling. No sockets, no tasks
/// per call: a case costs what its handlers cost.
struct InProcessCaller: Sendable {
    let router: Router
    let principal: Dunlin_V1_Principal

    func unary<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
        try await router.callLocally(method, request, context: .local(principal: principal))
    }
}

/// Acme (USD base, Chicago) and Bayani (PHP base, Manila), each on its own in-memory store,
/// behind the Receivables and Records services; the same tenants and users as the end-to-end
/// suite's `TwoTenants`, minus the server. Acme's users: u-v viewer, u-a analyst, u-m manager;
/// Bayani's: u-b manager; and `root`, a server admin.
struct InProcessTenants {
    let router: Router
    let acme: TenantHandle
    let bayani: TenantHandle

    /// Noon on 2026-11-23 in Chicago (02:00 on the 24th in Manila): the day every test here runs,
    /// whatever the machine's date.
    static let clock = WallClock.fixed(CivilDate("2026-11-23")!, hour: 12, in: TimeZone(identifier: "America/Chicago")!)

    static func make(clock: WallClock = clock) throws -> InProcessTenants {
        let acme = TenantHandle(id: "t-acme", store: try TenantStore(), baseCurrency: .usd, timeZone: TimeZone(identifier: "America/Chicago")!, clock: clock)
        let bayani = TenantHandle(id: "t-bayani", store: try TenantStore(), baseCurrency: .php, timeZone: TimeZone(identifier: "Asia/Manila")!, clock: clock)
        let tenants = FixedTenants([acme, bayani])
        var router = Router()
        ReceivablesService(tenants: tenants).register(in: &router)
        RecordsService(tenants: tenants).register(in: &router)
        DunningService(tenants: tenants, authority: true).register(in: &router)
        CashService(tenants: tenants, authority: true).register(in: &router)
        CloseService(tenants: tenants, authority: true).register(in: &router)
        return InProcessTenants(router: router, acme: acme, bayani: bayani)
    }

    /// Acme's user of the role: u-v, u-a or u-m.
    func acme(_ role: Role) -> InProcessCaller {
        let user = switch role {
        case .viewer: "u-v"
        case .analyst: "u-a"
        default: "u-m"
        }
        return caller(user, tenant: "t-acme", role: role.rawValue)
    }

    /// Bayani's manager, u-b.
    var bayaniManager: InProcessCaller { caller("u-b", tenant: "t-bayani", role: Role.manager.rawValue) }

    /// A server admin: no tenant, so no tenant role.
    var serverAdmin: InProcessCaller { caller("root", tenant: "", role: "server-admin") }

    private func caller(_ user: String, tenant: String, role: String) -> InProcessCaller {
        InProcessCaller(router: router, principal: .with { $0.id = user; $0.tenantID = tenant; $0.role = role })
    }
}

/// The RPC error `body` ends with, or nil when it succeeds.
func refusal(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(.unknown, "not an RPC error: \(error)")
    }
}

func amount(_ minor: Int64, _ currency: String = "USD") -> Dunlin_V1_Amount {
    .with { $0.currency = currency; $0.minor = minor }
}
