import DunlinCore
import Foundation
import GRDB

/// A tenant: one customer organisation and its receivables database.
public struct TenantRecord: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "tenant"

    public enum Status: String, Sendable, Hashable, Codable, DatabaseValueConvertible {
        /// Its users may connect and work.
        case active
        /// Its tokens are refused and its store closed to calls; its data stays.
        case suspended
        /// Gone: its file is removed, its tokens revoked. The row stays so the id is never reused.
        case deleted
    }

    public var id: String
    public var name: String
    /// ISO 4217, validated on the way in.
    public var baseCurrency: String
    /// IANA time zone identifier, validated on the way in.
    public var timeZone: String
    public var status: Status
    public var createdAt: Int64
    public var statusChangedAt: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, status
        case baseCurrency = "base_currency"
        case timeZone = "time_zone"
        case createdAt = "created_at"
        case statusChangedAt = "status_changed_at"
    }

    public var currency: Currency { Currency(code: baseCurrency) ?? .usd }
    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")! }
}

/// A person or script with a role: either a server admin (no tenant) or a member of one tenant.
public struct UserRecord: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "user"

    public var id: String
    /// nil for server admins, and only for them.
    public var tenantID: String?
    public var name: String
    public var email: String
    public var role: Role
    /// An inactive user's tokens are refused at HELLO.
    public var active: Bool
    public var createdAt: Int64
    /// The user's own IANA time zone, where their day (the worklist's "today") is; empty for the
    /// tenant's.
    public var timeZone: String = ""
    /// The user's manager (a user of the same tenant, manager role or above): escalations of the
    /// customers this user works go to them. Empty: none.
    public var managerID: String = ""

    enum CodingKeys: String, CodingKey {
        case id, name, email, role, active
        case tenantID = "tenant_id"
        case createdAt = "created_at"
        case timeZone = "time_zone"
        case managerID = "manager_id"
    }
}

/// An API token as stored: its SHA-256, never its value.
public struct TokenRecord: Sendable, Hashable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "token"

    public var id: String
    public var userID: String
    /// The device or script it was issued for, e.g. "ana-laptop", "nightly-import".
    public var device: String
    /// SHA-256 of the token. Never leaves the control store.
    var hash: Data
    public var createdAt: Int64
    public var expiresAt: Int64?
    public var revokedAt: Int64?
    /// Updated on use at most once a minute, so authentication rarely writes.
    public var lastUsedAt: Int64?
    /// The token a rotation issued in this one's place.
    public var replacedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, device, hash
        case userID = "user_id"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
        case replacedBy = "replaced_by"
    }

    /// Whether it would be accepted at `now` (ignoring its user and tenant).
    public func isLive(at now: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// A token just issued: the only moment its value exists outside the client.
public struct IssuedToken: Sendable, CustomStringConvertible {
    public var record: TokenRecord
    public var token: APIToken

    /// Redacted: safe to log.
    public var description: String { "\(token) for \(record.userID) on \(record.device)" }
}

/// Who a token belongs to, once accepted.
public struct AuthenticatedUser: Sendable, Hashable {
    public var user: UserRecord
    public var tokenID: String
    /// The device the token was issued for.
    public var device: String
}

/// Why a token was refused at HELLO. The description is sent to the client (GOAWAY
/// UNAUTHENTICATED) and logged: it never contains the token.
public enum AuthenticationRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not in the `dnl_` format.
    case malformed
    /// No token with that id, or the secret does not match: indistinguishable on purpose.
    case unknown
    case revoked(tokenID: String)
    case expired(tokenID: String, at: Int64)
    case userInactive(userID: String)
    case tenantSuspended(tenantID: String)
    case tenantDeleted(tenantID: String)

    public var description: String {
        switch self {
        case .malformed: "the token is not a Dunlin API token (dnl_...)"
        case .unknown: "the token is not valid"
        case .revoked(let id): "token \(id) was revoked"
        case .expired(let id, let at):
            "token \(id) expired at \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(at) / 1000)))"
        case .userInactive(let id): "user \(id) is deactivated"
        case .tenantSuspended(let id): "tenant \(id) is suspended"
        case .tenantDeleted(let id): "tenant \(id) was deleted"
        }
    }
}

// `Page` (one page of a list) is shared with the tenant store: Sources/DunlinStore/Page.swift.

/// What `ControlStore.updateUser` changes; nil leaves a field as it is.
public struct UserChanges: Sendable, Hashable {
    public var name: String?
    public var email: String?
    public var role: Role?
    public var active: Bool?
    /// An IANA time zone, or empty for the tenant's.
    public var timeZone: String?
    /// A user id, or empty for none.
    public var managerID: String?

    public init(name: String? = nil, email: String? = nil, role: Role? = nil, active: Bool? = nil, timeZone: String? = nil, managerID: String? = nil) {
        self.name = name
        self.email = email
        self.role = role
        self.active = active
        self.timeZone = timeZone
        self.managerID = managerID
    }
}
