import DunlinCore
import DunlinServices
import DunlinStore
import DunlinWire
import Foundation
import Logging

/// Something that answers unary calls: the server over the network (``RPCClient``) or the local
/// replica (``Replica``). The CLI's commands are written against this, so each works online and
/// offline alike.
public protocol UnaryCaller: Sendable {
    func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, options: RPCClient.CallOptions
    ) async throws -> Response

    /// Imports ledger entries all or nothing, however many: the server streams them into one
    /// transaction (ImportEntries); a replica posts them in one local transaction. Returns how many.
    func importLedgerEntries(_ entries: [Dunlin_V1_LedgerEntryRecord], options: RPCClient.CallOptions) async throws -> Int
}

extension RPCClient: UnaryCaller {
    /// Entries per ImportEntries message: about 0.5 MiB of protobuf, well under the 4 MiB frame limit.
    public static let importChunkSize = 5_000

    public func importLedgerEntries(_ entries: [Dunlin_V1_LedgerEntryRecord], options: CallOptions) async throws -> Int {
        let chunks = stride(from: 0, to: entries.count, by: Self.importChunkSize).map { start in
            Dunlin_V1_ImportEntriesRequest.with { $0.entries = Array(entries[start..<min(start + Self.importChunkSize, entries.count)]) }
        }
        return Int(try await clientStreaming(Receivables.importEntries, requests: chunks, options: options).count)
    }
}

/// Where a user's sync profile lives and what it says: the server, the credential, the replica id
/// and what the server told us about the user and tenant at login.
public struct Profile: Sendable, Hashable, Codable {
    public var name: String
    public var server: String
    public var token: String
    public var replicaID: String
    public var userID: String
    public var userName: String
    public var tenantID: String
    public var role: String
    public var baseCurrency: String
    public var timeZone: String
    /// The user's own time zone as the server last said at login or sync (their "today"); nil or
    /// empty: the tenant's.
    public var userTimeZone: String?
    /// TLS as `dunlin login` settled it: above all the server certificate's pinned fingerprint
    /// (`"transport": {"fingerprint": "sha256:..."}`), or a CA file. nil (profiles older than
    /// TLS): by the host, plain TCP to a loopback address, TLS by the system's trust store elsewhere.
    public var transport: TransportRequest?

    public init(
        name: String, server: String, token: String, replicaID: String, userID: String, userName: String,
        tenantID: String, role: String, baseCurrency: String = "USD", timeZone: String = "UTC"
    ) {
        self.name = name
        self.server = server
        self.token = token
        self.replicaID = replicaID
        self.userID = userID
        self.userName = userName
        self.tenantID = tenantID
        self.role = role
        self.baseCurrency = baseCurrency
        self.timeZone = timeZone
    }

    /// $XDG_CONFIG_HOME/dunlin/profiles (default ~/.config/dunlin/profiles): profiles, mode 0600.
    public static var configDirectory: URL {
        xdg("XDG_CONFIG_HOME", fallback: ".config").appendingPathComponent("dunlin/profiles", isDirectory: true)
    }

    /// $XDG_DATA_HOME/dunlin (default ~/.local/share/dunlin): one replica directory per profile.
    public static var dataDirectory: URL {
        xdg("XDG_DATA_HOME", fallback: ".local/share").appendingPathComponent("dunlin", isDirectory: true)
    }

    private static func xdg(_ variable: String, fallback: String) -> URL {
        if let value = ProcessInfo.processInfo.environment[variable], value.hasPrefix("/") {
            return URL(fileURLWithPath: value, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(fallback, isDirectory: true)
    }

    public var replicaPath: String {
        Self.dataDirectory.appendingPathComponent(name, isDirectory: true).appendingPathComponent("replica.sqlite").path
    }

    public static func load(_ name: String) throws -> Profile? {
        let url = configDirectory.appendingPathComponent("\(name).json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try JSONDecoder().decode(Profile.self, from: data)
    }

    public func save() throws {
        try FileManager.default.createDirectory(at: Self.configDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let url = Self.configDirectory.appendingPathComponent("\(name).json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // 0600 from the first byte: the profile holds the token.
        try OwnerOnlyFiles.write(try encoder.encode(self), to: url)
    }

    /// A new random replica id: 128 bits, hex.
    public static func newReplicaID() -> String {
        "r" + (0..<16).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
    }
}

/// A profile's local copy of its tenant, and by design the in-process caller of DunlinServices:
/// every read and write of the receivables and records methods is answered here, offline, by the
/// handlers the server runs behind the network (the same `Router`, called with
/// `Router/callLocally`), over the local store, so validation and reports are exactly the
/// server's; writes land in the outbox that ``SyncEngine`` pushes. Until its first bootstrap has
/// finished it answers none of them (``requireBootstrapped()``). Nothing here imports the
/// network server.
public final class Replica: UnaryCaller {
    public let profile: Profile
    public let store: TenantStore
    private let router: Router

    /// Opens (creating if needed) the profile's replica, at `path` or the profile's XDG path.
    public init(profile: Profile, path: String? = nil) throws {
        self.profile = profile
        let path = path ?? profile.replicaPath
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        store = try TenantStore(path: path)
        // A bootstrap cut short leaves its deferred indexes unbuilt: the lists need them.
        try store.rebuildDeferredIndexes()
        // The tenant's settings as the last sync brought them, else as the profile has them.
        let currency = try store.syncValue(.baseCurrency) ?? profile.baseCurrency
        let zone = try store.syncValue(.timeZone) ?? profile.timeZone
        let tenant = TenantHandle(
            id: profile.tenantID, store: store, baseCurrency: Currency(code: currency) ?? Currency(code: "USD")!,
            timeZone: TimeZone(identifier: zone) ?? .gmt
        )
        var router = Router()
        ReceivablesService(tenants: FixedTenants([tenant])).register(in: &router)
        // Reads only: a month is closed, and its snapshot kept, on the server.
        CloseService(tenants: FixedTenants([tenant]), authority: false).register(in: &router)
        // Approvals given here wait for the server, which settles them on the push.
        RecordsService(tenants: FixedTenants([tenant]), authority: false).register(in: &router)
        // Reads only: runs and releases are the server's.
        DunningService(tenants: FixedTenants([tenant]), authority: false).register(in: &router)
        // Reads only: a bank file is imported on the server.
        CashService(tenants: FixedTenants([tenant]), authority: false).register(in: &router)
        self.router = router
    }

    var principal: Dunlin_V1_Principal {
        .with {
            $0.id = profile.userID
            $0.name = profile.userName
            $0.tenantID = profile.tenantID
            $0.role = profile.role
            $0.timeZone = profile.userTimeZone ?? ""
        }
    }

    /// The detail reason of the refusal ``requireBootstrapped()`` answers.
    public static let notBootstrappedReason = "not_bootstrapped"

    /// Whether the replica's first bootstrap (or the re-bootstrap after falling behind the
    /// server's horizon) has finished: only then does it hold the whole tenant. A bootstrap sets
    /// the checkpoint in the transaction of its last batch, so a killed one leaves none.
    public func isBootstrapped() throws -> Bool {
        try store.syncValue(.checkpoint) != nil
    }

    /// Refuses, FAILED_PRECONDITION with detail reason `not_bootstrapped`, while the replica is
    /// not bootstrapped: it holds part of the tenant at most (a bootstrap cut off midway), and
    /// totals or checks over part of it would look like answers. `dunlin sync` (or `login`)
    /// finishes the bootstrap; `dunlin status` says where it stands.
    public func requireBootstrapped() throws {
        guard try isBootstrapped() else {
            throw RPCError(
                .failedPrecondition,
                "the replica of profile \(profile.name) is not bootstrapped: its first sync did not finish, so it holds part of the tenant at most; "
                    + "run `dunlin sync` (or `dunlin login` again) to finish it, or ask the server with --server",
                details: [.with { $0.field = "profile"; $0.reason = Self.notBootstrappedReason }]
            )
        }
    }

    /// Answers the call from the replica; refused while it is not bootstrapped (``requireBootstrapped()``).
    public func unary<Request, Response>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, options: RPCClient.CallOptions = .defaults
    ) async throws -> Response {
        try requireBootstrapped()
        return try await router.callLocally(method, request, context: .local(principal: principal))
    }

    /// One local PostEntries: the same rules and roles, one transaction, no frame limit to split for.
    public func importLedgerEntries(_ entries: [Dunlin_V1_LedgerEntryRecord], options: RPCClient.CallOptions) async throws -> Int {
        Int(try await unary(Receivables.postEntries, .with { $0.entries = entries }, options: options).count)
    }
}
