/// What a principal may do. Tenant roles are ordered: each includes the rights of those below it.
/// The server admin is separate: it manages tenants and holds no tenant role.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Reads the portfolio and reports.
    case viewer
    /// Works their portfolio: activities, promises, disputes, cash application, requests.
    case analyst
    /// Also approves write-offs and terms, reassigns accounts.
    case manager
    /// Also manages the tenant's users and tokens.
    case admin
    /// Manages tenants; has no access to any tenant's receivables.
    case serverAdmin = "server-admin"

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .analyst: 1
        case .manager: 2
        case .admin: 3
        case .serverAdmin: 100
        }
    }

    /// Whether this role is a tenant role at least as strong as `required`.
    public func satisfies(_ required: Role) -> Bool {
        if required == .serverAdmin { return self == .serverAdmin }
        return self != .serverAdmin && rank >= required.rank
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}
