import ArgumentParser
import Crypto
import DunlinCore
import DunlinClient
import DunlinStore
import DunlinWire
import Foundation

// `dunlin admin ...`: tenants (server admins), users and tokens (tenant admins for their tenant,
// server admins for any), each over the Admin service. Who may do what is in Protocol/admin.proto.

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Tenants, users, API tokens, replicas and the audit trail.",
        subcommands: [TenantCommands.self, UserCommands.self, TokenCommands.self, ReplicaCommands.self, AuditCommand.self]
    )
}

// MARK: Tenants

struct TenantCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, suspend, resume, export and delete tenants (server admins only).",
        subcommands: [Create.self, List.self, Suspend.self, Resume.self, Export.self, Delete.self, Limits.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and its database.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id: 2-40 characters of a-z, 0-9 and -. Never reused. Omit to generate one.")
        var id: String = ""
        @Option(help: "The tenant's name.") var name: String
        @Option(help: "Base currency, ISO 4217 (USD, PHP, EUR...).") var currency: String
        @Option(help: "IANA time zone of the tenant's civil dates (America/New_York, Asia/Manila...).") var timeZone: String

        func run() async throws {
            try await connection.withClient { client in
                let tenant = try await client.unary(Admin.createTenant, .with {
                    $0.id = id; $0.name = name; $0.baseCurrency = currency; $0.timeZone = timeZone
                }, options: connection.callOptions)
                printTenants([tenant], json: connection.json, single: true)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var connection: ConnectionOptions
        @Flag(help: "Include deleted tenants.") var all = false

        func run() async throws {
            try await connection.withClient { client in
                let tenants = try await everyPage { cursor in
                    let page = try await client.unary(Admin.listTenants, .with {
                        $0.includeDeleted = all; $0.pageSize = 1000; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.tenants, page.nextCursor)
                }
                printTenants(tenants, json: connection.json, single: false)
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Suspend a tenant: its tokens are refused and its data is closed to calls, until resumed."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var id: String

        func run() async throws {
            try await connection.withClient { client in
                let tenant = try await client.unary(Admin.suspendTenant, .with { $0.tenantID = id }, options: connection.callOptions)
                printTenants([tenant], json: connection.json, single: true)
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended tenant.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var id: String

        func run() async throws {
            try await connection.withClient { client in
                let tenant = try await client.unary(Admin.resumeTenant, .with { $0.tenantID = id }, options: connection.callOptions)
                printTenants([tenant], json: connection.json, single: true)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a consistent copy of a tenant's database, taken while the server runs.",
            discussion: """
                The copy streams to FILE.partial and is renamed to FILE once its size and SHA-256 match what \
                the server announced. The result is a self-contained SQLite file.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var id: String
        @Option(name: .shortAndLong, help: "Where to write the copy (default: TENANT-export.sqlite). Must not exist.")
        var output: String?

        func run() async throws {
            let file = URL(fileURLWithPath: output ?? "\(id)-export.sqlite")
            let partial = URL(fileURLWithPath: file.path + ".partial")
            guard !FileManager.default.fileExists(atPath: file.path) else {
                throw ValidationError("\(file.path) exists; choose another --output")
            }
            try await connection.withClient { client in
                // 0600 from its first byte: the copy is a whole tenant's receivables.
                try? FileManager.default.removeItem(at: partial)
                let handle: FileHandle
                do {
                    handle = try OwnerOnlyFiles.createFile(partial)
                } catch {
                    throw ValidationError("cannot write \(partial.path): \(error.localizedDescription)")
                }
                defer { try? handle.close() }
                var hasher = SHA256()
                var written: UInt64 = 0
                var announced: UInt64 = 0
                var checksum = ""
                do {
                    // Large tenants take a while: the timeout applies to starting, not to the whole copy.
                    for try await chunk in client.serverStreaming(Admin.exportTenant, .with { $0.tenantID = id }) {
                        if chunk.hasTenant { announced = chunk.totalBytes }
                        if !chunk.data.isEmpty {
                            try handle.write(contentsOf: chunk.data)
                            hasher.update(data: chunk.data)
                            written += UInt64(chunk.data.count)
                        }
                        if !chunk.sha256.isEmpty { checksum = chunk.sha256 }
                    }
                    let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                    guard written == announced, digest == checksum else {
                        throw RPCError(.dataLoss, "the copy is damaged: \(written) of \(announced) bytes, SHA-256 \(digest), expected \(checksum)")
                    }
                    try handle.close()
                    try FileManager.default.moveItem(at: partial, to: file)
                } catch {
                    try? FileManager.default.removeItem(at: partial)
                    throw error
                }
                if connection.json {
                    printJSON(["tenant_id": id, "file": file.path, "bytes": written, "sha256": checksum])
                } else {
                    say("exported \(id) to \(file.path): \(written) bytes, SHA-256 \(checksum)")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a suspended tenant: its database file is removed and its tokens revoked. Irreversible.",
            discussion: "Suspend it first (and export it if its data is wanted). Its id is never reused."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var id: String
        @Flag(help: "Confirm: delete the tenant's data for good.") var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("deleting \(id) removes its data for good: add --yes to confirm") }
        }

        func run() async throws {
            try await connection.withClient { client in
                let tenant = try await client.unary(Admin.deleteTenant, .with { $0.tenantID = id }, options: connection.callOptions)
                printTenants([tenant], json: connection.json, single: true)
            }
        }
    }
}

extension TenantCommands {
    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set a tenant's limits: calls and streams open at once, calls a second, import size.",
            discussion: """
                Without options, shows the limits set for the tenant and those in force (server admins, and \
                the tenant's own admins). With options (server admins only), sets them; a limit not given keeps \
                what was set, --reset returns every limit to the server's defaults (dunlind serve --tenant-*). \
                A tenant past a limit gets RESOURCE_EXHAUSTED (exit 108) with a retry hint; other tenants \
                are not slowed. Recorded in the audit trail.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Tenant id.") var id: String
        @Option(help: "Calls open at once, of every kind.") var maxCalls: UInt64?
        @Option(help: "Streaming calls open at once (syncs, watches, imports, exports).") var maxStreams: UInt64?
        @Option(help: "Calls opened per second, sustained.") var callsPerSecond: UInt64?
        @Option(help: "MiB of requests one import may send.") var maxImportMb: UInt64?
        @Flag(help: "Return every limit to the server's defaults.") var reset = false

        func validate() throws {
            if reset, [maxCalls, maxStreams, callsPerSecond, maxImportMb].contains(where: { $0 != nil }) {
                throw ValidationError("--reset sets every limit to the server's default: give it alone")
            }
            if let maxImportMb, maxImportMb > UInt64(Int32.max) {
                throw ValidationError("--max-import-mb \(maxImportMb) is more than the server counts to")
            }
        }

        func run() async throws {
            let setting = reset || [maxCalls, maxStreams, callsPerSecond, maxImportMb].contains { $0 != nil }
            try await connection.withClient { client in
                var limits = try await client.unary(Admin.getTenantLimits, .with { $0.tenantID = id }, options: connection.callOptions)
                if setting {
                    var set = reset ? Dunlin_V1_TenantLimitSettings() : limits.set
                    if let maxCalls { set.maxCalls = maxCalls }
                    if let maxStreams { set.maxStreams = maxStreams }
                    if let callsPerSecond { set.callsPerSecond = callsPerSecond }
                    if let maxImportMb { set.maxImportBytes = maxImportMb << 20 }
                    limits = try await client.unary(Admin.setTenantLimits, .with { $0.tenantID = id; $0.limits = set }, options: connection.callOptions)
                }
                let shown = TenantLimitsJSON(limits)
                if connection.json { return printJSON(encoding: shown) }
                printTable([["LIMIT", "IN FORCE", "SET FOR \(terminalSafe(id).uppercased())"]] + shown.rows)
            }
        }
    }
}

/// `dunlin admin tenant limits --json`: what holds, and what was set (null: the server's default).
struct TenantLimitsJSON: Encodable {
    struct Values: Encodable {
        var maxCalls: UInt64?
        var maxStreams: UInt64?
        var callsPerSecond: UInt64?
        var maxImportBytes: UInt64?

        init(_ settings: Dunlin_V1_TenantLimitSettings) {
            func value(_ raw: UInt64) -> UInt64? { raw == 0 ? nil : raw }
            maxCalls = value(settings.maxCalls)
            maxStreams = value(settings.maxStreams)
            callsPerSecond = value(settings.callsPerSecond)
            maxImportBytes = value(settings.maxImportBytes)
        }

        enum CodingKeys: String, CodingKey {
            case maxCalls = "max_calls", maxStreams = "max_streams", callsPerSecond = "calls_per_second", maxImportBytes = "max_import_bytes"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(maxCalls, forKey: .maxCalls)
            try container.encode(maxStreams, forKey: .maxStreams)
            try container.encode(callsPerSecond, forKey: .callsPerSecond)
            try container.encode(maxImportBytes, forKey: .maxImportBytes)
        }
    }

    var tenantID: String
    var effective: Values
    var set: Values
    var updatedAtMs: Int64

    init(_ limits: Dunlin_V1_TenantLimits) {
        tenantID = limits.tenantID
        effective = Values(limits.effective)
        set = Values(limits.set)
        updatedAtMs = limits.updatedAtMs
    }

    enum CodingKeys: String, CodingKey {
        case tenantID = "tenant_id", effective, set, updatedAtMs = "updated_at_ms"
    }

    /// One row per limit: its name, the value in force, and what was set ("default" for none).
    var rows: [[String]] {
        func mib(_ bytes: UInt64?) -> String? { bytes.map { "\($0 >> 20) MiB" } }
        func row(_ name: String, _ effective: String?, _ set: String?) -> [String] { [name, effective ?? "-", set ?? "default"] }
        return [
            row("calls open at once", effective.maxCalls.map(String.init), set.maxCalls.map(String.init)),
            row("streams open at once", effective.maxStreams.map(String.init), set.maxStreams.map(String.init)),
            row("calls a second", effective.callsPerSecond.map(String.init), set.callsPerSecond.map(String.init)),
            row("import size", mib(effective.maxImportBytes), mib(set.maxImportBytes)),
        ]
    }
}

private func printTenants(_ tenants: [Dunlin_V1_Tenant], json: Bool, single: Bool) {
    if json {
        let objects = tenants.map { tenant -> [String: Any] in
            [
                "id": tenant.id, "name": tenant.name, "base_currency": tenant.baseCurrency, "time_zone": tenant.timeZone,
                "status": tenant.status, "created_at_ms": tenant.createdAtMs, "status_changed_at_ms": tenant.statusChangedAtMs,
            ]
        }
        printJSON(single ? objects[0] as Any : ["tenants": objects] as Any)
        return
    }
    printTable([["ID", "NAME", "CURRENCY", "TIME ZONE", "STATUS", "CREATED"]] + tenants.map {
        [$0.id, $0.name, $0.baseCurrency, $0.timeZone, $0.status, time($0.createdAtMs)]
    })
}

// MARK: Users

struct UserCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Create, list and update users (tenant admins: their tenant; server admins: any, with --tenant).",
        subcommands: [Create.self, List.self, Update.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Full name.") var name: String
        @Option(help: "Email (optional; unique within the tenant).") var email = ""
        @Option(help: "admin, manager, analyst or viewer; server-admin for a server admin (no --tenant).") var role: String
        @Option(help: "Server admins: the user's tenant. Tenant admins: leave out (yours is implied).") var tenant = ""
        @Option(help: "The user's own IANA time zone, e.g. Asia/Manila (default: the tenant's).") var timeZone = ""

        func run() async throws {
            try await connection.withClient { client in
                let user = try await client.unary(Admin.createUser, .with {
                    $0.tenantID = tenant; $0.name = name; $0.email = email; $0.role = role; $0.timeZone = timeZone
                }, options: connection.callOptions)
                printUsers([user], json: connection.json, single: true)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users (admins and managers).")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Server admins: the tenant to list (leave out for the server admins).") var tenant = ""
        @Flag(help: "Include deactivated users.") var all = false

        func run() async throws {
            try await connection.withClient { client in
                let users = try await everyPage { cursor in
                    let page = try await client.unary(Admin.listUsers, .with {
                        $0.tenantID = tenant; $0.includeInactive = all; $0.pageSize = 1000; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.users, page.nextCursor)
                }
                printUsers(users, json: connection.json, single: false)
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a user's name, email, role, time zone or manager, or deactivate or reactivate them.",
            discussion: "A deactivated user's tokens are refused. A tenant's last active admin cannot be demoted or deactivated. A user's manager (an active manager or admin of the tenant) receives the escalations of the customers the user works."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "User id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "New email.") var email: String?
        @Option(help: "New role: admin, manager, analyst or viewer.") var role: String?
        @Option(help: "The user's own IANA time zone; \"\" for the tenant's.") var timeZone: String?
        @Option(help: "The user's manager, a user id (an active manager or admin); \"\" for none.") var manager: String?
        @Flag(help: "Deactivate (--deactivate) or reactivate (--activate).") var active: Activation?

        enum Activation: EnumerableFlag { case activate, deactivate }

        func validate() throws {
            guard name != nil || email != nil || role != nil || active != nil || timeZone != nil || manager != nil else {
                throw ValidationError("nothing to change: give --name, --email, --role, --time-zone, --manager, --activate or --deactivate")
            }
        }

        func run() async throws {
            try await connection.withClient { client in
                let user = try await client.unary(Admin.updateUser, .with {
                    $0.userID = id
                    if let name { $0.name = name }
                    if let email { $0.email = email }
                    if let role { $0.role = role }
                    if let timeZone { $0.timeZone = timeZone }
                    if let manager { $0.managerID = manager }
                    if let active { $0.active = active == .activate }
                }, options: connection.callOptions)
                printUsers([user], json: connection.json, single: true)
            }
        }
    }
}

private func printUsers(_ users: [Dunlin_V1_User], json: Bool, single: Bool) {
    if json {
        let objects = users.map { user -> [String: Any] in
            [
                "id": user.id, "tenant_id": user.tenantID, "name": user.name, "email": user.email, "role": user.role,
                "active": user.active, "created_at_ms": user.createdAtMs, "time_zone": user.timeZone, "manager_id": user.managerID,
            ]
        }
        printJSON(single ? objects[0] as Any : ["users": objects] as Any)
        return
    }
    let names = Dictionary(users.map { ($0.id, $0.name) }) { first, _ in first }
    printTable([["ID", "TENANT", "NAME", "EMAIL", "ROLE", "TIME ZONE", "MANAGER", "ACTIVE", "CREATED"]] + users.map {
        [$0.id, $0.tenantID.isEmpty ? "-" : $0.tenantID, $0.name, $0.email, $0.role, $0.timeZone.isEmpty ? "tenant's" : $0.timeZone,
         $0.managerID.isEmpty ? "" : names[$0.managerID] ?? $0.managerID, $0.active ? "yes" : "no", time($0.createdAtMs)]
    })
}

// MARK: Tokens

struct TokenCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, rotate, revoke and list API tokens.",
        discussion: """
            A token is shown once, when issued or rotated: the server keeps only its SHA-256. Admins issue \
            tokens for their users; anyone may rotate, revoke and list their own.
            """,
        subcommands: [Issue.self, Rotate.self, Revoke.self, List.self]
    )

    /// When an issued token expires: exactly one of a lifetime, a date, or an explicit "never".
    /// The server refuses a lifetime over its maximum (400 days unless configured).
    struct Expiry: ParsableArguments {
        @Option(help: "Lifetime, e.g. 90d, 12h, 30m (at most the server's maximum, 400 days by default).") var expiresIn: String?
        @Option(help: "Expiry as a date (YYYY-MM-DD, midnight UTC) or an ISO 8601 time; must be in the future.") var expires: String?
        @Flag(help: "A token that never expires (scripts that cannot rotate); must be asked for explicitly.") var noExpiry = false

        func validate() throws {
            let given = [expiresIn != nil, expires != nil, noExpiry].filter { $0 }.count
            guard given == 1 else {
                throw ValidationError(given == 0
                    ? "say when the token expires: --expires-in 90d, --expires YYYY-MM-DD, or --no-expiry"
                    : "give only one of --expires-in, --expires and --no-expiry")
            }
        }

        /// Unix ms, or nil for no expiry.
        func milliseconds(now: Int64 = TokenCommands.now()) throws -> Int64? {
            if let expiresIn { return try lifetime(expiresIn, option: "--expires-in", now: now) }
            if let expires {
                let day = DateFormatter()
                day.dateFormat = "yyyy-MM-dd"
                day.timeZone = TimeZone(identifier: "UTC")
                day.locale = Locale(identifier: "en_US_POSIX")
                guard let date = day.date(from: expires) ?? ISO8601DateFormatter().date(from: expires) else {
                    throw ValidationError("--expires takes YYYY-MM-DD or an ISO 8601 time; got \"\(expires)\"")
                }
                guard let milliseconds = Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded()), milliseconds > now else {
                    throw ValidationError("--expires \(expires) is not in the future; for a token that never expires say --no-expiry")
                }
                return milliseconds
            }
            return nil
        }
    }

    /// The system clock in Unix ms.
    static func now() -> Int64 { WallClock.system.milliseconds }

    /// "90d", "12h", "30m", "45s" from `now`, in Unix ms. Checked arithmetic: a count too large
    /// for a time is a usage error (exit 64), never a trap.
    static func lifetime(_ text: String, option: String, now: Int64 = TokenCommands.now()) throws -> Int64 {
        let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000]
        guard let unit = text.last, let unitMilliseconds = units[unit], let count = Int64(text.dropLast()), count > 0 else {
            throw ValidationError("\(option) takes a number and d, h, m or s, e.g. 90d; got \"\(text)\"")
        }
        let (lifetime, tooLong) = count.multipliedReportingOverflow(by: unitMilliseconds)
        let (expiry, beyond) = now.addingReportingOverflow(lifetime)
        guard !tooLong, !beyond else {
            throw ValidationError("\(option) \(text) is too long a lifetime; the server allows at most 400 days unless configured otherwise")
        }
        return expiry
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a token for a user and device (admins).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "User id.") var userID: String
        @Option(help: "Device or script the token is for, e.g. ana-laptop, nightly-import.") var device: String
        @OptionGroup var expiry: Expiry

        func run() async throws {
            let expiresAt = try expiry.milliseconds()
            try await connection.withClient { client in
                let issued = try await client.unary(Admin.issueToken, .with {
                    $0.userID = userID; $0.device = device; $0.expiresAtMs = expiresAt ?? 0; $0.noExpiry = expiresAt == nil
                }, options: connection.callOptions)
                printIssued(issued, json: connection.json, note: nil)
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a token with a new one for the same user and device; the old one is revoked at once."
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id (default: the token this command authenticates with).") var tokenID: String?
        @Option(help: "New lifetime, admins only (default and for everyone else: the lifetime the old token was issued with, from now).") var expiresIn: String?

        func run() async throws {
            let current = try connection.clientConfiguration().token
            guard let id = tokenID ?? Admin.tokenID(of: current) else {
                throw ValidationError("give a token id, or authenticate with a dnl_ token to rotate it")
            }
            let expiresAt = try expiresIn.map { try TokenCommands.lifetime($0, option: "--expires-in") } ?? 0
            try await connection.withClient { client in
                let issued = try await client.unary(Admin.rotateToken, .with {
                    $0.tokenID = id; $0.expiresAtMs = expiresAt
                }, options: connection.callOptions)
                let note = Admin.tokenID(of: current) == id ? "the token you used is now revoked: use the new one (DUNLIN_TOKEN)" : nil
                printIssued(issued, json: connection.json, note: note)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token at once.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Token id (the 16 characters after dnl_; see `dunlin admin token list`).") var tokenID: String

        func run() async throws {
            try await connection.withClient { client in
                let token = try await client.unary(Admin.revokeToken, .with { $0.tokenID = tokenID }, options: connection.callOptions)
                printTokens([token], json: connection.json, single: true)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's tokens (never their values).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "User id (default: yourself).") var userID: String = ""
        @Flag(help: "Include revoked tokens.") var all = false

        func run() async throws {
            try await connection.withClient { client in
                let tokens = try await everyPage { cursor in
                    let page = try await client.unary(Admin.listTokens, .with {
                        $0.userID = userID; $0.includeRevoked = all; $0.pageSize = 1000; $0.cursor = cursor
                    }, options: connection.callOptions)
                    return (page.tokens, page.nextCursor)
                }
                printTokens(tokens, json: connection.json, single: false)
            }
        }
    }
}

private func tokenObject(_ token: Dunlin_V1_TokenInfo) -> [String: Any] {
    [
        "id": token.id, "user_id": token.userID, "device": token.device, "created_at_ms": token.createdAtMs,
        "expires_at_ms": token.expiresAtMs, "last_used_at_ms": token.lastUsedAtMs, "revoked_at_ms": token.revokedAtMs,
        "replaced_by": token.replacedBy,
    ]
}

private func printIssued(_ issued: Dunlin_V1_IssuedToken, json: Bool, note: String?) {
    if json {
        var object = tokenObject(issued.info)
        object["token"] = issued.token
        printJSON(object)
        return
    }
    say("token \(issued.info.id) for \(issued.info.userID) on \(issued.info.device), expires \(issued.info.expiresAtMs == 0 ? "never" : time(issued.info.expiresAtMs))")
    say("shown once, never stored; keep it like a password:\n\n  \(issued.token)\n")
    if let note { say(note) }
}

private func printTokens(_ tokens: [Dunlin_V1_TokenInfo], json: Bool, single: Bool) {
    if json {
        printJSON(single ? tokenObject(tokens[0]) as Any : ["tokens": tokens.map(tokenObject)] as Any)
        return
    }
    printTable([["ID", "USER", "DEVICE", "CREATED", "EXPIRES", "LAST USED", "REVOKED"]] + tokens.map {
        [$0.id, $0.userID, $0.device, time($0.createdAtMs), $0.expiresAtMs == 0 ? "never" : time($0.expiresAtMs),
         $0.lastUsedAtMs == 0 ? "-" : time($0.lastUsedAtMs), $0.revokedAtMs == 0 ? "-" : time($0.revokedAtMs)]
    })
}

/// Unix milliseconds as "2026-11-23 14:52Z".
private func time(_ milliseconds: Int64) -> String { localTime(milliseconds: milliseconds) }

// MARK: Replicas

struct ReplicaCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica",
        abstract: "The laptops that sync this tenant (tenant admins).",
        discussion: """
            Deleted records are collected only once every live replica has acknowledged the delete. A \
            lost or retired laptop would hold that back for ever: retire it. If it syncs again, it pushes \
            its outbox and then bootstraps again.
            """,
        subcommands: [List.self, Retire.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replicas, their checkpoints and the collected horizon.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await connection.withClient { client in
                // Every page (the server pages by id), then the most recently seen first.
                var response = Dunlin_V1_ListReplicasResponse()
                var cursor = ""
                repeat {
                    let page = try await client.unary(SyncMethods.listReplicas, .with { $0.pageSize = 1000; $0.cursor = cursor }, options: connection.callOptions)
                    response.replicas += page.replicas
                    response.horizon = page.horizon
                    cursor = page.nextCursor
                } while !cursor.isEmpty
                response.replicas.sort { ($1.lastSeen, $0.id) < ($0.lastSeen, $1.id) }
                if connection.json {
                    printJSON([
                        "horizon": response.horizon,
                        "replicas": response.replicas.map { ["id": $0.id, "user_id": $0.userID, "checkpoint": $0.checkpoint, "last_seen": $0.lastSeen, "retired": $0.retired] as [String: Any] },
                    ])
                    return
                }
                printTable([["id", "user", "checkpoint", "last seen", "retired"]] + response.replicas.map {
                    [$0.id, $0.userID, "\($0.checkpoint)", localTime(iso: $0.lastSeen), $0.retired ? "yes" : ""]
                })
                say("collected through \(response.horizon)")
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a lost replica out of the tombstone horizon.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Replica id.") var id: String

        func run() async throws {
            try await connection.withClient { client in
                let replica = try await client.unary(SyncMethods.retireReplica, .with { $0.replicaID = id }, options: connection.callOptions)
                if connection.json { printJSON(["id": replica.id, "retired": replica.retired]) } else { say("retired \(replica.id)") }
            }
        }
    }
}

// MARK: Audit trail

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "The audit trail: every admin action and every approval decided on the server (admins).",
        discussion: """
            Oldest first: when, who (by name, with their role), from which address, on which tenant, what \
            and to what. Server admins see every tenant's events and the server-wide ones; a tenant's \
            admins their own tenant's. Tokens appear by id only, never by value.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Server admins: only this tenant's events (tenant admins: their own is implied).") var tenant = ""
    @Option(help: "Only events since: a date (YYYY-MM-DD, from midnight in your time zone), an ISO 8601 time, or a time ago (7d, 12h, 30m).")
    var since: String?

    func run() async throws {
        let sinceMilliseconds = try since.map { try Self.milliseconds(since: $0) } ?? 0
        try await connection.withClient { client in
            let events = try await everyPage { cursor in
                let page = try await client.unary(Admin.listAudit, .with {
                    $0.tenantID = tenant; $0.sinceMs = sinceMilliseconds; $0.pageSize = 1000; $0.cursor = cursor
                }, options: connection.callOptions)
                return (page.events, page.nextCursor)
            }
            if connection.json {
                printJSON(encoding: AuditJSON(events: events.map(AuditEventJSON.init)))
                return
            }
            printTable([["TIME", "ACTOR", "ADDRESS", "TENANT", "ACTION", "TARGET", "DETAIL"]] + events.map { event in
                [time(event.atMs), Self.actor(event), event.address, event.tenantID.isEmpty ? "-" : event.tenantID, event.action,
                 Self.target(event), event.detail]
            })
        }
    }

    /// "Maria Santos (admin)"; "dunlind" for the server itself; the id when the name is unknown.
    static func actor(_ event: Dunlin_V1_AuditEvent) -> String {
        if event.actorID.isEmpty { return "dunlind" }
        return "\(event.actorName.isEmpty ? event.actorID : event.actorName) (\(event.actorRole))"
    }

    /// A user or tenant by name; a token by id, with its user's name; anything else by id.
    static func target(_ event: Dunlin_V1_AuditEvent) -> String {
        guard !event.targetName.isEmpty else { return event.targetID }
        return event.action.hasPrefix("token.") ? "\(event.targetID) of \(event.targetName)" : event.targetName
    }

    /// `--since` in Unix ms: a date (midnight in this machine's zone, where the table's times
    /// are), an ISO 8601 time, or a time ago ("7d", "12h", "30m", "45s"), from `now`.
    static func milliseconds(since text: String, now: Int64 = TokenCommands.now()) throws -> Int64 {
        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = .current
        day.locale = Locale(identifier: "en_US_POSIX")
        if let date = day.date(from: text) ?? parseISOInstant(text) {
            guard let milliseconds = Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded()) else {
                throw ValidationError("--since \(text) is out of range")
            }
            return milliseconds
        }
        let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1_000]
        guard let unit = text.last, let unitMilliseconds = units[unit], let count = Int64(text.dropLast()), count > 0 else {
            throw ValidationError("--since takes a date (YYYY-MM-DD), an ISO 8601 time, or a time ago such as 7d or 12h; got \"\(text)\"")
        }
        let (ago, tooLong) = count.multipliedReportingOverflow(by: unitMilliseconds)
        let (since, before) = now.subtractingReportingOverflow(ago)
        guard !tooLong, !before else { throw ValidationError("--since \(text) is too long ago") }
        return since
    }
}

/// The audit trail in `--json`: every event, ids and names both, times in Unix ms and UTC.
struct AuditJSON: Encodable {
    var events: [AuditEventJSON]
}

struct AuditEventJSON: Encodable {
    var seq: UInt64
    var at_ms: Int64
    /// ISO 8601, UTC.
    var at: String
    var actor_id, actor_name, actor_role, tenant_id, address, action, target_id, target_name, detail: String

    init(_ event: Dunlin_V1_AuditEvent) {
        seq = event.seq
        at_ms = event.atMs
        at = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(event.atMs) / 1000))
        actor_id = event.actorID
        actor_name = event.actorName
        actor_role = event.actorRole
        tenant_id = event.tenantID
        address = event.address
        action = event.action
        target_id = event.targetID
        target_name = event.targetName
        detail = event.detail
    }
}
