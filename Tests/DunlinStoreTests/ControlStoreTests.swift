import DunlinCore
@testable import DunlinStore
import Foundation
import Synchronization
import Testing

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let milliseconds = Mutex<Int64>(1_790_000_000_000)
    var now: Int64 { milliseconds.withLock { $0 } }
    func advance(seconds: Int64) { milliseconds.withLock { $0 += seconds * 1000 } }
    var reader: @Sendable () -> Int64 { { self.now } }
}

/// A fresh data directory, removed when the test ends.
final class DataDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dunlin-control-\(UUID().uuidString)")
    deinit { try? FileManager.default.removeItem(at: url) }
}

private func refusal(_ result: Result<AuthenticatedUser, AuthenticationRefusal>) -> AuthenticationRefusal? {
    if case .failure(let refusal) = result { return refusal }
    return nil
}

func controlError(_ body: () throws -> some Any) -> ControlError? {
    do {
        _ = try body()
        return nil
    } catch let error as ControlError {
        return error
    } catch {
        Issue.record("expected a ControlError, got \(error)")
        return nil
    }
}

@Suite("Control store")
struct ControlStoreTests {
    let directory = DataDirectory()
    let clock = ManualClock()

    /// An initialised store with one active tenant "acme" and its admin.
    func fixture() throws -> (ControlStore, IssuedToken, UserRecord) {
        let (store, adminToken) = try ControlStore.initialize(directory.url, now: clock.reader)
        _ = try store.createTenant(id: "acme", name: "Acme Corp", baseCurrency: "USD", timeZone: "America/New_York")
        let admin = try store.createUser(tenantID: "acme", name: "Maria Santos", email: "maria@acme.example", role: .admin)
        return (store, adminToken, admin)
    }

    @Test("a token is dnl_, a 16-character id and a 52-character base32 secret (260 random bits), never the same twice")
    func tokenFormat() throws {
        var seen = Set<String>()
        var charactersByPosition = Array(repeating: Set<Character>(), count: APIToken.secretLength)
        for _ in 0..<2000 {
            let token = APIToken.generate().plaintext
            #expect(token.count == 4 + 16 + 1 + 52)
            #expect(token.hasPrefix("dnl_"))
            #expect(token.allSatisfy { "abcdefghijklmnopqrstuvwxyz234567_".contains($0) })
            #expect(APIToken(parsing: token)?.plaintext == token)
            let secret = token.split(separator: "_")[2]
            for (index, character) in secret.enumerated() { charactersByPosition[index].insert(character) }
            #expect(seen.insert(token).inserted)
        }
        // 2000 draws of 32 symbols: every position shows (nearly) the whole alphabet.
        #expect(charactersByPosition.allSatisfy { $0.count >= 30 })
        #expect(APIToken.secretLength * 5 >= 256)
        #expect(APIToken(parsing: "dnl_short_secret") == nil)
        #expect(APIToken(parsing: "good-token") == nil)
        #expect(APIToken.generate().description.hasSuffix("[redacted]"))
    }

    @Test("only a token's SHA-256 is stored: the plaintext appears in no byte of the data directory")
    func hashOnly() throws {
        let (store, adminToken, admin) = try fixture()
        var issued = [adminToken]
        for index in 0..<20 {
            issued.append(try store.issueToken(userID: admin.id, device: "laptop-\(index)", expiresAt: nil))
        }
        issued.append(try store.rotateToken(issued[3].record.id))
        var bytes = Data()
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory.url.path)
        for file in files {
            var isDirectory: ObjCBool = false
            let path = directory.url.appendingPathComponent(file).path
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            }
        }
        #expect(files.contains("control.sqlite"))
        for token in issued {
            let plaintext = token.token.plaintext
            let secret = Data(plaintext.split(separator: "_")[2].utf8)
            #expect(bytes.range(of: secret) == nil, "the secret of \(token.token) is on disk")
            #expect(bytes.range(of: token.token.hash) != nil, "the hash of \(token.token) should be stored")
        }
    }

    @Test("a token is accepted until it expires, then refused as expired")
    func expiry() throws {
        let (store, _, admin) = try fixture()
        let token = try store.issueToken(userID: admin.id, device: "ana-laptop", expiresAt: clock.now + 3_600_000)
        let accepted = try store.authenticate(token: token.token.plaintext).get()
        #expect(accepted.user.id == admin.id)
        #expect(accepted.user.tenantID == "acme")
        #expect(accepted.user.role == .admin)
        clock.advance(seconds: 3599)
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == nil)
        clock.advance(seconds: 1)
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == .expired(tokenID: token.record.id, at: token.record.expiresAt!))
        let error = controlError { try store.issueToken(userID: admin.id, device: "x", expiresAt: clock.now - 1) }
        #expect(error?.field == "expires_at_ms")
        #expect(error?.kind == .invalid)
    }

    @Test("a revoked token is refused; revoking again changes nothing")
    func revocation() throws {
        let (store, _, admin) = try fixture()
        let token = try store.issueToken(userID: admin.id, device: "phone", expiresAt: nil)
        let other = try store.issueToken(userID: admin.id, device: "laptop", expiresAt: nil)
        let revoked = try store.revokeToken(token.record.id)
        #expect(revoked.revokedAt == clock.now)
        clock.advance(seconds: 5)
        #expect(try store.revokeToken(token.record.id).revokedAt == revoked.revokedAt)
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == .revoked(tokenID: token.record.id))
        #expect(refusal(try store.authenticate(token: other.token.plaintext)) == nil)
        #expect(try store.tokens(userID: admin.id).items.map(\.id) == [other.record.id])
        #expect(try store.tokens(userID: admin.id, includeRevoked: true).items.count == 2)
    }

    @Test("rotation issues a new token for the same user, device and lifetime, and revokes the old one")
    func rotation() throws {
        let (store, _, admin) = try fixture()
        let old = try store.issueToken(userID: admin.id, device: "ana-laptop", expiresAt: clock.now + 86_400_000)
        clock.advance(seconds: 3600)
        let new = try store.rotateToken(old.record.id)
        #expect(new.record.userID == admin.id)
        #expect(new.record.device == "ana-laptop")
        #expect(new.record.expiresAt == clock.now + 86_400_000)
        #expect(new.token.plaintext != old.token.plaintext)
        #expect(refusal(try store.authenticate(token: old.token.plaintext)) == .revoked(tokenID: old.record.id))
        #expect(refusal(try store.authenticate(token: new.token.plaintext)) == nil)
        #expect(try store.token(old.record.id)?.replacedBy == new.record.id)
        #expect(controlError { try store.rotateToken(old.record.id) }?.reason == "revoked")
        #expect(controlError { try store.rotateToken("nosuchtoken") }?.kind == .notFound)
    }

    @Test("a wrong secret under a real token id is refused like an unknown token")
    func wrongSecret() throws {
        let (store, _, admin) = try fixture()
        let token = try store.issueToken(userID: admin.id, device: "laptop", expiresAt: nil)
        let forged = "dnl_\(token.record.id)_" + String(repeating: "a", count: 52)
        #expect(refusal(try store.authenticate(token: forged)) == .unknown)
        #expect(refusal(try store.authenticate(token: "dnl_" + String(repeating: "b", count: 16) + "_" + String(repeating: "a", count: 52))) == .unknown)
        #expect(refusal(try store.authenticate(token: "Bearer xyz")) == .malformed)
    }

    @Test("tokens of a suspended or deleted tenant, or of a deactivated user, are refused")
    func suspendedTenant() throws {
        let (store, adminToken, admin) = try fixture()
        let analyst = try store.createUser(tenantID: "acme", name: "Ana Reyes", email: "ana@acme.example", role: .analyst)
        let token = try store.issueToken(userID: analyst.id, device: "ana-laptop", expiresAt: nil)
        _ = try store.setTenantStatus("acme", to: .suspended)
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == .tenantSuspended(tenantID: "acme"))
        #expect(refusal(try store.authenticate(token: adminToken.token.plaintext)) == nil, "server admins belong to no tenant")
        _ = try store.setTenantStatus("acme", to: .active)
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == nil)

        _ = try store.updateUser(analyst.id, UserChanges(active: false))
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == .userInactive(userID: analyst.id))
        _ = try store.updateUser(analyst.id, UserChanges(active: true))

        #expect(controlError { try store.markTenantDeleted("acme") }?.reason == "not_suspended")
        _ = try store.setTenantStatus("acme", to: .suspended)
        _ = try store.markTenantDeleted("acme")
        #expect(refusal(try store.authenticate(token: token.token.plaintext)) == .revoked(tokenID: token.record.id))
        #expect(try store.tokens(userID: admin.id).items.isEmpty, "deleting a tenant revokes its tokens")
        #expect(controlError { try store.setTenantStatus("acme", to: .active) }?.kind == .notFound)
        #expect(controlError { try store.createTenant(id: "acme", name: "Again", baseCurrency: "USD", timeZone: "UTC") }?.kind == .alreadyExists)
        #expect(try store.tenants().items.isEmpty)
        #expect(try store.tenants(includeDeleted: true).items.map(\.status) == [.deleted])
    }

    @Test("validation errors name the field and write nothing", arguments: [
        ("base_currency", "unknown_currency"), ("time_zone", "unknown_time_zone"), ("id", "malformed"), ("name", "empty"),
    ])
    func tenantValidation(field: String, reason: String) throws {
        let (store, _, _) = try fixture()
        let error = controlError {
            switch field {
            case "base_currency": try store.createTenant(id: "beta", name: "Beta", baseCurrency: "USX", timeZone: "UTC")
            case "time_zone": try store.createTenant(id: "beta", name: "Beta", baseCurrency: "PHP", timeZone: "EST")
            case "id": try store.createTenant(id: "../etc", name: "Beta", baseCurrency: "PHP", timeZone: "Asia/Manila")
            default: try store.createTenant(id: "beta", name: "  ", baseCurrency: "PHP", timeZone: "Asia/Manila")
            }
        }
        #expect(error?.field == field)
        #expect(error?.reason == reason)
        #expect(error?.kind == .invalid)
        #expect(try store.tenants().items.map(\.id) == ["acme"])
        #expect(!FileManager.default.fileExists(atPath: store.tenantFile("beta").path))
    }

    @Test("user and token validation errors name the field")
    func userValidation() throws {
        let (store, _, admin) = try fixture()
        #expect(controlError { try store.createUser(tenantID: "acme", name: "X", email: "not-an-email", role: .viewer) }?.field == "email")
        #expect(controlError { try store.createUser(tenantID: "acme", name: "X", email: "MARIA@acme.example", role: .viewer) }?.kind == .alreadyExists)
        #expect(controlError { try store.createUser(tenantID: "acme", name: "X", email: "", role: .serverAdmin) }?.field == "role")
        #expect(controlError { try store.createUser(tenantID: nil, name: "X", email: "", role: .admin) }?.field == "role")
        #expect(controlError { try store.createUser(tenantID: "nope", name: "X", email: "", role: .admin) }?.field == "tenant_id")
        #expect(controlError { try store.issueToken(userID: admin.id, device: "", expiresAt: nil) }?.field == "device")
        #expect(controlError { try store.issueToken(userID: "unobody", device: "laptop", expiresAt: nil) }?.field == "user_id")
        #expect(controlError { try store.users(tenantID: "acme", page: PageRequest(after: "garbage")) }?.field == "cursor")
        // The same email in another tenant is fine.
        _ = try store.createTenant(id: "beta", name: "Beta", baseCurrency: "PHP", timeZone: "Asia/Manila")
        _ = try store.createUser(tenantID: "beta", name: "Maria", email: "maria@acme.example", role: .admin)
    }

    @Test("a user's manager is an active manager or admin of the same tenant; another tenant's user is NOT_FOUND; nothing changes on a refusal")
    func managers() throws {
        let (store, _, admin) = try fixture()
        let ana = try store.createUser(tenantID: "acme", name: "Ana", email: "", role: .analyst)
        let ben = try store.createUser(tenantID: "acme", name: "Ben", email: "", role: .analyst)
        let mia = try store.createUser(tenantID: "acme", name: "Mia", email: "", role: .manager)
        _ = try store.createTenant(id: "beta", name: "Beta", baseCurrency: "PHP", timeZone: "Asia/Manila")
        let other = try store.createUser(tenantID: "beta", name: "Olga", email: "", role: .manager)
        #expect(controlError { try store.updateUser(ana.id, UserChanges(managerID: ana.id)) }?.kind == .invalid)
        #expect(controlError { try store.updateUser(ana.id, UserChanges(managerID: other.id)) }.map { ($0.kind, $0.field) } ?? (.invalid, "") == (.notFound, "manager_id"))
        #expect(controlError { try store.updateUser(ana.id, UserChanges(managerID: "unobody")) }?.kind == .notFound)
        #expect(controlError { try store.updateUser(ana.id, UserChanges(managerID: ben.id)) }?.reason == "not_a_manager")
        #expect(try store.manager(of: ana.id) == nil, "refusals changed nothing")
        #expect(try store.updateUser(ana.id, UserChanges(managerID: mia.id)).managerID == mia.id)
        #expect(try store.manager(of: ana.id) == mia.id)
        #expect(try store.updateUser(ben.id, UserChanges(managerID: admin.id)).managerID == admin.id, "an admin manages too")
        // A manager deactivated (or demoted) since manages no one: escalations fall back.
        _ = try store.updateUser(mia.id, UserChanges(active: false))
        #expect(try store.manager(of: ana.id) == nil)
        #expect(try store.updateUser(ana.id, UserChanges(managerID: "")).managerID == "")
    }

    @Test("a tenant's last active admin can be neither demoted nor deactivated")
    func lastAdmin() throws {
        let (store, adminToken, admin) = try fixture()
        #expect(controlError { try store.updateUser(admin.id, UserChanges(role: .manager)) }?.reason == "last_admin")
        #expect(controlError { try store.updateUser(admin.id, UserChanges(active: false)) }?.field == "active")
        #expect(controlError { try store.updateUser(adminToken.record.userID, UserChanges(active: false)) }?.reason == "last_admin")
        let second = try store.createUser(tenantID: "acme", name: "Jon", email: "", role: .admin)
        #expect(try store.updateUser(admin.id, UserChanges(role: .manager)).role == .manager)
        #expect(controlError { try store.updateUser(second.id, UserChanges(role: .viewer)) }?.reason == "last_admin")
    }

    @Test("init refuses a directory already initialised; open refuses one that is not")
    func initialization() throws {
        #expect(controlError { try ControlStore(directory.url) }?.reason == "not_initialized")
        let (store, token) = try ControlStore.initialize(directory.url, now: clock.reader)
        let admin = try store.authenticate(token: token.token.plaintext).get().user
        #expect(admin.role == .serverAdmin)
        #expect(admin.tenantID == nil)
        #expect(controlError { try ControlStore.initialize(directory.url) }?.reason == "already_initialized")
        #expect(try ControlStore(directory.url).users(tenantID: nil).items.map(\.id) == [admin.id])
    }

    @Test("use is recorded at most once a minute")
    func lastUsed() throws {
        let (store, token, _) = try fixture()
        _ = try store.authenticate(token: token.token.plaintext)
        let first = clock.now
        #expect(try store.token(token.record.id)?.lastUsedAt == first)
        clock.advance(seconds: 30)
        _ = try store.authenticate(token: token.token.plaintext)
        #expect(try store.token(token.record.id)?.lastUsedAt == first)
        clock.advance(seconds: 31)
        _ = try store.authenticate(token: token.token.plaintext)
        #expect(try store.token(token.record.id)?.lastUsedAt == clock.now)
    }

    @Test("lists page in a stable order with a cursor")
    func paging() throws {
        let (store, _, admin) = try fixture()
        for index in 0..<7 {
            clock.advance(seconds: 1)
            _ = try store.createUser(tenantID: "acme", name: "User \(index)", email: "", role: .viewer)
        }
        var names: [String] = []
        var cursor: String?
        repeat {
            let page = try store.users(tenantID: "acme", page: PageRequest(after: cursor, size: 3))
            names += page.items.map(\.name)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(names == [admin.name] + (0..<7).map { "User \($0)" })
    }

    // MARK: Token lifetimes (issue 8)

    @Test("an expiry past the server's maximum lifetime, not in the future, or near Int64.max is refused at issue, naming expires_at_ms, and writes nothing")
    func expiryBounds() throws {
        let (store, _, admin) = try fixture()
        #expect(store.maxTokenLifetime == 400 * 86_400_000)
        for expiresAt in [Int64.max, clock.now + store.maxTokenLifetime + 1, 0, Int64.min, clock.now] {
            let error = controlError { try store.issueToken(userID: admin.id, device: "x", expiresAt: expiresAt) }
            #expect(error?.field == "expires_at_ms")
            #expect(error?.kind == .invalid)
        }
        #expect(controlError { try store.issueToken(userID: admin.id, device: "x", expiresAt: Int64.max) }?.reason == "over_maximum_lifetime")
        #expect(try store.tokens(userID: admin.id, includeRevoked: true).items.isEmpty)
        #expect(try store.issueToken(userID: admin.id, device: "x", expiresAt: clock.now + store.maxTokenLifetime).record.expiresAt != nil)
    }

    @Test("a token planted with an expiry near Int64.max rotates to the server's maximum lifetime instead of trapping")
    func plantedFarFutureToken() throws {
        _ = try fixture()
        // What a server without the maximum let through: a lifetime of almost Int64.max ms.
        let lax = try ControlStore(directory.url, now: clock.reader, maxTokenLifetime: .max)
        let admin = try #require(try lax.users(tenantID: "acme").items.first)
        let planted = try lax.issueToken(userID: admin.id, device: "planted", expiresAt: .max - 1)

        let store = try ControlStore(directory.url, now: clock.reader)
        clock.advance(seconds: 60)
        let rotated = try store.rotateToken(planted.record.id)
        #expect(rotated.record.expiresAt == clock.now + store.maxTokenLifetime)
        clock.advance(seconds: 60)
        #expect(try store.rotateToken(rotated.record.id).record.expiresAt == clock.now + store.maxTokenLifetime)
        #expect(controlError { try store.rotateToken(planted.record.id, expiresAt: .max) }?.field == "expires_at_ms")
    }

    @Test("an expired token cannot renew itself by rotation, and nothing is issued")
    func expiredTokenCannotRotate() throws {
        let (store, _, admin) = try fixture()
        let token = try store.issueToken(userID: admin.id, device: "ana-laptop", expiresAt: clock.now + 3_600_000)
        clock.advance(seconds: 3600)
        let error = controlError { try store.rotateToken(token.record.id) }
        #expect(error?.kind == .failedPrecondition)
        #expect(error?.reason == "expired")
        #expect(try store.tokens(userID: admin.id).items.map(\.id) == [token.record.id])
    }

    @Test("rotation keeps the issuer's lifetime, and a token without expiry stays without")
    func rotationKeepsLifetime() throws {
        let (store, root, admin) = try fixture()
        let hour = try store.issueToken(userID: admin.id, device: "viewer", expiresAt: clock.now + 3_600_000)
        clock.advance(seconds: 1800)
        #expect(try store.rotateToken(hour.record.id).record.expiresAt == clock.now + 3_600_000)
        #expect(try store.rotateToken(root.record.id).record.expiresAt == nil)
    }

    @Test("the per-call re-check refuses a token revoked or expired since HELLO, and a change is broadcast")
    func recheck() async throws {
        let (store, _, admin) = try fixture()
        let token = try store.issueToken(userID: admin.id, device: "laptop", expiresAt: clock.now + 60_000)
        #expect(refusal(try store.recheck(tokenID: token.record.id, userID: admin.id)) == nil)
        #expect(refusal(try store.recheck(tokenID: token.record.id, userID: "someone-else")) == .unknown)
        var changes = store.credentialChanges.subscribe().makeAsyncIterator()
        _ = try store.revokeToken(token.record.id)
        let change: Void? = await changes.next()
        #expect(change != nil)
        #expect(refusal(try store.recheck(tokenID: token.record.id, userID: admin.id)) == .revoked(tokenID: token.record.id))
        let other = try store.issueToken(userID: admin.id, device: "phone", expiresAt: clock.now + 60_000)
        clock.advance(seconds: 60)
        #expect(refusal(try store.recheck(tokenID: other.record.id, userID: admin.id)) == .expired(tokenID: other.record.id, at: other.record.expiresAt!))
    }

    // MARK: File modes (issue 8)

    @Test("init into an existing world-readable directory makes it 0700; the control, tenant, replica and export databases and their -wal and -shm are 0600")
    func fileModes() throws {
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let (store, _, _) = try fixture()
        func mode(_ url: URL) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
        }
        #expect(try mode(directory.url) == 0o700)
        #expect(try mode(store.tenantsDirectory) == 0o700)
        let tenant = try TenantStore(path: store.tenantFile("acme").path)
        let replica = directory.url.appendingPathComponent("replica.sqlite")
        let laptop = try TenantStore(path: replica.path)
        try laptop.writer.write { db in try db.execute(sql: "CREATE TABLE probe(x)") }
        let export = directory.url.appendingPathComponent("export.sqlite")
        try TenantFiles.copy(tenant, to: export)
        var checked = 0
        for database in [directory.url.appendingPathComponent(ControlStore.fileName), store.tenantFile("acme"), replica, export] {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database.path + suffix) {
                #expect(try mode(URL(fileURLWithPath: database.path + suffix)) == 0o600, "\(database.lastPathComponent)\(suffix)")
                checked += 1
            }
        }
        #expect(checked >= 7)
    }
}
