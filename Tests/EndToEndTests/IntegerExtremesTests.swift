import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import SwiftProtobuf
import Testing

/// Every method of every service, with each integer field of its request (up to three messages
/// deep) at 0, 1, -1 and the extremes of every integer type, alone and all at once, on
/// one connection: each call ends with a status, none of them INTERNAL, UNKNOWN or UNAVAILABLE,
/// and the connection still answers afterwards. A trap anywhere in a handler would stop the
/// test process itself.
///
/// The request shapes are found by probing the generated message types with hand-made protobuf
/// bytes, not listed by hand, so a field added later is probed without anyone remembering to.
@Suite("integer extremes", .serialized, .loadsTheMachine, .timeLimit(.minutes(10)))
struct IntegerExtremesTests {
    /// Raw varints: as int32/int64 they are 0, 1, -1, Int64.max, Int64.min, Int32.max, Int32.min;
    /// as uint32/uint64 also 2^31, 2^32-1, 2^32, 2^63 and UInt64.max (= -1's bits).
    static let extremes: [UInt64] = [
        0, 1, UInt64.max, UInt64(Int64.max), 1 << 63, UInt64(Int32.max), UInt64(bitPattern: Int64(Int32.min)),
        1 << 31, UInt64(UInt32.max), 1 << 32,
    ]

    @Test("every request's integer fields at their extremes get a status, and the server keeps serving")
    func everyMethodEveryExtreme() async throws {
        let world = try await ExtremesWorld.start()
        defer { try? FileManager.default.removeItem(at: world.directory) }
        let methods = ProbedMethod.all
        // Every method the server registers is probed: a new one cannot be forgotten here.
        #expect(Set(world.registered).isSubset(of: methods.map(\.path)), "methods not probed: \(Set(world.registered).subtracting(methods.map(\.path)).sorted())")

        var failures: [String] = []
        var calls = 0
        for (principal, client) in [("tenant admin", world.tenantAdmin), ("server admin", world.serverAdmin)] {
            // A server admin reaches no tenant's data: the tenant methods refuse it before they
            // read a field, so it probes the Admin methods only.
            for method in methods where principal == "tenant admin" || method.path.hasPrefix("/dunlin.v1.Admin/") {
                let shape = method.shape
                for plausible in [false, true] {
                    var probes: [(String, [UInt8])] = []
                    for value in Self.extremes {
                        let shown = Int64(bitPattern: value)
                        for leaf in shape.leaves() {
                            probes.append(("\(leaf.name)=\(shown)", shape.bytes(setting: leaf.path, to: value, plausible: plausible ? world.names : nil)))
                        }
                        probes.append(("every integer=\(shown)", shape.bytes(settingAll: value, plausible: plausible ? world.names : nil)))
                    }
                    for (label, bytes) in probes {
                        calls += 1
                        if let failure = await method.call(client, bytes) {
                            failures.append("\(principal) \(method.path) \(label)\(plausible ? " (with plausible strings)" : ""): \(failure)")
                        }
                    }
                }
            }
        }
        #expect(calls > 2_000, "only \(calls) calls: the probe found too few fields")
        #expect(failures.isEmpty, "\(failures.count) of \(calls) calls failed badly:\n\(failures.prefix(30).joined(separator: "\n"))")
        // The same connections still answer.
        #expect(try await world.tenantAdmin.unary(Diagnostics.ping, .init()).serverTimeMs > 0)
        #expect(try await world.tenantAdmin.unary(Receivables.getCustomer, .with { $0.id = "C1" }).customer.id == "C1")
        try await world.stop()
    }

    @Test("the probe finds the integer fields it should: after_seq, counters, amounts, page sizes")
    func probeFindsFields() {
        #expect(Probe.shape(of: Dunlin_V1_PullRequest.self).leaves().map(\.name) == ["after_seq", "batch_size"])
        #expect(Probe.shape(of: Dunlin_V1_PushRequest.self).leaves().map(\.name).contains("changes.counter"))
        #expect(Probe.shape(of: Dunlin_V1_PostEntriesRequest.self).leaves().map(\.name).contains("entries.amount.minor"))
        #expect(Probe.shape(of: Dunlin_V1_ApplyCashRequest.self).leaves().map(\.name).contains("allocations.amount.minor"))
        #expect(Probe.shape(of: Dunlin_V1_IssueTokenRequest.self).leaves().map(\.name).contains("expires_at_ms"))
        #expect(Probe.shape(of: Dunlin_V1_PostEntriesRequest.self).bytes(setting: [1, 4, 2], to: 5, plausible: nil) == [0x0A, 0x04, 0x22, 0x02, 0x10, 0x05])
    }
}

/// Hand-made protobuf bytes, and what decoding them into a generated type reveals.
enum Probe {
    static func rawVarint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    static func varint(_ number: Int, _ value: UInt64) -> [UInt8] {
        rawVarint(UInt64(number) << 3) + rawVarint(value)
    }

    static func lengthDelimited(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        rawVarint(UInt64(number) << 3 | 2) + rawVarint(UInt64(payload.count)) + payload
    }

    /// `payload` placed inside the message fields of `path`, outermost first.
    static func wrap(_ path: [Int], _ payload: [UInt8]) -> [UInt8] {
        path.reversed().reduce(payload) { inner, number in lengthDelimited(number, inner) }
    }

    /// One message type as the probe found it: its integer (varint) fields, its string fields and
    /// its message fields, each message field with its own shape.
    struct Shape: Sendable {
        var name = ""
        var varints: [(number: Int, name: String)] = []
        var strings: [(number: Int, name: String)] = []
        var messages: [(number: Int, shape: Shape)] = []

        /// Every integer field, as a path of field numbers and a dotted name.
        func leaves(_ prefix: [Int] = [], _ names: [String] = []) -> [(path: [Int], name: String)] {
            varints.map { (prefix + [$0.number], (names + [$0.name]).joined(separator: ".")) }
                + messages.flatMap { $0.shape.leaves(prefix + [$0.number], names + [$0.shape.name]) }
        }

        private func strings(_ names: (@Sendable (String) -> String)?) -> [UInt8] {
            guard let names else { return [] }
            return strings.flatMap { Probe.lengthDelimited($0.number, Array(names($0.name).utf8)) }
        }

        /// A message with the integer at `path` set to `value`; with `plausible`, every string
        /// field on the way set to what a real request would carry.
        func bytes(setting path: [Int], to value: UInt64, plausible: (@Sendable (String) -> String)?) -> [UInt8] {
            guard let first = path.first else { return [] }
            if path.count == 1 { return strings(plausible) + Probe.varint(first, value) }
            guard let inner = messages.first(where: { $0.number == first }) else { return [] }
            return strings(plausible) + Probe.lengthDelimited(first, inner.shape.bytes(setting: Array(path.dropFirst()), to: value, plausible: plausible))
        }

        /// A message with every integer field, at every depth, set to `value`.
        func bytes(settingAll value: UInt64, plausible: (@Sendable (String) -> String)?) -> [UInt8] {
            strings(plausible) + varints.flatMap { Probe.varint($0.number, value) }
                + messages.flatMap { Probe.lengthDelimited($0.number, $0.shape.bytes(settingAll: value, plausible: plausible)) }
        }
    }

    /// The field names of a decoded probe, outermost first, as text format prints them; nil when
    /// any part of it was an unknown field (a wrong guess at a number or a wire type).
    private static func names<M: SwiftProtobuf.Message>(_ message: M) -> [String]? {
        let lines = message.textFormatString().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "}" }
        guard !lines.isEmpty, !lines.contains(where: { $0.first?.isNumber == true }) else { return nil }
        return lines.compactMap { line in line.split(whereSeparator: { $0 == ":" || $0 == " " }).first.map(String.init) }
    }

    static func shape<M: SwiftProtobuf.Message>(of type: M.Type) -> Shape { shape(M.self, at: []) }

    /// Probes the message found at `path` inside `M` (the top level when empty), three deep at most.
    private static func shape<M: SwiftProtobuf.Message>(_ type: M.Type, at path: [Int]) -> Shape {
        var shape = Shape()
        let depth = path.count
        func known(_ payload: [UInt8]) -> String? {
            guard let message = try? M(serializedBytes: wrap(path, payload)), let names = names(message), names.count == depth + 1 else { return nil }
            return names[depth]
        }
        for number in 1...(depth == 0 ? 40 : 20) {
            if let name = known(varint(number, 1)) {
                shape.varints.append((number, name))
            } else if let name = known(lengthDelimited(number, Array("zz".utf8))) {
                shape.strings.append((number, name))
            } else if depth < 2, let name = known(lengthDelimited(number, [])) {
                // A message field (an empty one still prints as `name {`): probe inside it.
                var inner = Self.shape(M.self, at: path + [number])
                inner.name = name
                if !inner.varints.isEmpty || !inner.messages.isEmpty { shape.messages.append((number, inner)) }
            }
        }
        return shape
    }
}

/// One method, its request's shape, and a way to call it with raw request bytes.
struct ProbedMethod: Sendable {
    let path: String
    let shape: Probe.Shape
    /// nil when the call ended well (OK or a status a script can branch on); else what went wrong.
    let call: @Sendable (RPCClient, [UInt8]) async -> String?

    static let badCodes: Set<StatusCode> = [.internal, .unknown, .unavailable, .dataLoss]

    private static func judge(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return badCodes.contains(error.code) ? "\(error.code): \(error.message)" : nil
        } catch {
            return "not a status: \(error)"
        }
    }

    static func method<Request, Response>(_ descriptor: MethodDescriptor<Request, Response>, timeout: Duration = .seconds(20)) -> ProbedMethod {
        let options = RPCClient.CallOptions(timeout: timeout)
        return ProbedMethod(path: descriptor.path, shape: Probe.shape(of: Request.self)) { client, bytes in
            guard let request = try? Request(serializedBytes: bytes) else { return "the probe's bytes do not decode" }
            return await judge {
                switch descriptor.kind {
                case .unary:
                    _ = try await client.unary(descriptor, request, options: options)
                case .serverStreaming:
                    do {
                        for try await _ in client.serverStreaming(descriptor, request, options: options) {}
                    } catch let error as RPCError where error.code == .deadlineExceeded && timeout < .seconds(1) {
                        // A stream that never ends by design (Watch): its deadline is its end.
                    }
                case .clientStreaming:
                    _ = try await client.clientStreaming(descriptor, requests: [request], options: options)
                }
            }
        }
    }

    static let all: [ProbedMethod] = [
        // Echo waits and EchoStream streams as long as asked (up to a minute, or for ever): their
        // deadline is their end.
        method(Diagnostics.ping), method(Diagnostics.info), method(Diagnostics.echo, timeout: .milliseconds(200)),
        method(Diagnostics.echoStream, timeout: .milliseconds(200)), method(Diagnostics.sum),
        method(Receivables.upsertCustomers), method(Receivables.getCustomer), method(Receivables.listCustomers),
        method(Receivables.postEntries), method(Receivables.importEntries), method(Receivables.getEntry), method(Receivables.listEntries),
        method(Receivables.applyCash), method(Receivables.unapply), method(Receivables.aging), method(Receivables.statement),
        method(Receivables.unappliedCash), method(Receivables.worklist), method(Receivables.metrics),
        method(Receivables.closeMonth), method(Receivables.reopenMonth), method(Receivables.getClose), method(Receivables.listCloses),
        method(Receivables.closeSnapshot), method(Receivables.postCloseAdjustments),
        method(Records.upsertContacts), method(Records.getContact), method(Records.listContacts), method(Records.deleteContacts),
        method(Records.upsertDisputes), method(Records.getDispute), method(Records.listDisputes), method(Records.deleteDisputes),
        method(Records.upsertPromises), method(Records.getPromise), method(Records.listPromises), method(Records.deletePromises),
        method(Records.evaluatePromise),
        method(Records.upsertTasks), method(Records.getTask), method(Records.listTasks), method(Records.deleteTasks),
        method(Records.logActivities), method(Records.listActivities), method(Records.listExceptions), method(Records.listConflicts),
        method(Dunning.upsertPolicies), method(Dunning.getPolicy), method(Dunning.listPolicies), method(Dunning.deletePolicies),
        method(Dunning.upsertHolds), method(Dunning.getHold), method(Dunning.listHolds), method(Dunning.deleteHolds),
        method(Dunning.runDunning), method(Dunning.getNotice), method(Dunning.listNotices), method(Dunning.releaseNotices), method(Dunning.previewNotices),
        method(Dunning.upsertEscalationRules), method(Dunning.getEscalationRule), method(Dunning.listEscalationRules),
        method(Dunning.deleteEscalationRules), method(Dunning.getEscalation), method(Dunning.listEscalations),
        method(Dunning.evaluateEscalations), method(Dunning.recallPlacement),
        method(Dunning.upsertTemplates), method(Dunning.getTemplate), method(Dunning.listTemplates), method(Dunning.deleteTemplates),
        method(Dunning.resendNotices),
        method(Cash.importBankFile), method(Cash.listBankFiles), method(Cash.getReceipt), method(Cash.listReceipts),
        method(Records.listSettings), method(Records.updateSettings),
        method(Records.addApprovalRequest), method(Records.getApprovalRequest), method(Records.listApprovalRequests), method(Records.decideApprovalRequest),
        method(Records.upsertExchangeRates), method(Records.getExchangeRate), method(Records.listExchangeRates), method(Records.deleteExchangeRates),
        method(Records.upsertTeamCalendars), method(Records.getTeamCalendar), method(Records.listTeamCalendars), method(Records.deleteTeamCalendars),
        method(Records.openTicket), method(Records.getTicket), method(Records.listTickets), method(Records.addTicketEvent), method(Records.linkTicket),
        method(SyncMethods.bootstrap), method(SyncMethods.pull), method(SyncMethods.push), method(SyncMethods.watch, timeout: .milliseconds(200)),
        method(SyncMethods.listReplicas), method(SyncMethods.retireReplica),
        method(Admin.listTenants), method(Admin.createUser), method(Admin.listUsers), method(Admin.listPeople), method(Admin.updateUser),
        method(Admin.issueToken), method(Admin.rotateToken), method(Admin.revokeToken), method(Admin.listTokens), method(Admin.listAudit),
        method(Admin.setTenantLimits), method(Admin.getTenantLimits),
        method(Admin.createTenant), method(Admin.exportTenant), method(Admin.suspendTenant), method(Admin.resumeTenant), method(Admin.deleteTenant),
    ]
}

/// A real server over a real data directory with every service; tenant t-x seeded with a
/// customer, invoices, a payment and records; a second tenant t-spare for the server admin's
/// suspend, export and delete; a spare user and token the probes may change, rotate and revoke.
private struct ExtremesWorld {
    let directory: URL
    let server: TestServer
    let registered: [String]
    let tenantAdmin: RPCClient
    let serverAdmin: RPCClient
    let names: @Sendable (String) -> String

    static func start() async throws -> ExtremesWorld {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-extremes-\(UUID().uuidString)")
        let (control, root) = try ControlStore.initialize(directory)
        let tenants = try TenantDirectory(control: control)
        let services: [any RPCService] = [
            DiagnosticsService(), AdminService(tenants: tenants), ReceivablesService(tenants: tenants),
            RecordsService(tenants: tenants), DunningService(tenants: tenants, authority: true), CashService(tenants: tenants, authority: true),
            CloseService(tenants: tenants, authority: true), SyncService(tenants: tenants),
        ]
        var router = Router()
        for service in services { service.register(in: &router) }
        let server = try await TestServer.start(services: services, authenticator: TokenAuthenticator(control: control))
        let serverAdmin = server.client(token: root.token.plaintext)
        for id in ["t-x", "t-spare"] {
            _ = try await serverAdmin.unary(Admin.createTenant, .with { $0.id = id; $0.name = id; $0.baseCurrency = "USD"; $0.timeZone = "Asia/Manila" })
        }
        let admin = try await serverAdmin.unary(Admin.createUser, .with { $0.tenantID = "t-x"; $0.name = "Ada"; $0.role = "admin" })
        let adminToken = try await serverAdmin.unary(Admin.issueToken, .with { $0.userID = admin.id; $0.device = "probe"; $0.noExpiry = true })
        let spare = try await serverAdmin.unary(Admin.createUser, .with { $0.tenantID = "t-x"; $0.name = "Spare"; $0.role = "analyst" })
        let spareToken = try await serverAdmin.unary(Admin.issueToken, .with { $0.userID = spare.id; $0.device = "spare"; $0.noExpiry = true })
        let tenantAdmin = server.client(token: adminToken.token)
        _ = try await tenantAdmin.unary(Receivables.upsertCustomers, .with {
            $0.customers = [.with { $0.id = "C1"; $0.number = "1001"; $0.name = "Globe Retail" }]
        })
        _ = try await tenantAdmin.unary(Receivables.postEntries, .with {
            $0.entries = [
                .with { $0.id = "INV-1"; $0.kind = "invoice"; $0.customerID = "C1"; $0.amount = usd(1_000_00); $0.date = "2026-08-01"; $0.dueDate = "2026-09-01"; $0.reference = "INV-1" },
                .with { $0.id = "PAY-1"; $0.kind = "payment"; $0.customerID = "C1"; $0.amount = usd(400_00); $0.date = "2026-11-20" },
            ]
        })
        _ = try await tenantAdmin.unary(Records.upsertPromises, .with {
            $0.promises = [.with { $0.id = "C1"; $0.customerID = "C1"; $0.invoiceIds = ["INV-1"]; $0.amount = usd(100_00); $0.madeOn = "2026-11-20"; $0.promisedDate = "2026-11-25" }]
        })
        let spareUser = spare.id, spareTokenID = spareToken.info.id
        return ExtremesWorld(
            directory: directory, server: server, registered: router.methods, tenantAdmin: tenantAdmin, serverAdmin: serverAdmin,
            names: { name in
                switch name {
                case "replica_id": testReplica("probe")
                case "customer_id", "id": "C1"
                case "invoice_id": "INV-1"
                case "source_id": "PAY-1"
                case "tenant_id": "t-spare"
                case "user_id": spareUser
                case "token_id": spareTokenID
                case "kind": "invoice"
                case "role": "analyst"
                case "cursor": ""
                case _ where name.contains("currency"): "USD"
                case _ where name.contains("date") || name == "as_of" || name.hasSuffix("_from") || name.hasSuffix("_through"): "2026-11-23"
                case _ where name.contains("zone"): "Asia/Manila"
                default: "probe"
                }
            }
        )
    }

    func stop() async throws {
        await tenantAdmin.close()
        await serverAdmin.close()
        try await server.stop()
    }
}
