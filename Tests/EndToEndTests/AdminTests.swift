import DunlinClient
import DunlinCore
import DunlinServer
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Synchronization
import Testing

/// The control store's clock, moved by hand so tokens can expire during a test.
private final class AdminTestClock: Sendable {
    private let milliseconds = Mutex<Int64>(1_790_000_000_000)
    var now: Int64 { milliseconds.withLock { $0 } }
    func advance(seconds: Int64) { milliseconds.withLock { $0 += seconds * 1000 } }
}

/// A real server over a real data directory: the control database, TokenAuthenticator, the Admin
/// service and the Receivables service over the TenantDirectory.
private struct AdminWorld {
    let directory: URL
    let clock: AdminTestClock
    let control: ControlStore
    let tenants: TenantDirectory
    let server: TestServer
    /// The server admin's token, as `dunlind init` prints it.
    let rootToken: String

    static func start() async throws -> AdminWorld {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-admin-\(UUID().uuidString)")
        let clock = AdminTestClock()
        let (control, root) = try ControlStore.initialize(directory, now: { clock.now })
        let tenants = try TenantDirectory(control: control)
        let server = try await TestServer.start(
            services: [DiagnosticsService(), AdminService(tenants: tenants), ReceivablesService(tenants: tenants), SyncService(tenants: tenants)],
            authenticator: TokenAuthenticator(control: control)
        )
        return AdminWorld(directory: directory, clock: clock, control: control, tenants: tenants, server: server, rootToken: root.token.plaintext)
    }

    func client(_ token: String) -> RPCClient { server.client(token: token) }

    func stop() async throws {
        try await server.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// As the server admin: a tenant, its admin, and the admin's token.
    func tenantWithAdmin(_ id: String, currency: String, zone: String, admin name: String) async throws -> (user: Dunlin_V1_User, token: String) {
        let root = client(rootToken)
        defer { Task { await root.close() } }
        _ = try await root.unary(Admin.createTenant, .with { $0.id = id; $0.name = id.capitalized; $0.baseCurrency = currency; $0.timeZone = zone })
        let user = try await root.unary(Admin.createUser, .with { $0.tenantID = id; $0.name = name; $0.role = "admin" })
        let token = try await root.unary(Admin.issueToken, .with { $0.userID = user.id; $0.device = "\(name)-laptop"; $0.noExpiry = true })
        return (user, token.token)
    }
}

/// The status code a call fails with, or nil when it succeeds.
private func code(_ body: () async throws -> Void) async -> StatusCode? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        Issue.record("not an RPCError: \(error)")
        return nil
    }
}

/// The error a call fails with.
private func failure(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? RPCError
    }
}

@Suite("Admin: tenants, users and tokens over the protocol")
struct AdminTests {
    @Test("a server admin creates a tenant and its admin; the admin creates users and issues their tokens")
    func bootstrap() async throws {
        let world = try await AdminWorld.start()
        let root = world.client(world.rootToken)
        let welcome = try await root.connect()
        #expect(welcome.principal.role == "server-admin")
        #expect(welcome.principal.tenantID.isEmpty)

        let tenant = try await root.unary(Admin.createTenant, .with {
            $0.id = "acme"; $0.name = "Acme Corp"; $0.baseCurrency = "usd"; $0.timeZone = "America/Chicago"
        })
        #expect(tenant.status == "active")
        #expect(tenant.baseCurrency == "USD")
        #expect(FileManager.default.fileExists(atPath: world.directory.appendingPathComponent("tenants/acme.sqlite").path))
        let duplicate = await failure { _ = try await root.unary(Admin.createTenant, .with { $0.id = "acme"; $0.name = "A"; $0.baseCurrency = "USD"; $0.timeZone = "UTC" }) }
        #expect(duplicate?.code == .alreadyExists)
        let badCurrency = await failure { _ = try await root.unary(Admin.createTenant, .with { $0.name = "B"; $0.baseCurrency = "XXY"; $0.timeZone = "UTC" }) }
        #expect(badCurrency?.code == .invalidArgument)
        #expect(badCurrency?.details.first?.field == "base_currency")

        let maria = try await root.unary(Admin.createUser, .with { $0.tenantID = "acme"; $0.name = "Maria Santos"; $0.email = "maria@acme.example"; $0.role = "admin" })
        let mariaToken = try await root.unary(Admin.issueToken, .with { $0.userID = maria.id; $0.device = "maria-laptop"; $0.noExpiry = true })
        #expect(mariaToken.token.hasPrefix("dnl_"))
        #expect(Admin.tokenID(of: mariaToken.token) == mariaToken.info.id)

        let admin = world.client(mariaToken.token)
        let adminWelcome = try await admin.connect()
        #expect(adminWelcome.principal.id == maria.id)
        #expect(adminWelcome.principal.tenantID == "acme")
        #expect(adminWelcome.principal.role == "admin")

        let ana = try await admin.unary(Admin.createUser, .with { $0.name = "Ana Reyes"; $0.email = "ana@acme.example"; $0.role = "analyst" })
        #expect(ana.tenantID == "acme")
        let anaToken = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.expiresAtMs = world.clock.now + 86_400_000 })
        let users = try await admin.unary(Admin.listUsers, .init())
        #expect(users.users.map(\.name).sorted() == ["Ana Reyes", "Maria Santos"])

        let analyst = world.client(anaToken.token)
        #expect(try await analyst.connect().principal.role == "analyst")
        _ = try await analyst.unary(Receivables.unappliedCash, .init())

        // Listing tokens shows ids and dates, never a token or its hash.
        let listed = try await admin.unary(Admin.listTokens, .with { $0.userID = ana.id })
        #expect(listed.tokens.map(\.id) == [anaToken.info.id])
        #expect(listed.tokens[0].device == "ana-laptop")
        let secret = Data(anaToken.token.split(separator: "_")[2].utf8)
        #expect(try listed.serializedData().range(of: secret) == nil)

        for client in [root, admin, analyst] { await client.close() }
        try await world.stop()
    }

    @Test("a tenant admin manages its own users only: another tenant's user is NOT_FOUND, tenants are PERMISSION_DENIED")
    func tenantIsolation() async throws {
        let world = try await AdminWorld.start()
        let (_, mariaToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let (jose, joseToken) = try await world.tenantWithAdmin("bayani", currency: "PHP", zone: "Asia/Manila", admin: "jose")
        let bayani = world.client(joseToken)
        let joseTokens = try await bayani.unary(Admin.listTokens, .init())
        let joseTokenID = try #require(joseTokens.tokens.first?.id)

        let acme = world.client(mariaToken)
        // Another tenant's user and token answer exactly like ones that do not exist.
        let foreign = await failure { _ = try await acme.unary(Admin.updateUser, .with { $0.userID = jose.id; $0.active = false }) }
        let missing = await failure { _ = try await acme.unary(Admin.updateUser, .with { $0.userID = "unosuchuser00000"; $0.active = false }) }
        #expect(foreign?.code == .notFound)
        #expect(missing?.code == .notFound)
        #expect(foreign?.details == missing?.details)
        #expect(foreign?.message.replacingOccurrences(of: jose.id, with: "X") == missing?.message.replacingOccurrences(of: "unosuchuser00000", with: "X"))
        #expect(await code { _ = try await acme.unary(Admin.issueToken, .with { $0.userID = jose.id; $0.device = "x"; $0.noExpiry = true }) } == .notFound)
        #expect(await code { _ = try await acme.unary(Admin.listTokens, .with { $0.userID = jose.id }) } == .notFound)
        #expect(await code { _ = try await acme.unary(Admin.revokeToken, .with { $0.tokenID = joseTokenID }) } == .notFound)
        #expect(await code { _ = try await acme.unary(Admin.rotateToken, .with { $0.tokenID = joseTokenID }) } == .notFound)
        // Naming another tenant is not the tenant admin's to do.
        let named = await failure { _ = try await acme.unary(Admin.createUser, .with { $0.tenantID = "bayani"; $0.name = "Mole"; $0.role = "admin" }) }
        #expect(named?.code == .permissionDenied)
        #expect(named?.details.first?.field == "tenant_id")
        #expect(await code { _ = try await acme.unary(Admin.listUsers, .with { $0.tenantID = "bayani" }) } == .permissionDenied)
        #expect(await code { _ = try await acme.unary(Admin.createUser, .with { $0.name = "Root 2"; $0.role = "server-admin" }) } == .invalidArgument)
        // Tenants are the server admin's.
        #expect(await code { _ = try await acme.unary(Admin.createTenant, .with { $0.id = "mine"; $0.name = "M"; $0.baseCurrency = "USD"; $0.timeZone = "UTC" }) } == .permissionDenied)
        #expect(await code { _ = try await acme.unary(Admin.listTenants, .init()) } == .permissionDenied)
        #expect(await code { _ = try await acme.unary(Admin.suspendTenant, .with { $0.tenantID = "bayani" }) } == .permissionDenied)
        #expect(await code { _ = try await acme.unary(Admin.deleteTenant, .with { $0.tenantID = "acme" }) } == .permissionDenied)
        #expect(await code { for try await _ in acme.serverStreaming(Admin.exportTenant, .with { $0.tenantID = "acme" }) {} } == .permissionDenied)
        // Jose is untouched.
        #expect(try await bayani.unary(Admin.listUsers, .init()).users.map(\.id) == [jose.id])

        // An analyst manages only their own tokens.
        let ana = try await acme.unary(Admin.createUser, .with { $0.name = "Ana"; $0.role = "analyst" })
        let anaToken = try await acme.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.noExpiry = true })
        let analyst = world.client(anaToken.token)
        #expect(await code { _ = try await analyst.unary(Admin.createUser, .with { $0.name = "Friend"; $0.role = "admin" }) } == .permissionDenied)
        #expect(await code { _ = try await analyst.unary(Admin.listUsers, .init()) } == .permissionDenied)
        #expect(await code { _ = try await analyst.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "second"; $0.noExpiry = true }) } == .permissionDenied)
        let mariaTokenID = try #require(Admin.tokenID(of: mariaToken))
        #expect(await code { _ = try await analyst.unary(Admin.revokeToken, .with { $0.tokenID = mariaTokenID }) } == .notFound)
        #expect(try await analyst.unary(Admin.listTokens, .init()).tokens.map(\.id) == [anaToken.info.id])

        // The server admin holds no tenant role: it cannot read receivables.
        let root = world.client(world.rootToken)
        #expect(await code { _ = try await root.unary(Receivables.unappliedCash, .init()) } == .permissionDenied)

        // A demotion holds on a connection opened before it.
        let maria = try #require(try await acme.unary(Admin.listUsers, .init()).users.first { $0.role == "admin" })
        _ = try await root.unary(Admin.createUser, .with { $0.tenantID = "acme"; $0.name = "Second admin"; $0.role = "admin" })
        _ = try await root.unary(Admin.updateUser, .with { $0.userID = maria.id; $0.role = "manager" })
        #expect(await code { _ = try await acme.unary(Admin.createUser, .with { $0.name = "Late"; $0.role = "viewer" }) } == .permissionDenied)
        #expect(try await acme.unary(Admin.listUsers, .init()).users.count == 3, "managers may still list users")

        for client in [acme, bayani, analyst, root] { await client.close() }
        try await world.stop()
    }

    @Test("revoked, rotated-out, expired, deactivated and suspended credentials are refused at HELLO with UNAUTHENTICATED")
    func refusedCredentials() async throws {
        let world = try await AdminWorld.start()
        let (_, mariaToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let admin = world.client(mariaToken)
        let ana = try await admin.unary(Admin.createUser, .with { $0.name = "Ana"; $0.role = "analyst" })

        func refusal(_ token: String) async -> RPCError? {
            let client = world.client(token)
            defer { Task { await client.close() } }
            return await failure { try await client.connect() }
        }

        // Revoked.
        let revoked = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "old-phone"; $0.noExpiry = true })
        #expect(await refusal(revoked.token) == nil)
        _ = try await admin.unary(Admin.revokeToken, .with { $0.tokenID = revoked.info.id })
        let revokedError = await refusal(revoked.token)
        #expect(revokedError?.code == .unauthenticated)
        #expect(revokedError?.message.contains("revoked") == true)
        #expect(revokedError?.message.contains(revoked.token) == false)

        // Rotated by its owner: the old one is refused, the new one accepted.
        let laptop = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.noExpiry = true })
        let owner = world.client(laptop.token)
        let rotated = try await owner.unary(Admin.rotateToken, .with { $0.tokenID = Admin.tokenID(of: laptop.token)! })
        await owner.close()
        #expect(rotated.info.device == "ana-laptop")
        #expect(await refusal(laptop.token)?.code == .unauthenticated)
        #expect(await refusal(rotated.token) == nil)

        // Expired.
        let shortLived = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ci"; $0.expiresAtMs = world.clock.now + 60_000 })
        #expect(await refusal(shortLived.token) == nil)
        world.clock.advance(seconds: 61)
        let expired = await refusal(shortLived.token)
        #expect(expired?.code == .unauthenticated)
        #expect(expired?.message.contains("expired") == true)

        // A deactivated user.
        _ = try await admin.unary(Admin.updateUser, .with { $0.userID = ana.id; $0.active = false })
        #expect(await refusal(rotated.token)?.code == .unauthenticated)
        _ = try await admin.unary(Admin.updateUser, .with { $0.userID = ana.id; $0.active = true })

        // A suspended tenant: new connections are refused at HELLO, open ones at their next call.
        let working = world.client(rotated.token)
        _ = try await working.unary(Receivables.unappliedCash, .init())
        let root = world.client(world.rootToken)
        let suspended = try await root.unary(Admin.suspendTenant, .with { $0.tenantID = "acme" })
        #expect(suspended.status == "suspended")
        let suspendedError = await refusal(rotated.token)
        #expect(suspendedError?.code == .unauthenticated)
        #expect(suspendedError?.message.contains("suspended") == true)
        #expect(await code { _ = try await working.unary(Receivables.unappliedCash, .init()) } == .failedPrecondition)
        #expect(await code { _ = try await admin.unary(Admin.listUsers, .init()) } == .failedPrecondition)
        _ = try await root.unary(Admin.resumeTenant, .with { $0.tenantID = "acme" })
        #expect(await refusal(rotated.token) == nil)
        _ = try await working.unary(Receivables.unappliedCash, .init())

        // Garbage is refused too.
        #expect(await refusal("dnl_aaaaaaaaaaaaaaaa_" + String(repeating: "a", count: 52))?.code == .unauthenticated)
        #expect(await refusal("hunter2")?.code == .unauthenticated)

        for client in [admin, working, root] { await client.close() }
        try await world.stop()
    }

    @Test("an export taken while the server runs, and while it is being written, opens as a sound database")
    func export() async throws {
        let world = try await AdminWorld.start()
        _ = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let store = try world.tenants.store(for: "acme")
        try store.upsert((0..<500).map { Customer(id: "C\($0)", number: "\(1000 + $0)", name: "Customer \($0)") })

        // A writer keeps committing while the export is taken.
        let writing = Task.detached {
            var index = 500
            while !Task.isCancelled {
                try store.upsert([Customer(id: "C\(index)", number: "\(1000 + index)", name: "Customer \(index)")])
                index += 1
            }
        }
        let root = world.client(world.rootToken)
        var tenant: Dunlin_V1_Tenant?
        var total: UInt64 = 0
        var bytes = Data()
        var checksum = ""
        for try await chunk in root.serverStreaming(Admin.exportTenant, .with { $0.tenantID = "acme" }) {
            if chunk.hasTenant {
                tenant = chunk.tenant
                total = chunk.totalBytes
            }
            bytes.append(chunk.data)
            if !chunk.sha256.isEmpty { checksum = chunk.sha256 }
        }
        writing.cancel()
        _ = await writing.result

        #expect(tenant?.id == "acme")
        #expect(UInt64(bytes.count) == total)
        let file = world.directory.appendingPathComponent("export-check.sqlite")
        try bytes.write(to: file)
        let reader = try ChunkedFileReader(file)
        while try reader.next() != nil {}
        #expect(reader.sha256() == checksum)
        #expect(try TenantFiles.integrityCheck(file) == "ok")
        #expect(bytes[18] == 1 && bytes[19] == 1, "a rollback-journal file, with no -wal to go with it")
        let copy = try TenantStore(path: file.path)
        #expect(try copy.customer("C499")?.name == "Customer 499")
        let exports = world.directory.appendingPathComponent("exports")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: exports.path))?.isEmpty ?? true, "the server's temporary copy is removed")

        #expect(await code { for try await _ in root.serverStreaming(Admin.exportTenant, .with { $0.tenantID = "nope" }) {} } == .notFound)
        await root.close()
        try await world.stop()
    }

    @Test("delete refuses an active tenant, then removes a suspended one's file and locks its users out")
    func delete() async throws {
        let world = try await AdminWorld.start()
        let (_, mariaToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let file = world.directory.appendingPathComponent("tenants/acme.sqlite")
        let admin = world.client(mariaToken)
        _ = try await admin.unary(Receivables.unappliedCash, .init())
        #expect(FileManager.default.fileExists(atPath: file.path))

        let root = world.client(world.rootToken)
        let active = await failure { _ = try await root.unary(Admin.deleteTenant, .with { $0.tenantID = "acme" }) }
        #expect(active?.code == .failedPrecondition)
        #expect(active?.details.first?.reason == "not_suspended")
        _ = try await root.unary(Admin.suspendTenant, .with { $0.tenantID = "acme" })
        let deleted = try await root.unary(Admin.deleteTenant, .with { $0.tenantID = "acme" })
        #expect(deleted.status == "deleted")
        #expect(!FileManager.default.fileExists(atPath: file.path))
        #expect(!FileManager.default.fileExists(atPath: file.path + "-wal"))

        #expect(try await root.unary(Admin.listTenants, .init()).tenants.isEmpty)
        #expect(try await root.unary(Admin.listTenants, .with { $0.includeDeleted = true }).tenants.map(\.status) == ["deleted"])
        // Deleting the tenant revoked its users' tokens: even a connection opened before is refused.
        #expect(await code { _ = try await admin.unary(Receivables.unappliedCash, .init()) } == .unauthenticated)
        let relogin = world.client(mariaToken)
        #expect(await code { try await relogin.connect() } == .unauthenticated)
        #expect(await code { _ = try await root.unary(Admin.resumeTenant, .with { $0.tenantID = "acme" }) } == .notFound)
        #expect(await code { for try await _ in root.serverStreaming(Admin.exportTenant, .with { $0.tenantID = "acme" }) {} } == .notFound)
        #expect(await code { _ = try await root.unary(Admin.createTenant, .with { $0.id = "acme"; $0.name = "Again"; $0.baseCurrency = "USD"; $0.timeZone = "UTC" }) } == .alreadyExists)

        for client in [admin, root, relogin] { await client.close() }
        try await world.stop()
    }
}

/// Issue 8: credentials that go bad on open connections, and token lifetimes.
@Suite("Admin: credentials on open connections and token lifetimes", .timeLimit(.minutes(2)))
struct CredentialTests {
    @Test("a server admin's and a tenant admin's token revoked while their connections are open: every Admin call on them is then UNAUTHENTICATED")
    func revokedAdminsLoseAdminRights() async throws {
        let world = try await AdminWorld.start()
        let (maria, mariaToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let root = world.client(world.rootToken)
        let rootUser = try await root.connect().principal.id
        let opsToken = try await root.unary(Admin.issueToken, .with { $0.userID = rootUser; $0.device = "ops-console"; $0.noExpiry = true })
        let ops = world.client(opsToken.token), tenantAdmin = world.client(mariaToken)
        _ = try await ops.unary(Admin.listTenants, .init())
        _ = try await tenantAdmin.unary(Admin.listUsers, .init())

        _ = try await root.unary(Admin.revokeToken, .with { $0.tokenID = opsToken.info.id })
        let mariaTokenID = try #require(Admin.tokenID(of: mariaToken))
        _ = try await root.unary(Admin.revokeToken, .with { $0.tokenID = mariaTokenID })

        for (client, tenantID) in [(ops, "acme"), (tenantAdmin, "")] {
            #expect(await code { _ = try await client.unary(Admin.listTenants, .init()) } == .unauthenticated)
            #expect(await code { _ = try await client.unary(Admin.listTokens, .init()) } == .unauthenticated)
            #expect(await code { _ = try await client.unary(Admin.issueToken, .with { $0.userID = maria.id; $0.device = "x"; $0.noExpiry = true }) } == .unauthenticated)
            #expect(await code { _ = try await client.unary(Admin.createUser, .with { $0.tenantID = tenantID; $0.name = "Eve"; $0.role = "admin" }) } == .unauthenticated)
        }
        #expect(try await root.unary(Admin.listUsers, .with { $0.tenantID = "acme" }).users.map(\.name) == ["maria"])
        for client in [root, ops, tenantAdmin] { await client.close() }
        try await world.stop()
    }

    @Test("an open Sync/Watch ends UNAUTHENTICATED when its token is revoked on another connection")
    func watchEndsOnRevocation() async throws {
        let world = try await AdminWorld.start()
        let (_, adminToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let admin = world.client(adminToken)
        let ana = try await admin.unary(Admin.createUser, .with { $0.name = "Ana"; $0.role = "viewer" })
        let anaToken = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.noExpiry = true })
        let cashier = try await admin.unary(Admin.createUser, .with { $0.name = "Cass"; $0.role = "analyst" })
        let cashierToken = try await admin.unary(Admin.issueToken, .with { $0.userID = cashier.id; $0.device = "cass-laptop"; $0.noExpiry = true })
        let analyst = world.client(cashierToken.token)
        _ = try await analyst.unary(Receivables.postEntries, .with {
            $0.entries = [.with { $0.id = "P1"; $0.kind = "payment"; $0.amount = .with { $0.currency = "USD"; $0.minor = 100 }; $0.date = "2026-11-23" }]
        })
        let laptop = world.client(anaToken.token)
        var notices = laptop.serverStreaming(SyncMethods.watch, .with { $0.replicaID = testReplica("ana"); $0.afterSeq = 0 }).makeAsyncIterator()
        // The stream is open and live: the change already made is announced.
        let first = try await notices.next()
        #expect(first != nil)

        _ = try await admin.unary(Admin.revokeToken, .with { $0.tokenID = anaToken.info.id })
        let ended = await failure { while try await notices.next() != nil {} }
        #expect(ended?.code == .unauthenticated)
        for client in [admin, analyst, laptop] { await client.close() }
        try await world.stop()
    }

    @Test("issue refuses a zero, past or too distant expiry naming expires_at_ms, and writes nothing; no expiry must be asked for")
    func issueExpiries() async throws {
        let world = try await AdminWorld.start()
        let (maria, adminToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let admin = world.client(adminToken)
        let refused: [(Int64, Bool)] = [
            (0, false), (86_400_000, false), (world.clock.now - 1, false), (Int64.max, false),
            (world.clock.now + ControlStore.defaultMaxTokenLifetime + 1, false), (world.clock.now + 60_000, true),
        ]
        for (expiresAt, noExpiry) in refused {
            let error = await failure {
                _ = try await admin.unary(Admin.issueToken, .with { $0.userID = maria.id; $0.device = "x"; $0.expiresAtMs = expiresAt; $0.noExpiry = noExpiry })
            }
            #expect(error?.code == .invalidArgument, "\(expiresAt)")
            #expect(error?.details.first?.field == "expires_at_ms")
        }
        #expect(try await admin.unary(Admin.listTokens, .init()).tokens.count == 1)
        let never = try await admin.unary(Admin.issueToken, .with { $0.userID = maria.id; $0.device = "cron"; $0.noExpiry = true })
        #expect(never.info.expiresAtMs == 0)
        await admin.close()
        try await world.stop()
    }

    @Test("rotation keeps the issuer's lifetime: a viewer cannot set one, an admin can within the maximum, an expired token cannot renew itself")
    func rotationLifetimes() async throws {
        let world = try await AdminWorld.start()
        let (_, adminToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let admin = world.client(adminToken)
        let vera = try await admin.unary(Admin.createUser, .with { $0.name = "Vera"; $0.role = "viewer" })
        let hour = try await admin.unary(Admin.issueToken, .with { $0.userID = vera.id; $0.device = "vera-laptop"; $0.expiresAtMs = world.clock.now + 3_600_000 })
        let viewer = world.client(hour.token)
        let century = world.clock.now + 36_500 * 86_400_000
        let stretched = await failure { _ = try await viewer.unary(Admin.rotateToken, .with { $0.tokenID = hour.info.id; $0.expiresAtMs = century }) }
        #expect(stretched?.code == .permissionDenied)
        #expect(stretched?.details.first?.field == "expires_at_ms")
        world.clock.advance(seconds: 600)
        let kept = try await viewer.unary(Admin.rotateToken, .with { $0.tokenID = hour.info.id })
        #expect(kept.info.expiresAtMs == world.clock.now + 3_600_000)

        let tooLong = await failure { _ = try await admin.unary(Admin.rotateToken, .with { $0.tokenID = kept.info.id; $0.expiresAtMs = .max }) }
        #expect(tooLong?.code == .invalidArgument)
        #expect(tooLong?.details.first?.field == "expires_at_ms")
        let day = try await admin.unary(Admin.rotateToken, .with { $0.tokenID = kept.info.id; $0.expiresAtMs = world.clock.now + 86_400_000 })
        #expect(day.info.expiresAtMs == world.clock.now + 86_400_000)

        world.clock.advance(seconds: 86_400)
        let renewed = await failure { _ = try await admin.unary(Admin.rotateToken, .with { $0.tokenID = day.info.id }) }
        #expect(renewed?.code == .failedPrecondition)
        let onItsOwn = world.client(day.token)
        #expect(await code { _ = try await onItsOwn.unary(Admin.rotateToken, .with { $0.tokenID = day.info.id }) } == .unauthenticated)
        for client in [admin, viewer, onItsOwn] { await client.close() }
        try await world.stop()
    }

    @Test("rotating a token planted with an expiry near Int64.max neither traps the server nor keeps the absurd lifetime")
    func plantedTokenRotation() async throws {
        let world = try await AdminWorld.start()
        let (maria, _) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "maria")
        let clock = world.clock
        let lax = try ControlStore(world.directory, now: { clock.now }, maxTokenLifetime: .max)
        let planted = try lax.issueToken(userID: maria.id, device: "planted", expiresAt: .max - 1)
        let client = world.client(planted.token.plaintext)
        let rotated = try await client.unary(Admin.rotateToken, .with { $0.tokenID = planted.record.id })
        #expect(rotated.info.expiresAtMs == world.clock.now + ControlStore.defaultMaxTokenLifetime)
        let root = world.client(world.rootToken)
        _ = try await root.unary(Admin.listTenants, .init())
        for client in [client, root] { await client.close() }
        try await world.stop()
    }
}

@Suite("dunlind init and dunlin admin, as executables", .loadsTheMachine, .timeLimit(.minutes(10)))
struct AdminProcessTests {
    /// Runs `dunlind` (not `serve`) and returns its exit status and stdout.
    func dunlind(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try Executables.url("dunlind")
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func object(_ output: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    func object(_ output: String) throws -> [String: Any] { try Self.object(output) }

    @Test("dunlind init prints a server-admin token once and refuses to run twice; dunlin admin drives a served data directory")
    func initAndServe() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-init-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let first = try dunlind(["init", "--data", directory.path, "--json"])
        #expect(first.status == 0)
        #expect(try FileManager.default.attributesOfItem(atPath: directory.path)[.posixPermissions] as? Int == 0o700)
        let root = try #require(try object(first.output)["token"] as? String)
        #expect(Admin.tokenID(of: root) != nil)
        let again = try dunlind(["init", "--data", directory.path])
        #expect(again.status == 100 + Int32(StatusCode.failedPrecondition.rawValue))
        #expect(!again.output.contains("dnl_"))

        let server = try await DunlindProcess(arguments: ["--data", directory.path])
        let address = "127.0.0.1:\(server.port)"
        func admin(_ arguments: [String], token: String = root) async throws -> (status: Int32, output: String) {
            try await runCLI(["admin"] + arguments + ["--server", address, "--token", token])
        }
        #expect(try await admin(["tenant", "create", "acme", "--name", "Acme", "--currency", "USD", "--time-zone", "America/Chicago"]).status == 0)
        let bad = try await admin(["tenant", "create", "beta", "--name", "Beta", "--currency", "USD", "--time-zone", "Mars/Olympus", "--json"])
        #expect(bad.status == 100 + Int32(StatusCode.invalidArgument.rawValue))
        #expect(bad.output.contains("time_zone"))
        let maria = try object(try await admin(["user", "create", "--tenant", "acme", "--name", "Maria", "--role", "admin", "--json"]).output)
        let mariaID = try #require(maria["id"] as? String)
        let issued = try object(try await admin(["token", "issue", mariaID, "--device", "maria-laptop", "--expires-in", "30d", "--json"]).output)
        let mariaToken = try #require(issued["token"] as? String)
        let usage = Int32(64)
        for expiry in [["--expires-in", "99999999999999999d"], ["--expires-in", "9223372036854775807s"], ["--expires", "1970-01-01"], []] {
            #expect(try await admin(["token", "issue", mariaID, "--device", "x"] + expiry).status == usage, "\(expiry)")
        }
        let tooLong = try await admin(["token", "issue", mariaID, "--device", "x", "--expires-in", "36500d"])
        #expect(tooLong.status == 100 + Int32(StatusCode.invalidArgument.rawValue))
        let tokenFile = directory.appendingPathComponent("maria.token")
        try OwnerOnlyFiles.write(Data((mariaToken + "\n").utf8), to: tokenFile)
        let fromFile = try await runCLI(["admin", "user", "list", "--server", address, "--token-file", tokenFile.path])
        #expect(fromFile.status == 0)
        #expect(fromFile.output.contains("Maria"))

        #expect(try await admin(["tenant", "list"], token: mariaToken).status == 100 + Int32(StatusCode.permissionDenied.rawValue))
        let users = try await admin(["user", "list"], token: mariaToken)
        #expect(users.status == 0)
        #expect(users.output.contains("Maria"))
        let tokens = try await admin(["token", "list"], token: mariaToken)
        #expect(tokens.output.contains("maria-laptop"))
        #expect(!tokens.output.contains(mariaToken))

        let file = directory.appendingPathComponent("acme-copy.sqlite")
        #expect(try await admin(["tenant", "export", "acme", "--output", file.path]).status == 0)
        #expect(try TenantFiles.integrityCheck(file) == "ok")
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int == 0o600)
        #expect(try await admin(["tenant", "delete", "acme", "--yes"]).status == 100 + Int32(StatusCode.failedPrecondition.rawValue))

        let rotated = try object(try await admin(["token", "rotate", "--json"], token: mariaToken).output)
        #expect(try await admin(["user", "list"], token: mariaToken).status == 100 + Int32(StatusCode.unauthenticated.rawValue))
        #expect(try await admin(["user", "list"], token: try #require(rotated["token"] as? String)).status == 0)

        server.terminate()
        #expect(try await server.waitForExit() == 0)
    }

    @Test("dunlin admin audit shows the users made and the tokens issued and revoked through the CLI, each with its actor and the peer address 127.0.0.1")
    func auditTrail() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-audit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try #require(try object(try dunlind(["init", "--data", directory.path, "--json"]).output)["token"] as? String)
        let server = try await DunlindProcess(arguments: ["--data", directory.path])
        let address = "127.0.0.1:\(server.port)"
        func admin(_ arguments: [String], token: String = root) async throws -> (status: Int32, output: String) {
            try await runCLI(["admin"] + arguments + ["--server", address, "--token", token])
        }
        func json(_ arguments: [String], token: String = root) async throws -> [String: Any] {
            let (status, output) = try await admin(arguments + ["--json"], token: token)
            #expect(status == 0, "\(arguments): \(output)")
            return try object(output)
        }
        _ = try await json(["tenant", "create", "acme", "--name", "Acme", "--currency", "USD", "--time-zone", "UTC"])
        let maria = try #require(try await json(["user", "create", "--tenant", "acme", "--name", "Maria Santos", "--role", "admin"])["id"] as? String)
        let mariaToken = try #require(try await json(["token", "issue", maria, "--device", "maria-laptop", "--expires-in", "30d"])["token"] as? String)
        // Maria, the tenant's admin: a user, a token for them, and its revocation.
        let ana = try #require(try await json(["user", "create", "--name", "Ana Reyes", "--role", "analyst"], token: mariaToken)["id"] as? String)
        let issued = try await json(["token", "issue", ana, "--device", "ana-laptop", "--expires-in", "7d"], token: mariaToken)
        let anaTokenID = try #require(issued["id"] as? String), anaToken = try #require(issued["token"] as? String)
        _ = try await json(["token", "revoke", anaTokenID], token: mariaToken)
        // The server admin takes a copy of the tenant.
        _ = try await json(["tenant", "export", "acme", "--output", directory.appendingPathComponent("acme.sqlite").path])

        let trail = try #require(try await json(["audit"])["events"] as? [[String: Any]])
        func event(_ action: String, _ target: String) -> [String: Any]? {
            trail.first { $0["action"] as? String == action && $0["target_id"] as? String == target }
        }
        for (action, target) in [("user.create", ana), ("token.issue", anaTokenID), ("token.revoke", anaTokenID)] {
            let found = try #require(event(action, target), "\(action) \(target) not in \(trail)")
            #expect(found["actor_id"] as? String == maria && found["actor_name"] as? String == "Maria Santos" && found["actor_role"] as? String == "admin")
            #expect(found["address"] as? String == "127.0.0.1" && found["tenant_id"] as? String == "acme")
        }
        #expect(event("user.create", maria)?["address"] as? String == "127.0.0.1")
        #expect(event("tenant.create", "acme")?["actor_role"] as? String == "server-admin")
        let export = try #require(event("tenant.export", "acme"))
        #expect(export["address"] as? String == "127.0.0.1" && (export["detail"] as? String)?.hasSuffix(" bytes") == true, "\(export)")
        #expect(trail.first?["address"] as? String == "local", "dunlind init's own events come first")
        // No token value anywhere in the trail.
        let everything = try await admin(["audit", "--json"]).output
        #expect(!everything.contains(anaToken) && !everything.contains(mariaToken) && !everything.contains(root))

        // Maria sees her tenant's events only; another tenant is not found; a later --since shows none.
        let hers = try #require(try await json(["audit"], token: mariaToken)["events"] as? [[String: Any]])
        #expect(!hers.isEmpty && hers.allSatisfy { $0["tenant_id"] as? String == "acme" })
        #expect(try await admin(["audit", "--tenant", "beta"], token: mariaToken).status == 100 + Int32(StatusCode.notFound.rawValue))
        #expect((try await json(["audit", "--since", "2999-01-01"])["events"] as? [Any])?.isEmpty == true)
        #expect(try await admin(["audit", "--since", "yesterday"]).status == 64)
        // For people: names, not ids.
        let table = try await admin(["audit", "--tenant", "acme"])
        #expect(table.status == 0 && table.output.contains("Maria Santos (admin)") && table.output.contains("token.revoke"), "\(table.output)")

        server.terminate()
        #expect(try await server.waitForExit() == 0)
    }

    @Test("a demotion or deactivation holds on receivables calls of a connection opened before it")
    func demotionOnOpenConnection() async throws {
        let world = try await AdminWorld.start()
        let (_, adminToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "Maria")
        let admin = world.client(adminToken)
        let ana = try await admin.unary(Admin.createUser, .with { $0.name = "Ana Reyes"; $0.role = "analyst" })
        let anaToken = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.noExpiry = true })
        let analyst = world.client(anaToken.token)
        let payment = { (id: String) in
            Dunlin_V1_PostEntriesRequest.with {
                $0.entries = [.with { $0.id = id; $0.kind = "payment"; $0.amount = .with { $0.currency = "USD"; $0.minor = 100 }; $0.date = "2026-11-23" }]
            }
        }
        _ = try await analyst.unary(Receivables.postEntries, payment("P1"))

        _ = try await admin.unary(Admin.updateUser, .with { $0.userID = ana.id; $0.role = "viewer" })
        #expect(await code { _ = try await analyst.unary(Receivables.postEntries, payment("P2")) } == .permissionDenied)
        _ = try await analyst.unary(Receivables.aging, .init())  // a viewer still reads

        _ = try await admin.unary(Admin.updateUser, .with { $0.userID = ana.id; $0.active = false })
        #expect(await code { _ = try await analyst.unary(Receivables.aging, .init()) } == .unauthenticated)
        try await world.stop()
    }

    @Test("a token revoked or expired after its connection opened stops working on that connection")
    func revocationOnOpenConnection() async throws {
        let world = try await AdminWorld.start()
        let (_, adminToken) = try await world.tenantWithAdmin("acme", currency: "USD", zone: "America/Chicago", admin: "Maria")
        let admin = world.client(adminToken)
        let ana = try await admin.unary(Admin.createUser, .with { $0.name = "Ana Reyes"; $0.role = "analyst" })
        let laptop = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-laptop"; $0.noExpiry = true })
        let script = try await admin.unary(Admin.issueToken, .with { $0.userID = ana.id; $0.device = "ana-script"; $0.expiresAtMs = world.clock.now + 3_600_000 })
        let onLaptop = world.client(laptop.token), inScript = world.client(script.token)
        _ = try await onLaptop.unary(Receivables.aging, .init())
        _ = try await inScript.unary(Receivables.aging, .init())
        #expect(try await onLaptop.connect().principal.tokenID == laptop.info.id)

        _ = try await admin.unary(Admin.revokeToken, .with { $0.tokenID = laptop.info.id })
        #expect(await code { _ = try await onLaptop.unary(Receivables.aging, .init()) } == .unauthenticated)
        world.clock.advance(seconds: 3601)
        #expect(await code { _ = try await inScript.unary(Receivables.aging, .init()) } == .unauthenticated)
        try await world.stop()
    }
}
