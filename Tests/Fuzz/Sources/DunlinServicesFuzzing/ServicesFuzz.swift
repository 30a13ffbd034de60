import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import SwiftProtobuf
import Synchronization

/// The fuzz harness over the tenant services: decoded requests driven through every unary
/// Receivables, Records and Sync handler, in process, on an in-memory tenant store, exactly as a
/// replica answers offline and as the server answers behind a connection.
///
/// Input: byte 0 picks the caller's role (viewer, analyst, manager, admin), byte 1 the method,
/// the rest is the request's protobuf bytes (bytes that do not decode end the run: the wire
/// harness covers decoding). Each input runs on a fresh store seeded with one customer, an
/// invoice, a payment and a contact, so a finding replays alone.
///
/// Oracles: the process must not trap (any integer, amount or date the request carries); and a
/// handler must end with a status (an `RPCError`) that is not INTERNAL or UNKNOWN: anything else
/// means input reached the store or the runtime unchecked.
public enum ServicesFuzz {
    public static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input.bindMemory(to: UInt8.self))
        guard bytes.count >= 2 else { return }
        let role = roles[Int(bytes[0]) % roles.count]
        let method = methods[Int(bytes[1]) % methods.count]
        let payload = Array(bytes[2...])
        let outcome = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            let verdict = await method.call(payload, role)
            outcome.withLock { $0 = verdict }
        }
        done.wait()
        if let finding = outcome.withLock({ $0 }) {
            fatalError("oracle [services-status] \(method.path) as \(role.rawValue): \(finding)")
        }
    }

    static let roles: [Role] = [.viewer, .analyst, .manager, .admin]

    /// A unary method, called in process with a decoded request; nil when it ended acceptably.
    struct LocalMethod: Sendable {
        let path: String
        let call: @Sendable ([UInt8], Role) async -> String?
    }

    static func local<Request, Response>(_ method: MethodDescriptor<Request, Response>) -> LocalMethod {
        LocalMethod(path: method.path) { bytes, role in
            guard let request = try? Request(serializedBytes: bytes) else { return nil }
            let router: Router
            do {
                router = try freshRouter()
            } catch {
                return "the seeded store could not be made: \(error)"
            }
            let principal = Dunlin_V1_Principal.with { $0.id = "u-fuzz"; $0.tenantID = "t-fuzz"; $0.role = role.rawValue }
            do {
                _ = try await router.callLocally(method, request, context: .local(principal: principal))
                return nil
            } catch let error as RPCError {
                return error.code == .internal || error.code == .unknown ? "\(error.code): \(error.message)" : nil
            } catch {
                return "ended with \(type(of: error)), not a status: \(error)"
            }
        }
    }

    static let methods: [LocalMethod] = [
        local(Receivables.upsertCustomers), local(Receivables.getCustomer), local(Receivables.listCustomers),
        local(Receivables.postEntries), local(Receivables.getEntry), local(Receivables.listEntries),
        local(Receivables.applyCash), local(Receivables.unapply), local(Receivables.aging), local(Receivables.statement),
        local(Receivables.unappliedCash), local(Receivables.worklist),
        local(Records.upsertContacts), local(Records.getContact), local(Records.listContacts), local(Records.deleteContacts),
        local(Records.upsertDisputes), local(Records.getDispute), local(Records.listDisputes), local(Records.deleteDisputes),
        local(Records.upsertPromises), local(Records.getPromise), local(Records.listPromises), local(Records.deletePromises),
        local(Records.evaluatePromise),
        local(Records.upsertTasks), local(Records.getTask), local(Records.listTasks), local(Records.deleteTasks),
        local(Records.logActivities), local(Records.listActivities), local(Records.listExceptions), local(Records.listConflicts),
        local(Records.listSettings), local(Records.updateSettings),
        local(SyncMethods.push), local(SyncMethods.listReplicas), local(SyncMethods.retireReplica),
    ]

    /// The services over a new in-memory tenant: customer C1 with invoice INV-1 (1,000.00 USD,
    /// due 2026-09-01), payment PAY-1 (400.00) and contact K1. The tenant's clock is fixed, so a
    /// finding does not depend on the day it is replayed.
    static func freshRouter() throws -> Router {
        let store = try TenantStore()
        try store.upsert([Customer(id: "C1", number: "1001", name: "Globe Retail")])
        let usd = Currency.usd
        try store.post([
            LedgerEntry(id: "INV-1", kind: .invoice, customerID: "C1", amount: Money(minorUnits: 1_000_00, currency: usd),
                        date: CivilDate("2026-08-01")!, dueDate: CivilDate("2026-09-01")!, reference: "INV-1"),
            LedgerEntry(id: "PAY-1", kind: .payment, customerID: "C1", amount: Money(minorUnits: 400_00, currency: usd), date: CivilDate("2026-11-20")!),
        ])
        try store.upsert([Contact(id: "K1", customerID: "C1", name: "Rosa", email: "rosa@globe.example")])
        let zone = TimeZone(identifier: "Asia/Manila")!
        let tenant = TenantHandle(id: "t-fuzz", store: store, baseCurrency: usd, timeZone: zone,
                                  clock: .fixed(CivilDate("2026-11-23")!, in: zone))
        let tenants = FixedTenants([tenant])
        var router = Router()
        for service: any RPCService in [ReceivablesService(tenants: tenants), RecordsService(tenants: tenants), DunningService(tenants: tenants, authority: true), CashService(tenants: tenants, authority: true), CloseService(tenants: tenants, authority: true), SyncService(tenants: tenants)] {
            service.register(in: &router)
        }
        return router
    }
}
